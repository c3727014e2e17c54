import type { RouteSpec } from '../core/contracts/routes.ts';
import { MethodNotAllowedError, NotFoundError } from '../core/errors.ts';
import type { RouteImplementation, RouteResponse } from './function-handler.ts';
import { createRouteMatcher } from './route-matcher.ts';

const match = createRouteMatcher();

/**
 * API Gateway's `$default` route: a CORS preflight on a known path gets 204 (the CORS middleware adds
 * its headers), a known path with another method 405 with `Allow`, anything else 404. The local
 * runtime sends unmatched requests here too, so both answer the same.
 */
export const defaultRoute: RouteImplementation<RouteSpec> = ({ event }): RouteResponse => {
  const method = event.requestContext.http.method;
  const found = match(method === 'OPTIONS' ? 'GET' : method, event.rawPath);
  if (found.kind === 'not-found')
    throw new NotFoundError(`No route for ${method} ${event.rawPath}`);
  if (method === 'OPTIONS') return { statusCode: 204 };
  const allowed = found.kind === 'method-not-allowed' ? found.allowed : [found.route.method];
  throw new MethodNotAllowedError([...allowed, 'OPTIONS']);
};
