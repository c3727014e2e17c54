import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  DEV_JWT_SECRET,
  jwtSettings,
  signToken,
  verifyToken,
} from '../../../functions/platform/jwt.ts';
import { loadSettings } from '../../../functions/platform/settings.ts';
import { assertNoSharedKey } from '../../../functions/platform/shared-key.ts';

const settingsOf = (env: Record<string, string>) => jwtSettings(loadSettings(env));

describe('token checks where AIC_DEPLOYMENT=aws', () => {
  it('refuse the development key, naming the setting', () => {
    expect(() => settingsOf({ AIC_DEPLOYMENT: 'aws' })).toThrow(
      /^AIC_JWT_JWKS_URL: the development key is refused/,
    );
    expect(() => settingsOf({ AIC_DEPLOYMENT: 'aws', AIC_JWT_SECRET: DEV_JWT_SECRET })).toThrow(
      /^AIC_JWT_SECRET:/,
    );
    expect(() =>
      settingsOf({
        AIC_DEPLOYMENT: 'aws',
        AIC_JWT_VERIFY: 'hs256',
        AIC_JWT_JWKS_URL: 'https://issuer.example/jwks.json',
      }),
    ).toThrow(/^AIC_JWT_VERIFY:/);
    expect(settingsOf({}).secret).toBe(DEV_JWT_SECRET);
  });

  it('refuse keys fetched over http; locally, http only from loopback', () => {
    expect(() =>
      settingsOf({ AIC_DEPLOYMENT: 'aws', AIC_JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' }),
    ).toThrow(/^AIC_JWT_JWKS_URL: the issuer keys must be fetched over https/);
    expect(() => settingsOf({ AIC_JWT_JWKS_URL: 'http://issuer.example/jwks.json' })).toThrow(
      /^AIC_JWT_JWKS_URL/,
    );
    expect(settingsOf({ AIC_JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' }).jwksUrl).toBe(
      'http://127.0.0.1:9/jwks.json',
    );
    expect(
      settingsOf({ AIC_DEPLOYMENT: 'aws', AIC_JWT_JWKS_URL: 'https://issuer.example/jwks.json' })
        .jwksUrl,
    ).toBe('https://issuer.example/jwks.json');
  });

  it('let a Lambda that verifies no token start without token settings, but not with a shared key', () => {
    expect(() => assertNoSharedKey(loadSettings({ AIC_DEPLOYMENT: 'aws' }))).not.toThrow();
    expect(() =>
      assertNoSharedKey(loadSettings({ AIC_DEPLOYMENT: 'aws', AIC_JWT_SECRET: 'x'.repeat(40) })),
    ).toThrow(/^AIC_JWT_SECRET:/);
  });

  it('stop a gRPC task configured like production with the development key before it serves', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'functions/grpc/main.ts'], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        AIC_DEPLOYMENT: 'aws',
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        GRPC_PORT: '0',
        METRICS_PORT: '0',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/AIC_JWT_JWKS_URL: the development key is refused/);
  });
});

describe('token_use and scopes', () => {
  const settings = { ...settingsOf({}), tokenUse: 'access', scopes: ['auralink-aic/api'] };
  const token = (claims: Record<string, string>) => signToken('media-1', settings, 60, claims);

  it('accept an access token holding one of the scopes, in `scope` or `scp`', async () => {
    const claims = await verifyToken(
      await token({ token_use: 'access', scope: 'openid auralink-aic/api' }),
      settings,
    );
    expect(claims.sub).toBe('media-1');
    await expect(
      verifyToken(await token({ token_use: 'access', scp: 'auralink-aic/api' }), settings),
    ).resolves.toMatchObject({ sub: 'media-1' });
  });

  it('refuse an id token, a token without the scope, and one without token_use', async () => {
    for (const claims of <Record<string, string>[]>[
      { token_use: 'id', scope: 'auralink-aic/api' },
      { token_use: 'access', scope: 'openid' },
      { scope: 'auralink-aic/api' },
    ]) {
      await expect(
        verifyToken(await token(claims), settings),
        JSON.stringify(claims),
      ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    }
  });
});
