// ElastiCache IAM authentication cannot run here (it needs ElastiCache and AWS credentials), so
// these tests check the token's shape with fixed credentials and a fixed clock, and recompute its
// SigV4 signature with node:crypto from the specification (no SDK code), as ElastiCache would.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AwsCredentials,
  IAM_REAUTH_EVERY_MS,
  IAM_TOKEN_REUSE_MS,
  iamCredentials,
  signIamToken,
} from '../../../../functions/platform/redis/elasticache-iam-token.ts';

const CREDENTIALS: AwsCredentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const REQUEST = { userId: 'aic-app-dev', cacheName: 'AuraLink-AIC-Dev', region: 'eu-west-1' };
const SIGNED_AT = new Date('2026-01-01T09:30:00Z');

/** The token's query parameters, in order. */
function parametersOf(token: string): [string, string][] {
  const [, query = ''] = token.split('?');
  return query.split('&').map((pair) => {
    const [key = '', value = ''] = pair.split('=');
    return [decodeURIComponent(key), decodeURIComponent(value)];
  });
}

/** SigV4 of a presigned `GET http://<host>/` with an empty body, computed from the specification. */
function expectedSignature(host: string, params: [string, string][], secret: string): string {
  const encode = (text: string) =>
    encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const unsigned = params.filter(([key]) => key !== 'X-Amz-Signature');
  const query = unsigned
    .map(([key, value]) => [encode(key), encode(value)])
    .sort(([a = ''], [b = '']) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const emptyHash = createHash('sha256').update('').digest('hex');
  const canonical = ['GET', '/', query, `host:${host}`, '', 'host', emptyHash].join('\n');
  const amzDate = Object.fromEntries(unsigned)['X-Amz-Date'] as string;
  const day = amzDate.slice(0, 8);
  const scope = `${day}/eu-west-1/elasticache/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(day).digest();
  for (const part of ['eu-west-1', 'elasticache', 'aws4_request']) {
    key = createHmac('sha256', key).update(part).digest();
  }
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('signIamToken', () => {
  it('presigns connect for the user on the lower-cased cache, for 900 s, without http://', async () => {
    const token = await signIamToken(REQUEST, CREDENTIALS, SIGNED_AT);
    expect(token.startsWith('auralink-aic-dev/?')).toBe(true);
    expect(token).not.toContain('http');
    const params = Object.fromEntries(parametersOf(token));
    expect(params).toMatchObject({
      Action: 'connect',
      User: 'aic-app-dev',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIAIOSFODNN7EXAMPLE/20260101/eu-west-1/elasticache/aws4_request',
      'X-Amz-Date': '20260101T093000Z',
      'X-Amz-Expires': '900',
      'X-Amz-SignedHeaders': 'host',
    });
    expect(params['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(params['X-Amz-Security-Token']).toBeUndefined();
  });

  it('carries a valid SigV4 signature of the request, as ElastiCache checks it', async () => {
    const token = await signIamToken(REQUEST, CREDENTIALS, SIGNED_AT);
    const params = parametersOf(token);
    expect(Object.fromEntries(params)['X-Amz-Signature']).toBe(
      expectedSignature('auralink-aic-dev', params, CREDENTIALS.secretAccessKey),
    );
  });

  it('carries the session token of temporary credentials, signed with the rest', async () => {
    const temporary = { ...CREDENTIALS, sessionToken: 'FQoGZXIvYXdzE+/session==' };
    const token = await signIamToken(REQUEST, temporary, SIGNED_AT);
    const params = parametersOf(token);
    expect(Object.fromEntries(params)['X-Amz-Security-Token']).toBe(temporary.sessionToken);
    expect(Object.fromEntries(params)['X-Amz-Signature']).toBe(
      expectedSignature('auralink-aic-dev', params, CREDENTIALS.secretAccessKey),
    );
  });
});

describe('iamCredentials', () => {
  it('logs in as the user ID with a token reused for 10 minutes, then signed anew', async () => {
    let clock = SIGNED_AT.getTime();
    let lookups = 0;
    const provider = iamCredentials({
      ...REQUEST,
      credentials: async () => {
        lookups++;
        return CREDENTIALS;
      },
      now: () => clock,
    });
    const first = await provider.current();
    expect(first.username).toBe('aic-app-dev');
    clock += IAM_TOKEN_REUSE_MS - 1;
    expect(await provider.current()).toEqual(first);
    clock += 1;
    const second = await provider.current();
    expect(second.password).not.toBe(first.password);
    expect(Object.fromEntries(parametersOf(second.password ?? ''))['X-Amz-Date']).toBe(
      '20260101T094000Z',
    );
    expect(lookups).toBe(2);
    expect(provider.renewEveryMs).toBe(IAM_REAUTH_EVERY_MS);
    // A token is at most reuse + one renewal period old when a connection presents it.
    expect(IAM_TOKEN_REUSE_MS + IAM_REAUTH_EVERY_MS).toBeLessThan(15 * 60_000);
  });

  it('renews credentials that would expire before the token does', async () => {
    const clock = SIGNED_AT.getTime();
    const asked: (boolean | undefined)[] = [];
    const provider = iamCredentials({
      ...REQUEST,
      credentials: async (options) => {
        asked.push(options?.forceRefresh);
        return options?.forceRefresh
          ? { ...CREDENTIALS, accessKeyId: 'ASIARENEWED', expiration: new Date(clock + 3_600_000) }
          : { ...CREDENTIALS, expiration: new Date(clock + 60_000) };
      },
      now: () => clock,
    });
    const { password } = await provider.current();
    expect(asked).toEqual([undefined, true]);
    expect(Object.fromEntries(parametersOf(password ?? ''))['X-Amz-Credential']).toMatch(
      /^ASIARENEWED\//,
    );
  });
});
