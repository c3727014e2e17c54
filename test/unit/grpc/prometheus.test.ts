import { totalmem } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompressResponse } from '../../../functions/core/contracts/compress.ts';
import type { ReadinessResponse } from '../../../functions/core/contracts/health.ts';
import { recordFrameAnswered } from '../../../functions/grpc/frame-metrics.ts';
import { HealthService } from '../../../functions/grpc/health.ts';
import {
  collectDependencies,
  type DependencySources,
  type MetricsServer,
  startMetricsServer,
} from '../../../functions/grpc/metrics-server.ts';
import { GrpcMetrics, memoryLimitBytes, StateGauge } from '../../../functions/grpc/prometheus.ts';

const DEGRADED: ReadinessResponse = {
  status: 'degraded',
  checks: {
    initialisation: { status: 'pass', latency_ms: 1 },
    postgres: { status: 'pass', latency_ms: 2 },
    redis: { status: 'degraded', latency_ms: 0, detail: 'circuit breaker open' },
  },
};

const sources = (
  readiness: () => Promise<ReadinessResponse>,
  breaker: () => Promise<'CLOSED' | 'OPEN' | 'HALF_OPEN' | undefined>,
): DependencySources => ({ readiness, redisBreaker: breaker });

function answered(overrides: Partial<CompressResponse>): CompressResponse {
  return {
    status: 'success',
    session_id: 's',
    frame_number: 1,
    compressed_data: '',
    format: 'webp',
    quality: 70,
    width: 640,
    height: 360,
    original_size_bytes: 10_000,
    compressed_size_bytes: 2_500,
    compression_ratio: 0.75,
    bandwidth_savings_percent: 75,
    budget_bytes: 3_000,
    within_budget: true,
    ssim: 0.96,
    psnr_db: 40,
    quality_score: 0.96,
    encode_attempts: 1,
    latency_ms: { decode: 1, encode: 5, metrics: 1, total: 8 },
    fallback_used: false,
    fallback_reason: null,
    drop_reason: null,
    ...overrides,
  };
}

describe('a state gauge', () => {
  it('exposes one series per state, 1 for the current one, per label set', () => {
    const gauge = new StateGauge('breaker', 'Breaker state.', 'state', ['closed', 'open']);
    expect(gauge.expose()).toBe('# HELP breaker Breaker state.\n# TYPE breaker gauge');
    gauge.set('open', { client: 'a' });
    gauge.set('closed', { client: 'b' });
    expect(gauge.expose().split('\n').slice(2)).toEqual([
      'breaker{client="a",state="closed"} 0',
      'breaker{client="a",state="open"} 1',
      'breaker{client="b",state="closed"} 1',
      'breaker{client="b",state="open"} 0',
    ]);
    gauge.clear({ client: 'a' });
    expect(gauge.get({ client: 'a' })).toBeUndefined();
    expect(gauge.get({ client: 'b' })).toBe('closed');
  });
});

describe('the registry of the gRPC task', () => {
  it('exposes the counters ratios divide by at 0 before the first frame', () => {
    const text = new GrpcMetrics().expose();
    for (const line of [
      'aic_frames_total{outcome="success"} 0',
      'aic_frames_total{outcome="fallback"} 0',
      'aic_frames_total{outcome="dropped"} 0',
      'aic_frames_total{outcome="unchanged"} 0',
      'aic_frames_within_budget_total 0',
      'aic_frame_bytes_saved_total 0',
      'aic_rate_limit_rejections_total 0',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('bounds memory by the cgroup limit or the host', () => {
    const limit = memoryLimitBytes();
    expect(limit).toBeGreaterThan(0);
    expect(limit).toBeLessThanOrEqual(totalmem());
    expect(new GrpcMetrics().expose()).toContain(`aic_memory_limit_bytes ${limit}`);
  });

  it('records an answered frame: SSIM, within budget, bytes saved', () => {
    const metrics = new GrpcMetrics();
    recordFrameAnswered(metrics, answered({}), 2_500);
    recordFrameAnswered(metrics, answered({ within_budget: false, ssim: 0.91 }), 4_000);
    expect(metrics.withinBudget.get()).toBe(1);
    expect(metrics.bytesSaved.get()).toBe(7_500 + 6_000);
    const text = metrics.expose();
    expect(text).toContain('aic_frame_ssim_bucket{le="0.9"} 0');
    expect(text).toContain('aic_frame_ssim_bucket{le="0.925"} 1');
    expect(text).toContain('aic_frame_ssim_bucket{le="0.96"} 2');
    expect(text).toContain('aic_frame_ssim_count 2');
    expect(metrics.fallbacks.expose()).not.toContain('reason=');
  });

  it('records a fallback by its reason, saving nothing, and a frame without SSIM unmeasured', () => {
    const metrics = new GrpcMetrics();
    const fallback = answered({
      status: 'fallback',
      fallback_used: true,
      fallback_reason: 'latency_budget_exhausted',
      within_budget: false,
      ssim: null,
    });
    recordFrameAnswered(metrics, fallback, fallback.original_size_bytes);
    expect(metrics.fallbacks.get({ reason: 'latency_budget_exhausted' })).toBe(1);
    expect(metrics.frames.get({ outcome: 'fallback' })).toBe(1);
    expect(metrics.bytesSaved.get()).toBe(0);
    expect(metrics.withinBudget.get()).toBe(0);
    expect(metrics.expose()).not.toContain('aic_frame_ssim_count');
  });
});

describe('an unchanged frame', () => {
  it('counts as an answered frame that sends nothing, saves its original and keeps its SSIM', () => {
    const metrics = new GrpcMetrics();
    const unchanged = answered({
      status: 'unchanged',
      compressed_size_bytes: 0,
      compression_ratio: 1,
      bandwidth_savings_percent: 100,
      ssim: 0.995,
      quality_score: 0.995,
      encode_attempts: 0,
    });
    recordFrameAnswered(metrics, unchanged, 0);
    expect(metrics.frames.get({ outcome: 'unchanged' })).toBe(1);
    expect(metrics.frames.get({ outcome: 'success' })).toBe(0);
    expect(metrics.bytesOut.get()).toBe(0);
    expect(metrics.bytesSaved.get()).toBe(10_000);
    expect(metrics.withinBudget.get()).toBe(1);
    expect(metrics.expose()).toContain('aic_frame_ssim_count 1');
    expect(metrics.expose()).toContain('aic_frame_processing_seconds_count{status="unchanged"} 1');
    expect(metrics.fallbacks.expose()).not.toContain('reason=');
    expect(metrics.drops.expose()).not.toContain('reason=');
  });
});

describe('the dependencies read at a scrape', () => {
  it('sets readiness, each check and the breaker state', async () => {
    const metrics = new GrpcMetrics();
    await collectDependencies(
      metrics,
      sources(
        async () => DEGRADED,
        async () => 'OPEN',
      ),
    );
    const text = metrics.expose();
    expect(text).toContain('aic_readiness_status{status="degraded"} 1');
    expect(text).toContain('aic_readiness_status{status="ready"} 0');
    expect(text).toContain('aic_readiness_check_status{check="redis",status="degraded"} 1');
    expect(text).toContain('aic_readiness_check_status{check="postgres",status="pass"} 1');
    expect(text).toContain('aic_redis_circuit_breaker_state{state="open"} 1');
    expect(text).toContain('aic_redis_circuit_breaker_state{state="half_open"} 0');
  });

  it('counts readiness it cannot read as not_ready and drops a breaker it cannot see', async () => {
    const metrics = new GrpcMetrics();
    metrics.redisBreaker.set('closed');
    await collectDependencies(
      metrics,
      sources(
        () => Promise.reject(new Error('probe failed')),
        async () => undefined,
      ),
    );
    expect(metrics.readiness.get()).toBe('not_ready');
    expect(metrics.expose()).not.toContain('aic_redis_circuit_breaker_state{');
  });
});

describe('the metrics server', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('reads the dependencies into /metrics at each scrape', async () => {
    let breaker: 'CLOSED' | 'HALF_OPEN' = 'CLOSED';
    server = await startMetricsServer({
      port: 0,
      metrics: new GrpcMetrics(),
      health: new HealthService('SERVING'),
      dependencies: sources(
        async () => DEGRADED,
        async () => breaker,
      ),
    });
    const scrape = () => fetch(`http://127.0.0.1:${server?.port}/metrics`);
    const first = await scrape();
    expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await first.text()).toContain('aic_redis_circuit_breaker_state{state="closed"} 1');
    breaker = 'HALF_OPEN';
    expect(await (await scrape()).text()).toContain(
      'aic_redis_circuit_breaker_state{state="half_open"} 1',
    );
  });

  it('answers 500 when the exposition fails, and keeps serving', async () => {
    const metrics = Object.assign(new GrpcMetrics(), {
      expose: (): string => {
        throw new Error('broken collector');
      },
    });
    server = await startMetricsServer({
      port: 0,
      metrics,
      health: new HealthService('SERVING'),
      dependencies: sources(
        async () => DEGRADED,
        async () => undefined,
      ),
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(500);
    expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
  });
});
