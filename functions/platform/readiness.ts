import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckResult, ReadinessResponse } from '../core/contracts/health.ts';
import { readinessOf } from '../core/readiness.ts';
import { getRuntime, initialisationCheck, postgresCheck } from './runtime.ts';

/** How long readiness waits for a cold start before answering "initialising". */
export const READINESS_INIT_WAIT_MS = 1500;

const notChecked: CheckResult = {
  status: 'fail',
  latency_ms: 0,
  detail: 'not checked: not initialised',
};

/**
 * The readiness of this container, shared by `GET /readiness` and the gRPC health service:
 * initialisation, Postgres (reachable, schema current) and Redis (degraded when down, not fatal).
 * Waits at most `initWaitMs` for a cold start.
 */
export async function checkReadiness(
  initWaitMs = READINESS_INIT_WAIT_MS,
): Promise<ReadinessResponse> {
  const runtime = await Promise.race([
    getRuntime().catch(() => undefined),
    sleep(initWaitMs, undefined),
  ]);
  const [postgres, redis] = runtime
    ? await Promise.all([
        postgresCheck(runtime.db),
        runtime.redis
          ? runtime.redis.ping()
          : ({ status: 'degraded', latency_ms: 0, detail: 'not configured' } satisfies CheckResult),
      ])
    : [notChecked, notChecked];
  return readinessOf({ initialisation: initialisationCheck(), postgres, redis });
}
