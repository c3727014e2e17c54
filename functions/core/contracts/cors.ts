/**
 * The headers of the HTTP API's cross-origin contract (docs/design.md section 2.2), one list for
 * both places
 * that answer browsers: API Gateway's CORS configuration on AWS and the `@middy/http-cors`
 * middleware of every function (which the local runtime serves), so that they cannot drift apart.
 */

/** Request headers browsers may send cross-origin. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'X-Request-ID',
  'Idempotency-Key',
] as const;

/** Response headers browsers may read cross-origin. */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-ID',
  'Server-Timing',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
  'X-AIC-Degraded',
  'X-AIC-Replay',
] as const;
