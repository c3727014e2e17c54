import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bindingWindow,
  rateLimitHeaders,
  retryAfterSeconds,
} from '../../../../functions/core/rate-limit/headers.ts';
import type {
  LimitDecision,
  WindowOutcome,
} from '../../../../functions/core/rate-limit/sliding-window.ts';

/** Parses an IETF RateLimit / RateLimit-Policy list (structured-field strings with integer params). */
function parseList(value: string): Map<string, Record<string, number>> {
  const items = new Map<string, Record<string, number>>();
  for (const item of value.split(', ')) {
    const match = /^"([a-z][a-z0-9_-]*)"((?:;[a-z]+=\d+)+)$/.exec(item);
    if (!match) throw new Error(`not a structured-field item: ${item}`);
    const params = Object.fromEntries(
      (match[2] as string)
        .slice(1)
        .split(';')
        .map((p) => p.split('='))
        .map(([k, v]) => [k, Number(v)]),
    );
    items.set(match[1] as string, params);
  }
  return items;
}

const outcome = (
  name: string,
  seconds: number,
  limit: number,
  remaining: number,
  resetMs: number,
  retryAfterMs = 0,
): WindowOutcome => ({
  window: { name, seconds, limit },
  allowed: retryAfterMs === 0,
  remaining,
  resetMs,
  retryAfterMs,
});

describe('rate-limit response fields', () => {
  it('describe every window in the IETF fields and the tightest one in X-RateLimit-*', () => {
    const decision: LimitDecision = {
      allowed: true,
      windows: [outcome('minute', 60, 60, 59, 41_200), outcome('hour', 3600, 3600, 10, 3_599_001)],
    };
    expect(rateLimitHeaders(decision)).toEqual({
      'X-RateLimit-Limit': '3600',
      'X-RateLimit-Remaining': '10',
      'X-RateLimit-Reset': '3600',
      'RateLimit-Policy': '"minute";q=60;w=60, "hour";q=3600;w=3600',
      RateLimit: '"minute";r=59;t=42, "hour";r=10;t=3600',
    });
  });

  it('point a rejection at the window that frees up last', () => {
    const decision: LimitDecision = {
      allowed: false,
      windows: [
        outcome('minute', 60, 60, 0, 1_500, 1_500),
        outcome('hour', 3600, 3600, 0, 30_000, 30_001),
      ],
    };
    expect(bindingWindow(decision).window.name).toBe('hour');
    expect(retryAfterSeconds(decision)).toBe(31);
    expect(rateLimitHeaders(decision)['X-RateLimit-Reset']).toBe('30');
  });

  it('are always well-formed, with the binding window no later than Retry-After', () => {
    const windowArb = fc.record({
      seconds: fc.integer({ min: 1, max: 604_800 }),
      limit: fc.integer({ min: 1, max: 1_000_000_000 }),
      used: fc.nat(),
      resetMs: fc.integer({ min: 1, max: 604_800_000 }),
      late: fc.nat({ max: 1_000_000 }),
      rejects: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(windowArb, { minLength: 1, maxLength: 4 }), (raw) => {
        const windows = raw.map((w, i) =>
          outcome(
            `w${i}`,
            w.seconds,
            w.limit,
            w.rejects ? 0 : Math.max(0, w.limit - (w.used % (w.limit + 1))),
            w.resetMs,
            w.rejects ? w.resetMs + w.late : 0,
          ),
        );
        const decision = { allowed: windows.every((w) => w.allowed), windows };
        const headers = rateLimitHeaders(decision);
        const policy = parseList(headers['RateLimit-Policy'] as string);
        const current = parseList(headers.RateLimit as string);
        expect(policy.size).toBe(windows.length);
        expect(current.size).toBe(windows.length);
        for (const w of windows) {
          expect(policy.get(w.window.name)).toEqual({ q: w.window.limit, w: w.window.seconds });
          expect(current.get(w.window.name)?.r).toBe(w.remaining);
          expect(current.get(w.window.name)?.t).toBeGreaterThanOrEqual(1);
        }
        for (const name of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']) {
          expect(headers[name]).toMatch(/^\d+$/);
        }
        if (!decision.allowed) {
          expect(Number(headers['X-RateLimit-Remaining'])).toBe(0);
          expect(Number(headers['X-RateLimit-Reset'])).toBeLessThanOrEqual(
            retryAfterSeconds(decision),
          );
        } else {
          const least = Math.min(...windows.map((w) => w.remaining));
          expect(Number(headers['X-RateLimit-Remaining'])).toBe(least);
        }
      }),
    );
  });
});
