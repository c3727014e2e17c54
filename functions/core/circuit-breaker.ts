/**
 * Circuit breaker as a pure state machine (docs/design.md section 2, rate limits).
 *
 * No timers and no I/O: every function takes the current state and the time `now` (ms) and returns
 * a new state, so the same machine guards Redis in a Lambda container, the gRPC task and the tests.
 *
 * - CLOSED: every call is admitted; `failureThreshold` consecutive failures open the breaker.
 * - OPEN: nothing is admitted until `openMs` have passed since it opened; the next admission then
 *   moves it to HALF_OPEN.
 * - HALF_OPEN: at most `halfOpenMaxTrials` trial calls run at once; `successThreshold` successes
 *   close the breaker, any failure opens it again with a fresh `openedAt`.
 *
 * Every transition bumps `generation`. {@link admit} hands out a {@link BreakerTicket} carrying the
 * generation it was admitted in; a result reported with a ticket from an older generation is
 * ignored, so a slow call admitted while CLOSED cannot count as a HALF_OPEN trial.
 */

/** The three states of the breaker. */
export type BreakerStateName = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** Tuning of the breaker. */
export interface BreakerConfig {
  /** Consecutive failures in CLOSED that open the breaker. */
  readonly failureThreshold: number;
  /** How long the breaker stays OPEN before it admits a trial call, in ms. */
  readonly openMs: number;
  /** Trial calls admitted at the same time while HALF_OPEN. */
  readonly halfOpenMaxTrials: number;
  /** Successful trials in HALF_OPEN that close the breaker. */
  readonly successThreshold: number;
}

/** Defaults from docs/design.md section 2: 5 failures, 60 s open, a few trials, 2 successes close. */
export const DEFAULT_BREAKER_CONFIG: Readonly<BreakerConfig> = Object.freeze({
  failureThreshold: 5,
  openMs: 60_000,
  halfOpenMaxTrials: 3,
  successThreshold: 2,
});

/** Immutable snapshot of the breaker. */
export interface BreakerState {
  readonly name: BreakerStateName;
  /** Consecutive failures counted while CLOSED. */
  readonly consecutiveFailures: number;
  /** When the breaker last opened (ms), `null` while it has never been open since closing. */
  readonly openedAt: number | null;
  /** Trial calls admitted in HALF_OPEN whose result is not in yet. */
  readonly trialsInFlight: number;
  /** Successful trials counted in the current HALF_OPEN period. */
  readonly trialSuccesses: number;
  /** Incremented on every transition; ties results to the period their call was admitted in. */
  readonly generation: number;
}

/** Proof of admission; pass it back with the call's result. */
export interface BreakerTicket {
  readonly generation: number;
}

/** A change of state, for metrics and logs. */
export interface BreakerTransition {
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  /** The `now` at which it happened (ms). */
  readonly at: number;
}

/** Result of {@link recordSuccess} and {@link recordFailure}. */
export interface BreakerStep {
  readonly state: BreakerState;
  /** The transition this step caused, `null` when the state name did not change. */
  readonly transition: BreakerTransition | null;
}

/** Result of {@link admit}. */
export type Admission =
  | (BreakerStep & { readonly allowed: true; readonly ticket: BreakerTicket })
  | (BreakerStep & { readonly allowed: false; readonly ticket: null });

/**
 * Merges overrides into {@link DEFAULT_BREAKER_CONFIG} and checks the result.
 *
 * @throws RangeError when a count is not a positive integer or `openMs` is negative or not finite.
 */
export function breakerConfig(overrides: Partial<BreakerConfig> = {}): BreakerConfig {
  const config: BreakerConfig = { ...DEFAULT_BREAKER_CONFIG, ...overrides };
  for (const key of ['failureThreshold', 'halfOpenMaxTrials', 'successThreshold'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) {
      throw new RangeError(`circuit breaker ${key} must be a positive integer, got ${config[key]}`);
    }
  }
  if (!Number.isFinite(config.openMs) || config.openMs < 0) {
    throw new RangeError(
      `circuit breaker openMs must be a finite number >= 0, got ${config.openMs}`,
    );
  }
  return config;
}

/** A CLOSED breaker with no failures. */
export function initialBreakerState(): BreakerState {
  return {
    name: 'CLOSED',
    consecutiveFailures: 0,
    openedAt: null,
    trialsInFlight: 0,
    trialSuccesses: 0,
    generation: 0,
  };
}

function transition(
  from: BreakerState,
  to: Omit<BreakerState, 'generation'>,
  now: number,
): BreakerStep {
  return {
    state: { ...to, generation: from.generation + 1 },
    transition: { from: from.name, to: to.name, at: now },
  };
}

function open(state: BreakerState, now: number): BreakerStep {
  return transition(
    state,
    { name: 'OPEN', consecutiveFailures: 0, openedAt: now, trialsInFlight: 0, trialSuccesses: 0 },
    now,
  );
}

function unchanged(state: BreakerState): BreakerStep {
  return { state, transition: null };
}

/** Whether a result belongs to the current period (no ticket means "assume it does"). */
function isCurrent(state: BreakerState, ticket: BreakerTicket | undefined): boolean {
  return ticket === undefined || ticket.generation === state.generation;
}

/**
 * Asks whether a call may go ahead at `now`. An OPEN breaker whose `openMs` have passed moves to
 * HALF_OPEN here; in HALF_OPEN the admitted call is counted as a trial in flight until its result
 * is recorded.
 */
export function admit(state: BreakerState, config: BreakerConfig, now: number): Admission {
  let step = unchanged(state);
  if (state.name === 'OPEN') {
    const openedAt = state.openedAt ?? now;
    if (now - openedAt < config.openMs) {
      return refused(step);
    }
    step = transition(
      state,
      { name: 'HALF_OPEN', consecutiveFailures: 0, openedAt, trialsInFlight: 0, trialSuccesses: 0 },
      now,
    );
  }
  const current = step.state;
  if (current.name === 'HALF_OPEN') {
    if (current.trialsInFlight >= config.halfOpenMaxTrials) {
      return refused(step);
    }
    const admitted = { ...current, trialsInFlight: current.trialsInFlight + 1 };
    return {
      state: admitted,
      transition: step.transition,
      allowed: true,
      ticket: { generation: admitted.generation },
    };
  }
  return {
    state: step.state,
    transition: step.transition,
    allowed: true,
    ticket: { generation: current.generation },
  };
}

// Admissions are built field by field: V8 copies a spread `step` on a slow path, and this runs on
// every guarded Redis call (a rate-limit check on every request).
function refused(step: BreakerStep): Admission {
  return { state: step.state, transition: step.transition, allowed: false, ticket: null };
}

/**
 * Records a successful call. In CLOSED it resets the failure count; in HALF_OPEN it counts a
 * successful trial and closes the breaker at `successThreshold`. Results from an older period
 * (see {@link BreakerTicket}) and results while OPEN change nothing.
 */
export function recordSuccess(
  state: BreakerState,
  config: BreakerConfig,
  now: number,
  ticket?: BreakerTicket,
): BreakerStep {
  if (!isCurrent(state, ticket)) return unchanged(state);
  if (state.name === 'CLOSED') {
    return unchanged(
      state.consecutiveFailures === 0 ? state : { ...state, consecutiveFailures: 0 },
    );
  }
  if (state.name === 'HALF_OPEN') {
    const trialSuccesses = state.trialSuccesses + 1;
    if (trialSuccesses >= config.successThreshold) {
      return transition(
        state,
        {
          name: 'CLOSED',
          consecutiveFailures: 0,
          openedAt: null,
          trialsInFlight: 0,
          trialSuccesses: 0,
        },
        now,
      );
    }
    return unchanged({
      ...state,
      trialSuccesses,
      trialsInFlight: Math.max(0, state.trialsInFlight - 1),
    });
  }
  return unchanged(state);
}

/**
 * Records a failed call (an error or a timeout). In CLOSED it counts a consecutive failure and
 * opens the breaker at `failureThreshold`; in HALF_OPEN any failure opens it again with
 * `openedAt = now`. Results from an older period and results while OPEN change nothing.
 */
export function recordFailure(
  state: BreakerState,
  config: BreakerConfig,
  now: number,
  ticket?: BreakerTicket,
): BreakerStep {
  if (!isCurrent(state, ticket)) return unchanged(state);
  if (state.name === 'CLOSED') {
    const consecutiveFailures = state.consecutiveFailures + 1;
    if (consecutiveFailures >= config.failureThreshold) return open(state, now);
    return unchanged({ ...state, consecutiveFailures });
  }
  if (state.name === 'HALF_OPEN') return open(state, now);
  return unchanged(state);
}
