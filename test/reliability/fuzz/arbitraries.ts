/**
 * fast-check generators of hostile HTTP requests, derived from the route table: path parameters,
 * query strings, headers and JSON bodies, from valid-ish (the route's OpenAPI example with fields
 * mutated) to garbage (wrong types, huge numbers, unicode, prototype keys, deep nesting, broken JSON).
 * Values are built as raw text so that keys like `__proto__` and duplicate keys reach the server.
 */
import fc from 'fast-check';
import { z } from 'zod';
import type { RouteId, RouteSpec } from '../../../functions/core/contracts/routes.ts';
import { ROUTE_EXAMPLES } from '../../../functions/http/openapi-examples.ts';
import type { FuzzRequest } from './http-client.ts';

/** Cases per route: `FUZZ_RUNS` (the dedicated `npm run test:fuzz` sets 10,000), else `fallback`. */
export function fuzzRuns(fallback: number): number {
  const runs = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : fallback;
}

/** `FUZZ_SEED` replays a reported failure; unset, fast-check picks (and reports) a seed. */
export function fuzzSeed(): number | undefined {
  const seed = Number(process.env.FUZZ_SEED);
  return process.env.FUZZ_SEED && Number.isInteger(seed) ? seed : undefined;
}

/** Percent-encodes every byte of the UTF-8 form except RFC 3986 unreserved characters. */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Maps any string onto characters Node lets through in a header value (tab, visible Latin-1). */
export function headerSafe(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0x20;
    out +=
      code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff)
        ? char
        : String.fromCharCode(0x20 + (code % 95));
  }
  return out;
}

const headerText = fc.string({ unit: 'binary', maxLength: 200 }).map(headerSafe);

/** Strings that break naive code: unicode of every kind, control characters, lone surrogates. */
export const nastyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\u202e',
    '💥🎞️',
    'Ω≈ç√',
    '\\',
    '"',
    "'; drop table sessions; --",
    '../../etc/passwd',
    '%00',
    '{{7*7}}',
    '__proto__',
    'constructor',
  ),
);

/** JSON number literals at and past every edge, as raw text. */
const nastyNumberText = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '-1',
    '1e308',
    '-1e308',
    '1e400',
    '-1e400',
    '1e-400',
    '5e-324',
    '9007199254740993',
    '123456789012345678901234567890',
    '0.1',
    '1E+2',
    '64',
    '63.999',
    '100000',
    '100000.0001',
    '5000',
    '1000',
    '120',
    '121',
    '0.95',
    '0.951',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
);

/** Raw JSON text of a deeply nested array or object (`depth` levels). */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Any JSON value, as raw text: valid-ish scalars, wrong types, nesting, huge numbers. */
export const jsonValueText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), weight: 3 },
  { arbitrary: nastyNumberText, weight: 3 },
  { arbitrary: nastyString.map((s) => JSON.stringify(s)), weight: 2 },
  { arbitrary: fc.constantFrom('null', 'true', 'false', '[]', '{}', '""'), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom('array' as const, 'object' as const),
      )
      .map(([depth, kind]) => nested(depth, kind)),
    weight: 1,
  },
);

type Entry = readonly [string, string];

/** `{"k":v,...}` from entries of a key and raw value text (duplicates and `__proto__` kept). */
function objectText(entries: readonly Entry[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

function exampleEntries(example: unknown): Entry[] {
  return example && typeof example === 'object' && !Array.isArray(example)
    ? Object.entries(example).map(([key, value]) => [key, JSON.stringify(value)] as const)
    : [];
}

/** Keys of a zod object schema (empty for anything else). */
export function schemaKeys(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

/** A key: one the schema knows, a prototype key, or anything. */
function keyArb(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant('x'), weight: 3 },
    { arbitrary: fc.constantFrom(...PROTOTYPE_KEYS), weight: 1 },
    { arbitrary: nastyString, weight: 1 },
  );
}

/**
 * Raw JSON body text for a route whose valid example is `example`: the example itself, the example
 * with fields dropped, replaced and added, prototype pollution attempts, any JSON value, deep
 * nesting, and text that is not JSON at all.
 */
export function jsonBodyText(example: unknown, known: readonly string[]): fc.Arbitrary<string> {
  const base = exampleEntries(example);
  const mutated = fc
    .record({
      keep: fc.subarray(base),
      replace: fc.array(fc.tuple(keyArb(known), jsonValueText), { maxLength: 3 }),
    })
    .map(({ keep, replace }) => {
      const replaced = new Set(replace.map(([key]) => key));
      return objectText([...keep.filter(([key]) => !replaced.has(key)), ...replace]);
    });
  const pollution = fc
    .tuple(fc.constantFrom(...PROTOTYPE_KEYS), jsonValueText)
    .map(([key, value]) =>
      objectText([
        ...base,
        [key, key === 'constructor' ? `{"prototype":{"admin":true,"polluted":${value}}}` : value],
      ]),
    );
  const exampleText = objectText(base);
  const broken = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.nat({ max: Math.max(0, exampleText.length - 1) }).map((cut) => exampleText.slice(0, cut)),
    fc.constantFrom(
      '{',
      '{"a":}',
      '[1,]',
      "{'a':1}",
      'NaN',
      '{"a":1}{"b":2}',
      '\ufeff{}',
      '{"a":"\\u00"}',
    ),
  );
  return fc.oneof(
    { arbitrary: fc.constant(exampleText), weight: 2 },
    { arbitrary: mutated, weight: 6 },
    { arbitrary: pollution, weight: 1 },
    { arbitrary: jsonValueText, weight: 2 },
    { arbitrary: broken, weight: 2 },
  );
}

const queryValue = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '24',
    '168',
    '169',
    '90',
    '91',
    '1000',
    '1001',
    '1.5',
    '1e3',
    'NaN',
    'Infinity',
    '-0',
    '0x10',
    ' 5',
    '',
    'true',
    'false',
    'TRUE',
    'yes',
    'null',
    'warning',
    'critical',
    '99999999999999999999999',
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.uuid(),
  nastyString,
);

/**
 * A query string (with its `?`) for a schema with `known` keys: the example's, mutated entries,
 * duplicate keys, and raw fragments that are not valid percent-encoding.
 */
export function queryString(
  example: Readonly<Record<string, string>> | undefined,
  known: readonly string[],
): fc.Arbitrary<string> {
  const pair = fc
    .tuple(keyArb(known), queryValue)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`);
  const raw = fc.constantFrom('%', '%zz', '&&', '=', '==', '?', '%00', '+', '%2B', 'a', 'a=%E2%28');
  const exampleText = new URLSearchParams(example ?? {}).toString();
  return fc
    .oneof(
      { arbitrary: fc.constant(''), weight: 2 },
      { arbitrary: fc.constant(exampleText), weight: 2 },
      {
        arbitrary: fc
          .array(fc.oneof({ arbitrary: pair, weight: 5 }, { arbitrary: raw, weight: 1 }), {
            maxLength: 6,
          })
          .map((parts) => [exampleText, ...parts].filter((p) => p !== '').join('&')),
        weight: 6,
      },
    )
    .map((query) => (query === '' ? '' : `?${query}`));
}

/** A path parameter: mostly UUIDs (v4 and others), also unicode, long and malformed segments. */
export const pathSegment = fc.oneof(
  { arbitrary: fc.uuid({ version: 4 }), weight: 4 },
  { arbitrary: fc.uuid(), weight: 1 },
  { arbitrary: fc.uuid({ version: 4 }).map((id) => id.toUpperCase()), weight: 1 },
  { arbitrary: nastyString.filter((s) => s !== '').map(percentEncode), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      '%zz',
      '%00',
      '%2F',
      '%252F',
      'null',
      'undefined',
      '__proto__',
      'constructor',
      '%E2%80%AE',
      'a'.repeat(3000),
      '0',
      '-1',
      '%7B%7D',
    ),
    weight: 1,
  },
);

/** The path of `route` with every `{param}` filled by a generated segment. */
export function routePath(route: RouteSpec): fc.Arbitrary<string> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  if (names.length === 0) return fc.constant(route.path);
  return fc
    .array(pathSegment, { minLength: names.length, maxLength: names.length })
    .map((segments) =>
      names.reduce((path, name, i) => path.replace(`{${name}}`, segments[i] as string), route.path),
    );
}

/** An `X-Request-ID`: none, sane tokens (echoed), and over-long or unsafe ones (replaced). */
export const requestIdHeader = fc.option(
  fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._:@/+=-]{1,128}$/),
    headerText,
    fc.constantFrom('x'.repeat(129), '<script>', 'a b', '', 'ünïcode'),
  ),
  { nil: undefined },
);

/**
 * An `Authorization` value: mostly the first of `tokens` (a plain user, so requests get past
 * authentication), often another of them, otherwise missing or garbage.
 */
export function authorizationHeader(tokens: readonly string[]): fc.Arbitrary<string | undefined> {
  const token = fc.constantFrom(...tokens);
  return fc.oneof(
    { arbitrary: fc.constant(`Bearer ${tokens[0]}`), weight: 10 },
    { arbitrary: token.map((t) => `Bearer ${t}`), weight: 4 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    {
      arbitrary: fc.oneof(
        fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer', 'Token abc', 'null'),
        token.map((t) => `bearer ${t}`),
        token.map((t) => `Bearer ${t} ${t}`),
        token.map((t) => `Bearer ${t.slice(0, -3)}abc`),
        token.map((t) => `Bearer ${t.split('.').slice(0, 2).join('.')}.`),
        fc
          .stringMatching(/^[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{0,60}$/)
          .map((t) => `Bearer ${t}`),
        headerText,
      ),
      weight: 2,
    },
  );
}

/** A `Content-Type`: the route's own (mostly), its variants, others, and garbage. */
export function contentTypeHeader(accepted: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...accepted), weight: 10 },
    {
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/json;',
        ' application/json ',
        'application/json, text/plain',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'image/png',
        'image/jpeg',
        'image/gif',
        '',
        ';',
        '*/*',
      ),
      weight: 3,
    },
    { arbitrary: headerText, weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

const FORBIDDEN_EXTRA = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'content-type',
  'authorization',
  'x-request-id',
]);

/** A few extra headers: origins, forwarding, cookies, encodings and random names, garbage values. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'origin',
          'x-forwarded-for',
          'cookie',
          'accept',
          'accept-encoding',
          'access-control-request-method',
          'x-amzn-trace-id',
          'user-agent',
        ),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
      ),
      headerText,
    ),
    { maxLength: 3 },
  )
  .map((pairs) => Object.fromEntries(pairs.filter(([name]) => !FORBIDDEN_EXTRA.has(name))));

/** Example values of a route from the OpenAPI examples. */
export function examplesOf(route: RouteSpec) {
  return ROUTE_EXAMPLES[route.id as RouteId];
}

/**
 * A whole request to `route`: its method, a generated path and query string, the headers above and,
 * for a route with a JSON body, a generated body (a few requests to body-less routes carry one too).
 */
export function routeRequest(
  route: RouteSpec,
  tokens: readonly string[],
): fc.Arbitrary<FuzzRequest> {
  const examples = examplesOf(route);
  const spec = route.request?.body;
  const body = spec
    ? jsonBodyText(examples?.body, schemaKeys(spec.schema)).map((text) => Buffer.from(text, 'utf8'))
    : fc.option(
        jsonValueText.map((text) => Buffer.from(text, 'utf8')),
        { freq: 10, nil: undefined },
      );
  return fc
    .record({
      path: routePath(route),
      query: queryString(examples?.query, schemaKeys(route.request?.query)),
      requestId: requestIdHeader,
      authorization: authorizationHeader(tokens),
      contentType: contentTypeHeader(spec?.contentTypes ?? ['application/json']),
      extra: extraHeaders,
      body,
    })
    .map((r) => request(route.method, `${r.path}${r.query}`, r));
}

/** Assembles a {@link FuzzRequest}, leaving out headers that were not generated. */
export function request(
  method: string,
  path: string,
  parts: {
    requestId?: string;
    authorization?: string;
    contentType?: string;
    extra?: Record<string, string>;
    body?: Buffer;
  },
): FuzzRequest {
  const headers: Record<string, string> = { ...parts.extra };
  if (parts.requestId !== undefined) headers['x-request-id'] = parts.requestId;
  if (parts.authorization !== undefined) headers.authorization = parts.authorization;
  if (parts.body !== undefined && parts.contentType !== undefined)
    headers['content-type'] = parts.contentType;
  return { method, path, headers, body: parts.body };
}

/** Any method on any path: unknown routes, wrong methods and preflights (the `$default` route). */
export function strayRequest(tokens: readonly string[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      prefix: fc.constantFrom('', '/api/v1/aic', '/api/v1', '/api/v1/aic/sessions', '/health'),
      segments: fc.array(pathSegment, { maxLength: 4 }),
      trailingSlash: fc.boolean(),
      query: queryString(undefined, []),
      requestId: requestIdHeader,
      authorization: authorizationHeader(tokens),
      contentType: contentTypeHeader(['application/json']),
      extra: extraHeaders,
      body: fc.option(
        jsonValueText.map((text) => Buffer.from(text, 'utf8')),
        { nil: undefined },
      ),
    })
    .map((r) => {
      const path = `${r.prefix}/${r.segments.join('/')}${r.trailingSlash ? '/' : ''}`.replace(
        /^\/\//,
        '/',
      );
      return request(r.method, `${path}${r.query}`, r);
    });
}
