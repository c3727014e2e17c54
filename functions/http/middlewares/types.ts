import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AicContext } from '../request-context.ts';

/** The event and result every AIC middleware works on. */
export type HttpEvent = APIGatewayProxyEventV2;
/** A structured API Gateway v2 response. */
export type HttpResult = APIGatewayProxyStructuredResultV2;
/** A middy request of the AIC HTTP stack. */
export type HttpRequest = Request<HttpEvent, HttpResult, Error, AicContext>;
/** A middy middleware of the AIC HTTP stack. */
export type HttpMiddleware = MiddlewareObj<HttpEvent, HttpResult, Error, AicContext>;

/** Case-insensitive header lookup (API Gateway lower-cases them; local callers may not). */
export function header(event: HttpEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

// Headers whose values are lists: several middlewares may each contribute a value.
const LIST_HEADERS = new Set(['x-aic-degraded', 'vary']);

/**
 * Adds headers to the response, creating it when a middleware runs before any handler result. A
 * list-valued header already present (e.g. `X-AIC-Degraded: redis` from the handler when the limiter
 * adds `rate-limit`) keeps its values and gains the new ones.
 */
export function addResponseHeaders(request: HttpRequest, headers: Record<string, string>): void {
  const response = request.response ?? { statusCode: 200 };
  const merged: Record<string, string | number | boolean> = { ...response.headers };
  // Lower-cased name -> the name as stored: one lookup per added header, not a scan of all.
  const stored = new Map<string, string>();
  for (const key of Object.keys(merged)) stored.set(key.toLowerCase(), key);
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const existingName = stored.get(lower);
    const existing = existingName === undefined ? undefined : String(merged[existingName]);
    if (existingName !== undefined) delete merged[existingName];
    merged[name] =
      existing !== undefined && LIST_HEADERS.has(lower)
        ? [...new Set([...existing.split(/,\s*/), ...value.split(/,\s*/)])].join(', ')
        : value;
    stored.set(lower, name);
  }
  response.headers = merged;
  request.response = response;
}
