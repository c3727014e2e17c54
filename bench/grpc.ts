/**
 * `npm run bench:grpc`: frames through gRPC `CompressStream` against `POST /compress`, both served
 * by one local runtime (`npm start`), and the floor of the per-frame overhead on this machine
 * (grpc-js alone, and the durable commit of a frame alone), in one run. Writes
 * docs/benchmarks/grpc.md.
 *
 * Environment: BENCH_FRAMES (150), BENCH_ROUNDS (3), BENCH_WIDTH (640).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CompressResponse } from '../functions/core/contracts/compress.ts';
import {
  aicClientConstructor,
  type CompressStreamResponseMessage,
} from '../functions/grpc/proto.ts';
import { createDatabase } from '../functions/platform/db/database.ts';
import type { FrameMetricRecord } from '../functions/platform/db/frame-metrics-repository.ts';
import { jwtSettingsFromEnv, signToken } from '../functions/platform/jwt.ts';
import { NODE_HEAP_FLAGS } from '../lib/config/node-flags.ts';
import { recordFrame } from '../test/support/frame-store.ts';
import { panningSequence } from '../test/support/frames.ts';
import { spawnLocalRuntime } from '../test/support/local-runtime-process.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-keys.ts';
import { createTestDatabase } from '../test/support/test-database.ts';
import { busyFor } from './busy-for.ts';
import { formatBytes, ms, times } from './format.ts';
import { type BenchmarkRun, markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { median, summarise } from './stats.ts';

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
    status: 'success',
    dropReason: null,
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

const overheadOf = (samples: readonly Sample[]) =>
  summarise(samples.map((s) => s.rttMs - s.engineMs));

/** The pass results of every round, pooled, and each round's frames per second. */
interface GrpcResults {
  http: Sample[];
  grpc: Sample[];
  floor: Sample[];
  commit: number[];
  rounds: { http: number; stream: number; pingPong: number }[];
  holdMs: number;
  resultBytes: number;
  framesBytes: number;
}

interface Passes {
  httpUrl: string;
  databaseUrl: string;
  client: grpc.Client;
  floorClient: grpc.Client;
  token: string;
  frames: Buffer[];
  holdMs: number;
}

/**
 * Each round runs every pass over the same frames, in a rotated order, so that load that comes
 * and goes on a shared machine falls on all of them; ratios are taken within a round.
 */
async function runRounds(p: Passes, results: GrpcResults): Promise<void> {
  const passes = ['http', 'stream', 'pingPong', 'floor', 'commit'] as const;
  for (let round = 0; round < ROUNDS; round++) {
    const fps = { http: 0, stream: 0, pingPong: 0 };
    for (let i = 0; i < passes.length; i++) {
      const pass = passes[(round + i) % passes.length] as (typeof passes)[number];
      if (pass === 'http') {
        const http = await httpSequential(p.httpUrl, p.token, p.frames);
        results.http.push(...http.samples);
        fps.http = http.framesPerSecond;
      } else if (pass === 'stream') {
        fps.stream = await grpcThroughput(p.client, p.token, p.frames);
      } else if (pass === 'pingPong') {
        const samples = await grpcPingPong(p.client, p.token, p.frames);
        results.grpc.push(...samples);
        fps.pingPong = FRAMES / (samples.reduce((sum, s) => sum + s.rttMs, 0) / 1000);
      } else if (pass === 'floor') {
        results.floor.push(...(await grpcPingPong(p.floorClient, p.token, p.frames)));
      } else {
        results.commit.push(...(await commitFloor(p.databaseUrl, p.holdMs, FRAMES)));
      }
    }
    results.rounds.push(fps);
    process.stderr.write(`[bench:grpc] round ${round + 1} of ${ROUNDS} done\n`);
  }
}

/** Warms both paths up, starts the floor server, and runs the rounds. */
async function measure(servers: { http: string; grpc: string }, databaseUrl: string) {
  process.env.AIC_JWT_SECRET = JWT_SECRET;
  const token = await signToken('bench', jwtSettingsFromEnv(), 3600);
  const frames = await panningSequence(FRAMES, { width: WIDTH, height: HEIGHT, step: 6 });
  const warmup = frames.slice(0, WARMUP);
  const Client = aicClientConstructor();
  const client = new Client(servers.grpc, grpc.credentials.createInsecure());
  const warm = await grpcPingPong(client, token, warmup);
  await httpSequential(servers.http, token, warmup);
  // The floors hold each frame for the engine's median time on the later warm-up frames (the first
  // ones start cold) and answer with its median output, so they work and move bytes as the real
  // path does.
  const holdMs = Math.round(median(warm.slice(WARMUP / 2).map((s) => s.engineMs)));
  const resultBytes = Math.round(median(warm.map((s) => s.bytes)));
  const floorServer = await startFloorServer(holdMs, resultBytes);
  const floorClient = new Client(floorServer.address, grpc.credentials.createInsecure());
  const results: GrpcResults = {
    http: [],
    grpc: [],
    floor: [],
    commit: [],
    rounds: [],
    holdMs,
    resultBytes,
    framesBytes: frames.reduce((sum, f) => sum + f.length, 0),
  };
  try {
    await grpcPingPong(floorClient, token, warmup);
    await runRounds(
      { httpUrl: servers.http, databaseUrl, client, floorClient, token, frames, holdMs },
      results,
    );
  } finally {
    client.close();
    floorClient.close();
    await floorServer.stop();
  }
  return results;
}

const fps = (value: number) => value.toFixed(1);
const pair = (s: { p50: number; p95: number }) => `${ms(s.p50, 1)} / ${ms(s.p95, 1)}`;

function throughputTable(r: GrpcResults): string[] {
  const grpcOverhead = overheadOf(r.grpc);
  // Sample by sample in the order they were taken: a frame pays its transport and its commit.
  const floorWithCommit = summarise(
    r.floor.map((s, i) => s.rttMs - s.engineMs + (r.commit[i] ?? 0)),
  );
  return markdownTable(
    ['path', 'frames/s (median of rounds)', 'overhead beyond the engine p50 / p95'],
    [
      [
        '`POST /compress` (baseline)',
        fps(median(r.rounds.map((x) => x.http))),
        pair(overheadOf(r.http)),
      ],
      ['`CompressStream`, frames written ahead', fps(median(r.rounds.map((x) => x.stream))), ''],
      [
        '`CompressStream`, one frame at a time',
        fps(median(r.rounds.map((x) => x.pingPong))),
        pair(grpcOverhead),
      ],
      ['floor: grpc-js alone', '', pair(overheadOf(r.floor))],
      ['floor: the durable commit alone', '', pair(summarise(r.commit))],
      ['floor: grpc-js + the durable commit, frame by frame', '', pair(floorWithCommit)],
    ],
  );
}

function roundsTable(r: GrpcResults): string[] {
  return markdownTable(
    ['round', 'HTTP frames/s', 'gRPC stream frames/s', 'ratio', 'gRPC one at a time frames/s'],
    r.rounds.map((x, i) => [
      String(i + 1),
      fps(x.http),
      fps(x.stream),
      times(x.stream / x.http),
      fps(x.pingPong),
    ]),
  );
}

async function writePage(run: BenchmarkRun, r: GrpcResults): Promise<void> {
  const ratio = median(r.rounds.map((x) => x.stream / x.http));
  const grpcOverhead = overheadOf(r.grpc);
  const floor = overheadOf(r.floor);
  const engine = summarise(r.grpc.map((s) => s.engineMs));
  await writeBenchmarkPage(run, {
    name: 'grpc',
    title: 'gRPC against HTTP',
    source: 'bench/grpc.ts',
    measures: `${FRAMES} frames of ${WIDTH}x${HEIGHT} through gRPC \`CompressStream\` and through \`POST /compress\`, both served by one \`npm start\`: frames per second, and the overhead per frame beyond the engine against the floor of that overhead on this machine.`,
    goals: [
      {
        goal: "`CompressStream` frames/s over `POST /compress`'s (median of the rounds' ratios)",
        measured: times(ratio),
        target: '>= 1.5x',
        met: ratio >= 1.5,
      },
      {
        goal: 'gRPC overhead beyond the engine, one frame at a time, p95',
        measured: ms(grpcOverhead.p95, 1),
        target: '<= 2 ms',
        met: grpcOverhead.p95 <= 2,
      },
      {
        goal: 'for reference: the floor of that overhead, grpc-js alone, p95',
        measured: ms(floor.p95, 1),
        target: 'the least any server of this contract adds here',
        met: undefined,
      },
    ],
    baseline: `\`POST /compress\` (JSON with base64, one request after the other on a keep-alive connection, as one session's frames must go) through the same runtime in the same rounds: \`CompressStream\` delivers ${times(ratio)} its frames per second (median of the rounds' ratios). The floor of the overhead is measured in the same run too: grpc-js alone, against a server that does no work, adds ${pair(floor)} (p50 / p95); the durable commit of a frame's metrics, which the contract keeps ahead of the answer, takes ${pair(summarise(r.commit))} by itself.`,
    results: [
      {
        heading: `Throughput and overhead (${ROUNDS} rounds of ${FRAMES} frames)`,
        body: [
          ...throughputTable(r),
          '',
          `Engine time per frame (\`latency_ms.total\` of the answers), gRPC one at a time: p50 ${ms(engine.p50, 1)}, p95 ${ms(engine.p95, 1)}. Frames: JPEG q90, mean ${formatBytes(r.framesBytes / FRAMES)}; the floors held each frame ${r.holdMs} ms and answered with ${formatBytes(r.resultBytes)}.`,
        ],
      },
      { heading: 'Rounds', body: roundsTable(r) },
    ],
    method: `One local runtime (HTTP and gRPC, default policy) on a fresh database; a panning scene, ${WARMUP} frames of warm-up on each path first. Each round runs every pass over the same frames in a rotated order, so that load that comes and goes falls on all of them, and the throughput ratio is taken within a round. \`CompressStream\` throughput writes all frames ahead and lets the server's back-pressure pace the client (two frames in the work at once). Overhead is measured one frame at a time: round trip minus the engine time the answer reports. The floors: **grpc-js alone** is the same client and proto against a server in its own process (\`bench/grpc-floor-server.ts\`) that holds each frame with a busy core for the engine's median time and answers with a canned result of the median output size; **the durable commit alone** is the statement that stores a frame (\`recordFrame\`), one frame at a time after the same amount of work.`,
  });
}

const run = startRun();
const db = await createTestDatabase({ migrate: true });
const servers = await startServers(db.url);
try {
  await writePage(run, await measure(servers, db.url));
} finally {
  await servers.stop();
  await db.drop();
  await deleteKeysWithPrefix(PREFIX);
}
