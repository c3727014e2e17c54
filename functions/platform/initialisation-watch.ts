/** How long a container may take to initialise before it counts as stalled. */
export const INITIALISATION_STALL_MS = 60_000;

/** Options of {@link watchInitialisation}. */
export interface InitialisationWatchOptions {
  /** How long after the call initialisation must be done. */
  readonly afterMs: number;
  /** Whether initialisation is done. */
  readonly isReady: () => boolean;
  /** Called once, when it is still not done `afterMs` after the call. */
  readonly onStalled: () => void;
}

/**
 * Reports a container that is still not initialised a while after it started: one that cannot
 * reach a dependency (Secrets Manager, Postgres, Redis) keeps retrying, answering 503 on its
 * readiness probe, and nothing else would tell an operator. The timer never keeps the process
 * alive.
 *
 * @returns a function that stops the watch.
 */
export function watchInitialisation(options: InitialisationWatchOptions): () => void {
  const timer = setTimeout(() => {
    if (!options.isReady()) options.onStalled();
  }, options.afterMs);
  timer.unref();
  return () => clearTimeout(timer);
}
