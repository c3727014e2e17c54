import type { FunctionName, ScheduledFunctionName } from '../../functions/core/contracts/routes.ts';
import type { AuthorizerFunctionName } from './authorizer-functions.ts';
import type { DeployFunctionName } from './deploy-functions.ts';
import type { StreamFunctionName } from './stream-functions.ts';

/** Memory, timeout and native dependencies of one Lambda function. */
export interface FunctionSizing {
  /**
   * Memory in MiB; CPU share grows with it, so it is sized for latency, not only for heap.
   * `environment`: the environment's configuration sizes it (`lambda.compress` in cdk.json).
   */
  readonly memoryMiB: number | 'environment';
  /**
   * Hard limit per invocation. For the API's functions it stays below API Gateway's 29 s
   * integration limit with room for a cold start, so the caller gets the function's answer rather
   * than a gateway timeout.
   */
  readonly timeoutSeconds: number;
  /** Whether the function loads sharp, which then comes from the sharp layer (not the bundle). */
  readonly needsSharp: boolean;
}

/**
 * Every Lambda function of an environment: behind the API, authorizing its requests, on a
 * schedule, reading a stream or run at deploy time.
 */
export type AicFunctionName =
  | FunctionName
  | AuthorizerFunctionName
  | ScheduledFunctionName
  | StreamFunctionName
  | DeployFunctionName;

/**
 * Explicit sizing per function. Keyed by {@link AicFunctionName}, so a function added to the route
 * table, the schedule or the deploy steps does not compile until it is sized here.
 */
export const FUNCTION_SIZING: Readonly<Record<AicFunctionName, FunctionSizing>> = {
  // Liveness answers from memory; readiness pings Postgres and Redis with short timeouts.
  health: { memoryMiB: 256, timeoutSeconds: 10, needsSharp: false },
  // Decodes, re-encodes and measures frames up to 3840x2160 with sharp. One decoded 4K frame is
  // 25-33 MB (RGB/RGBA) and the quality measurement holds a reference and a candidate plus float
  // buffers, for several candidate encodes per request: a few hundred MB at peak, on top of the
  // up-to-6 MB body (twice, base64). The memory buys CPU, so it is sized by the measured latency
  // and cost per frame, in cdk.json. 25 s leaves 4 s of the 29 s for a cold start.
  compress: { memoryMiB: 'environment', timeoutSeconds: 25, needsSharp: true },
  // Network updates: a few small queries and a little CPU (the estimator, and the engine planning
  // its first candidate over about 160 without encoding). 1024 MiB buys about 0.6 vCPU, so the
  // JSON, zod and planning work stays a small part of the 10 ms p95 goal of an update.
  network: { memoryMiB: 1024, timeoutSeconds: 10, needsSharp: false },
  // Dashboard aggregates run in Postgres; the function mostly waits and serialises JSON.
  dashboard: { memoryMiB: 512, timeoutSeconds: 15, needsSharp: false },
  // Compares one header with a cached secret; API Gateway caches its answers for minutes.
  originAuthorizer: { memoryMiB: 256, timeoutSeconds: 5, needsSharp: false },
  // The alert evaluator: one grouped query over the last minutes of frames (BRIN range) and one
  // insert; Postgres does the work. 50 s keeps a slow run inside its one-minute schedule.
  alerts: { memoryMiB: 256, timeoutSeconds: 50, needsSharp: false },
  // Schema migrations run DDL in Postgres, one transaction each. An index build on a large table
  // can take minutes; the deploy waits for it (the trigger allows the same time).
  migrate: { memoryMiB: 256, timeoutSeconds: 600, needsSharp: false },
  // The database bootstrap: a few role statements and an ownership hand-over per object, in
  // Postgres. Changing an owner waits for the table's lock, which the services' statements hold
  // briefly, so it gets the migrations' limit (the trigger allows the same time).
  databaseBootstrap: { memoryMiB: 256, timeoutSeconds: 600, needsSharp: false },
  // The metrics consumer: parses and checks up to 500 frame events (about 300 KB of JSON) and
  // writes them in a few statements; Postgres does the aggregation. 60 s leaves room for a slow
  // statement and the connection retries before the event source mapping retries the batch.
  metricsConsumer: { memoryMiB: 512, timeoutSeconds: 60, needsSharp: false },
};
