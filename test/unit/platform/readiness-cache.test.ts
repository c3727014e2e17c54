import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReadinessResponse } from '../../../functions/core/contracts/health.ts';
import { readinessOf } from '../../../functions/core/readiness.ts';
import { createReadinessCache } from '../../../functions/platform/readiness.ts';

const pass = { status: 'pass', latency_ms: 1 } as const;
const fail = { status: 'fail', latency_ms: 1, detail: 'unreachable' } as const;
const READY = readinessOf({ initialisation: pass, postgres: pass, redis: pass });
const NOT_READY = readinessOf({ initialisation: pass, postgres: fail, redis: pass });

/** A probe that answers what `answers` says next and counts its calls; resolved by `release`. */
function countingProbe(answers: ReadinessResponse[] = [READY]) {
  const calls = { count: 0 };
  let release: () => void = () => undefined;
  const probe = () => {
    calls.count += 1;
    const answer = answers[Math.min(calls.count, answers.length) - 1] as ReadinessResponse;
    return new Promise<ReadinessResponse>((resolve) => {
      release = () => resolve(answer);
    });
  };
  return { probe, calls, release: () => release() };
}

describe('the readiness cache', () => {
  it('runs one probe for many concurrent callers, and all of them get its answer', async () => {
    const { probe, calls, release } = countingProbe();
    const check = createReadinessCache({ probe, ttlMs: 5000, failureTtlMs: 1000, now: () => 0 });
    const answers = Array.from({ length: 200 }, () => check());
    release();
    expect(await Promise.all(answers)).toEqual(Array(200).fill(READY));
    expect(calls.count).toBe(1);
  });

  it('serves a ready answer for the whole period, then probes again', async () => {
    let clock = 0;
    const { probe, calls, release } = countingProbe();
    const check = createReadinessCache({
      probe,
      ttlMs: 5000,
      failureTtlMs: 1000,
      now: () => clock,
    });
    const first = check();
    release();
    await first;
    clock = 4999;
    await check();
    expect(calls.count).toBe(1);
    clock = 5000;
    const next = check();
    release();
    await next;
    expect(calls.count).toBe(2);
  });

  it('serves a not_ready answer only for the failure period', async () => {
    let clock = 0;
    const { probe, calls, release } = countingProbe([NOT_READY, READY]);
    const check = createReadinessCache({
      probe,
      ttlMs: 5000,
      failureTtlMs: 1000,
      now: () => clock,
    });
    const down = check();
    release();
    expect((await down).status).toBe('not_ready');
    clock = 999;
    expect((await check()).status).toBe('not_ready');
    expect(calls.count).toBe(1);
    clock = 1000;
    const up = check();
    release();
    expect((await up).status).toBe('ready');
    expect(calls.count).toBe(2);
  });

  it('never serves a failure longer than a success', async () => {
    let clock = 0;
    const { probe, calls, release } = countingProbe([NOT_READY]);
    const check = createReadinessCache({ probe, ttlMs: 300, failureTtlMs: 1000, now: () => clock });
    const first = check();
    release();
    await first;
    clock = 300;
    const second = check();
    release();
    await second;
    expect(calls.count).toBe(2);
  });

  it('probes again at once when the state it was probed in has changed', async () => {
    let breaker = 'CLOSED';
    const { probe, calls, release } = countingProbe();
    const check = createReadinessCache({
      probe,
      ttlMs: 5000,
      failureTtlMs: 1000,
      stateOf: () => breaker,
      now: () => 0,
    });
    const first = check();
    release();
    await first;
    breaker = 'OPEN';
    const second = check();
    release();
    await second;
    expect(calls.count).toBe(2);
    await check();
    expect(calls.count).toBe(2);
  });

  it('probes on every call when the period is 0, still sharing a probe in flight', async () => {
    const { probe, calls, release } = countingProbe();
    const check = createReadinessCache({ probe, ttlMs: 0, failureTtlMs: 1000, now: () => 0 });
    const together = [check(), check(), check()];
    release();
    await Promise.all(together);
    expect(calls.count).toBe(1);
    const alone = check();
    release();
    await alone;
    expect(calls.count).toBe(2);
  });

  it('does not cache a probe that throws: its callers get the error, the next call probes', async () => {
    let calls = 0;
    const check = createReadinessCache({
      probe: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return READY;
      },
      ttlMs: 5000,
      failureTtlMs: 1000,
      now: () => 0,
    });
    const failed = [check(), check()];
    await expect(Promise.all(failed)).rejects.toThrow('boom');
    expect(await check()).toEqual(READY);
    expect(calls).toBe(2);
  });

  it('starts at most one probe per period and never serves an older answer, whatever the arrival times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 200 }),
        async (ttlMs, arrivals) => {
          let clock = 0;
          const starts: number[] = [];
          const check = createReadinessCache({
            probe: async () => {
              starts.push(clock);
              return READY;
            },
            ttlMs,
            failureTtlMs: 1000,
            now: () => clock,
          });
          for (const at of [...arrivals].sort((a, b) => a - b)) {
            clock = at;
            await check();
            // Every caller gets an answer probed less than one period before it asked.
            expect(at - (starts.at(-1) as number)).toBeLessThan(ttlMs);
          }
          for (const [i, start] of starts.entries()) {
            if (i > 0) expect(start - (starts[i - 1] as number)).toBeGreaterThanOrEqual(ttlMs);
          }
        },
      ),
    );
  });
});
