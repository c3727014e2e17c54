// Secrets Manager cannot run on this machine (no emulator, no network), so these tests replace ONLY
// the SDK client's `send` with a fake that answers the two commands the loader issues. The loader's
// own logic (cache, expiry, sharing, errors) runs for real.
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../../functions/core/errors.ts';
import {
  createSecretsLoader,
  databaseUrlFromSecret,
  type SecretsManagerClientLike,
} from '../../../functions/platform/secrets.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aic/db-AbCdEf';
const HOUR = 60 * 60 * 1000;

interface FakeSecret {
  value: string;
  nextRotation?: Date;
}

/** A fake `send` with a controllable clock, call counters and injectable failures and delays. */
function fakeSecretsManager(initial: FakeSecret) {
  const state = {
    secret: initial,
    clock: Date.parse('2025-01-01T00:00:00Z'),
    getCalls: 0,
    describeCalls: 0,
    failNext: undefined as Error | undefined,
    gate: undefined as Promise<void> | undefined,
  };
  const client: SecretsManagerClientLike = {
    async send(command) {
      if (state.gate) await state.gate;
      if (state.failNext) {
        const error = state.failNext;
        state.failNext = undefined;
        throw error;
      }
      if (command instanceof GetSecretValueCommand) {
        state.getCalls++;
        expect(command.input.SecretId).toBe(ARN);
        return {
          $metadata: {},
          ARN,
          SecretString: state.secret.value,
        } satisfies GetSecretValueCommandOutput;
      }
      if (command instanceof DescribeSecretCommand) {
        state.describeCalls++;
        return {
          $metadata: {},
          ARN,
          NextRotationDate: state.secret.nextRotation,
        } satisfies DescribeSecretCommandOutput;
      }
      throw new Error('unexpected command');
    },
  };
  const loader = createSecretsLoader({ client, now: () => state.clock });
  return { state, client, loader };
}

describe('createSecretsLoader', () => {
  it('accepts a real SecretsManagerClient as its client', () => {
    const client = new SecretsManagerClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' },
    });
    expect(() => createSecretsLoader({ client })).not.toThrow();
    client.destroy();
  });

  it('serves a second read from the cache without calling Secrets Manager', async () => {
    const { state, loader } = fakeSecretsManager({
      value: 's3cret',
      nextRotation: new Date(Date.parse('2025-01-01T00:00:00Z') + 10 * HOUR),
    });
    expect(await loader.getSecret(ARN)).toBe('s3cret');
    state.clock += 30 * 60 * 1000;
    expect(await loader.getSecret(ARN)).toBe('s3cret');
    expect(state.getCalls).toBe(1);
    expect(state.describeCalls).toBe(1);
  });

  it('reads the secret again once its rotation date has passed', async () => {
    const start = Date.parse('2025-01-01T00:00:00Z');
    const { state, loader } = fakeSecretsManager({
      value: 'before',
      nextRotation: new Date(start + 10 * 60 * 1000),
    });
    expect(await loader.getSecret(ARN)).toBe('before');
    state.secret = { value: 'after', nextRotation: new Date(start + 30 * 24 * HOUR) };
    state.clock = start + 10 * 60 * 1000 - 1;
    expect(await loader.getSecret(ARN)).toBe('before');
    state.clock = start + 10 * 60 * 1000;
    expect(await loader.getSecret(ARN)).toBe('after');
    expect(state.getCalls).toBe(2);
  });

  it('reads the secret again after the maximum age even when no rotation is due', async () => {
    const { state, loader } = fakeSecretsManager({ value: 'v1' });
    await loader.getSecret(ARN);
    state.secret = { value: 'v2' };
    state.clock += HOUR - 1;
    expect(await loader.getSecret(ARN)).toBe('v1');
    state.clock += 1;
    expect(await loader.getSecret(ARN)).toBe('v2');
    expect(state.getCalls).toBe(2);
  });

  it('caps the cache at the maximum age when the rotation is further away', async () => {
    const start = Date.parse('2025-01-01T00:00:00Z');
    const { state, loader } = fakeSecretsManager({
      value: 'v1',
      nextRotation: new Date(start + 7 * 24 * HOUR),
    });
    await loader.getSecret(ARN);
    state.clock += HOUR;
    await loader.getSecret(ARN);
    expect(state.getCalls).toBe(2);
  });

  it('keeps a secret whose rotation is overdue for a short while only', async () => {
    const start = Date.parse('2025-01-01T00:00:00Z');
    const { state, loader } = fakeSecretsManager({
      value: 'v1',
      nextRotation: new Date(start - 60_000),
    });
    await loader.getSecret(ARN);
    state.clock += 29_999;
    await loader.getSecret(ARN);
    expect(state.getCalls).toBe(1);
    state.clock += 1;
    await loader.getSecret(ARN);
    expect(state.getCalls).toBe(2);
  });

  it('lets concurrent callers share one in-flight fetch', async () => {
    const { state, loader } = fakeSecretsManager({ value: 'shared' });
    let open: () => void = () => {};
    state.gate = new Promise((resolve) => {
      open = resolve;
    });
    const reads = Array.from({ length: 10 }, () => loader.getSecret(ARN));
    state.gate = undefined;
    open();
    expect(await Promise.all(reads)).toEqual(Array(10).fill('shared'));
    expect(state.getCalls).toBe(1);
    expect(state.describeCalls).toBe(1);
  });

  it('throws DependencyUnavailableError with the cause and does not cache the failure', async () => {
    const { state, loader } = fakeSecretsManager({ value: 'ok' });
    const cause = new Error('ThrottlingException');
    state.failNext = cause;
    const error = await loader.getSecret(ARN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe('secrets-manager');
    expect((error as DependencyUnavailableError).cause).toBe(cause);
    expect(await loader.getSecret(ARN)).toBe('ok');
  });

  it('shares a failure among concurrent callers and lets the next caller retry', async () => {
    const { state, loader } = fakeSecretsManager({ value: 'ok' });
    state.failNext = new Error('network down');
    const results = await Promise.allSettled([loader.getSecret(ARN), loader.getSecret(ARN)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await loader.getSecret(ARN)).toBe('ok');
  });

  it('rejects a binary secret as unavailable', async () => {
    const client: SecretsManagerClientLike = {
      async send() {
        return { $metadata: {}, SecretBinary: new Uint8Array([1, 2, 3]) };
      },
    };
    const loader = createSecretsLoader({ client });
    await expect(loader.getSecret(ARN)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('parses JSON secrets and reports malformed ones as unavailable', async () => {
    const { state, loader } = fakeSecretsManager({ value: '{"username":"aic","port":5432}' });
    expect(await loader.getJson<{ username: string; port: number }>(ARN)).toEqual({
      username: 'aic',
      port: 5432,
    });
    state.secret = { value: 'not json' };
    loader.invalidate(ARN);
    await expect(loader.getJson(ARN)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('reads again after a value is invalidated', async () => {
    const { state, loader } = fakeSecretsManager({ value: 'old' });
    await loader.getSecret(ARN);
    state.secret = { value: 'new' };
    loader.invalidate(ARN);
    expect(await loader.getSecret(ARN)).toBe('new');
  });
});

describe('databaseUrlFromSecret', () => {
  const rdsSecret = {
    engine: 'postgres',
    username: 'aic_app',
    password: 'p@ss:w/rd?#% +&=é',
    host: 'aic-db.cluster-abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    dbname: 'auralink',
  };

  it('builds a TLS-required postgres URL that postgres.js reads back exactly', async () => {
    const url = databaseUrlFromSecret(rdsSecret);
    expect(url).toMatch(
      /^postgres:\/\/aic_app:[^@]+@aic-db\.cluster-abc\.eu-west-1\.rds\.amazonaws\.com:5432\/auralink\?sslmode=require$/,
    );
    // postgres.js parses options without connecting.
    const sql = postgres(url);
    expect(sql.options.user).toBe('aic_app');
    expect(sql.options.pass).toBe(rdsSecret.password);
    expect(sql.options.host).toEqual([rdsSecret.host]);
    expect(sql.options.port).toEqual([5432]);
    expect(sql.options.database).toBe('auralink');
    expect(sql.options.ssl).toBe('require');
    await sql.end();
  });

  it('lets the caller point at the RDS Proxy endpoint, port and database', () => {
    const url = databaseUrlFromSecret(rdsSecret, {
      host: 'aic-proxy.proxy-xyz.eu-west-1.rds.amazonaws.com',
      port: 6432,
      dbname: 'other',
    });
    expect(url).toContain('@aic-proxy.proxy-xyz.eu-west-1.rds.amazonaws.com:6432/other?');
  });

  it('accepts the port as a string and defaults it and the database name', () => {
    expect(databaseUrlFromSecret({ username: 'u', password: 'p', host: 'h', port: '6543' })).toBe(
      'postgres://u:p@h:6543/postgres?sslmode=require',
    );
    expect(databaseUrlFromSecret({ username: 'u', password: 'p', host: 'h' })).toBe(
      'postgres://u:p@h:5432/postgres?sslmode=require',
    );
  });

  it('names missing fields without revealing any value', () => {
    const error = (() => {
      try {
        databaseUrlFromSecret({ username: 'u', password: 'hunter2' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    const cause = (error as Error).cause as Error;
    expect(cause.message).toContain('missing host');
    expect(cause.message).not.toContain('hunter2');
    expect(() => databaseUrlFromSecret(null)).toThrow(DependencyUnavailableError);
    expect(() => databaseUrlFromSecret({ ...rdsSecret, port: 'abc' })).toThrow(
      DependencyUnavailableError,
    );
  });
});
