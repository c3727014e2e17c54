import type { z } from 'zod';
import {
  compressJsonRequestSchema,
  compressQuerySchema,
  compressResponseSchema,
} from './compress.ts';
import { compressionConfigSchema, storedConfigSchema } from './config.ts';
import {
  alertListSchema,
  alertPathSchema,
  alertSchema,
  alertsQuerySchema,
  bandwidthQuerySchema,
  bandwidthSavingsSchema,
  metricsQuerySchema,
  metricsResponseSchema,
  performanceSummarySchema,
  qualityDistributionSchema,
  qualityQuerySchema,
  summaryQuerySchema,
} from './dashboard.ts';
import { livenessResponseSchema, readinessResponseSchema } from './health.ts';
import {
  networkEstimateResponseSchema,
  networkUpdateSchema,
  sessionPathSchema,
  sessionStatisticsSchema,
} from './network.ts';
import { openApiDocumentSchema } from './openapi.ts';

/**
 * The route table: the single source for the CDK HTTP API, the local runtime, the Lambda
 * dispatchers and the OpenAPI document. It is plain data plus zod schemas, so infrastructure code
 * can import it without loading any handler.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The Lambda functions of the API; each serves one group of routes. */
export type FunctionName = 'health' | 'compress' | 'network' | 'dashboard';

/** The public API's path prefix (docs/design.md section 2). */
export const API_PREFIX = '/api/v1/aic';

/** JSON bodies are small; frames travel on their own routes with their own cap. */
export const DEFAULT_JSON_BODY_LIMIT_BYTES = 64 * 1024;

/** How a route accepts a body. */
export interface BodySpec {
  readonly schema: z.ZodType;
  /** Accepted media types (without parameters), e.g. `application/json`. */
  readonly contentTypes: readonly string[];
  /** Cap on the decoded body, checked before parsing. */
  readonly maxBytes: number;
  /**
   * For bodies that are not JSON (a raw image), the JSON fields arrive as query parameters and are
   * validated by this schema instead of the body schema.
   */
  readonly rawQuery?: z.ZodType;
}

/**
 * API Gateway throttling of one route (requests per second, token bucket): a cap on what all
 * callers together may spend on the route, applied before any authorizer or function runs.
 */
export interface RouteThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests admitted at once above the steady rate. */
  readonly burstLimit: number;
}

/** One route of the API. */
export interface RouteSpec {
  /** Stable operation id, used as the OpenAPI operationId and in metrics. */
  readonly id: string;
  readonly method: HttpMethod;
  /** Path in API Gateway syntax, parameters in braces: `/api/v1/aic/sessions/{session_id}`. */
  readonly path: string;
  readonly function: FunctionName;
  /** Whether a bearer token is required (the JWT authorizer on AWS, the local runtime here). */
  readonly auth: boolean;
  readonly summary: string;
  readonly request?: {
    readonly path?: z.ZodType;
    readonly query?: z.ZodType;
    readonly body?: BodySpec;
  };
  readonly response: { readonly status: number; readonly schema: z.ZodType };
  /**
   * A throttle of the route's own, below the environment's stage throttle (docs/design.md section
   * 6). Unset: the stage throttle. Routes without a token get one, so a flood of them cannot spend
   * the budget of the authenticated routes.
   */
  readonly throttle?: RouteThrottle;
  /**
   * A repeat of the request (a frame's number or an `Idempotency-Key`) is answered with the first
   * answer and counted once; one that arrives while the first is in the work gets 409
   * (docs/design.md sections 2.3 and 2.4).
   */
  readonly idempotent?: boolean;
}

/** Preserves the literal types of a route so handlers are typed from its schemas. */
function defineRoute<const R extends RouteSpec>(route: R): R {
  return route;
}

const jsonBody = <S extends z.ZodType>(schema: S) =>
  ({
    schema,
    contentTypes: ['application/json'],
    maxBytes: DEFAULT_JSON_BODY_LIMIT_BYTES,
  }) as const;

/** Liveness answers from memory; load balancers and monitors poll it a few times a second. */
const LIVENESS_THROTTLE: RouteThrottle = { rateLimit: 20, burstLimit: 40 };

/** Readiness costs a probe of Postgres and Redis per container and cache period (section 2.8). */
const READINESS_THROTTLE: RouteThrottle = { rateLimit: 10, burstLimit: 20 };

/** The OpenAPI document is fetched by tools and developers, not by the product's clients. */
const OPENAPI_THROTTLE: RouteThrottle = { rateLimit: 5, burstLimit: 10 };

export const routes = {
  health: defineRoute({
    id: 'health',
    method: 'GET',
    path: '/health',
    function: 'health',
    auth: false,
    summary: 'Liveness of the process; touches no dependency.',
    response: { status: 200, schema: livenessResponseSchema },
    throttle: LIVENESS_THROTTLE,
  }),
  liveness: defineRoute({
    id: 'liveness',
    method: 'GET',
    path: '/liveness',
    function: 'health',
    auth: false,
    summary: 'Liveness of the process; touches no dependency.',
    response: { status: 200, schema: livenessResponseSchema },
    throttle: LIVENESS_THROTTLE,
  }),
  readiness: defineRoute({
    id: 'readiness',
    method: 'GET',
    path: '/readiness',
    function: 'health',
    auth: false,
    summary: 'Readiness: Postgres, Redis (degraded is not fatal) and initialisation.',
    response: { status: 200, schema: readinessResponseSchema },
    throttle: READINESS_THROTTLE,
  }),
  compress: defineRoute({
    id: 'compress',
    method: 'POST',
    path: `${API_PREFIX}/compress`,
    function: 'compress',
    auth: true,
    summary: 'Compress one frame to fit the session network budget at the best measured quality.',
    idempotent: true,
    request: {
      body: {
        schema: compressJsonRequestSchema,
        contentTypes: ['application/json', 'image/jpeg', 'image/png', 'image/webp'],
        // A Lambda event is capped at 6 MiB; leave room for the event's headers and context.
        maxBytes: 6_200_000,
        rawQuery: compressQuerySchema,
      },
    },
    response: { status: 200, schema: compressResponseSchema },
  }),
  getConfig: defineRoute({
    id: 'getConfig',
    method: 'GET',
    path: `${API_PREFIX}/config`,
    function: 'dashboard',
    auth: true,
    summary: "The caller's compression policy (the default when none is stored).",
    response: { status: 200, schema: storedConfigSchema },
  }),
  putConfig: defineRoute({
    id: 'putConfig',
    method: 'PUT',
    path: `${API_PREFIX}/config`,
    function: 'dashboard',
    auth: true,
    summary: "Replace the caller's compression policy.",
    request: { body: jsonBody(compressionConfigSchema) },
    response: { status: 200, schema: storedConfigSchema },
  }),
  postConfig: defineRoute({
    id: 'postConfig',
    method: 'POST',
    path: `${API_PREFIX}/config`,
    function: 'dashboard',
    auth: true,
    summary: 'Alias of PUT /config for older clients.',
    request: { body: jsonBody(compressionConfigSchema) },
    response: { status: 200, schema: storedConfigSchema },
  }),
  putSessionNetwork: defineRoute({
    id: 'putSessionNetwork',
    method: 'PUT',
    path: `${API_PREFIX}/sessions/{session_id}/network`,
    function: 'network',
    auth: true,
    summary: "Record the session's network conditions; returns the estimate and recommendation.",
    idempotent: true,
    request: { path: sessionPathSchema, body: jsonBody(networkUpdateSchema) },
    response: { status: 200, schema: networkEstimateResponseSchema },
  }),
  getSessionNetwork: defineRoute({
    id: 'getSessionNetwork',
    method: 'GET',
    path: `${API_PREFIX}/sessions/{session_id}/network`,
    function: 'network',
    auth: true,
    summary: "The session's current network estimate and recommendation.",
    request: { path: sessionPathSchema },
    response: { status: 200, schema: networkEstimateResponseSchema },
  }),
  getSession: defineRoute({
    id: 'getSession',
    method: 'GET',
    path: `${API_PREFIX}/sessions/{session_id}`,
    function: 'network',
    auth: true,
    summary: 'Session statistics: frames, fallbacks, averages, bytes saved, duration.',
    request: { path: sessionPathSchema },
    response: { status: 200, schema: sessionStatisticsSchema },
  }),
  openApi: defineRoute({
    id: 'openApi',
    method: 'GET',
    path: '/openapi.json',
    function: 'health',
    auth: false,
    summary: 'This API as an OpenAPI 3.1 document, generated from the route table.',
    response: { status: 200, schema: openApiDocumentSchema },
    throttle: OPENAPI_THROTTLE,
  }),
  listMetrics: defineRoute({
    id: 'listMetrics',
    method: 'GET',
    path: `${API_PREFIX}/metrics`,
    function: 'dashboard',
    auth: true,
    summary: "The caller's most recent per-frame metrics, newest first.",
    request: { query: metricsQuerySchema },
    response: { status: 200, schema: metricsResponseSchema },
  }),
  getPerformanceSummary: defineRoute({
    id: 'getPerformanceSummary',
    method: 'GET',
    path: `${API_PREFIX}/performance/summary`,
    function: 'dashboard',
    auth: true,
    summary: 'Frames, compression, latency p50/p95, SSIM and fallbacks over the last hours.',
    request: { query: summaryQuerySchema },
    response: { status: 200, schema: performanceSummarySchema },
  }),
  getBandwidthSavings: defineRoute({
    id: 'getBandwidthSavings',
    method: 'GET',
    path: `${API_PREFIX}/stats/bandwidth-savings`,
    function: 'dashboard',
    auth: true,
    summary: 'Bytes saved (from stored byte counts) and the estimated egress cost saved.',
    request: { query: bandwidthQuerySchema },
    response: { status: 200, schema: bandwidthSavingsSchema },
  }),
  getQualityDistribution: defineRoute({
    id: 'getQualityDistribution',
    method: 'GET',
    path: `${API_PREFIX}/stats/quality-distribution`,
    function: 'dashboard',
    auth: true,
    summary: 'Frames and mean SSIM per quality band over the last days.',
    request: { query: qualityQuerySchema },
    response: { status: 200, schema: qualityDistributionSchema },
  }),
  listAlerts: defineRoute({
    id: 'listAlerts',
    method: 'GET',
    path: `${API_PREFIX}/alerts`,
    function: 'dashboard',
    auth: true,
    summary: "The caller's threshold alerts, newest first.",
    request: { query: alertsQuerySchema },
    response: { status: 200, schema: alertListSchema },
  }),
  resolveAlert: defineRoute({
    id: 'resolveAlert',
    method: 'PATCH',
    path: `${API_PREFIX}/alerts/{alert_id}/resolve`,
    function: 'dashboard',
    auth: true,
    summary: 'Resolve one of your alerts; resolving a resolved alert changes nothing.',
    request: { path: alertPathSchema },
    response: { status: 200, schema: alertSchema },
  }),
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof routes;

/** Every route, in table order. */
export const routeList: readonly RouteSpec[] = Object.values(routes);

/** The API Gateway route key of a route, e.g. `GET /api/v1/aic/config`. */
export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** API Gateway's catch-all route key: unmatched paths and methods land here. */
export const DEFAULT_ROUTE_KEY = '$default';

/**
 * Throttle of the `$default` catch-all: it answers only 404, 405 and CORS preflight, so scanners
 * probing unknown paths get a budget of their own instead of the real routes'.
 */
export const DEFAULT_ROUTE_THROTTLE: RouteThrottle = { rateLimit: 10, burstLimit: 20 };

/** Lambda entry points, relative to the repository root, one per function. */
export const FUNCTION_ENTRIES: Readonly<Record<FunctionName, string>> = {
  health: 'functions/handlers/health.ts',
  compress: 'functions/handlers/compress.ts',
  network: 'functions/handlers/network.ts',
  dashboard: 'functions/handlers/dashboard.ts',
};

/** The function that answers API Gateway's `$default` route (404, 405, CORS preflight). */
export const DEFAULT_ROUTE_FUNCTION: FunctionName = 'health';

/** Lambda functions run on a schedule (EventBridge) rather than behind the API. */
export type ScheduledFunctionName = 'alerts';

/** A function run on a schedule: its entry and how often it runs. */
export interface ScheduledFunction {
  /** Entry point relative to the repository root. */
  readonly entry: string;
  readonly everyMinutes: number;
  readonly description: string;
}

/** The scheduled functions; the CDK stack adds a rule per entry, `npm start` a timer. */
export const SCHEDULED_FUNCTIONS: Readonly<Record<ScheduledFunctionName, ScheduledFunction>> = {
  alerts: {
    entry: 'functions/handlers/alerts.ts',
    everyMinutes: 1,
    description: 'Turns recent frame metrics into threshold alerts',
  },
};
