import type { Context } from 'aws-lambda';
import type { RouteSpec } from '../core/contracts/routes.ts';

/** What the middleware chain learns about a request, for the next middleware and the handler. */
export interface RequestState {
  /** The request ID echoed in `X-Request-ID`, every log line and every error body. */
  requestId: string;
  /** Monotonic start time, for access logs and Server-Timing. */
  startedAt: number;
  route?: RouteSpec;
  /** The caller (`sub` claim), set by the auth middleware on routes that require a token. */
  userId?: string;
  /** Validated inputs, set by the validator middleware. */
  input: { body?: unknown; query?: unknown; path?: unknown };
  /** Body bytes after decoding, set by the body parser (raw-image routes read these). */
  rawBody?: Buffer;
  /** Response headers any middleware wants added (rate-limit fields, degraded marks). */
  responseHeaders: Record<string, string>;
}

/** Lambda context carrying the request state. */
export type AicContext = Context & { aic: RequestState };
