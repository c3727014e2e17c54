/**
 * The OpenAPI 3.1 document of the API, generated from the route table and its zod schemas (zod 4's
 * `z.toJSONSchema`, JSON Schema 2020-12, the dialect of OpenAPI 3.1): no hand-written copy to
 * drift. Request bodies are described as clients send them (`io: 'input'`: defaulted fields are
 * optional), responses and parameters as the service produces or reads them (`io: 'output'`).
 */
import { z } from 'zod';
import { errorEnvelopeSchema } from '../core/contracts/errors.ts';
import { type BodySpec, type RouteSpec, routeList } from '../core/contracts/routes.ts';
import { ERROR_STATUS, type ErrorCode } from '../core/errors.ts';
import { BUILT_IN_RULES } from '../core/rate-limit/policy.ts';
import { ROUTE_EXAMPLES, type RouteExamples } from './openapi-examples.ts';

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** The service version, `info.version`. */
  version: string;
  routes?: readonly RouteSpec[];
  examples?: Readonly<Partial<Record<string, RouteExamples>>>;
}

const JSON_TYPE = 'application/json';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** The error responses, one per status, each carrying the envelope. */
const ERROR_RESPONSES: Readonly<Record<string, { status: number; description: string }>> = {
  BadRequest: {
    status: 400,
    description: 'Validation failed: `details` lists each failing field.',
  },
  Unauthorized: { status: 401, description: 'The bearer token is missing or invalid.' },
  NotFound: { status: 404, description: 'Not found, or not yours.' },
  PayloadTooLarge: { status: 413, description: 'The body or the frame is over its cap.' },
  UnsupportedMediaType: { status: 415, description: 'The body media type is not accepted.' },
  UnprocessableFrame: {
    status: 422,
    description:
      'The frame cannot be decoded, its dimensions (after EXIF orientation) are out of range, or it is animated.',
  },
  Conflict: {
    status: 409,
    description:
      'The same frame or update (its `frame_number` or `Idempotency-Key`) is still in the work; retry after `Retry-After` for its first answer.',
  },
  TooManyRequests: { status: 429, description: 'Rate limited; retry after `Retry-After` seconds.' },
  InternalError: { status: 500, description: 'A bug; the body carries no internals.' },
  Unavailable: { status: 503, description: 'A dependency (Postgres, Redis) is unavailable.' },
};

const RATE_LIMIT_HEADERS = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
] as const;

function components(): Record<string, unknown> {
  const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
  const envelope = { [JSON_TYPE]: { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } };
  const codes = (status: number) =>
    (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => ERROR_STATUS[code].http === status);
  return {
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'The user is the `sub` claim.',
      },
    },
    schemas: { ErrorEnvelope: jsonSchema(errorEnvelopeSchema, 'output') },
    parameters: {
      RequestId: {
        name: 'X-Request-ID',
        in: 'header',
        required: false,
        description: 'Echoed when it is a sane token of at most 128 characters, else replaced.',
        schema: { type: 'string', maxLength: 128 },
      },
    },
    headers: {
      'X-Request-ID': {
        description: 'The request ID; also in every error body and log line.',
        schema: { type: 'string' },
      },
      'X-RateLimit-Limit': {
        description: 'Quota of the most constrained window.',
        schema: { type: 'integer' },
      },
      'X-RateLimit-Remaining': {
        description: 'Requests left in that window.',
        schema: { type: 'integer' },
      },
      'X-RateLimit-Reset': {
        description: 'Seconds until that window frees up.',
        schema: { type: 'integer' },
      },
      RateLimit: {
        description: 'IETF RateLimit field, every window: `"minute";r=59;t=58, ...`.',
        schema: { type: 'string' },
      },
      'RateLimit-Policy': {
        description: 'IETF RateLimit-Policy field, every window: `"minute";q=60;w=60, ...`.',
        schema: { type: 'string' },
      },
      'Retry-After': {
        description: 'Seconds to wait before retrying.',
        schema: { type: 'integer' },
      },
    },
    responses: Object.fromEntries(
      Object.entries(ERROR_RESPONSES).map(([name, { status, description }]) => [
        name,
        {
          description: `${description} Codes: ${codes(status).join(', ')}.`,
          headers: {
            'X-Request-ID': headerRef('X-Request-ID'),
            ...(status === 429 || status === 503
              ? { 'Retry-After': headerRef('Retry-After') }
              : {}),
            ...(status === 429
              ? Object.fromEntries(RATE_LIMIT_HEADERS.map((name) => [name, headerRef(name)]))
              : {}),
          },
          content: envelope,
        },
      ]),
    ),
  };
}

/** `rawQuery` fields may also travel as query parameters; a required one is required only then. */
function parameters(
  schema: z.ZodType | undefined,
  where: 'query' | 'path',
  examples: Readonly<Record<string, string>> | undefined,
  rawBodyOnly = false,
): Record<string, unknown>[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, ...fieldSchema } = jsonSchema(field, 'output');
    const required = where === 'path' || !field.safeParse(undefined).success;
    const example = examples?.[name];
    const parsedExample = example === undefined ? undefined : field.safeParse(example);
    const note = rawBodyOnly
      ? `With an image body only${required ? ' (required then)' : ''}.`
      : undefined;
    return {
      name,
      in: where,
      required: rawBodyOnly ? false : required,
      ...(description || note
        ? { description: [note, description].filter(Boolean).join(' ') }
        : {}),
      schema: fieldSchema,
      ...(parsedExample?.success ? { example: parsedExample.data } : {}),
    };
  });
}

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });
const errorRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** The error responses a route can give, each a reference to the shared envelope's response. */
function errorResponses(route: RouteSpec, limited: boolean): Record<string, unknown> {
  const { request } = route;
  const body = request?.body;
  const errors: Record<string, unknown> = {};
  if (request) errors['400'] = errorRef('BadRequest');
  if (route.auth) errors['401'] = errorRef('Unauthorized');
  if (route.auth || request?.path) errors['404'] = errorRef('NotFound');
  if (body) {
    errors['413'] = errorRef('PayloadTooLarge');
    errors['415'] = errorRef('UnsupportedMediaType');
  }
  if (body?.contentTypes.some((type) => type.startsWith('image/'))) {
    errors['422'] = errorRef('UnprocessableFrame');
  }
  if (route.idempotent) errors['409'] = errorRef('Conflict');
  if (limited) errors['429'] = errorRef('TooManyRequests');
  errors['500'] = errorRef('InternalError');
  // Readiness answers 503 with its own body (the failing checks), not the error envelope.
  if (route.id === 'readiness') {
    errors['503'] = {
      description: 'Not ready: the checks say which dependency failed.',
      content: { [JSON_TYPE]: { schema: jsonSchema(route.response.schema, 'output') } },
    };
  } else if (route.auth) {
    errors['503'] = errorRef('Unavailable');
  }
  return errors;
}

/** The request body of a route: its JSON schema (with an example), or a raw image per type. */
function requestBodyOf(body: BodySpec | undefined, examples: RouteExamples | undefined) {
  if (!body) return undefined;
  const content = body.contentTypes.map((type) => [
    type,
    type === JSON_TYPE
      ? {
          schema: jsonSchema(body.schema, 'input'),
          ...(examples?.body === undefined
            ? {}
            : { examples: { example: { value: examples.body } } }),
        }
      : { schema: { type: 'string', contentMediaType: type } },
  ]);
  return { required: true, content: Object.fromEntries(content) };
}

/** The success response: the route's schema, its example, the request-id and rate-limit headers. */
function successResponse(route: RouteSpec, examples: RouteExamples | undefined, limited: boolean) {
  const content: Record<string, unknown> = { schema: jsonSchema(route.response.schema, 'output') };
  if (examples?.response !== undefined) {
    content.examples = { example: { value: examples.response } };
  }
  return {
    description: route.summary,
    headers: {
      'X-Request-ID': headerRef('X-Request-ID'),
      ...(limited
        ? Object.fromEntries(RATE_LIMIT_HEADERS.map((name) => [name, headerRef(name)]))
        : {}),
    },
    content: { [JSON_TYPE]: content },
  };
}

function operation(route: RouteSpec, examples: RouteExamples | undefined): Operation {
  const { request } = route;
  const body = request?.body;
  const limited = BUILT_IN_RULES[route.id] !== 'exempt';
  const requestBody = requestBodyOf(body, examples);
  return {
    operationId: route.id,
    summary: route.summary,
    tags: [route.function],
    security: route.auth ? [{ bearerAuth: [] }] : [],
    parameters: [
      { $ref: '#/components/parameters/RequestId' },
      ...parameters(request?.path, 'path', examples?.path),
      ...parameters(request?.query, 'query', examples?.query),
      ...parameters(body?.rawQuery, 'query', examples?.query, true),
    ],
    ...(requestBody ? { requestBody } : {}),
    responses: {
      [String(route.response.status)]: successResponse(route, examples, limited),
      ...errorResponses(route, limited),
    },
  };
}

/** Builds the OpenAPI 3.1 document of `routes` (default: the whole route table). */
export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const routes = options.routes ?? routeList;
  const examples: Readonly<Partial<Record<string, RouteExamples>>> =
    options.examples ?? ROUTE_EXAMPLES;
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of routes) {
    const path = paths[route.path] ?? {};
    path[route.method.toLowerCase()] = operation(route, examples[route.id]);
    paths[route.path] = path;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'AuraLink AIC',
      version: options.version,
      description:
        'Adaptive image compression for live video: compress frames to fit the network, set the ' +
        'policy, read the dashboard statistics and alerts. Every error body is the ErrorEnvelope; ' +
        'every response carries X-Request-ID; rate-limited routes carry the rate-limit fields.',
    },
    tags: [...new Set(routes.map((route) => route.function))].map((name) => ({ name })),
    paths,
    components: components(),
  };
}

let cached: Record<string, unknown> | undefined;

/** The document of the route table, built once per container. */
export function openApiDocument(version: string): Record<string, unknown> {
  cached ??= buildOpenApiDocument({ version });
  return cached;
}
