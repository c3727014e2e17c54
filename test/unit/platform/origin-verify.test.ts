import { describe, expect, it } from 'vitest';
import { ORIGIN_VERIFY_HEADER } from '../../../functions/core/contracts/origin.ts';
import {
  createOriginAuthorizer,
  createOriginVerifier,
} from '../../../functions/platform/origin-verify.ts';

const SECRET = 'a-value-only-cloudfront-and-the-authorizer-know';

function countingSecret(value = SECRET) {
  const reads = { count: 0 };
  return {
    reads,
    readSecret: async () => {
      reads.count += 1;
      return value;
    },
  };
}

describe('the origin authorizer', () => {
  it('authorizes a request that carries the secret in the origin header', async () => {
    const { readSecret } = countingSecret();
    const authorize = createOriginAuthorizer(createOriginVerifier(readSecret));
    expect(await authorize({ headers: { [ORIGIN_VERIFY_HEADER]: SECRET } })).toEqual({
      isAuthorized: true,
    });
  });

  it('refuses a wrong value, a prefix, a longer value and another case', async () => {
    const { readSecret } = countingSecret();
    const authorize = createOriginAuthorizer(createOriginVerifier(readSecret));
    for (const value of ['wrong', SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase()]) {
      expect(await authorize({ headers: { [ORIGIN_VERIFY_HEADER]: value } }), value).toEqual({
        isAuthorized: false,
      });
    }
  });

  it('refuses a request without the header, or with it empty, without reading the secret', async () => {
    const { readSecret, reads } = countingSecret();
    const authorize = createOriginAuthorizer(createOriginVerifier(readSecret));
    expect(await authorize({})).toEqual({ isAuthorized: false });
    expect(await authorize({ headers: { authorization: `Bearer ${SECRET}` } })).toEqual({
      isAuthorized: false,
    });
    expect(await authorize({ headers: { [ORIGIN_VERIFY_HEADER]: '' } })).toEqual({
      isAuthorized: false,
    });
    expect(reads.count).toBe(0);
  });

  it('admits nothing when it has no secret to compare with', async () => {
    const { readSecret } = countingSecret('');
    const authorize = createOriginAuthorizer(createOriginVerifier(readSecret));
    expect(await authorize({ headers: { [ORIGIN_VERIFY_HEADER]: 'anything' } })).toEqual({
      isAuthorized: false,
    });
  });

  it('fails closed when the secret cannot be read', async () => {
    const authorize = createOriginAuthorizer(
      createOriginVerifier(async () => {
        throw new Error('secrets manager unreachable');
      }),
    );
    await expect(authorize({ headers: { [ORIGIN_VERIFY_HEADER]: SECRET } })).rejects.toThrow(
      /unreachable/,
    );
  });
});
