import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type RouteSpec, routeList } from '../../../functions/core/contracts/routes.ts';
import { BUILT_IN_RULES } from '../../../functions/core/rate-limit/policy.ts';
import { openApiDocument } from '../../../functions/http/openapi.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

type Json = Record<string, unknown>;
type Parameter = { name: string; in: string; required: boolean; example?: unknown; $ref?: string };
type Operation = {
  operationId: string;
  security: unknown[];
  parameters: Parameter[];
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
  responses: Record<
    string,
    {
      $ref?: string;
      headers?: Record<string, unknown>;
      content?: Record<string, { examples?: Record<string, { value: unknown }> }>;
    }
  >;
};

let db: TestDatabase;
let api: TestApi;
let doc: Json & { paths: Record<string, Record<string, Operation>>; components: Json };

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  api = await startTestApi({ DATABASE_URL: db.url, REDIS_URL: undefined });
  const response = await api.request('/openapi.json');
  expect(response.status).toBe(200);
  doc = (await response.json()) as typeof doc;
});

afterAll(async () => {
  await api?.close();
  await db?.drop();
});

const operationOf = (route: RouteSpec) =>
  doc.paths[route.path]?.[route.method.toLowerCase()] as Operation;

/** The examples of a media type map, as values. */
const exampleValues = (media: { examples?: Record<string, { value: unknown }> } | undefined) =>
  Object.values(media?.examples ?? {}).map((example) => example.value);

function expectParses(schema: z.ZodType, value: unknown, what: string) {
  const result = schema.safeParse(value);
  expect(result.success, `${what}: ${JSON.stringify(result.error?.issues)}`).toBe(true);
}

describe('GET /openapi.json', () => {
  it('needs no token and is served from memory after the first request', async () => {
    const again = await api.request('/openapi.json');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(doc);
    expect(openApiDocument('1')).toBe(openApiDocument('1'));
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has every route of the route table, under its operation id', () => {
    for (const route of routeList) {
      expect(operationOf(route)?.operationId, `${route.method} ${route.path}`).toBe(route.id);
    }
    const documented = Object.values(doc.paths).flatMap((methods) => Object.keys(methods));
    expect(documented).toHaveLength(routeList.length);
  });

  it('requires the bearer token exactly on the authenticated routes', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    });
    for (const route of routeList) {
      const { security, responses } = operationOf(route);
      expect(security, route.id).toEqual(route.auth ? [{ bearerAuth: [] }] : []);
      expect(Boolean(responses['401']), route.id).toBe(route.auth);
    }
  });

  it('answers every error with the error envelope and the request ID', () => {
    const envelope = { $ref: '#/components/schemas/ErrorEnvelope' };
    const responses = doc.components.responses as Record<string, Operation['responses'][string]>;
    for (const response of Object.values(responses)) {
      expect(response.content?.['application/json']).toEqual({ schema: envelope });
      expect(response.headers?.['X-Request-ID']).toBeDefined();
    }
    for (const route of routeList) {
      const errors = Object.entries(operationOf(route).responses).filter(
        ([status]) => status >= '400',
      );
      expect(
        errors.map(([status]) => status),
        route.id,
      ).toContain('500');
      for (const [status, response] of errors) {
        if (route.id === 'readiness' && status === '503') continue;
        expect(response.$ref, `${route.id} ${status}`).toMatch(/^#\/components\/responses\//);
      }
    }
    expect(responses.TooManyRequests?.headers?.['Retry-After']).toBeDefined();
  });

  it('documents the rate-limit fields on every rate-limited route', () => {
    for (const route of routeList) {
      const limited = BUILT_IN_RULES[route.id] !== 'exempt';
      const { responses } = operationOf(route);
      const success = responses[String(route.response.status)];
      for (const header of [
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
        'RateLimit',
        'RateLimit-Policy',
      ]) {
        expect(Boolean(success?.headers?.[header]), `${route.id} ${header}`).toBe(limited);
      }
      expect(Boolean(responses['429']), route.id).toBe(limited);
    }
  });

  it('documents both body forms of compress, with the raw form’s fields as query parameters', () => {
    const compress = doc.paths['/api/v1/aic/compress']?.post as Operation;
    expect(Object.keys(compress.requestBody?.content ?? {})).toEqual([
      'application/json',
      'image/jpeg',
      'image/png',
      'image/webp',
    ]);
    const query = compress.parameters.filter((p) => p.in === 'query');
    expect(query.map((p) => p.name)).toContain('session_id');
    expect(query.every((p) => p.required === false)).toBe(true);
  });

  it('has a request example for every route that takes a JSON body or a query', () => {
    for (const route of routeList) {
      const operation = operationOf(route);
      if (route.request?.body?.contentTypes.includes('application/json')) {
        const media = operation.requestBody?.content['application/json'];
        expect(exampleValues(media).length, route.id).toBeGreaterThan(0);
      }
      if (route.request?.query) {
        const examples = operation.parameters.filter((p) => p.in === 'query' && 'example' in p);
        expect(examples.length, route.id).toBeGreaterThan(0);
      }
    }
  });

  it('shows only examples that pass their zod schema', () => {
    let checked = 0;
    for (const route of routeList) {
      const operation = operationOf(route);
      const { request } = route;
      for (const value of exampleValues(operation.requestBody?.content['application/json'])) {
        expectParses(request?.body?.schema as z.ZodType, value, `${route.id} body`);
        checked++;
      }
      for (const where of ['query', 'path'] as const) {
        const examples = operation.parameters.filter((p) => p.in === where && 'example' in p);
        if (examples.length === 0) continue;
        // Parameters travel as strings: the example is checked the way a request is read.
        const value = Object.fromEntries(examples.map((p) => [p.name, String(p.example)]));
        const schema =
          where === 'path' ? request?.path : (request?.query ?? request?.body?.rawQuery);
        expectParses(schema as z.ZodType, value, `${route.id} ${where}`);
        checked++;
      }
      const success = operation.responses[String(route.response.status)];
      for (const value of exampleValues(success?.content?.['application/json'])) {
        expectParses(route.response.schema, value, `${route.id} response`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
