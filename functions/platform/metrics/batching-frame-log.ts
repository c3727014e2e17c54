/**
 * Coalesces the appends of concurrent requests into one append of the log underneath: the gRPC
 * task, which serves many streams in one process, puts the frames of all of them every few
 * milliseconds instead of once per frame (docs/design.md section 5.8).
 */
import type { FrameEvent } from '../../core/contracts/frame-event.ts';
import type { FrameEventLog } from './frame-event-log.ts';

/** Options of {@link batching}. */
export interface BatchingOptions {
  /** How long the first waiting append waits for others (ms); 0: until the next turn of the loop. */
  lingerMs: number;
  /** Events at which a batch is sent at once. */
  maxEvents: number;
}

interface Waiting {
  events: readonly FrameEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `inner` behind a batcher: each append resolves when the batch that carried its events is stored,
 * and rejects with that batch's error. A batch holds at most `maxEvents` events, and never splits
 * one caller's events.
 */
export function batching(inner: FrameEventLog, options: BatchingOptions): FrameEventLog {
  let waiting: Waiting[] = [];
  let queued = 0;
  let cancelTimer: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();

  const send = (): void => {
    cancelTimer?.();
    cancelTimer = undefined;
    const batch = waiting;
    waiting = [];
    queued = 0;
    if (batch.length === 0) return;
    // Called from a resolved promise, so an adapter that throws at once still settles every caller.
    const events = batch.flatMap((w) => w.events);
    const flight = Promise.resolve()
      .then(() => inner.append(events))
      .then(
        () => {
          for (const w of batch) w.resolve();
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
    inFlight.add(flight);
    void flight.finally(() => inFlight.delete(flight));
  };

  return {
    kind: inner.kind,
    append(events) {
      if (events.length === 0) return Promise.resolve();
      if (queued > 0 && queued + events.length > options.maxEvents) send();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ events, resolve, reject });
        queued += events.length;
        if (queued >= options.maxEvents) send();
        else if (cancelTimer === undefined) cancelTimer = startTimer(send, options.lingerMs);
      });
    },
    async close() {
      send();
      await Promise.allSettled([...inFlight]);
      await inner.close();
    },
  };
}

/** Runs `send` after `lingerMs` (0: on the next turn of the event loop); returns its cancel. */
function startTimer(send: () => void, lingerMs: number): () => void {
  if (lingerMs > 0) {
    const timer = setTimeout(send, lingerMs);
    return () => clearTimeout(timer);
  }
  const immediate = setImmediate(send);
  return () => clearImmediate(immediate);
}
