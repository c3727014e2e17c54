/**
 * Stalled unauthenticated calls against the Fargate entry point as the container runs it (a child
 * process, so its resident memory is the server's alone): each sends 9 MiB of a message that claims
 * 9 MiB + 1000 bytes, then stalls. The token is checked on the metadata, so every call is refused at
 * once and none of those messages is kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../../support/redis-keys.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PREFIX = `aic-test:grpc-edge:${randomUUID()}:`;
const CALLS = 40;
const CONNECTIONS = 4;
const MESSAGE_BYTES = 9 * 1024 * 1024;

let db: TestDatabase;
let child: ChildProcess;
let grpcPort: number;
let metricsPort: number;
let stderr = '';

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['functions/grpc/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: PREFIX,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      METRICS_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  [grpcPort, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${stderr}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /listening on [\d.]+:(\d+), metrics on (\d+)/.exec(stderr);
      if (found) {
        clearTimeout(timer);
        resolve([Number(found[1]), Number(found[2])]);
      }
    });
  });
}, 60_000);

afterAll(async () => {
  if (child?.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await db?.drop();
  await deleteKeysWithPrefix(PREFIX);
});

async function residentMegabytes(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/process_resident_memory_bytes (\d+)/.exec(text)?.[1]) / 1e6;
}

/** Starts a stalled unauthenticated CompressFrame on `session`; resolves with its grpc-status. */
function stalledCall(session: http2.ClientHttp2Session, body: Buffer): Promise<string> {
  const request = session.request({
    ':method': 'POST',
    ':path': '/auralink.aic.v1.AICCompressionService/CompressFrame',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  request.on('error', () => undefined);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(MESSAGE_BYTES + 1000, 1);
  request.write(prefix);
  request.write(body);
  return new Promise((resolve) =>
    request.on('response', (headers) => resolve(String(headers['grpc-status']))),
  );
}

describe('stalled unauthenticated calls', () => {
  it('are all refused UNAUTHENTICATED at once, and the server keeps none of their messages', async () => {
    await sleep(1000);
    const before = await residentMegabytes();
    const sessions = Array.from({ length: CONNECTIONS }, () =>
      http2.connect(`http://127.0.0.1:${grpcPort}`, { maxSessionMemory: 1000 }),
    );
    const body = Buffer.alloc(MESSAGE_BYTES, 7);
    const started = performance.now();
    const statuses = Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        stalledCall(sessions[i % CONNECTIONS] as http2.ClientHttp2Session, body),
      ),
    );
    let peak = before;
    const sampling = setInterval(() => {
      void residentMegabytes().then((mb) => {
        peak = Math.max(peak, mb);
      });
    }, 200);
    try {
      expect(await statuses).toEqual(Array(CALLS).fill(String(grpc.status.UNAUTHENTICATED)));
      expect(performance.now() - started).toBeLessThan(5000);
      // The messages keep arriving after the refusal: give the server time to take them in.
      await sleep(3000);
    } finally {
      clearInterval(sampling);
      for (const session of sessions) session.destroy();
    }
    peak = Math.max(peak, await residentMegabytes());
    // Buffered whole, the messages alone would be 40 x 9 MiB = 377 MB.
    expect(peak - before).toBeLessThan(100);
  }, 30_000);
});
