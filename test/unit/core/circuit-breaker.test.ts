import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admit,
  type BreakerConfig,
  type BreakerState,
  type BreakerStateName,
  type BreakerStep,
  type BreakerTicket,
  breakerConfig,
  DEFAULT_BREAKER_CONFIG,
  initialBreakerState,
  recordFailure,
  recordSuccess,
} from '../../../functions/core/circuit-breaker.ts';

const config = DEFAULT_BREAKER_CONFIG;

/** Admits one call and returns its ticket, failing the test when it is refused. */
function admitted(
  state: BreakerState,
  now: number,
): { state: BreakerState; ticket: BreakerTicket } {
  const result = admit(state, config, now);
  if (!result.allowed) throw new Error(`expected admission in ${state.name}`);
  return { state: result.state, ticket: result.ticket };
}

function failTimes(state: BreakerState, times: number, now: number): BreakerStep {
  let step: BreakerStep = { state, transition: null };
  for (let i = 0; i < times; i += 1) {
    const call = admitted(step.state, now);
    step = recordFailure(call.state, config, now, call.ticket);
  }
  return step;
}

describe('circuit breaker transitions', () => {
  it('starts closed and admits calls', () => {
    const state = initialBreakerState();
    expect(state.name).toBe('CLOSED');
    const result = admit(state, config, 0);
    expect(result.allowed).toBe(true);
    expect(result.transition).toBeNull();
  });

  it('opens after five consecutive failures', () => {
    const four = failTimes(initialBreakerState(), 4, 100);
    expect(four.state.name).toBe('CLOSED');
    expect(four.transition).toBeNull();
    const five = failTimes(four.state, 1, 200);
    expect(five.state.name).toBe('OPEN');
    expect(five.state.openedAt).toBe(200);
    expect(five.transition).toEqual({ from: 'CLOSED', to: 'OPEN', at: 200 });
  });

  it('resets the failure count on a success while closed', () => {
    const four = failTimes(initialBreakerState(), 4, 0);
    const call = admitted(four.state, 0);
    const reset = recordSuccess(call.state, config, 0, call.ticket);
    expect(reset.state.consecutiveFailures).toBe(0);
    expect(failTimes(reset.state, 4, 0).state.name).toBe('CLOSED');
  });

  it('refuses every call while open and before openMs has passed', () => {
    const open = failTimes(initialBreakerState(), 5, 1_000).state;
    for (const now of [1_000, 30_000, 60_999]) {
      const result = admit(open, config, now);
      expect(result.allowed).toBe(false);
      expect(result.state).toBe(open);
      expect(result.transition).toBeNull();
    }
  });

  it('moves to half-open on the first admission once openMs has passed', () => {
    const open = failTimes(initialBreakerState(), 5, 1_000).state;
    const result = admit(open, config, 61_000);
    expect(result.allowed).toBe(true);
    expect(result.state.name).toBe('HALF_OPEN');
    expect(result.state.trialsInFlight).toBe(1);
    expect(result.transition).toEqual({ from: 'OPEN', to: 'HALF_OPEN', at: 61_000 });
  });

  it('admits at most halfOpenMaxTrials concurrent trials while half-open', () => {
    let state = failTimes(initialBreakerState(), 5, 0).state;
    const tickets: BreakerTicket[] = [];
    for (let i = 0; i < config.halfOpenMaxTrials; i += 1) {
      const call = admitted(state, 60_000);
      state = call.state;
      tickets.push(call.ticket);
    }
    expect(admit(state, config, 60_001).allowed).toBe(false);
    const [first] = tickets;
    if (!first) throw new Error('no ticket');
    state = recordSuccess(state, config, 60_002, first).state;
    expect(state.name).toBe('HALF_OPEN');
    expect(admit(state, config, 60_003).allowed).toBe(true);
  });

  it('closes after two successful trials', () => {
    const open = failTimes(initialBreakerState(), 5, 0).state;
    const a = admitted(open, 60_000);
    const b = admitted(a.state, 60_000);
    const one = recordSuccess(b.state, config, 60_010, a.ticket);
    expect(one.state.name).toBe('HALF_OPEN');
    expect(one.transition).toBeNull();
    const two = recordSuccess(one.state, config, 60_020, b.ticket);
    expect(two.state.name).toBe('CLOSED');
    expect(two.state.consecutiveFailures).toBe(0);
    expect(two.transition).toEqual({ from: 'HALF_OPEN', to: 'CLOSED', at: 60_020 });
  });

  it('reopens with a fresh openedAt on any failure while half-open', () => {
    const open = failTimes(initialBreakerState(), 5, 0).state;
    const a = admitted(open, 60_000);
    const ok = recordSuccess(a.state, config, 60_001, a.ticket);
    const b = admitted(ok.state, 60_002);
    const reopened = recordFailure(b.state, config, 60_005, b.ticket);
    expect(reopened.state.name).toBe('OPEN');
    expect(reopened.state.openedAt).toBe(60_005);
    expect(reopened.transition).toEqual({ from: 'HALF_OPEN', to: 'OPEN', at: 60_005 });
    expect(admit(reopened.state, config, 120_004).allowed).toBe(false);
    expect(admit(reopened.state, config, 120_005).allowed).toBe(true);
  });

  it('ignores results of calls admitted before the last transition', () => {
    let state = failTimes(initialBreakerState(), 4, 0).state;
    const slow = admitted(state, 0);
    state = failTimes(slow.state, 1, 0).state;
    expect(state.name).toBe('OPEN');
    const trial = admitted(state, 60_000);
    const stale = recordSuccess(trial.state, config, 60_001, slow.ticket);
    expect(stale.state).toBe(trial.state);
    expect(recordFailure(trial.state, config, 60_001, slow.ticket).state.name).toBe('HALF_OPEN');
  });

  it('ignores results while open', () => {
    const open = failTimes(initialBreakerState(), 5, 0).state;
    expect(recordFailure(open, config, 10).state).toBe(open);
    expect(recordSuccess(open, config, 10).state).toBe(open);
  });

  it('merges overrides into the defaults and rejects nonsense', () => {
    expect(breakerConfig({ openMs: 200 })).toEqual({ ...DEFAULT_BREAKER_CONFIG, openMs: 200 });
    expect(DEFAULT_BREAKER_CONFIG).toEqual({
      failureThreshold: 5,
      openMs: 60_000,
      halfOpenMaxTrials: 3,
      successThreshold: 2,
    });
    expect(() => breakerConfig({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => breakerConfig({ successThreshold: 1.5 })).toThrow(RangeError);
    expect(() => breakerConfig({ openMs: -1 })).toThrow(RangeError);
    expect(() => breakerConfig({ openMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});

type Command =
  | { kind: 'admit' }
  | { kind: 'success'; pick: number }
  | { kind: 'failure'; pick: number }
  | { kind: 'advance'; ms: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'admit' as const }), weight: 4 },
  { arbitrary: fc.nat().map((pick) => ({ kind: 'success' as const, pick })), weight: 3 },
  { arbitrary: fc.nat().map((pick) => ({ kind: 'failure' as const, pick })), weight: 4 },
  {
    arbitrary: fc.integer({ min: 0, max: 1_500 }).map((ms) => ({ kind: 'advance' as const, ms })),
    weight: 2,
  },
);

const configArb: fc.Arbitrary<BreakerConfig> = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 6 }),
  openMs: fc.integer({ min: 0, max: 1_000 }),
  halfOpenMaxTrials: fc.integer({ min: 1, max: 4 }),
  successThreshold: fc.integer({ min: 1, max: 4 }),
});

/**
 * Drives the breaker with random commands next to an independent reference model that predicts
 * every admission and every state name. The model numbers its own periods (a period ends whenever
 * the state name changes) and only counts results of calls admitted in the current period, as the
 * breaker promises to. Returns how often each state was visited, so tests can check coverage.
 */
function checkContract(
  cfg: BreakerConfig,
  commands: readonly Command[],
): Record<BreakerStateName, number> {
  const visits: Record<BreakerStateName, number> = { CLOSED: 0, OPEN: 0, HALF_OPEN: 0 };
  let state = initialBreakerState();
  let model = 'CLOSED' as BreakerStateName;
  let now = 0;
  let period = 0;
  let enteredAt = 0;
  let failureStreak = 0;
  let trialSuccesses = 0;
  const outstanding: { ticket: BreakerTicket; period: number }[] = [];
  const trialsInFlight = () => outstanding.filter((call) => call.period === period).length;

  const enter = (next: BreakerStateName): void => {
    model = next;
    period += 1;
    enteredAt = now;
    failureStreak = 0;
    trialSuccesses = 0;
  };

  const observe = (before: BreakerStateName, step: BreakerStep): void => {
    expect(['CLOSED', 'OPEN', 'HALF_OPEN']).toContain(step.state.name);
    expect(step.state.name).toBe(model);
    expect(step.transition).toEqual(before === model ? null : { from: before, to: model, at: now });
    if (model === 'HALF_OPEN') {
      expect(step.state.trialsInFlight).toBe(trialsInFlight());
      expect(trialsInFlight()).toBeLessThanOrEqual(cfg.halfOpenMaxTrials);
    }
    state = step.state;
    visits[model] += 1;
  };

  for (const command of commands) {
    const before = model;
    if (command.kind === 'advance') {
      now += command.ms;
      continue;
    }
    if (command.kind === 'admit') {
      if (model === 'OPEN' && now - enteredAt >= cfg.openMs) enter('HALF_OPEN');
      const allowed =
        model === 'CLOSED' || (model === 'HALF_OPEN' && trialsInFlight() < cfg.halfOpenMaxTrials);
      const result = admit(state, cfg, now);
      expect(result.allowed).toBe(allowed);
      if (result.allowed) outstanding.push({ ticket: result.ticket, period });
      observe(before, result);
      continue;
    }
    if (outstanding.length === 0) continue;
    const [call] = outstanding.splice(command.pick % outstanding.length, 1);
    if (!call) continue;
    const stale = call.period !== period;
    if (!stale) {
      if (command.kind === 'failure') {
        failureStreak += 1;
        if (model === 'HALF_OPEN' || failureStreak >= cfg.failureThreshold) enter('OPEN');
      } else if (model === 'CLOSED') {
        failureStreak = 0;
      } else {
        trialSuccesses += 1;
        if (trialSuccesses >= cfg.successThreshold) enter('CLOSED');
      }
    }
    const step =
      command.kind === 'success'
        ? recordSuccess(state, cfg, now, call.ticket)
        : recordFailure(state, cfg, now, call.ticket);
    if (stale) expect(step.state).toBe(state);
    observe(before, step);
  }
  return visits;
}

describe('circuit breaker properties', () => {
  it('keeps its contract over random sequences of admissions, results and time', () => {
    const seen: Record<BreakerStateName, number> = { CLOSED: 0, OPEN: 0, HALF_OPEN: 0 };
    fc.assert(
      fc.property(
        configArb,
        fc.array(commandArb, { minLength: 10, maxLength: 200, size: 'max' }),
        (cfg, commands) => {
          const visits = checkContract(cfg, commands);
          for (const name of ['CLOSED', 'OPEN', 'HALF_OPEN'] as const) seen[name] += visits[name];
        },
      ),
      { numRuns: 400 },
    );
    // The random walk must actually exercise every state, or the property proves little.
    expect(seen.OPEN).toBeGreaterThan(1_000);
    expect(seen.HALF_OPEN).toBeGreaterThan(1_000);
  });

  it('keeps its contract with the default configuration', () => {
    fc.assert(
      fc.property(
        fc.array(commandArb, { minLength: 10, maxLength: 300, size: 'max' }),
        (commands) => {
          checkContract({ ...DEFAULT_BREAKER_CONFIG, openMs: 1_000 }, commands);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never opens from closed with fewer than threshold consecutive failures', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (failureThreshold, outcomes) => {
          const cfg = breakerConfig({ failureThreshold });
          let state = initialBreakerState();
          let streak = 0;
          for (const failed of outcomes) {
            if (state.name !== 'CLOSED') break;
            const call = admit(state, cfg, 0);
            if (!call.allowed) throw new Error('closed breaker refused a call');
            const step = failed
              ? recordFailure(call.state, cfg, 0, call.ticket)
              : recordSuccess(call.state, cfg, 0, call.ticket);
            streak = failed ? streak + 1 : 0;
            expect(step.state.name === 'OPEN').toBe(streak >= failureThreshold);
            state = step.state;
          }
        },
      ),
    );
  });
});
