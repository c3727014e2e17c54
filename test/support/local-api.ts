/**
 * Starts the local runtime's HTTP server in the test process, in front of the real Lambda handlers,
 * with the environment a test chooses (its own database, its own Redis key prefix).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { FUNCTION_ENTRIES, type FunctionName } from '../../functions/core/contracts/routes.ts';
import { startLocalMetricsConsumer } from '../../functions/local/metrics-consumer.ts';
import {
  type LambdaHandler,
  type LocalServer,
  startLocalServer,
} from '../../functions/local/server.ts';
import { type JwtSettings, jwtSettingsFromEnv, signToken } from '../../functions/platform/jwt.ts';
import { closeRuntime } from '../../functions/platform/runtime.ts';
import { loadSettings } from '../../functions/platform/settings.ts';

/** A running test API. */
export interface TestApi {
  url: string;
  server: LocalServer;
  jwt: JwtSettings;
  /** A valid bearer token for `user`, with `claims` added (e.g. a `client_id`) when given. */
  token(user: string, claims?: Record<string, string>): Promise<string>;
  /**
   * `fetch` relative to the API, with the token of `user` when given (carrying `claims` when
   * given too).
   */
  request(
    path: string,
    init?: RequestInit & { user?: string; claims?: Record<string, string> },
  ): Promise<Response>;
  /**
   * Resolves once the metrics consumer has applied every frame answered so far (at once when the
   * frame log is Postgres itself): what the dashboard shows after it is every answered frame.
   */
  metricsSettled(): Promise<void>;
  close(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Sets `env` (before any handler module loads, as a Lambda's configuration would be), loads the
 * handlers and serves them on a free port, with the metrics consumer `npm start` runs. Each test
 * API has a frame-event stream of its own (unless `env` names one), so that no other test file's
 * consumer reads its frames. Call `close()` in `afterAll`.
 */
export async function startTestApi(env: Record<string, string | undefined>): Promise<TestApi> {
  process.env.METRICS_REDIS_STREAM = `metrics:test-${randomUUID()}`;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const handlers = {} as Record<FunctionName, LambdaHandler>;
  for (const [name, entry] of Object.entries(FUNCTION_ENTRIES) as [FunctionName, string][]) {
    handlers[name] = ((await import(join(ROOT, entry))) as { handler: LambdaHandler }).handler;
  }
  const jwt = jwtSettingsFromEnv();
  const server = await startLocalServer({ port: 0, handlers, jwt });
  const consumer = await startLocalMetricsConsumer(loadSettings(), (error) =>
    console.error('metrics consumer:', error),
  );
  const token = (user: string, claims?: Record<string, string>) =>
    signToken(user, jwt, 600, claims);
  return {
    url: server.url,
    server,
    jwt,
    token,
    request: async (path, init = {}) => {
      const { user, claims, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (user) headers.set('authorization', `Bearer ${await token(user, claims)}`);
      return fetch(`${server.url}${path}`, { ...rest, headers });
    },
    metricsSettled: async () => {
      await consumer?.settled();
    },
    close: async () => {
      await server.close();
      await consumer?.close();
      await closeRuntime();
    },
  };
}
