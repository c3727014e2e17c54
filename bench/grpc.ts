import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CompressResponse } from '../functions/core/contracts/compress.ts';
import {
  aicClientConstructor,
  type CompressStreamResponseMessage,
} from '../functions/grpc/proto.ts';
import { createDatabase } from '../functions/platform/db/database.ts';
import {
  type FrameMetricRecord,
  recordFrame,
} from '../functions/platform/db/frame-metrics-repository.ts';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';
import { NODE_HEAP_FLAGS } from '../lib/config/node-flags.ts';
import { panningSequence } from '../test/support/frames.ts';
import { spawnLocalRuntime } from '../test/support/local-runtime-process.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-keys.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { busyFor } from './busy-for.ts';
import { ms, summarise } from './stats.ts';

const ROOT = join(import.meta.dirname, '..');
const FRAMES = Number(process.env.BENCH_FRAMES ?? 150);
const WARMUP = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WIDTH = Number(process.env.BENCH_WIDTH ?? 640);
const HEIGHT = Math.round((WIDTH * 9) / 16);
const PREFIX = `aic-bench:grpc:${randomUUID()}:`;
const JWT_SECRET = 'bench-signing-key-of-at-least-32-bytes!!';

interface Sample {
  rttMs: number;
  engineMs: number;
  /** Bytes of the compressed frame returned. */
  bytes: number;
}

/**
 * The floor server (grpc-floor-server.ts) in its own process, holding each frame `holdMs` with a busy core and
 * answering with `resultBytes` of compressed data.
 */
async function startFloorServer(holdMs: number, resultBytes: number) {
  const child = spawn(
    process.execPath,
    [...NODE_HEAP_FLAGS, '--import', 'tsx', join(ROOT, 'bench', 'grpc-floor-server.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        FLOOR_HOLD_MS: String(holdMs),
        FLOOR_RESULT_BYTES: String(resultBytes),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the floor server exited (${code})`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    stop: () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * The durable commit alone: the statement that stores a frame (recordFrame), one frame at a
 * time after `holdMs` of busy core, as the server runs it after each engine. Milliseconds each.
 */
async function commitFloor(databaseUrl: string, holdMs: number, frames: number) {
  const db = createDatabase({ url: databaseUrl, poolMax: 1 });
  const sessionId = randomUUID();
  const record = (frameNumber: number): FrameMetricRecord => ({
    sessionId,
    userId: 'bench-commit-floor',
    frameNumber,
    frameType: 'video',
    mode: 'adaptive',
    format: 'webp',
    quality: 60,
    width: WIDTH,
    height: HEIGHT,
    originalBytes: 60_000,
    compressedBytes: 8_000,
    compressionRatio: 0.87,
    ssim: 0.93,
    psnrDb: 33,
    budgetBytes: 12_000,
    withinBudget: true,
    encodeAttempts: 1,
    decodeMs: 2,
    encodeMs: 6,
    metricsMs: 2,
    totalMs: holdMs,
    fallback: false,
    fallbackReason: null,
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < frames; i++) {
      busyFor(holdMs);
      const started = performance.now();
      await recordFrame(db.sql, record(i));
      samples.push(performance.now() - started);
    }
  } finally {
    await db.close();
  }
  return samples;
}

async function startServers(databaseUrl: string) {
  const runtime = await spawnLocalRuntime({
    DATABASE_URL: databaseUrl,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: PREFIX,
    AIC_JWT_SECRET: JWT_SECRET,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AIC_LOCAL_STATE_DIR: join(ROOT, '.aic-local', 'bench-grpc'),
  });
  return { http: runtime.url, grpc: runtime.grpcAddress, stop: runtime.stop };
}

function grpcStream(client: grpc.Client, token: string) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return (
    client as unknown as {
      CompressStream: (
        m: grpc.Metadata,
      ) => grpc.ClientDuplexStream<object, CompressStreamResponseMessage>;
    }
  ).CompressStream(metadata);
}

/** One frame at a time over one stream: round trip and engine time per frame. */
async function grpcPingPong(
  client: grpc.Client,
  token: string,
  frames: Buffer[],
): Promise<Sample[]> {
  const call = grpcStream(client, token);
  const sessionId = randomUUID();
  const samples: Sample[] = [];
  const responses: CompressStreamResponseMessage[] = [];
  let wake: (() => void) | undefined;
  call.on('data', (response: CompressStreamResponseMessage) => {
    responses.push(response);
    wake?.();
  });
  for (const [i, frame] of frames.entries()) {
    const arrived = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const started = performance.now();
    call.write({
      frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
    });
    await arrived;
    const response = responses[i];
    if (!response?.result) throw new Error(`frame ${i}: ${JSON.stringify(response?.error)}`);
    samples.push({
      rttMs: performance.now() - started,
      engineMs: response.result.latency_ms.total,
      bytes: response.result.compressed_data.length,
    });
  }
  call.end();
  await new Promise((resolve) => call.on('status', resolve));
  return samples;
}

/** All frames written ahead on one stream (the server's back-pressure paces the client). */
async function grpcThroughput(
  client: grpc.Client,
  token: string,
  frames: Buffer[],
): Promise<number> {
  const call = grpcStream(client, token);
  const sessionId = randomUUID();
  let answered = 0;
  call.on('data', (response: CompressStreamResponseMessage) => {
    if (!response.result) throw new Error(JSON.stringify(response.error));
    answered++;
  });
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  const started = performance.now();
  for (const [i, frame] of frames.entries()) {
    const ok = call.write({
      frame: { session_id: sessionId, frame_data: frame, metadata: { frame_number: i } },
    });
    if (!ok) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.end();
  const final = await status;
  const seconds = (performance.now() - started) / 1000;
  if (final.code !== grpc.status.OK || answered !== frames.length) {
    throw new Error(`stream ended ${final.code} after ${answered} frames`);
  }
  return frames.length / seconds;
}

/** One `POST /compress` after the other on a keep-alive connection. */
async function httpSequential(url: string, token: string, frames: Buffer[]) {
  const sessionId = randomUUID();
  const bodies = frames.map((frame, i) =>
    JSON.stringify({
      session_id: sessionId,
      frame_data: frame.toString('base64'),
      frame_number: i,
    }),
  );
  const samples: Sample[] = [];
  const started = performance.now();
  for (const body of bodies) {
    const t0 = performance.now();
    const response = await fetch(`${url}/api/v1/aic/compress`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    const result = (await response.json()) as CompressResponse;
    if (response.status !== 200) throw new Error(JSON.stringify(result));
    samples.push({
      rttMs: performance.now() - t0,
      engineMs: result.latency_ms.total,
      bytes: result.compressed_size_bytes,
    });
  }
  return { samples, framesPerSecond: frames.length / ((performance.now() - started) / 1000) };
}

function report(name: string, samples: Sample[]) {
  const overhead = summarise(samples.map((s) => s.rttMs - s.engineMs));
  const engine = summarise(samples.map((s) => s.engineMs));
  const rtt = summarise(samples.map((s) => s.rttMs));
  process.stdout.write(
    `${name.padEnd(24)} round trip p50 ${ms(rtt.p50)} p95 ${ms(rtt.p95)} | engine p50 ${ms(engine.p50)} | overhead p50 ${ms(overhead.p50)} p95 ${ms(overhead.p95)} p99 ${ms(overhead.p99)}\n`,
  );
  return overhead;
}

const median = (values: number[]) => summarise(values).p50;
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

const db = await createTestDatabase({ migrate: true });
const servers = await startServers(db.url);
try {
  process.env.AIC_JWT_SECRET = JWT_SECRET;
  const token = await signToken('bench', jwtSettingsFromEnv(), 3600);
  const frames = await panningSequence(FRAMES, { width: WIDTH, height: HEIGHT, step: 6 });
  const warmup = frames.slice(0, WARMUP);
  const Client = aicClientConstructor();
  const client = new Client(servers.grpc, grpc.credentials.createInsecure());
  const bytes = frames.reduce((sum, f) => sum + f.length, 0);
  process.stdout.write(
    `${FRAMES} frames ${WIDTH}x${HEIGHT} JPEG q90 (mean ${Math.round(bytes / FRAMES)} B), default policy, ${ROUNDS} rounds, Node ${process.version}, ${os.cpus().length} CPUs, load average ${load()}\n`,
  );

  const warm = await grpcPingPong(client, token, warmup);
  await httpSequential(servers.http, token, warmup);
  // The floors hold each frame for the engine's median time on the later warm-up frames (the first
  // ones start cold) and answer with its median output, so they work and move bytes as the real
  // path does.
  const holdMs = Math.round(median(warm.slice(WARMUP / 2).map((s) => s.engineMs)));
  const resultBytes = Math.round(median(warm.map((s) => s.bytes)));
  const floorServer = await startFloorServer(holdMs, resultBytes);
  const floorClient = new Client(floorServer.address, grpc.credentials.createInsecure());
  await grpcPingPong(floorClient, token, warmup);

  // Each round runs every pass over the same frames, in a rotated order, so that load that comes
  // and goes on a shared machine falls on all of them; ratios are taken within a round.
  const httpSamples: Sample[] = [];
  const grpcSamples: Sample[] = [];
  const floorSamples: Sample[] = [];
  const commitSamples: number[] = [];
  const rounds: { http: number; stream: number; pingPong: number }[] = [];
  const passes = ['http', 'stream', 'pingPong', 'floor', 'commit'] as const;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const fps = { http: 0, stream: 0, pingPong: 0 };
      for (let i = 0; i < passes.length; i++) {
        const pass = passes[(round + i) % passes.length] as (typeof passes)[number];
        if (pass === 'http') {
          const http = await httpSequential(servers.http, token, frames);
          httpSamples.push(...http.samples);
          fps.http = http.framesPerSecond;
        } else if (pass === 'stream') {
          fps.stream = await grpcThroughput(client, token, frames);
        } else if (pass === 'pingPong') {
          const samples = await grpcPingPong(client, token, frames);
          grpcSamples.push(...samples);
          fps.pingPong = FRAMES / (samples.reduce((sum, s) => sum + s.rttMs, 0) / 1000);
        } else if (pass === 'floor') {
          floorSamples.push(...(await grpcPingPong(floorClient, token, frames)));
        } else {
          commitSamples.push(...(await commitFloor(db.url, holdMs, FRAMES)));
        }
      }
      rounds.push(fps);
      process.stdout.write(
        `round ${round + 1}: HTTP ${fps.http.toFixed(1)} frames/s, gRPC stream ${fps.stream.toFixed(1)} frames/s (${(fps.stream / fps.http).toFixed(2)}x), gRPC one-at-a-time ${fps.pingPong.toFixed(1)} frames/s\n`,
      );
    }
  } finally {
    client.close();
    floorClient.close();
    await floorServer.stop();
  }

  const httpOverhead = report('POST /compress (JSON)', httpSamples);
  const grpcOverhead = report('CompressStream', grpcSamples);
  const floorOverhead = report('floor: grpc-js alone', floorSamples);
  const commit = summarise(commitSamples);
  // Sample by sample in the order they were taken: a frame pays its transport and its commit.
  const floorWithCommit = summarise(
    floorSamples.map((s, i) => s.rttMs - s.engineMs + (commitSamples[i] ?? 0)),
  );
  const ratio = median(rounds.map((r) => r.stream / r.http));
  process.stdout.write(
    [
      `durable commit of a frame alone (recordFrame, after ${holdMs} ms of work): p50 ${ms(commit.p50)} p95 ${ms(commit.p95)} p99 ${ms(commit.p99)}`,
      `throughput, median of ${ROUNDS} rounds: HTTP ${median(rounds.map((r) => r.http)).toFixed(1)} frames/s, gRPC stream ${median(rounds.map((r) => r.stream)).toFixed(1)} frames/s; gRPC/HTTP ratio (median of the rounds' ratios) ${ratio.toFixed(2)}x (goal >= 1.5x), gRPC one-at-a-time ${median(rounds.map((r) => r.pingPong)).toFixed(1)} frames/s`,
      `overhead beyond the engine, one frame at a time, p50 / p95: gRPC ${ms(grpcOverhead.p50)} / ${ms(grpcOverhead.p95)} (goal p95 <= 2 ms), HTTP ${ms(httpOverhead.p50)} / ${ms(httpOverhead.p95)}`,
      `floor in the same run, p50 / p95: grpc-js transport alone ${ms(floorOverhead.p50)} / ${ms(floorOverhead.p95)}; transport + durable commit ${ms(floorWithCommit.p50)} / ${ms(floorWithCommit.p95)} (frames held ${holdMs} ms, answers of ${resultBytes} B)`,
      `load average at the end ${load()}`,
      '',
    ].join('\n'),
  );
} finally {
  await servers.stop();
  await db.drop();
  await deleteKeysWithPrefix(PREFIX);
}
