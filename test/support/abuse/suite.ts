/**
 * The abuse suite: a local runtime started as `npm start` starts it (its own process, a private
 * database and Redis prefix, the loop probe preloaded) and the attacks of issue-level concern, at
 * a scale: the full one for `npm run abuse`, a fast one for `npm test`.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtSettingsFromEnv, signToken } from '../../../functions/platform/jwt.ts';
import { encodeFrame } from '../frames.ts';
import { spawnLocalRuntime } from '../local-runtime-process.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../redis-keys.ts';
import { createTestDatabase } from '../test-database.ts';
import {
  manyStreamsOfLargeFrames,
  newSessionEveryFrame,
  type Outcomes,
  readinessFlood,
  stalledUnauthenticatedCalls,
  trickledBodies,
} from './attacks.ts';
import type { ScenarioTarget } from './scenario.ts';

/** How hard each attack pushes, and how long each phase lasts. */
export interface SuiteScale {
  stalledCalls: number;
  stalledConnections: number;
  stalledSendBytes: number;
  largeFrameStreams: number;
  floodConnections: number;
  trickleConnections: number;
  baselineMs: number;
  attackMs: number;
}

const MiB = 2 ** 20;

/** `npm run abuse`: the attacks as the issue states them. */
export const FULL_SCALE: SuiteScale = {
  stalledCalls: 200,
  stalledConnections: 4,
  stalledSendBytes: 9 * MiB,
  largeFrameStreams: 16,
  floodConnections: 64,
  trickleConnections: 100,
  baselineMs: 10_000,
  attackMs: 15_000,
};

/** The part of the suite in `npm test`: every attack, smaller and shorter. */
export const FAST_SCALE: SuiteScale = {
  stalledCalls: 50,
  stalledConnections: 2,
  stalledSendBytes: 4 * MiB,
  largeFrameStreams: 4,
  floodConnections: 16,
  trickleConnections: 20,
  baselineMs: 2_000,
  attackMs: 3_000,
};

/** One attack of the suite. */
export interface Attack {
  name: string;
  run: (signal: AbortSignal) => Promise<Outcomes>;
}

/** The frames the suite sends: a call's 640x360 frame and a 4K one. */
export async function suiteFrames() {
  return {
    frame: await encodeFrame('scene', { width: 640, height: 360 }),
    large: await encodeFrame('scene', { width: 3840, height: 2160 }),
  };
}

/** Every attack of the suite against `target` at `scale`. */
export function attacks(
  target: ScenarioTarget,
  scale: SuiteScale,
  large: Buffer,
  attackerToken: string,
): Attack[] {
  return [
    {
      name: `${scale.stalledCalls} stalled unauthenticated calls`,
      run: (signal) =>
        stalledUnauthenticatedCalls(
          target.grpcAddress,
          {
            calls: scale.stalledCalls,
            connections: scale.stalledConnections,
            sendBytes: scale.stalledSendBytes,
            claimBytes: scale.stalledSendBytes + 1000,
          },
          signal,
        ),
    },
    {
      name: `one user, ${scale.largeFrameStreams} streams of 3840x2160 frames`,
      run: (signal) =>
        manyStreamsOfLargeFrames(
          target.grpcAddress,
          { user: 'abuse-mallory', frame: large, streams: scale.largeFrameStreams },
          signal,
        ),
    },
    {
      name: 'a stream with a new session id on every frame',
      run: (signal) =>
        newSessionEveryFrame(
          target.grpcAddress,
          { user: 'abuse-eve', frame: target.frame },
          signal,
        ),
    },
    {
      name: `/readiness flood, ${scale.floodConnections} clients`,
      run: (signal) =>
        readinessFlood(target.httpUrl, { connections: scale.floodConnections }, signal),
    },
    {
      name: `${scale.trickleConnections} HTTP bodies trickled a byte a second`,
      run: (signal) =>
        trickledBodies(
          target.httpUrl,
          {
            connections: scale.trickleConnections,
            declaredBytes: 4_000_000,
            byteEveryMs: 1000,
            token: attackerToken,
          },
          signal,
        ),
    },
  ];
}

/**
 * The floors of the attacks that cost CPU by design, run like attacks: what an honest client of
 * the same kind costs the legitimate ones. The service must admit a stream's two 3840x2160 frames
 * in the work at once (frames up to 4K are in the contract), a stream's frames as fast as its quota
 * allows, and any HTTP request costs the event loop something, so these bound from below what any
 * limit can achieve on the machine.
 */
export function floors(target: ScenarioTarget, scale: SuiteScale, large: Buffer): Attack[] {
  return [
    {
      name: 'floor: one honest client streaming 3840x2160 frames, two ahead',
      run: (signal) =>
        manyStreamsOfLargeFrames(
          target.grpcAddress,
          { user: 'abuse-honest-4k', frame: large, streams: 1, window: 2 },
          signal,
        ),
    },
    {
      name: 'floor: one honest client streaming 640x360 frames of one session, two ahead',
      run: (signal) =>
        manyStreamsOfLargeFrames(
          target.grpcAddress,
          { user: 'abuse-honest-stream', frame: target.frame, streams: 1 },
          signal,
        ),
    },
    {
      name: `floor: /liveness flood, ${scale.floodConnections} clients`,
      run: (signal) =>
        readinessFlood(
          target.httpUrl,
          { connections: scale.floodConnections, path: '/liveness' },
          signal,
        ),
    },
  ];
}

/** A runtime under attack and how to stop it and clean up after it. */
export interface SuiteRuntime {
  target: ScenarioTarget;
  attackerToken: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a local runtime for the suite, as `npm start` would with a private database. */
export async function startSuiteRuntime(frame: Buffer): Promise<SuiteRuntime> {
  const db = await createTestDatabase();
  const prefix = `aic-test:abuse-${process.pid}-${randomBytes(3).toString('hex')}:`;
  const probeFile = join(
    tmpdir(),
    `aic-abuse-probe-${process.pid}-${randomBytes(3).toString('hex')}`,
  );
  const runtime = await spawnLocalRuntime(
    {
      AIC_LOCAL_STATE_DIR: join(tmpdir(), `aic-abuse-${process.pid}`),
      DATABASE_URL: db.url,
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      AIC_LOOP_PROBE_FILE: probeFile,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
    60_000,
    ['test/support/abuse/loop-probe.ts'],
  );
  const jwt = jwtSettingsFromEnv();
  const token = await signToken('abuse-legit-http', jwt, 3600);
  return {
    target: {
      httpUrl: runtime.url,
      grpcAddress: runtime.grpcAddress,
      user: 'abuse-legit',
      frame,
      paceMs: 50,
      authorization: `Bearer ${token}`,
      probeFile,
    },
    attackerToken: await signToken('abuse-trickle', jwt, 3600),
    pid: runtime.child.pid as number,
    stop: async () => {
      await runtime.stop();
      await db.drop();
      await deleteKeysWithPrefix(prefix, SHARED_REDIS_URL);
      rmSync(probeFile, { force: true });
    },
  };
}
