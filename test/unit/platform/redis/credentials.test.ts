// Secrets Manager cannot run on this machine, so the secret provider is tested over the real
// secrets loader with ONLY the SDK client's `send` replaced by a fake; the file provider reads real
// files in a temporary directory.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  type GetSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedCredentials,
  fileCredentials,
  parseSecret,
  type RedisCredentials,
  secretCredentials,
  staticCredentials,
} from '../../../../functions/platform/redis/credentials.ts';
import { createSecretsLoader } from '../../../../functions/platform/secrets.ts';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aic/redis-AbCdEf';

/** A load that counts its calls and, after `hold()`, finishes only on `release()`. */
function gatedLoad() {
  const state = { calls: 0, fresh: [] as boolean[], password: 'one' };
  let gate: Promise<void> = Promise.resolve();
  let open = (): void => undefined;
  return {
    state,
    hold() {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    release: () => open(),
    load: async (fresh: boolean): Promise<RedisCredentials> => {
      state.calls++;
      state.fresh.push(fresh);
      const password = state.password;
      await gate;
      return { username: 'aic', password };
    },
  };
}

describe('cachedCredentials', () => {
  it('shares one load among concurrent refreshes', async () => {
    const source = gatedLoad();
    let clock = 0;
    const provider = cachedCredentials({ load: source.load, now: () => clock });
    await provider.current();
    clock = 5_000;
    source.state.password = 'two';
    source.hold();
    const refreshes = Array.from({ length: 50 }, () => provider.refresh());
    source.release();
    const results = await Promise.all(refreshes);
    expect(source.state.calls).toBe(2);
    expect(source.state.fresh).toEqual([false, true]);
    expect(new Set(results.map((r) => r.password))).toEqual(new Set(['two']));
  });

  it('answers a refresh soon after the last one from memory, and reads again later', async () => {
    const source = gatedLoad();
    let clock = 0;
    const provider = cachedCredentials({
      load: source.load,
      minRefreshIntervalMs: 1_000,
      now: () => clock,
    });
    expect((await provider.refresh()).password).toBe('one');
    source.state.password = 'two';
    clock = 999;
    expect((await provider.refresh()).password).toBe('one');
    expect(source.state.calls).toBe(1);
    clock = 1_000;
    expect((await provider.refresh()).password).toBe('two');
    expect(source.state.calls).toBe(2);
  });

  it('serves current() from memory until maxAgeMs, then loads again', async () => {
    const source = gatedLoad();
    let clock = 0;
    const provider = cachedCredentials({ load: source.load, maxAgeMs: 600, now: () => clock });
    await provider.current();
    source.state.password = 'two';
    clock = 599;
    expect((await provider.current()).password).toBe('one');
    clock = 600;
    expect((await provider.current()).password).toBe('two');
  });

  it('does not keep a failed load: the next refresh reads the source at once', async () => {
    let fail = true;
    let calls = 0;
    const provider = cachedCredentials({
      load: async () => {
        calls++;
        if (fail) throw new Error('source down');
        return { password: 'pw' };
      },
    });
    await expect(provider.refresh()).rejects.toThrow('source down');
    fail = false;
    await expect(provider.refresh()).resolves.toEqual({ password: 'pw' });
    expect(calls).toBe(2);
  });
});

describe('staticCredentials', () => {
  it('answers the same credential to current() and refresh()', async () => {
    const provider = staticCredentials({ username: 'aic', password: 'pw' });
    await expect(provider.current()).resolves.toEqual({ username: 'aic', password: 'pw' });
    await expect(provider.refresh()).resolves.toEqual({ username: 'aic', password: 'pw' });
    expect(provider.renewEveryMs).toBeUndefined();
  });
});

describe('parseSecret', () => {
  it('reads a plain secret as the password of the given user', () => {
    expect(parseSecret('tok3n-value', undefined)).toEqual({ password: 'tok3n-value' });
    expect(parseSecret('tok3n-value\n', 'aic')).toEqual({
      username: 'aic',
      password: 'tok3n-value',
    });
  });

  it('reads JSON with a user and a password, its user winning over the given one', () => {
    expect(parseSecret('{"username":"aic-b","password":"p2"}', 'aic')).toEqual({
      username: 'aic-b',
      password: 'p2',
    });
    expect(parseSecret('{"password":"p2"}', 'aic')).toEqual({ username: 'aic', password: 'p2' });
  });

  it('refuses JSON without a password, without echoing the secret', () => {
    expect(() => parseSecret('{"username":"aic","pass":"hunter2"}', undefined)).toThrow(
      /without a "password"/,
    );
    expect(() => parseSecret('{"username":"aic","pass":"hunter2"}', undefined)).not.toThrow(
      /hunter2/,
    );
    expect(() => parseSecret('{not json hunter2', undefined)).toThrow(/not valid JSON/);
    expect(() => parseSecret('', undefined)).toThrow(/empty/);
  });
});

describe('secretCredentials', () => {
  function fakeSecretsManager(initial: string) {
    const state = { value: initial, gets: 0 };
    const client = {
      async send(command: unknown) {
        if (command instanceof DescribeSecretCommand) {
          return { $metadata: {}, ARN } satisfies DescribeSecretCommandOutput;
        }
        state.gets++;
        return {
          $metadata: {},
          ARN,
          SecretString: state.value,
        } satisfies GetSecretValueCommandOutput;
      },
    };
    return { state, secrets: createSecretsLoader({ client }) };
  }

  it('serves the cached secret from current() and reads it again on refresh()', async () => {
    const { state, secrets } = fakeSecretsManager('{"username":"aic","password":"old"}');
    let clock = 0;
    const provider = secretCredentials({ secrets, arn: ARN, now: () => clock });
    await expect(provider.current()).resolves.toEqual({ username: 'aic', password: 'old' });
    state.value = '{"username":"aic","password":"new"}';
    // The loader's cache holds the old value until the secret's next rotation.
    await expect(provider.current()).resolves.toEqual({ username: 'aic', password: 'old' });
    expect(state.gets).toBe(1);
    clock = 10_000;
    const refreshed = await Promise.all(Array.from({ length: 20 }, () => provider.refresh()));
    expect(refreshed.every((c) => c.password === 'new')).toBe(true);
    expect(state.gets).toBe(2);
    await expect(provider.current()).resolves.toEqual({ username: 'aic', password: 'new' });
  });

  it('takes a plain secret as the password of the configured user', async () => {
    const { secrets } = fakeSecretsManager('plain-token');
    const provider = secretCredentials({ secrets, arn: ARN, username: 'svc' });
    await expect(provider.current()).resolves.toEqual({ username: 'svc', password: 'plain-token' });
  });
});

describe('fileCredentials', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aic-redis-credentials-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the file without its trailing line break, and again on refresh()', async () => {
    const path = join(dir, 'password');
    await writeFile(path, 'first-password\n');
    let clock = 0;
    const provider = fileCredentials({ path, username: 'aic', now: () => clock });
    await expect(provider.current()).resolves.toEqual({
      username: 'aic',
      password: 'first-password',
    });
    await writeFile(path, 'second-password\r\n');
    clock = 1_000;
    await expect(provider.refresh()).resolves.toEqual({
      username: 'aic',
      password: 'second-password',
    });
  });

  it('keeps spaces inside and around the password, dropping only one line break', async () => {
    const path = join(dir, 'spaced');
    await writeFile(path, ' pass word \n\n');
    const provider = fileCredentials({ path });
    await expect(provider.current()).resolves.toEqual({ password: ' pass word \n' });
  });

  it('fails when the file is missing or empty (caught mid-rewrite)', async () => {
    await expect(fileCredentials({ path: join(dir, 'absent') }).current()).rejects.toThrow(
      /ENOENT/,
    );
    const path = join(dir, 'empty');
    await writeFile(path, '\n');
    await expect(fileCredentials({ path }).current()).rejects.toThrow(/is empty/);
  });
});
