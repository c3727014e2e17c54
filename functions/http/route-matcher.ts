import { type HttpMethod, type RouteSpec, routeList } from '../core/contracts/routes.ts';

/** A request path matched against the route table. */
export type RouteMatch =
  | { kind: 'route'; route: RouteSpec; pathParameters: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'not-found' };

interface CompiledPath {
  pattern: RegExp;
  names: string[];
  routes: RouteSpec[];
}

function compile(routes: readonly RouteSpec[]): CompiledPath[] {
  const byPath = new Map<string, CompiledPath>();
  for (const route of routes) {
    let compiled = byPath.get(route.path);
    if (!compiled) {
      const names: string[] = [];
      const source = route.path
        .split('/')
        .map((segment) => {
          const param = /^\{(\w+)\}$/.exec(segment);
          if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(param[1]);
          return '([^/]+)';
        })
        .join('/');
      compiled = { pattern: new RegExp(`^${source}/?$`), names, routes: [] };
      byPath.set(route.path, compiled);
    }
    compiled.routes.push(route);
  }
  return [...byPath.values()];
}

/** Matches a method and path the way API Gateway's route selection does for this route table. */
export function createRouteMatcher(routes: readonly RouteSpec[] = routeList) {
  const compiled = compile(routes);
  return (method: string, path: string): RouteMatch => {
    for (const candidate of compiled) {
      const found = candidate.pattern.exec(path);
      if (!found) continue;
      const route = candidate.routes.find((r) => r.method === method.toUpperCase());
      if (!route)
        return { kind: 'method-not-allowed', allowed: candidate.routes.map((r) => r.method) };
      const pathParameters: Record<string, string> = {};
      candidate.names.forEach((name, index) => {
        pathParameters[name] = safeDecode(found[index + 1] ?? '');
      });
      return { kind: 'route', route, pathParameters };
    }
    return { kind: 'not-found' };
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
