/**
 * Keeps this thread's core busy for `durationMs`, as the engine keeps the server's cores busy
 * between messages. A floor that slept instead would measure an idle process (and machine) waking
 * up, which is slower than the real path and would flatter it.
 */
export function busyFor(durationMs: number): void {
  const until = performance.now() + durationMs;
  while (performance.now() < until) {
    // spin: the point is the busy core
  }
}
