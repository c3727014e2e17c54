/** A held share of a limit; {@link Permit.release} gives it back once, however often it is called. */
export interface Permit {
  release(): void;
}

/** A permit whose first `release` runs `free`, and every later one nothing. */
export function permitOf(free: () => void): Permit {
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      free();
    },
  };
}
