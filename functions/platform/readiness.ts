import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckResult, ReadinessResponse } from '../core/contracts/health.ts';
import { readinessOf } from '../core/readiness.ts';
import { getRuntime, initialisationCheck, postgresCheck, type Runtime } from './runtime.ts';
import { loadSettings } from './settings.ts';

/** How long readiness waits for a cold start before answering "initialising". */
export const READINESS_INIT_WAIT_MS = 1500;

/**
 * The longest a `not_ready` answer is served from the cache: long enough that a flood during an
 * outage probes the dependencies about once a second, short enough that recovery shows at once.
 */
export const READINESS_FAILURE_CACHE_MS = 1000;

const notChecked: CheckResult = {
  status: 'fail',
  latency_ms: 0,
  detail: 'not checked: not initialised',
};

/** Options of {@link createReadinessCache}. */
export interface ReadinessCacheOptions {
  /** Checks the dependencies; called at most once at a time. */
  probe: () => Promise<ReadinessResponse>;
  /** How long a `ready` or `degraded` answer is served; 0 probes on every call. */
  ttlMs: number;
  /** How long a `not_ready` answer is served; at most {@link ttlMs}. */
  failureTtlMs: number;
  /**
   * A view of the dependencies that costs no I/O (the Redis breaker's state). An answer is served
   * only while this is what it was when the answer was probed, so a change the container has
   * already seen is never hidden behind the cache.
   */
  stateOf?: () => unknown;
  /** Clock in epoch milliseconds; tests inject one. Default `Date.now`. */
  now?: () => number;
}

interface CachedAnswer {
  readonly answer: ReadinessResponse;
  readonly state: unknown;
  readonly expiresAt: number;
}

/**
 * Readiness answered from a cache (docs/design.md section 2.8): at most one probe of the
 * dependencies per {@link ReadinessCacheOptions.ttlMs}, however many callers ask; callers that ask
 * while a probe runs share it (single flight). A probe that throws is not cached: its callers get
 * the error and the next call probes again.
 */
export function createReadinessCache(
  options: ReadinessCacheOptions,
): () => Promise<ReadinessResponse> {
  const { probe, ttlMs } = options;
  const failureTtlMs = Math.min(options.failureTtlMs, ttlMs);
  const now = options.now ?? Date.now;
  const stateOf = options.stateOf ?? (() => undefined);
  let cached: CachedAnswer | undefined;
  let inFlight: Promise<ReadinessResponse> | undefined;

  const fresh = (entry: CachedAnswer | undefined): entry is CachedAnswer =>
    entry !== undefined && now() < entry.expiresAt && Object.is(entry.state, stateOf());

  return () => {
    if (inFlight) return inFlight;
    if (fresh(cached)) return Promise.resolve(cached.answer);
    inFlight = probe()
      .then((answer) => {
        const ttl = answer.status === 'not_ready' ? failureTtlMs : ttlMs;
        cached = { answer, state: stateOf(), expiresAt: now() + ttl };
        return answer;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

/** The runtime the last probe used: its Redis breaker state is the cache's view of Redis. */
let probedRuntime: Runtime | undefined;

/**
 * One probe of this container's readiness: initialisation, Postgres (reachable, schema current)
 * and Redis (degraded when down, not fatal). Waits at most `initWaitMs` for a cold start.
 */
export async function probeReadiness(
  initWaitMs = READINESS_INIT_WAIT_MS,
): Promise<ReadinessResponse> {
  const runtime = await Promise.race([
    getRuntime().catch(() => undefined),
    sleep(initWaitMs, undefined),
  ]);
  probedRuntime = runtime;
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

let containerReadiness: (() => Promise<ReadinessResponse>) | undefined;

/**
 * The readiness of this container, shared by `GET /readiness` and the gRPC health service: a
 * {@link probeReadiness} served from a cache of `READINESS_CACHE_MS` (failures for at most
 * {@link READINESS_FAILURE_CACHE_MS}), so a flood of readiness requests costs one Postgres query
 * and one Redis ping per container and period.
 */
export function checkReadiness(): Promise<ReadinessResponse> {
  containerReadiness ??= createReadinessCache({
    probe: () => probeReadiness(),
    ttlMs: loadSettings().READINESS_CACHE_MS,
    failureTtlMs: READINESS_FAILURE_CACHE_MS,
    stateOf: () => probedRuntime?.redis?.state,
  });
  return containerReadiness();
}
