// AWS (IAM, RDS Proxy) cannot run on this machine, so the IAM path is tested with the token signer
// injected: a fake where the runtime's logic is checked, and the real @aws-sdk/rds-signer with
// static fake credentials where the token's shape is. The Postgres side is a fake server on
// loopback that asks for a cleartext password, as RDS Proxy does, and records what it receives.
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Signer } from '@aws-sdk/rds-signer';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError } from '../../../functions/core/errors.ts';
import {
  type AuthTokenTarget,
  databaseConnection,
} from '../../../functions/platform/db/connection.ts';
import { createDatabase } from '../../../functions/platform/db/database.ts';
import { loadSettings } from '../../../functions/platform/settings.ts';

const PROXY = 'aic.proxy-abc123.eu-west-1.rds.amazonaws.com';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aic/db-AbCdEf';
const secret = { username: 'aic_admin', password: 'p@ss/word', host: 'db.internal', port: 6543 };

const settingsOf = (env: Record<string, string>) => loadSettings(env);
const noSecrets = () => Promise.reject(new Error('no secret expected'));

/** A signer that counts its tokens: token-1, token-2, ... */
function countingSigner() {
  const targets: AuthTokenTarget[] = [];
  let issued = 0;
  return {
    targets,
    createSigner: (target: AuthTokenTarget) => {
      targets.push(target);
      return { getAuthToken: async () => `token-${++issued}` };
    },
  };
}

describe('DB_IAM_AUTH setting', () => {
  it('defaults to false and reads exactly "true" or "false"', () => {
    expect(settingsOf({}).DB_IAM_AUTH).toBe(false);
    expect(settingsOf({ DB_IAM_AUTH: 'true' }).DB_IAM_AUTH).toBe(true);
    expect(settingsOf({ DB_IAM_AUTH: 'false' }).DB_IAM_AUTH).toBe(false);
    expect(() => settingsOf({ DB_IAM_AUTH: 'yes' })).toThrow(/DB_IAM_AUTH/);
  });
});

describe('databaseConnection', () => {
  it('uses DATABASE_URL as it is', async () => {
    const url = 'postgres://postgres@127.0.0.1:5432/aic';
    await expect(
      databaseConnection(settingsOf({ DATABASE_URL: url, DB_IAM_AUTH: 'true' }), {
        getSecretJson: noSecrets,
      }),
    ).resolves.toEqual({ url });
  });

  it("keeps the password path without DB_IAM_AUTH: the secret's password in the URL", async () => {
    const connection = await databaseConnection(
      settingsOf({ DB_SECRET_ARN: SECRET_ARN, DB_HOST: PROXY, DB_PORT: '5432', DB_NAME: 'aic' }),
      { getSecretJson: async () => secret },
    );
    expect(connection).toEqual({
      url: `postgres://aic_admin:p%40ss%2Fword@${PROXY}:5432/aic?sslmode=require`,
    });
  });

  it('with DB_IAM_AUTH: no password in the URL, a fresh token per call, TLS verified', async () => {
    const signer = countingSigner();
    const connection = await databaseConnection(
      settingsOf({
        DB_IAM_AUTH: 'true',
        DB_USER: 'aic_admin',
        DB_HOST: PROXY,
        DB_PORT: '5432',
        DB_NAME: 'auralink',
      }),
      { getSecretJson: noSecrets, createSigner: signer.createSigner },
    );
    expect(connection.url).toBe(`postgres://aic_admin@${PROXY}:5432/auralink`);
    expect(connection.ssl).toBe(true);
    expect(signer.targets).toEqual([{ hostname: PROXY, port: 5432, username: 'aic_admin' }]);
    expect(await connection.password?.()).toBe('token-1');
    expect(await connection.password?.()).toBe('token-2');
  });

  it("takes the username from the secret when DB_USER is unset, never the secret's password", async () => {
    const signer = countingSigner();
    const getSecretJson = vi.fn(async () => secret);
    const connection = await databaseConnection(
      settingsOf({ DB_IAM_AUTH: 'true', DB_SECRET_ARN: SECRET_ARN, DB_HOST: PROXY }),
      { getSecretJson, createSigner: signer.createSigner },
    );
    expect(getSecretJson).toHaveBeenCalledWith(SECRET_ARN);
    expect(signer.targets).toEqual([{ hostname: PROXY, port: 5432, username: 'aic_admin' }]);
    expect(connection.url).not.toContain('p%40ss');
  });

  it('names what is missing', async () => {
    const deps = { getSecretJson: noSecrets, createSigner: countingSigner().createSigner };
    await expect(
      databaseConnection(settingsOf({ DB_IAM_AUTH: 'true', DB_USER: 'u' }), deps),
    ).rejects.toThrow(/DB_HOST/);
    await expect(
      databaseConnection(settingsOf({ DB_IAM_AUTH: 'true', DB_HOST: PROXY }), deps),
    ).rejects.toThrow(/DB_USER/);
    await expect(
      databaseConnection(
        settingsOf({ DB_IAM_AUTH: 'true', DB_HOST: PROXY, DB_SECRET_ARN: SECRET_ARN }),
        { ...deps, getSecretJson: async () => ({ password: 'x' }) },
      ),
    ).rejects.toThrow(DependencyUnavailableError);
  });

  it('answers an empty password (never a rejection) when a token cannot be signed', async () => {
    const failure = new Error('no credentials');
    const onTokenError = vi.fn();
    const connection = await databaseConnection(
      settingsOf({ DB_IAM_AUTH: 'true', DB_USER: 'u', DB_HOST: PROXY }),
      {
        getSecretJson: noSecrets,
        createSigner: () => ({ getAuthToken: () => Promise.reject(failure) }),
        onTokenError,
      },
    );
    await expect(connection.password?.()).resolves.toBe('');
    expect(onTokenError).toHaveBeenCalledWith(failure);
  });

  it('signs with @aws-sdk/rds-signer by default: an rds-db:connect presigned URL for the user', async () => {
    // Static fake credentials: signing is local, nothing reaches AWS.
    const createSigner = (target: AuthTokenTarget) =>
      new Signer({
        ...target,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' },
      });
    const connection = await databaseConnection(
      settingsOf({ DB_IAM_AUTH: 'true', DB_USER: 'aic_admin', DB_HOST: PROXY }),
      { getSecretJson: noSecrets, createSigner },
    );
    const token = await connection.password?.();
    expect(token).toMatch(new RegExp(`^${PROXY.replaceAll('.', '\\.')}:5432/\\?Action=connect`));
    expect(token).toContain('DBUser=aic_admin');
    expect(token).toContain('X-Amz-Expires=900');
  });
});

/**
 * A fake Postgres server that requests a cleartext password (as RDS Proxy does for IAM tokens),
 * records it and refuses the login, so every query opens a new connection.
 */
async function passwordRecordingServer(): Promise<{
  server: Server;
  port: number;
  passwords: string[];
}> {
  const passwords: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffer = Buffer.alloc(0);
    let started = false;
    let answered = false;
    socket.on('data', (chunk) => {
      if (answered) return;
      buffer = Buffer.concat([buffer, chunk]);
      if (!started && buffer.length >= 4 && buffer.length >= buffer.readUInt32BE(0)) {
        // StartupMessage (no type byte): ask for a cleartext password.
        started = true;
        buffer = buffer.subarray(buffer.readUInt32BE(0));
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      }
      if (started && buffer.length >= 5 && buffer.length >= 1 + buffer.readUInt32BE(1)) {
        answered = true;
        const length = buffer.readUInt32BE(1);
        passwords.push(buffer.toString('utf8', 5, 1 + length - 1));
        const fields = 'SFATAL\0C28P01\0Mpassword authentication failed\0\0';
        const error = Buffer.alloc(5 + Buffer.byteLength(fields));
        error.write('E', 0);
        error.writeUInt32BE(4 + Buffer.byteLength(fields), 1);
        error.write(fields, 5);
        socket.end(error);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, passwords };
}

describe('createDatabase with a password function', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('calls the function for every new connection and sends its token', async () => {
    const fake = await passwordRecordingServer();
    server = fake.server;
    const signer = countingSigner();
    const connection = await databaseConnection(
      settingsOf({ DB_IAM_AUTH: 'true', DB_USER: 'aic_admin', DB_HOST: '127.0.0.1' }),
      { getSecretJson: noSecrets, createSigner: signer.createSigner },
    );
    // Plain TCP to the fake server; the URL's port is replaced by the fake's.
    const db = createDatabase({
      ...connection,
      url: connection.url.replace(':5432/', `:${fake.port}/`),
      ssl: false,
      poolMax: 1,
    });
    try {
      await expect(db.ping(2000)).rejects.toThrow(DependencyUnavailableError);
      await expect(db.ping(2000)).rejects.toThrow(DependencyUnavailableError);
    } finally {
      await db.close(0);
    }
    expect(fake.passwords).toEqual(['token-1', 'token-2']);
  });
});
