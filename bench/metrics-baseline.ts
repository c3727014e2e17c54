/**
 * The baseline of bench/metrics.ts: today's per-frame statement, each frame stored by its own
 * append to the Postgres frame log (the consumer's statement with a batch of one: the frame row,
 * the session's totals and the three hourly rollups, one transaction), from `clients` concurrent
 * clients on a pool of as many connections, like the request path before the stream.
 */
import type { Sql } from '../functions/platform/db/database.ts';
import { createPostgresFrameLog } from '../functions/platform/metrics/postgres-frame-log.ts';
import { markAnswered, nextFrameEvent, type Shape } from './metrics-fixture.ts';
import { summarise } from './stats.ts';

/** What a timed run of frames came to. */
export interface Throughput {
  frames: number;
  seconds: number;
  framesPerS: number;
}

/** The baseline's figures: its throughput and the latency of one frame's statement (ms). */
export interface BaselineResult extends Throughput {
  clients: number;
  statement: ReturnType<typeof summarise>;
}

/** Options of {@link measureBaseline}. */
export interface BaselineOptions {
  /** A pool of `clients` connections. */
  sql: Sql;
  clients: number;
  /** The run stops at this many frames or after `maxSeconds`, whichever comes first. */
  maxFrames: number;
  maxSeconds: number;
}

/** Stores the shape's frames one statement each, round robin over its sessions. */
export async function measureBaseline(
  shape: Shape,
  options: BaselineOptions,
): Promise<BaselineResult> {
  const log = createPostgresFrameLog(options.sql);
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const client = async () => {
    while (issued < options.maxFrames && performance.now() < deadline) {
      const session = shape.sessions[issued++ % shape.sessions.length];
      if (!session) return;
      const event = nextFrameEvent(session);
      const begun = performance.now();
      await log.append([event]);
      latencies.push(performance.now() - begun);
      markAnswered(session, event);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  const seconds = (performance.now() - started) / 1000;
  return {
    frames: latencies.length,
    seconds,
    framesPerS: latencies.length / seconds,
    clients: options.clients,
    statement: summarise(latencies),
  };
}
