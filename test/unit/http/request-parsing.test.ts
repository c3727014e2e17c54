import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RouteSpec, routeList } from '../../../functions/core/contracts/routes.ts';
import { resolveRequestId } from '../../../functions/core/request-id.ts';
import { decodedLength, mediaType } from '../../../functions/http/middlewares/body-parser.ts';
import { createRouteMatcher } from '../../../functions/http/route-matcher.ts';

describe('decoded body length', () => {
  it('equals the real decoded size for any bytes, base64 or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(decodedLength(buffer.toString('base64'), true)).toBe(buffer.length);
        const text = buffer.toString('latin1');
        expect(decodedLength(text, false)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
    );
  });
});

describe('media types', () => {
  it('ignores parameters and case', () => {
    expect(mediaType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(mediaType('')).toBeUndefined();
    expect(mediaType(undefined)).toBeUndefined();
  });
});

describe('request ID resolution', () => {
  it('keeps sane tokens of up to 128 characters and replaces everything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (candidate) => {
        const id = resolveRequestId(candidate);
        const sane = /^[A-Za-z0-9._:@/+=-]{1,128}$/.test(candidate);
        expect(id === candidate).toBe(sane);
        expect(id.length).toBeLessThanOrEqual(128);
      }),
    );
  });
});

describe('the route matcher', () => {
  const withParam: RouteSpec = {
    ...(routeList[0] as RouteSpec),
    id: 'session',
    path: '/api/v1/aic/sessions/{session_id}',
  };
  const match = createRouteMatcher([...routeList, withParam]);

  it('matches every route of the table by its own method and path', () => {
    for (const route of routeList) {
      const found = match(route.method, route.path);
      expect(found.kind === 'route' && found.route.id).toBe(route.id);
    }
  });

  it('extracts and decodes path parameters', () => {
    const found = match('GET', '/api/v1/aic/sessions/a%20b');
    expect(found).toMatchObject({ kind: 'route', pathParameters: { session_id: 'a b' } });
  });

  it('tells a wrong method from an unknown path', () => {
    expect(match('DELETE', '/health')).toEqual({ kind: 'method-not-allowed', allowed: ['GET'] });
    expect(match('GET', '/health/extra')).toEqual({ kind: 'not-found' });
  });
});
