import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertEvaluation } from '../../../functions/app/alert-evaluator.ts';
import {
  type CompressResponse,
  compressResponseSchema,
} from '../../../functions/core/contracts/compress.ts';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
import {
  alertListSchema,
  alertSchema,
  bandwidthSavingsSchema,
  metricsResponseSchema,
  performanceSummarySchema,
  qualityDistributionSchema,
} from '../../../functions/core/contracts/dashboard.ts';
import { errorEnvelopeSchema } from '../../../functions/core/contracts/errors.ts';
import { insertFrames } from '../../support/dashboard-seed.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const PREFIX = '/api/v1/aic';
const ALICE = `alice-${randomUUID()}`;
const BOB = `bob-${randomUUID()}`;
const SESSION_1 = randomUUID();
const SESSION_2 = randomUUID();

let db: TestDatabase;
let api: TestApi;
const sent: { session: string; result: CompressResponse }[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: undefined,
    // Many requests of one user in a few seconds: the per-user default quota is not under test.
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
    DASHBOARD_COST_PER_GB_USD: '0.12',
  });
  const frames = await Promise.all(
    (['scene', 'gradient', 'screen', 'noise', 'scene', 'gradient'] as const).map((kind, i) =>
      encodeFrame(kind, { seed: i + 1 }),
    ),
  );
  for (const [i, frame] of frames.entries()) {
    const session = i < 4 ? SESSION_1 : SESSION_2;
    const response = await api.request(`${PREFIX}/compress`, {
      method: 'POST',
      user: ALICE,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: session,
        frame_number: i,
        frame_data: frame.toString('base64'),
        mode: 'aggressive',
        max_latency_ms: 100,
      }),
    });
    expect(response.status).toBe(200);
    sent.push({ session, result: compressResponseSchema.parse(await response.json()) });
  }
}, 120_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

async function get<T>(path: string, schema: { parse(value: unknown): T }, user = ALICE) {
  const response = await api.request(`${PREFIX}${path}`, { user });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return schema.parse(JSON.parse(text));
}

async function rejected(
  path: string,
  status: number,
  init: { user?: string; method?: string } = {},
) {
  const response = await api.request(`${PREFIX}${path}`, { user: ALICE, ...init });
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return errorEnvelopeSchema.parse(JSON.parse(text)).error;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

describe('the dashboard numbers', () => {
  it('list the stored frames newest first, as they were compressed', async () => {
    const { metrics, count } = await get('/metrics', metricsResponseSchema);
    expect(count).toBe(sent.length);
    expect(metrics.map((m) => m.frame_number)).toEqual([5, 4, 3, 2, 1, 0]);
    for (const metric of metrics) {
      const { result } = sent[metric.frame_number as number] as (typeof sent)[number];
      expect(metric).toMatchObject({
        original_size_bytes: result.original_size_bytes,
        compressed_size_bytes: result.compressed_size_bytes,
        fallback_used: result.fallback_used,
        format: result.format,
        status: result.status,
        drop_reason: result.drop_reason,
      });
    }
  });

  it('filter the metrics by session and cap them at the limit', async () => {
    const ofSession = await get(`/metrics?session_id=${SESSION_2}`, metricsResponseSchema);
    expect(ofSession.metrics.map((m) => m.session_id)).toEqual([SESSION_2, SESSION_2]);
    expect((await get('/metrics?limit=2', metricsResponseSchema)).count).toBe(2);
  });

  it('sum frames, bytes and savings in the summary exactly as they were sent', async () => {
    const summary = await get('/performance/summary', performanceSummarySchema);
    const bytesIn = sum(sent.map((s) => s.result.original_size_bytes));
    const bytesOut = sum(sent.map((s) => s.result.compressed_size_bytes));
    expect(summary).toMatchObject({
      hours: 24,
      frames: sent.length,
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      bytes_saved: bytesIn - bytesOut,
      fallbacks: sent.filter((s) => s.result.fallback_used).length,
      dropped: sent.filter((s) => s.result.status === 'dropped').length,
    });
    expect(summary.avg_compression_ratio).toBeCloseTo(1 - bytesOut / bytesIn, 5);
    expect(summary.avg_ssim).toBeCloseTo(sum(sent.map((s) => s.result.ssim ?? 0)) / sent.length, 4);
    const totals = sent.map((s) => s.result.latency_ms.total).sort((a, b) => a - b);
    // The histogram's percentile is within 2.5 % of the exact one (plus the 0.01 ms rounding).
    const p95 = totals[Math.ceil(0.95 * totals.length) - 1] as number;
    expect(Math.abs((summary.latency_p95_ms as number) - p95)).toBeLessThanOrEqual(
      p95 * 0.025 + 0.02,
    );
  });

  it('price the bytes saved per session at the configured cost', async () => {
    const of = (session: string) => sent.filter((s) => s.session === session);
    const saved = sum(
      of(SESSION_1).map((s) => s.result.original_size_bytes - s.result.compressed_size_bytes),
    );
    const savings = await get(
      `/stats/bandwidth-savings?days=1&session_id=${SESSION_1}`,
      bandwidthSavingsSchema,
    );
    expect(savings).toMatchObject({
      days: 1,
      session_id: SESSION_1,
      frames: of(SESSION_1).length,
      bytes_saved: saved,
      cost_per_gb_usd: 0.12,
    });
    expect(savings.saved_mb).toBeCloseTo(saved / 1e6, 6);
    expect(savings.estimated_cost_saved_usd).toBeCloseTo((saved / 1e9) * 0.12, 6);
    const all = await get('/stats/bandwidth-savings', bandwidthSavingsSchema);
    expect(all).toMatchObject({ days: 7, session_id: null, frames: sent.length });
  });

  it('put every frame in one quality band', async () => {
    const quality = await get('/stats/quality-distribution?days=90', qualityDistributionSchema);
    expect(quality.frames).toBe(sent.length);
    expect(sum(quality.bands.map((band) => band.frames))).toBe(quality.measured_frames);
    expect(quality.bands.map((band) => band.band)).toEqual(['excellent', 'good', 'fair', 'poor']);
  });

  it('are empty, not missing, for a user without frames', async () => {
    const summary = await get('/performance/summary', performanceSummarySchema, BOB);
    expect(summary).toMatchObject({ frames: 0, bytes_saved: 0, latency_p95_ms: null });
    expect((await get('/metrics', metricsResponseSchema, BOB)).metrics).toEqual([]);
  });
});

describe('bad dashboard input', () => {
  it.each([
    ['/performance/summary?hours=0', 'query.hours'],
    ['/performance/summary?hours=169', 'query.hours'],
    ['/performance/summary?hours=1.5', 'query.hours'],
    ['/performance/summary?hours=abc', 'query.hours'],
    ['/performance/summary?hours=', 'query.hours'],
    ['/stats/bandwidth-savings?days=91', 'query.days'],
    ['/stats/bandwidth-savings?session_id=not-a-uuid', 'query.session_id'],
    ['/stats/quality-distribution?days=0', 'query.days'],
    ['/metrics?limit=0', 'query.limit'],
    ['/metrics?limit=1001', 'query.limit'],
    ['/alerts?limit=5000', 'query.limit'],
    ['/alerts?severity=fatal', 'query.severity'],
    ['/alerts?resolved=maybe', 'query.resolved'],
    ['/metrics?offset=10', 'query'],
  ])('refuses %s with a 400 naming %s instead of clamping it', async (path, field) => {
    const error = await rejected(path, 400);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details?.map((detail) => detail.field)).toEqual([field]);
  });

  it('reports every failing query field at once', async () => {
    const error = await rejected('/stats/bandwidth-savings?days=0&session_id=x', 400);
    expect(error.details?.map((detail) => detail.field).sort()).toEqual([
      'query.days',
      'query.session_id',
    ]);
  });

  it('answers 404 for an unknown session and for a session id only another tenant has', async () => {
    for (const path of [
      `/metrics?session_id=${randomUUID()}`,
      `/stats/bandwidth-savings?session_id=${randomUUID()}`,
    ]) {
      expect((await rejected(path, 404)).code).toBe('NOT_FOUND');
    }
    const error = await rejected(`/metrics?session_id=${SESSION_1}`, 404, { user: BOB });
    expect(error.message).not.toContain(ALICE);
  });

  it('requires a token on every dashboard route', async () => {
    for (const path of ['/metrics', '/performance/summary', '/alerts']) {
      const response = await api.request(`${PREFIX}${path}`);
      expect(response.status).toBe(401);
    }
  });
});

describe('alerts', () => {
  const CAROL = `carol-${randomUUID()}`;
  const evaluate = () => runAlertEvaluation(db.sql, { windowMinutes: 5, minFrames: 10 });

  beforeAll(async () => {
    // Slow, poor and often falling back under carol's 15 ms / 0.9 policy.
    await api.request(`${PREFIX}/config`, {
      method: 'PUT',
      user: CAROL,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...DEFAULT_CONFIG, max_latency_ms: 15, min_quality_score: 0.9 }),
    });
    const session = randomUUID();
    await insertFrames(
      db.sql,
      Array.from({ length: 40 }, (_, i) => ({
        userId: CAROL,
        sessionId: session,
        recordedAt: new Date(Date.now() - i * 1000),
        originalBytes: 10_000,
        compressedBytes: 4_000,
        ssim: 0.86,
        totalMs: i < 30 ? 10 : 40,
        fallback: i % 4 === 0,
      })),
    );
  });

  it('opens one alert per rule that fires, under the user’s own policy', async () => {
    const result = await evaluate();
    expect(result.alertsOpened).toBeGreaterThanOrEqual(3);
    const { alerts } = await get('/alerts', alertListSchema, CAROL);
    expect(alerts.map((a) => a.type).sort()).toEqual([
      'fallback_rate_high',
      'latency_p95_over_budget',
      'ssim_under_floor',
    ]);
    const latency = alerts.find((a) => a.type === 'latency_p95_over_budget');
    expect(latency).toMatchObject({ threshold: 15, observed_value: 40, resolved_at: null });
  });

  it('never keeps two open alerts of one type for one user, even when runs overlap', async () => {
    await Promise.all([evaluate(), evaluate(), evaluate()]);
    expect((await evaluate()).alertsOpened).toBe(0);
    const { alerts } = await get('/alerts?resolved=false', alertListSchema, CAROL);
    expect(alerts).toHaveLength(3);
  });

  it('filters by severity and state', async () => {
    const critical = await get('/alerts?severity=critical', alertListSchema, CAROL);
    expect(critical.alerts.every((a) => a.severity === 'critical')).toBe(true);
    expect((await get('/alerts?resolved=true', alertListSchema, CAROL)).alerts).toEqual([]);
  });

  it('resolves an alert for its owner only, idempotently, and lets the rule open a new one', async () => {
    const { alerts } = await get('/alerts', alertListSchema, CAROL);
    const target = alerts[0] as (typeof alerts)[number];
    const path = `${PREFIX}/alerts/${target.alert_id}/resolve`;

    const foreign = await api.request(path, { method: 'PATCH', user: BOB });
    expect(foreign.status).toBe(404);

    const first = await api.request(path, { method: 'PATCH', user: CAROL });
    expect(first.status).toBe(200);
    const resolved = alertSchema.parse(await first.json());
    expect(resolved.resolved_at).not.toBeNull();
    const again = alertSchema.parse(
      await (await api.request(path, { method: 'PATCH', user: CAROL })).json(),
    );
    expect(again).toEqual(resolved);

    expect((await get('/alerts?resolved=true', alertListSchema, CAROL)).alerts).toEqual([resolved]);
    expect((await evaluate()).alertsOpened).toBe(1);
  });

  it('answers 404 for an unknown alert and 400 for a malformed id', async () => {
    expect((await rejected(`/alerts/${randomUUID()}/resolve`, 404, { method: 'PATCH' })).code).toBe(
      'NOT_FOUND',
    );
    const error = await rejected('/alerts/123/resolve', 400, { method: 'PATCH' });
    expect(error.details?.map((d) => d.field)).toEqual(['path.alert_id']);
  });

  it('raises nothing for a user with too few frames', async () => {
    const dave = `dave-${randomUUID()}`;
    await insertFrames(db.sql, [
      {
        userId: dave,
        sessionId: randomUUID(),
        recordedAt: new Date(),
        originalBytes: 100,
        compressedBytes: 100,
        ssim: 0.1,
        totalMs: 900,
        fallback: true,
      },
    ]);
    await evaluate();
    expect((await get('/alerts', alertListSchema, dave)).alerts).toEqual([]);
  });
});

describe('npm run alerts', () => {
  const run = promisify(execFile);
  const cli = (env: Record<string, string>) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/alerts.ts'], {
      cwd: process.cwd(),
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', ...env },
    });

  it('runs the evaluator once against DATABASE_URL and prints what it did', async () => {
    const { stdout } = await cli({ DATABASE_URL: db.url });
    expect(JSON.parse(stdout)).toMatchObject({
      usersEvaluated: expect.any(Number),
      alertsOpened: expect.any(Number),
    });
  });

  it('exits 1 with a clear message when there is no database to use', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'aic-alerts-'));
    try {
      const error = (await cli({ DATABASE_URL: '', AIC_LOCAL_STATE_DIR: stateDir }).catch(
        (e: unknown) => e,
      )) as { code: number; stderr: string };
      expect(error.code).toBe(1);
      expect(error.stderr).toMatch(/set DATABASE_URL, or run `npm start`/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
