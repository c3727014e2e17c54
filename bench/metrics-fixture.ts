/**
 * What bench/metrics.ts works on: a database of its own on the shared PostgreSQL, migrated and
 * dropped at the end; a key prefix of its own on the shared Redis, deleted at the end; the tenants
 * and sessions of each shape, claimed before their first frame as the service does; and frame
 * events whose sums the benchmark knows, so that it can check what the consumer counted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { FRAME_EVENT_VERSION, type FrameEvent } from '../functions/core/contracts/frame-event.ts';
import { createDatabase, type Sql } from '../functions/platform/db/database.ts';
import { migrate } from '../functions/platform/db/migrate.ts';
import { claimSession } from '../functions/platform/db/session-repository.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../test/support/redis-keys.ts';
import { TEST_POSTGRES_ADMIN_URL } from '../test/support/test-database.ts';

/** The shared Redis; `BENCH_REDIS_URL` overrides it. */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? SHARED_REDIS_URL;

/** The benchmark's database: its URL, a client to create pools from, and how to drop it. */
export interface BenchDatabase {
  name: string;
  url: string;
  /** A pool of `poolMax` connections to the database (closed by `drop`). */
  pool(poolMax: number): Sql;
  /** Closes every pool, ends every other connection to the database and drops it. */
  drop(): Promise<void>;
}

/** Creates and migrates `aic_bench_metrics_<random>`. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `aic_bench_metrics_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin`create database ${admin(name)}`);
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const pools: Sql[] = [];
  const pool = (poolMax: number) => {
    const db = createDatabase({ url: url.toString(), poolMax, applicationName: name });
    pools.push(db.sql);
    return db.sql;
  };
  const drop = async () => {
    await Promise.all(pools.map((sql) => sql.end({ timeout: 5 })));
    await withAdmin((admin) => admin`drop database if exists ${admin(name)} with (force)`);
  };
  try {
    await migrate(pool(1));
  } catch (error) {
    await drop();
    throw error;
  }
  return { name, url: url.toString(), pool, drop };
}

async function withAdmin(work: (admin: postgres.Sql) => Promise<unknown>): Promise<void> {
  const admin = postgres(TEST_POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await work(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** The benchmark's own key prefix on the shared Redis. */
export function redisPrefix(): { prefix: string; clean(): Promise<number> } {
  const prefix = `aic-bench:metrics:${randomUUID()}:`;
  return { prefix, clean: () => deleteKeysWithPrefix(prefix, REDIS_URL) };
}

/** A session of a shape, with what has been answered of it (acknowledged by the log). */
export interface BenchSession {
  readonly sessionId: string;
  readonly userId: string;
  /** The next frame number. */
  next: number;
  /** Frames answered (each distinct frame once), and their byte sums. */
  answered: number;
  bytesIn: number;
  bytesOut: number;
}

/** Who sends the frames: `users` tenants with `sessionsPerUser` sessions each. */
export interface Shape {
  readonly key: string;
  readonly label: string;
  readonly users: readonly string[];
  readonly sessions: readonly BenchSession[];
}

/** Builds a shape and claims its sessions (within the default quota), 16 claims at a time. */
export async function createShape(
  sql: Sql,
  key: string,
  label: string,
  users: number,
  sessionsPerUser: number,
): Promise<Shape> {
  const userIds = Array.from(
    { length: users },
    (_, i) => `bench-${key}-${String(i).padStart(4, '0')}`,
  );
  const sessions = userIds.flatMap((userId) =>
    Array.from({ length: sessionsPerUser }, () => ({
      sessionId: randomUUID(),
      userId,
      next: 0,
      answered: 0,
      bytesIn: 0,
      bytesOut: 0,
    })),
  );
  let cursor = 0;
  const claimer = async () => {
    for (let s = sessions[cursor++]; s !== undefined; s = sessions[cursor++]) {
      const claim = { sessionId: s.sessionId, userId: s.userId, sessionsPerDay: 1000 };
      await claimSession(sql, claim);
    }
  };
  await Promise.all(Array.from({ length: 16 }, claimer));
  return { key, label, users: userIds, sessions };
}

/**
 * The session's next frame as its event, answered at `at`. Sizes, SSIM and timings vary with the
 * frame number (deterministically), so the frames spread over the quality bands and latency
 * buckets the way a real stream's do.
 */
export function nextFrameEvent(session: BenchSession, at = new Date()): FrameEvent {
  const n = session.next++;
  const original = 40_000 + ((n * 7919) % 60_000);
  const compressed = Math.round(original * (0.1 + (n % 40) / 100));
  return {
    v: FRAME_EVENT_VERSION,
    event_id: `f:${n}`,
    user_id: session.userId,
    session_id: session.sessionId,
    recorded_at: at.toISOString(),
    frame_number: n,
    idempotency_key: null,
    frame_type: 'video',
    mode: 'adaptive',
    format: 'jpeg',
    quality: 60 + (n % 30),
    width: 1280,
    height: 720,
    original_bytes: original,
    compressed_bytes: compressed,
    compression_ratio: compressed / original,
    ssim: n % 100 === 0 ? null : 0.75 + (n % 25) / 100,
    psnr_db: 38.5,
    budget_bytes: 20_000,
    within_budget: compressed <= 20_000,
    encode_attempts: 1 + (n % 3 === 0 ? 1 : 0),
    decode_ms: 2.1,
    encode_ms: 8 + (n % 10),
    metrics_ms: 1.9,
    total_ms: 12 + (n % 60),
    fallback: n % 50 === 0,
    fallback_reason: n % 50 === 0 ? 'ssim_below_floor' : null,
  };
}

/** Counts `event` as answered for `session` (call once per frame, when its append resolved). */
export function markAnswered(session: BenchSession, event: FrameEvent): void {
  session.answered += 1;
  session.bytesIn += event.original_bytes;
  session.bytesOut += event.compressed_bytes;
}

/** Frames answered over all the shape's sessions. */
export function answeredFrames(shape: Shape): number {
  return shape.sessions.reduce((sum, s) => sum + s.answered, 0);
}
