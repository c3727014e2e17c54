import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CompressResponse } from '../../functions/core/contracts/compress.ts';
import {
  aicClientConstructor,
  type CompressStreamResponseMessage,
} from '../../functions/grpc/proto.ts';
import { jwtSettingsFromEnv, signToken } from '../../functions/platform/jwt.ts';
import { panningSequence } from '../support/frames.ts';
import { spawnLocalRuntime } from '../support/local-runtime-process.ts';
import { deleteKeysWithPrefix } from '../support/redis-keys.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { ms, summarise } from './stats.ts';

const ROOT = join(import.meta.dirname, '..', '..');
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
    samples.push({ rttMs: performance.now() - t0, engineMs: result.latency_ms.total });
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

  await grpcPingPong(client, token, warmup);
  await httpSequential(servers.http, token, warmup);

  // Each round runs every path over the same frames, in a rotated order, so that load that comes
  // and goes on a shared machine falls on all of them; ratios are taken within a round.
  const httpSamples: Sample[] = [];
  const grpcSamples: Sample[] = [];
  const rounds: { http: number; stream: number; pingPong: number }[] = [];
  const passes = ['http', 'stream', 'pingPong'] as const;
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
      } else {
        const samples = await grpcPingPong(client, token, frames);
        grpcSamples.push(...samples);
        fps.pingPong = FRAMES / (samples.reduce((sum, s) => sum + s.rttMs, 0) / 1000);
      }
    }
    rounds.push(fps);
    process.stdout.write(
      `round ${round + 1}: HTTP ${fps.http.toFixed(1)} frames/s, gRPC stream ${fps.stream.toFixed(1)} frames/s (${(fps.stream / fps.http).toFixed(2)}x), gRPC one-at-a-time ${fps.pingPong.toFixed(1)} frames/s\n`,
    );
  }
  client.close();

  const httpOverhead = report('POST /compress (JSON)', httpSamples);
  const grpcOverhead = report('CompressStream', grpcSamples);
  const ratio = median(rounds.map((r) => r.stream / r.http));
  process.stdout.write(
    [
      `throughput, median of ${ROUNDS} rounds: HTTP ${median(rounds.map((r) => r.http)).toFixed(1)} frames/s, gRPC stream ${median(rounds.map((r) => r.stream)).toFixed(1)} frames/s; gRPC/HTTP ratio (median of the rounds' ratios) ${ratio.toFixed(2)}x (goal >= 1.5x), gRPC one-at-a-time ${median(rounds.map((r) => r.pingPong)).toFixed(1)} frames/s`,
      `overhead beyond the engine, one frame at a time, p50 / p95: gRPC ${ms(grpcOverhead.p50)} / ${ms(grpcOverhead.p95)} (goal p95 <= 2 ms), HTTP ${ms(httpOverhead.p50)} / ${ms(httpOverhead.p95)}`,
      `load average at the end ${load()}`,
      '',
    ].join('\n'),
  );
} finally {
  await servers.stop();
  await db.drop();
  await deleteKeysWithPrefix(PREFIX);
}
