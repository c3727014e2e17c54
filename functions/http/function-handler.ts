import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import httpCors, { type Options as CorsOptions } from '@middy/http-cors';
import type { z } from 'zod';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS } from '../core/contracts/cors.ts';
import { type FunctionName, type RouteSpec, routeKey, routes } from '../core/contracts/routes.ts';
import { NotFoundError } from '../core/errors.ts';
import { logger, metrics, tracer } from '../platform/observability.ts';
import { loadSettings } from '../platform/settings.ts';
import { accessLogMiddleware } from './middlewares/access-log.ts';
import { authMiddleware } from './middlewares/auth.ts';
import { bodyParserMiddleware } from './middlewares/body-parser.ts';
import { errorHandlerMiddleware } from './middlewares/error-handler.ts';
import { rateLimitMiddleware } from './middlewares/rate-limit.ts';
import { requestIdMiddleware } from './middlewares/request-id.ts';
import { routeResolverMiddleware } from './middlewares/route-resolver.ts';
import { securityHeadersMiddleware } from './middlewares/security-headers.ts';
import type { HttpEvent, HttpMiddleware, HttpResult } from './middlewares/types.ts';
import { validatorMiddleware } from './middlewares/validator.ts';
import type { AicContext } from './request-context.ts';

type Routes = typeof routes;
type RouteId = keyof Routes;

type SchemaOutput<S> = S extends z.ZodType ? z.output<S> : undefined;

/** The validated inputs a route implementation receives, typed from the route's zod schemas. */
export interface RouteInput<R extends RouteSpec> {
  body: R['request'] extends { body: { schema: infer S } } ? SchemaOutput<S> : undefined;
  /** The query; for raw (non-JSON) bodies, the route's `rawQuery` and undefined with a JSON body. */
  query: R['request'] extends { query: infer S }
    ? SchemaOutput<S>
    : R['request'] extends { body: { rawQuery: infer Q } }
      ? SchemaOutput<Q> | undefined
      : undefined;
  path: R['request'] extends { path: infer S } ? SchemaOutput<S> : undefined;
  /** The caller's `sub`; always set on routes that require auth. */
  userId: R['auth'] extends true ? string : string | undefined;
  requestId: string;
  /** Raw body bytes for non-JSON media types (e.g. an image). */
  rawBody: Buffer | undefined;
  event: HttpEvent;
}

/** What a route implementation answers; the body is serialised as JSON. */
export interface RouteResponse {
  statusCode?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The code behind one route. */
export type RouteImplementation<R extends RouteSpec> = (
  input: RouteInput<R>,
) => Promise<RouteResponse> | RouteResponse;

/** The implementations a function must provide: exactly the routes the table assigns to it. */
export type FunctionRoutes<F extends FunctionName> = {
  [K in RouteId as Routes[K]['function'] extends F ? K : never]: RouteImplementation<Routes[K]>;
};

/** Options of {@link createFunctionHandler}. */
export interface FunctionHandlerOptions {
  /** Answers API Gateway's `$default` route (unknown paths and methods, CORS preflight). */
  defaultRoute?: RouteImplementation<RouteSpec>;
  /** Extra middlewares that run after authentication and before the body is read (rate limiting). */
  middlewares?: HttpMiddleware[];
}

/**
 * Builds the Lambda handler of one function: the whole middleware chain, assembled here and only
 * here, around a dispatcher that runs the implementation of the event's route.
 */
export function createFunctionHandler<F extends FunctionName>(
  name: F,
  implementations: FunctionRoutes<F>,
  options: FunctionHandlerOptions = {},
) {
  const settings = loadSettings();
  const served = Object.values(routes).filter((route) => route.function === name) as RouteSpec[];
  const byKey = new Map<string, RouteImplementation<RouteSpec>>();
  for (const route of served) {
    const implementation = (implementations as Record<string, RouteImplementation<RouteSpec>>)[
      route.id
    ];
    if (!implementation)
      throw new Error(`Function ${name} has no implementation for route ${route.id}`);
    byKey.set(routeKey(route), implementation);
  }

  const dispatch = async (event: HttpEvent, context: AicContext): Promise<HttpResult> => {
    const { aic } = context;
    const implementation = aic.route ? byKey.get(routeKey(aic.route)) : options.defaultRoute;
    if (!implementation) throw new NotFoundError();
    const result = await implementation({
      body: aic.input.body,
      query: aic.input.query,
      path: aic.input.path,
      userId: aic.userId,
      requestId: aic.requestId,
      rawBody: aic.rawBody,
      event,
    } as RouteInput<RouteSpec>);
    const hasBody = result.body !== undefined;
    return {
      statusCode: result.statusCode ?? aic.route?.response.status ?? 200,
      headers: { ...(hasBody ? { 'Content-Type': 'application/json' } : {}), ...result.headers },
      body: hasBody ? JSON.stringify(result.body) : '',
    };
  };

  // `vary` is a documented option that the package's type declarations miss.
  const cors: CorsOptions & { vary?: string } = {
    origins: settings.CORS_ALLOWED_ORIGINS,
    // One allowed origin would otherwise be sent without `Vary: Origin`; caches must not mix.
    ...(settings.CORS_ALLOWED_ORIGINS.length > 1 ? {} : { vary: 'Origin' }),
    headers: CORS_ALLOWED_HEADERS.join(', '),
    methods: 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    exposeHeaders: CORS_EXPOSED_HEADERS.join(', '),
    maxAge: 600,
  };

  const handler = middy<HttpEvent, HttpResult, Error, AicContext>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(requestIdMiddleware())
    .use(accessLogMiddleware())
    .use(httpCors(cors))
    .use(securityHeadersMiddleware())
    .use(errorHandlerMiddleware())
    .use(routeResolverMiddleware(served))
    .use(authMiddleware(settings.AIC_TENANT_CLAIM))
    .use(rateLimitMiddleware({ settings }));
  for (const middleware of options.middlewares ?? []) handler.use(middleware);
  return handler.use(bodyParserMiddleware()).use(validatorMiddleware()).handler(dispatch);
}
