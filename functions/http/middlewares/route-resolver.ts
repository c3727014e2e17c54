import { type RouteSpec, routeKey } from '../../core/contracts/routes.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { HttpMiddleware } from './types.ts';

/** Finds the route of the event's API Gateway route key among the routes this function serves. */
export function routeResolverMiddleware(routes: readonly RouteSpec[]): HttpMiddleware {
  const byKey = new Map(routes.map((route) => [routeKey(route), route]));
  return {
    name: 'routeResolver',
    before: (request) => {
      const route = byKey.get(request.event.routeKey);
      if (route) request.context.aic.route = route;
      else if (!request.event.routeKey?.startsWith('$default')) throw new NotFoundError();
    },
  };
}
