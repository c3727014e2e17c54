/** The part of autocannon the benchmarks use, typed (the package ships no declarations). */
import { createRequire } from 'node:module';

/** One request autocannon is about to send, as `setupRequest` may rewrite it. */
export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** autocannon's summary of a run. */
export interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** A running autocannon instance: a promise of its result, with per-response events. */
export interface AutocannonInstance {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void,
  ): void;
  then: Promise<AutocannonResult>['then'];
}

/** autocannon's options used here. */
export interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  requests: { setupRequest: (request: AutocannonRequest) => AutocannonRequest }[];
}

/** autocannon itself (a CommonJS module). */
export const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: AutocannonOptions,
) => AutocannonInstance;
