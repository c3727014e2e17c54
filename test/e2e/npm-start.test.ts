import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

// `npm start` exactly as a newcomer runs it: no DATABASE_URL, no REDIS_URL, no JWT secret. Only the
// port and the embedded data directory are chosen, so the test never collides with a developer's.
let child: ChildProcess;
let url: string;
let stderr = '';
const stateDir = mkdtempSync(join(tmpdir(), 'aic-start-'));
// As root, PostgreSQL runs as the `postgres` user, which must be able to enter the directory.
chmodSync(stateDir, 0o755);

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    GRPC_PORT: '0',
    AIC_LOCAL_STATE_DIR: stateDir,
  };
  for (const key of [
    'DATABASE_URL',
    'REDIS_URL',
    'AIC_JWT_SECRET',
    'POWERTOOLS_LOG_LEVEL',
    'POWERTOOLS_DEV',
  ]) {
    delete env[key];
  }
  return env;
}

beforeAll(async () => {
  child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start did not come up:\n${stderr}`)),
      90_000,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /HTTP API\s+(http:\/\/\S+)/.exec(stderr);
      if (found?.[1] && stderr.includes('Ctrl-C stops')) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${stderr}`)));
  });
}, 120_000);

afterAll(() => {
  // The Ctrl-C test normally stopped the group already; this only cleans up after a failure.
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start with nothing configured', () => {
  it('says what it uses', () => {
    expect(stderr).toMatch(/Postgres\s+embedded PostgreSQL/);
    expect(stderr).toMatch(/Redis\s+/);
  });

  it('answers /health and /readiness with 200', async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const readiness = await fetch(`${url}/readiness`);
    expect(readiness.status).toBe(200);
    expect(
      ((await readiness.json()) as { checks: { postgres: { status: string } } }).checks.postgres
        .status,
    ).toBe('pass');
  });

  it('accepts a token from npm run token', async () => {
    const token = execFileSync('npm', ['run', '-s', 'token', '--', 'newcomer'], {
      cwd: ROOT,
      env: cleanEnv(),
    })
      .toString()
      .trim();
    const response = await fetch(`${url}/api/v1/aic/config`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
  });

  it('answers a malformed body with a 400 envelope carrying the request ID', async () => {
    const token = execFileSync('npm', ['run', '-s', 'token', '--', 'newcomer'], {
      cwd: ROOT,
      env: cleanEnv(),
    })
      .toString()
      .trim();
    const response = await fetch(`${url}/api/v1/aic/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"mode":',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { request_id: string } };
    expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
  });

  it('compresses a stream of frames over gRPC with a client built from the repository proto', async () => {
    const port = /gRPC\s+[\d.]+:(\d+)/.exec(stderr)?.[1];
    expect(port).toBeDefined();
    const output = execFileSync(
      'npm',
      ['run', '-s', 'grpc:send', '--', join(ROOT, 'docs', 'samples'), '--user', 'newcomer'],
      { cwd: ROOT, env: { ...cleanEnv(), AIC_GRPC_ADDRESS: `127.0.0.1:${port}` } },
    ).toString();
    const lines = output.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/ (success|fallback|dropped|unchanged) /);
  });

  it('stops what it started on Ctrl-C', async () => {
    const pgPids = () => {
      try {
        return execFileSync('pgrep', ['-f', stateDir])
          .toString()
          .trim()
          .split('\n')
          .filter(Boolean);
      } catch {
        return [];
      }
    };
    expect(pgPids().length).toBeGreaterThan(0);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    process.kill(-(child.pid as number), 'SIGINT');
    await exited;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pgPids()).toEqual([]);
  });
});
