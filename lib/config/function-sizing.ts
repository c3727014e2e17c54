import type { FunctionName } from '../../functions/http/routes.ts';

/** Memory and timeout of one Lambda function. */
export interface FunctionSizing {
  /** Memory in MiB; CPU share grows with it, so it is sized for latency, not only for heap. */
  readonly memoryMiB: number;
  /** Hard limit per invocation, below API Gateway's 30 s integration timeout. */
  readonly timeoutSeconds: number;
}

/**
 * Explicit sizing per function. Keyed by {@link FunctionName}, so a function added to the route
 * table does not compile until it is sized here.
 */
export const FUNCTION_SIZING: Readonly<Record<FunctionName, FunctionSizing>> = {
  // Liveness answers from memory; readiness pings Postgres and Redis with short timeouts.
  health: { memoryMiB: 256, timeoutSeconds: 10 },
  // Dashboard aggregates run in Postgres; the function mostly waits and serialises JSON.
  dashboard: { memoryMiB: 512, timeoutSeconds: 15 },
};
