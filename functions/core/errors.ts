/**
 * Typed errors of AuraLink AIC.
 *
 * Every failure a client can see is an {@link AicError} with a stable `code`. The code alone decides
 * the HTTP status and the gRPC status ({@link ERROR_STATUS}, the one place where that mapping
 * lives), so the HTTP error handler and the gRPC server can never disagree.
 */

import type { z } from 'zod';

/** gRPC status codes used by the service (numeric values of `grpc.status`). */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Stable error codes of the public contract (docs/design.md section 2). */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNPROCESSABLE_FRAME'
  | 'RATE_LIMIT_EXCEEDED'
  | 'CONCURRENCY_LIMIT_EXCEEDED'
  | 'SESSION_QUOTA_EXCEEDED'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'DEADLINE_EXCEEDED'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'INTERNAL_ERROR';

/** HTTP and gRPC status for each error code: the single mapping used by every transport. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, { http: number; grpc: number }>> = {
  VALIDATION_FAILED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  MALFORMED_JSON: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  UNAUTHORIZED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT },
  UNPROCESSABLE_FRAME: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT },
  RATE_LIMIT_EXCEEDED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  CONCURRENCY_LIMIT_EXCEEDED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  SESSION_QUOTA_EXCEEDED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  IDEMPOTENCY_IN_PROGRESS: { http: 409, grpc: GrpcStatus.ABORTED },
  DEADLINE_EXCEEDED: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  DEPENDENCY_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  INTERNAL_ERROR: { http: 500, grpc: GrpcStatus.INTERNAL },
};

/** One failing field of a request, as listed in the error envelope's `details`. */
export interface ErrorDetail {
  /** Dotted path of the field, prefixed by where it came from (`body.mode`, `query.limit`). */
  field: string;
  /** What is wrong with it, in words a client developer can act on. */
  message: string;
  /** Machine-readable reason (zod issue code or a project-specific one). */
  code?: string;
}

/** Options shared by every {@link AicError}. */
export interface AicErrorOptions {
  cause?: unknown;
  details?: ErrorDetail[];
  /** Extra response headers the transport should send (e.g. `Allow`, `Retry-After`). */
  headers?: Record<string, string>;
}

/**
 * Base class of every error the service answers with. `message` is safe to show to the client;
 * `cause` carries the underlying exception for logs only and is never serialised.
 */
export class AicError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: AicErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }

  /** HTTP status for this error. */
  get httpStatus(): number {
    return ERROR_STATUS[this.code].http;
  }

  /** gRPC status code for this error. */
  get grpcStatus(): number {
    return ERROR_STATUS[this.code].grpc;
  }
}

/** A request field (body, query, path or header) failed validation. */
export class ValidationError extends AicError {
  constructor(
    message: string,
    details: ErrorDetail[],
    options: Omit<AicErrorOptions, 'details'> = {},
  ) {
    super('VALIDATION_FAILED', message, { ...options, details });
  }
}

/** The body claims to be JSON but does not parse. */
export class MalformedJsonError extends AicError {
  constructor(options: AicErrorOptions = {}) {
    super('MALFORMED_JSON', 'The request body is not valid JSON', options);
  }
}

/** No token, or a token that is missing, expired, not yet valid or forged. */
export class UnauthorizedError extends AicError {
  constructor(message = 'A valid bearer token is required', options: AicErrorOptions = {}) {
    super('UNAUTHORIZED', message, {
      ...options,
      headers: { 'WWW-Authenticate': 'Bearer', ...options.headers },
    });
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends AicError {
  constructor(message = 'You may not perform this operation', options: AicErrorOptions = {}) {
    super('FORBIDDEN', message, options);
  }
}

/** Nothing at this path, or it belongs to someone else (never say which). */
export class NotFoundError extends AicError {
  constructor(message = 'Not found', options: AicErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

/** The path exists but not with this method. */
export class MethodNotAllowedError extends AicError {
  constructor(allowed: readonly string[], options: AicErrorOptions = {}) {
    super('METHOD_NOT_ALLOWED', `Method not allowed; use ${allowed.join(', ')}`, {
      ...options,
      headers: { Allow: allowed.join(', '), ...options.headers },
    });
  }
}

/** The body or the frame is over its byte cap. */
export class PayloadTooLargeError extends AicError {
  constructor(limitBytes: number, options: AicErrorOptions = {}) {
    super('PAYLOAD_TOO_LARGE', `The payload exceeds the limit of ${limitBytes} bytes`, options);
  }
}

/** The body's media type is not one the route accepts. */
export class UnsupportedMediaTypeError extends AicError {
  constructor(accepted: readonly string[], options: AicErrorOptions = {}) {
    super(
      'UNSUPPORTED_MEDIA_TYPE',
      `Unsupported media type; send ${accepted.join(' or ')}`,
      options,
    );
  }
}

/** The frame cannot be decoded or its dimensions are out of range. */
export class UnprocessableFrameError extends AicError {
  constructor(message: string, options: AicErrorOptions = {}) {
    super('UNPROCESSABLE_FRAME', message, options);
  }
}

/** The caller is over one of its rate-limit windows. */
export class RateLimitError extends AicError {
  constructor(retryAfterSeconds: number, options: AicErrorOptions = {}) {
    super('RATE_LIMIT_EXCEEDED', `Rate limit exceeded; retry in ${retryAfterSeconds} s`, {
      ...options,
      headers: { 'Retry-After': String(retryAfterSeconds), ...options.headers },
    });
  }
}

/**
 * The caller has started as many new sessions today (UTC) as one user may (docs/design.md
 * section 5); its existing sessions go on working. `Retry-After` is the time until the day ends.
 */
export class SessionQuotaExceededError extends AicError {
  constructor(sessionsPerDay: number, retryAfterSeconds: number, options: AicErrorOptions = {}) {
    super(
      'SESSION_QUOTA_EXCEEDED',
      `At most ${sessionsPerDay} new sessions per user per day; retry in ${retryAfterSeconds} s or use an existing session`,
      { ...options, headers: { 'Retry-After': String(retryAfterSeconds), ...options.headers } },
    );
  }
}

/**
 * Too much is in the work at once: the caller's calls or frames in flight, or the server's frames
 * (weighted by their pixels). Nothing was done; the same request may succeed after `Retry-After`.
 */
export class ConcurrencyLimitError extends AicError {
  constructor(message: string, retryAfterSeconds = 1, options: AicErrorOptions = {}) {
    super('CONCURRENCY_LIMIT_EXCEEDED', `${message}; retry in ${retryAfterSeconds} s`, {
      ...options,
      headers: { 'Retry-After': String(retryAfterSeconds), ...options.headers },
    });
  }
}

/**
 * The same frame or update (the same identity: docs/design.md section 2.3) is still in the work for
 * an earlier request. Nothing was done; after `Retry-After` the repeat gets the first answer.
 */
export class IdempotencyInProgressError extends AicError {
  constructor(options: AicErrorOptions = {}) {
    super(
      'IDEMPOTENCY_IN_PROGRESS',
      'The same request is still being processed; retry in 1 s for its answer',
      { ...options, headers: { 'Retry-After': '1', ...options.headers } },
    );
  }
}

/** The caller's deadline passed before the work finished. */
export class DeadlineExceededError extends AicError {
  constructor(
    message = 'The deadline passed before the work finished',
    options: AicErrorOptions = {},
  ) {
    super('DEADLINE_EXCEEDED', message, options);
  }
}

/** A dependency (Postgres, Redis, Secrets Manager) is down or too slow. */
export class DependencyUnavailableError extends AicError {
  readonly dependency: string;

  constructor(dependency: string, options: AicErrorOptions = {}) {
    super('DEPENDENCY_UNAVAILABLE', `A dependency is unavailable: ${dependency}`, {
      ...options,
      headers: { 'Retry-After': '1', ...options.headers },
    });
    this.dependency = dependency;
  }
}

/** Turns anything thrown into an {@link AicError}; unknown errors become a bare INTERNAL_ERROR. */
export function toAicError(error: unknown): AicError {
  if (error instanceof AicError) return error;
  return new AicError('INTERNAL_ERROR', 'Internal server error', { cause: error });
}

/** One error detail per failing field, prefixed with where it came from (`body`, `query`, `path`). */
export function issuesToDetails(
  source: string,
  issues: readonly z.core.$ZodIssue[],
): ErrorDetail[] {
  return issues.map((issue) => ({
    field: [source, ...issue.path.map(String)].join('.'),
    message: issue.message,
    code: issue.code,
  }));
}
