import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../support/frames.ts';
import {
  type AicClient,
  aicClient,
  callMetadata,
  grpcCompressStream,
  unaryCall,
} from '../../support/grpc.ts';
import { type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import {
  DASHBOARD_FILE,
  type PrometheusServer,
  ROOT,
  requireBinary,
  startPrometheus,
} from './prometheus-server.ts';

// The gRPC task as the container runs it, scraped every second by a real Prometheus that loads the
// repository's rules; every panel of the Grafana dashboard and every rule is then evaluated
// through Prometheus's HTTP API, as Grafana and the rule manager would.

/** The environment label the scrape gives the task; its thresholds exist in the rules file. */
const ENVIRONMENT = 'dev';
const JOB = 'auralink-aic-grpc-dev';
/** What Grafana puts in place of the dashboard's variables here: every task and method. */
const VARIABLES: Record<string, string> = {
  $__rate_interval: '1m',
  $environment: ENVIRONMENT,
  $instance: '.*',
  $method: '.*',
};

interface Target {
  expr: string;
}
interface Panel {
  title: string;
  type: string;
  datasource?: { uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queried = panels.filter((panel) => panel.targets?.length);

/** `expr` with the dashboard's variables replaced, longest name first. */
function substitute(expr: string): string {
  return Object.keys(VARIABLES)
    .sort((a, b) => b.length - a.length)
    .reduce((text, name) => text.replaceAll(name, VARIABLES[name] as string), expr);
}

let db: TestDatabase;
let redis: OwnRedis;
let task: ChildProcess;
let prometheus: PrometheusServer;
let client: AicClient;
let taskLog = '';

/** Starts `functions/grpc/main.ts`; resolves with its gRPC and metrics ports. */
async function startTask(env: Record<string, string>): Promise<[number, number]> {
  task = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['functions/grpc/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${taskLog}`)), 30_000);
    task.once('exit', (code) => reject(new Error(`the task exited (${code}):\n${taskLog}`)));
    task.stderr?.on('data', (chunk: Buffer) => {
      taskLog += chunk.toString();
      const found = /listening on [\d.]+:(\d+), metrics on (\d+)/.exec(taskLog);
      if (found) {
        clearTimeout(timer);
        resolve([Number(found[1]), Number(found[2])]);
      }
    });
  });
}

/** Polls `check` until it holds, for at most `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(200);
  }
}

const hasData = async (expr: string) => {
  const answer = await prometheus.query(expr);
  return answer.status === 'success' && answer.data.result.length > 0;
};

/** Real calls of every kind: unary and stream frames, a rate-limited, an invalid, an anonymous. */
async function driveCalls(): Promise<void> {
  const frame = await encodeFrame('scene');
  const metadata = await callMetadata('prometheus-user');
  const session = randomUUID();
  const unary = await unaryCall(
    client,
    'CompressFrame',
    { session_id: session, frame_data: frame },
    metadata,
  );
  expect(unary.error).toBeUndefined();
  const { responses } = await grpcCompressStream(
    client,
    [0, 1, 2].map((n) => ({
      frame: { session_id: session, frame_data: frame, metadata: { frame_number: n } },
    })),
    metadata,
  );
  expect(responses.filter((response) => response.result)).toHaveLength(3);
  const hints = [];
  for (let i = 0; i < 3; i++) {
    hints.push(await unaryCall(client, 'GetCompressionHints', { session_id: session }, metadata));
  }
  expect(hints.at(-1)?.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  const invalid = await unaryCall(
    client,
    'CompressFrame',
    { session_id: 'nope', frame_data: frame },
    metadata,
  );
  expect(invalid.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  const anonymous = await unaryCall(
    client,
    'CompressFrame',
    { session_id: session },
    new grpc.Metadata(),
  );
  expect(anonymous.error?.code).toBe(grpc.status.UNAUTHENTICATED);
}

beforeAll(async () => {
  requireBinary('prometheus');
  [db, redis] = await Promise.all([createTestDatabase({ migrate: true }), startOwnRedis()]);
  const [grpcPort, metricsPort] = await startTask({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_PORT: '0',
    GRPC_HEALTH_INTERVAL_MS: '200',
    // Two hints a minute, so that the third call is rate-limited.
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({ getSessionNetwork: { user: { minute: 2 } } }),
  });
  prometheus = await startPrometheus({
    target: `127.0.0.1:${metricsPort}`,
    job: JOB,
    labels: { environment: ENVIRONMENT, service: 'auralink-aic' },
  });
  client = aicClient(`127.0.0.1:${grpcPort}`);
  // A first scrape before the calls, so that every counter has a sample to rise from.
  await eventually('the task is scraped', () => hasData(`up{job="${JOB}"} == 1`));
  await driveCalls();
  await eventually('the calls are scraped', () =>
    hasData(`increase(aic_frames_total{outcome="success"}[1m]) > 0`),
  );
}, 60_000);

afterAll(async () => {
  client?.close();
  await prometheus?.stop();
  if (task && task.exitCode === null) {
    const exited = new Promise((resolve) => task.once('exit', resolve));
    task.kill('SIGTERM');
    await exited;
  }
  await redis?.stop();
  await db?.drop();
});

describe('the Grafana dashboard against the scraped task', () => {
  it('uses the datasource variable on every panel and has an environment variable', () => {
    const names = dashboard.templating.list.map((variable) => variable.name);
    expect(names).toEqual(expect.arrayContaining(['datasource', 'environment']));
    for (const panel of queried) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax.
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('uses no variable the test does not know', () => {
    for (const panel of queried) {
      for (const { expr } of panel.targets ?? [])
        expect(substitute(expr), panel.title).not.toContain('$');
    }
  });

  it('has every panel query accepted by Prometheus', async () => {
    for (const panel of queried) {
      for (const { expr } of panel.targets ?? []) {
        const answer = await prometheus.query(substitute(expr));
        expect(answer, `${panel.title}: ${expr}`).toMatchObject({ status: 'success' });
      }
    }
  });

  it('shows data on the key panels: tasks, RED per method, frames, bytes, SSIM, rejections', async () => {
    const titles = [
      'Tasks up',
      'Calls',
      'Frames',
      'Call rate by method',
      'Non-OK calls by method and code',
      'Call duration p50 / p95 / p99 by method',
      'Frames by outcome',
      'Bytes in / out / saved',
      'SSIM',
      'Rate-limit rejections',
      'Resident memory and limit',
    ];
    await eventually('every key panel has data', async () => {
      for (const title of titles) {
        const panel = queried.find((candidate) => candidate.title === title);
        expect(panel, title).toBeDefined();
        for (const { expr } of panel?.targets ?? []) {
          if (!(await hasData(substitute(expr)))) return false;
        }
      }
      return true;
    });
  });

  it('shows each method and each status code of the calls made', async () => {
    const rate = queried.find((panel) => panel.title === 'Non-OK calls by method and code');
    const answer = await prometheus.query(substitute(rate?.targets?.[0]?.expr ?? ''));
    const seen = answer.data.result.map(({ metric }) => `${metric.method} ${metric.code}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'GetCompressionHints RESOURCE_EXHAUSTED',
        'CompressFrame INVALID_ARGUMENT',
        'CompressFrame UNAUTHENTICATED',
      ]),
    );
  });

  it('lists the environment, the task and the methods in its variables', async () => {
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      const found = /^label_values\((.+), (\w+)\)$/.exec(substitute(query ?? ''));
      expect(found, variable.name).not.toBeNull();
      const [, selector, label] = found as RegExpExecArray;
      const answer = await prometheus.api<string[]>(`/api/v1/label/${label}/values`, {
        'match[]': selector as string,
      });
      expect(answer.status, variable.name).toBe('success');
      expect(answer.data.length, variable.name).toBeGreaterThan(0);
    }
  });
});

interface Rule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
}

describe('the alerting rules against the scraped task', () => {
  const loadedRules = async () => {
    const answer = await prometheus.api<{ groups: { rules: Rule[] }[] }>('/api/v1/rules');
    return answer.data.groups.flatMap((group) => group.rules);
  };

  it('are loaded and evaluated without an error', async () => {
    await eventually('every rule is evaluated', async () =>
      (await loadedRules()).every((rule) => rule.health !== 'unknown'),
    );
    const rules = await loadedRules();
    expect(rules.length).toBeGreaterThan(20);
    for (const rule of rules) expect(rule, rule.name).toMatchObject({ health: 'ok' });
  });

  it('each have an expression Prometheus evaluates', async () => {
    for (const rule of await loadedRules()) {
      const answer = await prometheus.query(rule.query);
      expect(answer, `${rule.name}: ${rule.query}`).toMatchObject({ status: 'success' });
    }
  });

  it('compare with the thresholds of the CloudWatch alarms in cdk.json', async () => {
    const cdk = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, Record<string, { alarms: Record<string, number> }>>;
    };
    const answer = await prometheus.query('aic:alert_threshold');
    const threshold = (environment: string, name: string) =>
      Number(
        answer.data.result.find(
          ({ metric }) => metric.environment === environment && metric.name === name,
        )?.value[1],
      );
    for (const [environment, config] of Object.entries(cdk.context['aic:environments'] ?? {})) {
      const { alarms } = config;
      expect(threshold(environment, 'grpc_error_ratio')).toBeCloseTo(
        (alarms.http5xxRatePercent as number) / 100,
      );
      expect(threshold(environment, 'grpc_latency_p95_seconds')).toBeCloseTo(
        (alarms.latencyP95Ms as number) / 1000,
      );
      expect(threshold(environment, 'rate_limit_rejections_5m')).toBe(
        alarms.rateLimitRejectionsPer5Min,
      );
      expect(threshold(environment, 'fallback_ratio')).toBeCloseTo(
        (alarms.fallbackRatePercent as number) / 100,
      );
      expect(threshold(environment, 'within_budget_ratio')).toBeCloseTo(
        (alarms.withinBudgetMinPercent as number) / 100,
      );
    }
  });

  it('see the dependency series the breaker and readiness alerts read', async () => {
    expect(await hasData('aic_redis_circuit_breaker_state{state="closed"} == 1')).toBe(true);
    expect(await hasData('aic_readiness_status{status="ready"} == 1')).toBe(true);
    expect(await hasData('aic_memory_limit_bytes > 0')).toBe(true);
  });
});
