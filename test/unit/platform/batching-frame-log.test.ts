import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FRAME_EVENT_VERSION,
  type FrameEvent,
} from '../../../functions/core/contracts/frame-event.ts';
import { batching } from '../../../functions/platform/metrics/batching-frame-log.ts';
import type { FrameEventLog } from '../../../functions/platform/metrics/frame-event-log.ts';

const SESSION = randomUUID();

/** Event `index` of caller `caller`: its id names both, so a batch can be traced back. */
function eventOf(caller: number, index: number): FrameEvent {
  return {
    v: FRAME_EVENT_VERSION,
    event_id: `a${caller}:${index}`,
    user_id: 'user-batching',
    session_id: SESSION,
    recorded_at: '2026-01-01T12:00:00.000Z',
    frame_number: null,
    idempotency_key: null,
    frame_type: 'video',
    mode: 'adaptive',
    format: 'webp',
    quality: 70,
    width: 64,
    height: 64,
    original_bytes: 12_288,
    compressed_bytes: 900,
    compression_ratio: 13.6,
    ssim: 0.97,
    psnr_db: 38,
    budget_bytes: 1_000,
    within_budget: true,
    encode_attempts: 1,
    decode_ms: 1,
    encode_ms: 2,
    metrics_ms: 1,
    total_ms: 4,
    fallback: false,
    fallback_reason: null,
  };
}

const callerOf = (event: FrameEvent) =>
  Number(event.event_id.slice(1, event.event_id.indexOf(':')));

/** How the inner log answers each append: after some turns of the loop, or a short timer. */
type InnerDelay = { kind: 'turns'; turns: number } | { kind: 'timer'; ms: number };

/** An in-memory inner log that records every batch it is given and what became of it. */
interface RecordingLog extends FrameEventLog {
  /** The events of each call to `append`, in call order. */
  readonly batches: FrameEvent[][];
  /** The error each batch was refused with (undefined: stored). */
  readonly errors: (Error | undefined)[];
  /** Batches whose append has resolved (stored). */
  readonly stored: Set<number>;
  closed: boolean;
}

function recordingLog(
  fails: (batch: number) => boolean = () => false,
  delay: InnerDelay = { kind: 'turns', turns: 0 },
): RecordingLog {
  const log: RecordingLog = {
    kind: 'postgres',
    batches: [],
    errors: [],
    stored: new Set(),
    closed: false,
    async append(events) {
      const batch = log.batches.length;
      log.batches.push([...events]);
      const error = fails(batch) ? new Error(`batch ${batch} refused`) : undefined;
      log.errors.push(error);
      if (delay.kind === 'timer') await sleep(delay.ms);
      else for (let i = 0; i < delay.turns; i++) await nextTurn();
      if (error) throw error;
      log.stored.add(batch);
    },
    async close() {
      log.closed = true;
    },
  };
  return log;
}

/** What happens before an append: nothing (same turn), a microtask, a turn of the loop, a timer. */
type Pause = 'none' | 'microtask' | 'turn' | 'timer';

interface Scenario {
  maxEvents: number;
  lingerMs: number;
  appends: { size: number; pause: Pause }[];
  delay: InnerDelay;
}

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  maxEvents: fc.integer({ min: 1, max: 200 }),
  lingerMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
  appends: fc.array(
    fc.record({
      size: fc.integer({ min: 1, max: 50 }),
      // Mostly appends of the same turn, as concurrent requests make them.
      pause: fc.oneof(
        { weight: 6, arbitrary: fc.constant<Pause>('none') },
        { weight: 2, arbitrary: fc.constant<Pause>('microtask') },
        { weight: 1, arbitrary: fc.constant<Pause>('turn') },
        { weight: 1, arbitrary: fc.constant<Pause>('timer') },
      ),
    }),
    { minLength: 1, maxLength: 30 },
  ),
  delay: fc.oneof(
    fc.record({ kind: fc.constant('turns' as const), turns: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('timer' as const), ms: fc.integer({ min: 0, max: 2 }) }),
  ),
});

async function pause(kind: Pause): Promise<void> {
  if (kind === 'microtask') await Promise.resolve();
  else if (kind === 'turn') await nextTurn();
  else if (kind === 'timer') await sleep(2);
}

interface Outcome {
  /** Each caller's events, in call order. */
  sent: FrameEvent[][];
  /** How each caller's append settled. */
  settled: PromiseSettledResult<void>[];
  /** For each caller that resolved: whether its batch was stored when it resolved. */
  storedWhenResolved: boolean[];
}

/** Runs `scenario` against `log` behind a batcher; fails if any append is still open after 5 s. */
async function run(scenario: Scenario, inner: RecordingLog): Promise<Outcome> {
  const log = batching(inner, { maxEvents: scenario.maxEvents, lingerMs: scenario.lingerMs });
  const sent: FrameEvent[][] = [];
  const storedWhenResolved: boolean[] = [];
  const appends: Promise<PromiseSettledResult<void>>[] = [];
  for (const [caller, { size, pause: before }] of scenario.appends.entries()) {
    await pause(before);
    const events = Array.from({ length: size }, (_, i) => eventOf(caller, i));
    sent.push(events);
    // Settled into a result at once: a rejection must not wait for the later appends unhandled.
    appends.push(
      log.append(events).then(
        () => {
          storedWhenResolved[caller] = inner.stored.has(batchOf(inner.batches, caller));
          return { status: 'fulfilled', value: undefined };
        },
        (reason: unknown) => ({ status: 'rejected', reason }),
      ),
    );
  }
  const settled = await Promise.race([
    Promise.all(appends),
    sleep(5_000).then(() => {
      throw new Error('an append never settled');
    }),
  ]);
  await log.close();
  return { sent, settled, storedWhenResolved };
}

/** Every batch holds whole callers, contiguous, and is over `maxEvents` only as one caller. */
function expectWholeCallers(batches: FrameEvent[][], sent: FrameEvent[][], maxEvents: number) {
  for (const batch of batches) {
    const callers = [...new Set(batch.map(callerOf))];
    const expected = callers.flatMap((caller) => sent[caller] ?? []);
    expect(batch.map((e) => e.event_id)).toEqual(expected.map((e) => e.event_id));
    if (batch.length > maxEvents) expect(callers).toHaveLength(1);
  }
}

/** The index of the batch that carried `caller`'s events. */
function batchOf(batches: FrameEvent[][], caller: number): number {
  return batches.findIndex((batch) => batch.some((event) => callerOf(event) === caller));
}

describe('the batching frame-event log', () => {
  it('resolves every append and hands the inner log every event exactly once, in append order', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        const inner = recordingLog(() => false, scenario.delay);
        const { sent, settled, storedWhenResolved } = await run(scenario, inner);

        expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
        // Resolved only once the batch carrying its events was stored.
        expect(storedWhenResolved).toEqual(sent.map(() => true));
        expect(inner.batches.flat()).toEqual(sent.flat());
        expect(inner.closed).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('never sends a batch over maxEvents unless it is one caller alone, and never splits a caller', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        const inner = recordingLog(() => false, scenario.delay);
        const { sent } = await run(scenario, inner);

        expect(inner.batches.every((batch) => batch.length > 0)).toBe(true);
        expectWholeCallers(inner.batches, sent, scenario.maxEvents);
      }),
      { numRuns: 150 },
    );
  });

  it('rejects exactly the appends of a batch the inner log refuses, with its error', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, fc.func(fc.boolean()), async (scenario, fails) => {
        const inner = recordingLog((batch) => fails(batch), scenario.delay);
        const { sent, settled } = await run(scenario, inner);

        expect(inner.batches.flat()).toEqual(sent.flat());
        expectWholeCallers(inner.batches, sent, scenario.maxEvents);
        for (const [caller, outcome] of settled.entries()) {
          const error = inner.errors[batchOf(inner.batches, caller)];
          if (error === undefined) expect(outcome.status).toBe('fulfilled');
          else expect(outcome).toEqual({ status: 'rejected', reason: error });
          if (outcome.status === 'rejected') expect(outcome.reason).toBe(error);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('sends appends of one turn that fit together as one batch', async () => {
    const inner = recordingLog();
    const log = batching(inner, { maxEvents: 100, lingerMs: 0 });
    await Promise.all(
      [0, 1, 2].map((caller) => log.append([eventOf(caller, 0), eventOf(caller, 1)])),
    );
    expect(inner.batches.map((batch) => batch.length)).toEqual([6]);
    await log.close();
  });

  it('resolves an empty append at once without calling the inner log', async () => {
    const inner = recordingLog();
    const log = batching(inner, { maxEvents: 10, lingerMs: 1_000 });
    await log.append([]);
    expect(inner.batches).toEqual([]);
    await log.close();
  });

  it('flushes what is pending on close, waits for it, then closes the inner log', async () => {
    const inner = recordingLog(() => false, { kind: 'timer', ms: 20 });
    // A linger far longer than the test: only close() can send this batch.
    const log = batching(inner, { maxEvents: 100, lingerMs: 60_000 });
    const resolved: number[] = [];
    const appends = [0, 1].map((caller) =>
      log.append([eventOf(caller, 0)]).then(() => resolved.push(caller)),
    );
    await nextTurn();
    expect(inner.batches).toEqual([]);

    await log.close();

    expect(inner.batches.map((batch) => batch.map((e) => e.event_id))).toEqual([['a0:0', 'a1:0']]);
    expect(resolved.sort()).toEqual([0, 1]);
    expect(inner.stored.has(0)).toBe(true);
    expect(inner.closed).toBe(true);
    await Promise.all(appends);
  });

  it('waits on close for a batch already in flight before closing the inner log', async () => {
    let closedWhileInFlight = false;
    const inner = recordingLog(() => false, { kind: 'timer', ms: 30 });
    const innerClose = inner.close.bind(inner);
    inner.close = async () => {
      closedWhileInFlight = !inner.stored.has(0);
      await innerClose();
    };
    const log = batching(inner, { maxEvents: 1, lingerMs: 60_000 });
    const append = log.append([eventOf(0, 0)]);
    // The batch goes out from a resolved promise: one turn later it is in flight.
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.batches).toHaveLength(1);

    await log.close();

    expect(closedWhileInFlight).toBe(false);
    await append;
  });
});
