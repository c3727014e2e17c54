/**
 * Preloaded into a local runtime process by the abuse suite (`--import` after tsx, see
 * `spawnLocalRuntime`'s `preload`): every {@link INTERVAL_MS} it appends one JSON line to
 * `AIC_LOOP_PROBE_FILE` with the time, the event loop's delay over that interval (p99 and max) and
 * the process's resident set size, so the suite can read the server's own state during each phase
 * of a scenario. Nothing in the runtime knows about it.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One line of the probe's file. */
export interface LoopSample {
  /** `Date.now()` at the end of the interval. */
  t: number;
  /** Event-loop delay over the interval, ms. */
  p99Ms: number;
  maxMs: number;
  rssMiB: number;
}

const INTERVAL_MS = 250;

const file = process.env.AIC_LOOP_PROBE_FILE;
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  setInterval(() => {
    const sample: LoopSample = {
      t: Date.now(),
      p99Ms: delay.percentile(99) / 1e6,
      maxMs: delay.max / 1e6,
      rssMiB: process.memoryUsage.rss() / 2 ** 20,
    };
    delay.reset();
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
  }, INTERVAL_MS).unref();
}
