import type { Redis } from 'ioredis';
import {
  admit,
  type BreakerConfig,
  type BreakerState,
  type BreakerStateName,
  type BreakerStep,
  breakerConfig,
  initialBreakerState,
  recordFailure,
  recordSuccess,
} from '../../core/circuit-breaker.ts';
import type { CheckResult } from '../../core/contracts/health.ts';
import {
  createRedisClient,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type RedisClientOptions,
  type RedisLogger,
} from './client.ts';
import { RedisReauthenticator } from './reauthenticator.ts';

/** Why a guarded call produced no value. */
export type GuardedFailureReason = 'breaker_open' | 'error' | 'timeout';

/** Outcome of {@link GuardedRedis.run}: a value, or the reason there is none. */
export type GuardedResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: GuardedFailureReason; error?: unknown };

/** Readiness check of Redis: it is optional, so a failure is `degraded`, never `fail`. */
export type RedisCheckResult = CheckResult & { status: 'pass' | 'degraded' };

/** Options of {@link GuardedRedis}. */
export interface GuardedRedisOptions {
  /** A client from `createRedisClient` (fail-fast settings matter: see there). */
  redis: Redis;
  /** Overrides of the breaker defaults (5 failures, 60 s open, 3 trials, 2 successes). */
  breaker?: Partial<BreakerConfig>;
  /**
   * Deadline of one guarded call in ms, including waiting for a connection that is being set up.
   * Defaults to {@link DEFAULT_COMMAND_TIMEOUT_MS}; keep it equal to the client's command timeout.
   */
  timeoutMs?: number;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
  /** Called on every breaker transition, e.g. to emit a metric and a log line. */
  onStateChange?: (from: BreakerStateName, to: BreakerStateName) => void;
  /** Receives failures of `onStateChange` and of `close()`. */
  logger?: RedisLogger;
}

const TIMEOUT_MESSAGE = 'Command timed out';

/**
 * Redis behind the circuit breaker of `core/circuit-breaker.ts`. Every call either yields a value
 * or a reason within `timeoutMs`; it never throws for a Redis failure, so callers such as the rate
 * limiter can fail open. While the breaker is open a call returns `breaker_open` at once without
 * touching the network.
 *
 * Every error counts as a failure, Redis reply errors included: a server answering `OOM`, `BUSY`
 * or `READONLY` is not one the request path should keep waiting on.
 *
 * A call that fails because Redis refused the client's login (a rotated password, an expired IAM
 * token; see {@link RedisReauthenticator.failedOnLogin}) waits, within one more `timeoutMs`, for
 * the client's re-authenticator to log in with a new credential and then runs `op` once more.
 * That retry cannot apply a command twice: Redis answers `NOAUTH`/`WRONGPASS` without running the
 * command, and a command rejected while the connection was down was never sent. The retry's
 * outcome is what the breaker records; a call whose login was still being repaired at the deadline
 * is not counted as a failure (in HALF_OPEN it ends the trial as one, so that trials never leak).
 */
export class GuardedRedis {
  readonly #redis: Redis;
  readonly #config: BreakerConfig;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #onStateChange: ((from: BreakerStateName, to: BreakerStateName) => void) | undefined;
  readonly #logger: RedisLogger | undefined;
  readonly #reauthenticator: RedisReauthenticator | undefined;
  #breaker: BreakerState = initialBreakerState();
  #pendingConnection: Promise<void> | null = null;

  constructor(options: GuardedRedisOptions) {
    this.#redis = options.redis;
    this.#config = breakerConfig(options.breaker);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
    this.#logger = options.logger;
    this.#reauthenticator = RedisReauthenticator.of(options.redis);
  }

  /** Current breaker state name. */
  get state(): BreakerStateName {
    return this.#breaker.name;
  }

  /**
   * Starts connecting in the background (call it during Lambda init so the first request finds a
   * ready connection). Never throws; a failure surfaces through the client's error logging.
   */
  connect(): void {
    if (this.#redis.status === 'wait') this.#redis.connect().catch(() => undefined);
  }

  /** Runs `op` against Redis if the breaker admits it, within the deadline, and records the result. */
  async run<T>(op: (redis: Redis) => Promise<T>): Promise<GuardedResult<T>> {
    const admission = admit(this.#breaker, this.#config, this.#now());
    this.#apply(admission);
    if (!admission.allowed) return { ok: false, reason: 'breaker_open' };

    const first = await this.#attempt(op, this.#timeoutMs);
    const { result, counted } = first.ok
      ? { result: first, counted: true }
      : await this.#retried(op, first);
    const now = this.#now();
    if (result.ok) {
      this.#apply(recordSuccess(this.#breaker, this.#config, now, admission.ticket));
    } else if (counted || this.#breaker.name === 'HALF_OPEN') {
      this.#apply(recordFailure(this.#breaker, this.#config, now, admission.ticket));
    }
    return result;
  }

  /**
   * `failed` again, unless it failed on a refused login: then `op` once more after the login is
   * repaired, all within one more `timeoutMs`. `counted` is false when the repair was still under
   * way at the deadline.
   */
  async #retried<T>(
    op: (redis: Redis) => Promise<T>,
    failed: GuardedResult<T>,
  ): Promise<{ result: GuardedResult<T>; counted: boolean }> {
    const reauthenticator = this.#reauthenticator;
    if (failed.ok || !reauthenticator?.failedOnLogin(failed.error)) {
      return { result: failed, counted: true };
    }
    const started = performance.now();
    const repaired = await withDeadline(reauthenticator.repair(), this.#timeoutMs);
    if (repaired === undefined) return { result: failed, counted: false };
    if (!repaired) return { result: failed, counted: true };
    const left = Math.max(1, this.#timeoutMs - (performance.now() - started));
    return { result: await this.#attempt(op, left), counted: true };
  }

  /** Readiness check: PING through the breaker. `degraded` (with a reason) when it fails. */
  async ping(): Promise<RedisCheckResult> {
    const started = performance.now();
    const result = await this.run((redis) => redis.ping());
    const latency_ms = Math.round((performance.now() - started) * 100) / 100;
    if (result.ok) return { status: 'pass', latency_ms };
    // Fixed wording: readiness is public, so no host names or driver messages.
    const detail =
      result.reason === 'breaker_open'
        ? 'circuit breaker open'
        : result.reason === 'timeout'
          ? `no reply within ${this.#timeoutMs} ms`
          : 'unreachable';
    return { status: 'degraded', latency_ms, detail };
  }

  /** Closes the connection: QUIT when connected, otherwise (or if QUIT fails) a hard disconnect. */
  async close(): Promise<void> {
    this.#reauthenticator?.stop();
    if (this.#redis.status === 'ready') {
      try {
        await this.#redis.quit();
        return;
      } catch (error) {
        this.#logger?.warn('Redis QUIT failed; disconnecting', { error: String(error) });
      }
    }
    this.#redis.disconnect();
  }

  #apply(step: BreakerStep): void {
    this.#breaker = step.state;
    if (step.transition === null || this.#onStateChange === undefined) return;
    try {
      this.#onStateChange(step.transition.from, step.transition.to);
    } catch (error) {
      // A failing metric or log sink must not turn a Redis call into a thrown error.
      this.#logger?.warn('Circuit breaker state listener failed', { error: String(error) });
    }
  }

  #attempt<T>(op: (redis: Redis) => Promise<T>, timeoutMs: number): Promise<GuardedResult<T>> {
    // Only a call that may wait for a connection needs a signal to stop waiting; on a ready
    // connection (every call of a warm container) it is not built.
    const deadline = this.#redis.status === 'ready' ? undefined : new AbortController();
    return new Promise<GuardedResult<T>>((resolve) => {
      const timer = setTimeout(() => {
        deadline?.abort();
        resolve({ ok: false, reason: 'timeout', error: new Error(TIMEOUT_MESSAGE) });
      }, timeoutMs);
      // On a ready connection the command is sent now, before the caller's next synchronous work.
      (deadline
        ? this.#whenConnected(deadline.signal).then(() => op(this.#redis))
        : started(op, this.#redis)
      ).then(
        (value) => {
          clearTimeout(timer);
          resolve({ ok: true, value });
        },
        (error: unknown) => {
          clearTimeout(timer);
          resolve({ ok: false, reason: isTimeout(error) ? 'timeout' : 'error', error });
        },
      );
    });
  }

  /**
   * Waits (until `signal` aborts) while a connection is being set up, so the first call after a
   * cold start is not failed merely because the handshake is still running. In any other
   * not-ready state (reconnect pending, closed) it returns at once and the command fails fast.
   */
  async #whenConnected(signal: AbortSignal): Promise<void> {
    this.connect();
    const status = this.#redis.status;
    if (status !== 'connecting' && status !== 'connect') return;
    const settled = this.#connectionSettled();
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      void settled.then(resolve);
    });
    if (signal.aborted) throw new Error(TIMEOUT_MESSAGE);
  }

  /**
   * One shared promise per connection attempt, settled by `ready`, `error` or `close`; sharing it
   * keeps a burst of concurrent first calls from piling listeners onto the client.
   */
  #connectionSettled(): Promise<void> {
    this.#pendingConnection ??= new Promise<void>((resolve) => {
      const settle = (): void => {
        for (const event of ['ready', 'error', 'close'] as const) this.#redis.off(event, settle);
        this.#pendingConnection = null;
        resolve();
      };
      for (const event of ['ready', 'error', 'close'] as const) this.#redis.on(event, settle);
    });
    return this.#pendingConnection;
  }
}

/** `op` called at once, a synchronous throw turned into a rejection. */
function started<T>(op: (redis: Redis) => Promise<T>, redis: Redis): Promise<T> {
  try {
    return op(redis);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `promise`'s value, or undefined when it takes longer than `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === TIMEOUT_MESSAGE;
}

/** Options of {@link createGuardedRedis}: the client's and the breaker's in one object. */
export type CreateGuardedRedisOptions = RedisClientOptions &
  Omit<GuardedRedisOptions, 'redis' | 'timeoutMs'>;

/**
 * Creates the fail-fast client and its breaker in one step; the call deadline equals the client's
 * command timeout. The returned {@link GuardedRedis} owns the client (`close()` closes it).
 */
export function createGuardedRedis(options: CreateGuardedRedisOptions): GuardedRedis {
  const { breaker, now, onStateChange, ...clientOptions } = options;
  return new GuardedRedis({
    redis: createRedisClient(clientOptions),
    timeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    breaker,
    now,
    onStateChange,
    logger: options.logger,
  });
}
