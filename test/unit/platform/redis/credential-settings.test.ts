import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type RedisLoginDependencies,
  type RedisLoginSettings,
  redisLogin,
} from '../../../../functions/platform/redis/credential-settings.ts';
import { IAM_REAUTH_EVERY_MS } from '../../../../functions/platform/redis/elasticache-iam-token.ts';
import type { SecretsLoader } from '../../../../functions/platform/secrets.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aic/redis-AbCdEf';

const settings = (overrides: Partial<RedisLoginSettings>): RedisLoginSettings => ({
  REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_IAM_AUTH: false,
  ...overrides,
});

const secrets: SecretsLoader = {
  getSecret: async () => '{"password":"from-secret"}',
  getJson: async <T>() => ({}) as T,
  invalidate: () => undefined,
};

const deps: RedisLoginDependencies = {
  secrets: () => secrets,
  region: 'eu-west-1',
  // Fixed credentials: the default chain would look for real ones (and find none here).
  awsCredentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
};

const IAM = {
  REDIS_URL: 'rediss://master.auralink-aic-dev.abc123.euw1.cache.amazonaws.com:6379',
  REDIS_IAM_AUTH: true,
  REDIS_USER: 'aic-app-dev',
  REDIS_CACHE_NAME: 'auralink-aic-dev',
};

describe('redisLogin', () => {
  it('has no login without Redis, or with a URL that carries none', () => {
    expect(redisLogin(settings({ REDIS_URL: undefined }), deps)).toBeUndefined();
    expect(redisLogin(settings({}), deps)).toBeUndefined();
  });

  it("uses the URL's own user and password, REDIS_USER replacing the user", async () => {
    const own = redisLogin(settings({ REDIS_URL: 'redis://aic:p%40ss@127.0.0.1:6379' }), deps);
    await expect(own?.current()).resolves.toEqual({ username: 'aic', password: 'p@ss' });
    const renamed = redisLogin(
      settings({ REDIS_URL: 'redis://aic:pw@127.0.0.1:6379', REDIS_USER: 'other' }),
      deps,
    );
    await expect(renamed?.current()).resolves.toEqual({ username: 'other', password: 'pw' });
  });

  it("reads the secret's password for the URL's user", async () => {
    const login = redisLogin(
      settings({ REDIS_URL: 'redis://aic@127.0.0.1:6379', REDIS_AUTH_SECRET_ARN: ARN }),
      deps,
    );
    await expect(login?.current()).resolves.toEqual({ username: 'aic', password: 'from-secret' });
  });

  it("reads the file's password for REDIS_USER", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aic-redis-login-'));
    try {
      const path = join(dir, 'password');
      await writeFile(path, 'from-file\n');
      const login = redisLogin(settings({ REDIS_PASSWORD_FILE: path, REDIS_USER: 'aic' }), deps);
      await expect(login?.current()).resolves.toEqual({ username: 'aic', password: 'from-file' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('signs IAM tokens for REDIS_USER on REDIS_CACHE_NAME, renewed on a timer', async () => {
    const login = redisLogin(settings(IAM), deps);
    expect(login?.renewEveryMs).toBe(IAM_REAUTH_EVERY_MS);
    const credentials = await login?.current();
    expect(credentials?.username).toBe('aic-app-dev');
    expect(credentials?.password).toMatch(
      /^auralink-aic-dev\/\?Action=connect&User=aic-app-dev&.*X-Amz-Expires=900/,
    );
  });

  it.each([
    [{ REDIS_USER: undefined }, 'REDIS_USER'],
    [{ REDIS_CACHE_NAME: undefined }, 'REDIS_CACHE_NAME'],
    [{ REDIS_URL: 'redis://master.example:6379' }, 'rediss://'],
  ])('refuses IAM auth without a setting it needs (%o)', (overrides, named) => {
    expect(() => redisLogin(settings({ ...IAM, ...overrides }), deps)).toThrow(named);
  });

  it('refuses IAM auth without AWS_REGION', () => {
    expect(() => redisLogin(settings(IAM), { ...deps, region: undefined })).toThrow('AWS_REGION');
  });

  it.each([
    [{ ...IAM, REDIS_AUTH_SECRET_ARN: ARN }, /REDIS_IAM_AUTH, REDIS_AUTH_SECRET_ARN/],
    [
      { REDIS_AUTH_SECRET_ARN: ARN, REDIS_PASSWORD_FILE: '/run/pw' },
      /REDIS_AUTH_SECRET_ARN, REDIS_PASSWORD_FILE/,
    ],
    [
      { REDIS_URL: 'redis://:pw@127.0.0.1:6379', REDIS_PASSWORD_FILE: '/run/pw' },
      /REDIS_PASSWORD_FILE, a password in REDIS_URL/,
    ],
  ])('refuses two sources of the password (%o)', (overrides, named) => {
    expect(() => redisLogin(settings(overrides), deps)).toThrow(named);
  });

  it('refuses a REDIS_URL that is not a URL, naming it', () => {
    expect(() => redisLogin(settings({ REDIS_URL: 'localhost:6379 x' }), deps)).toThrow(
      'REDIS_URL',
    );
  });
});
