/**
 * Steady concurrent traffic for fault tests: workers send requests back to back until stopped and
 * every answer is recorded with when it came, so a test can look at what happened before, during
 * and after the fault it injects.
 */

/** One answered request. */
export interface Outcome {
  /** Milliseconds since the traffic started, when the answer came. */
  at: number;
  label: string;
  status: number;
  degraded: string | null;
  latencyMs: number;
}

/** Traffic in progress. */
export interface Traffic {
  readonly outcomes: Outcome[];
  /** Milliseconds since the traffic started. */
  elapsed(): number;
  /** Stops the workers and waits for their last requests. */
  stop(): Promise<Outcome[]>;
}

/** What one worker sends next: a label and the request. */
export type NextRequest = (
  worker: number,
  sequence: number,
) => { label: string; send: () => Promise<Response> };

/** Starts `workers` workers, each sending `next(...)` in a loop. */
export function startTraffic(workers: number, next: NextRequest): Traffic {
  const started = performance.now();
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async (_, worker) => {
    for (let sequence = 0; running; sequence++) {
      const { label, send } = next(worker, sequence);
      const sent = performance.now();
      const response = await send();
      await response.arrayBuffer();
      outcomes.push({
        at: performance.now() - started,
        label,
        status: response.status,
        degraded: response.headers.get('x-aic-degraded'),
        latencyMs: performance.now() - sent,
      });
    }
  });
  return {
    outcomes,
    elapsed: () => performance.now() - started,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** Counts of each status among `outcomes`. */
export function statusCounts(outcomes: readonly Outcome[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of outcomes) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
