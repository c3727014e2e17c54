/**
 * What bench/metrics.ts measured, as its page reads it, and the few ways the page names a run.
 */
import { count, fixed } from './format.ts';
import type { BaselineResult } from './metrics-baseline.ts';
import type { CrashResult } from './metrics-crash.ts';
import type { Shape } from './metrics-fixture.ts';
import type { ProducerCeiling, ReadCeiling, StatementFloor } from './metrics-profile.ts';
import type { StreamResult } from './metrics-stream.ts';
import type { Check } from './metrics-verify.ts';

/** The goal: the stream path's frames/s against the per-frame statement's. */
export const GOAL_RATIO = 20;

/** One shape's runs. */
export interface ShapeRun {
  shape: Shape;
  baseline: BaselineResult;
  /** The unpaced runs (one per consumer placement), then the paced one. */
  streams: StreamResult[];
  checks: Check[];
}

/** Everything the page reports. */
export interface MetricsReport {
  shapes: ShapeRun[];
  producer: ProducerCeiling;
  read: ReadCeiling;
  floors: StatementFloor[];
  crash: CrashResult;
  versions: string[];
}

/** The unpaced runs of a shape: the most the path takes. */
export function saturating(run: ShapeRun): StreamResult[] {
  return run.streams.filter((s) => s.settings.fps === undefined);
}

/** The unpaced run with the most frames/s: the setup the goal is judged on. */
export function bestRun(run: ShapeRun): StreamResult {
  return saturating(run).reduce((a, b) => (b.framesPerS > a.framesPerS ? b : a));
}

/** The setup of a run, in words. */
export function setupOf(stream: StreamResult): string {
  const { placement, consumers, producers, fps } = stream.settings;
  const where = placement === 'child' ? 'child processes' : 'the bench process';
  const load =
    fps === undefined
      ? `${producers} producers unpaced`
      : `${producers} streams at ${fps} frames/s`;
  return `${load}; ${consumers} consumers in ${where}`;
}

/** Frames a second, whole, with separators. */
export function rate(framesPerS: number): string {
  return count(Math.round(framesPerS));
}

/** Two latencies in ms: `12.3 / 45.6 ms`. */
export function pair(a: number, b: number, digits = 1): string {
  return `${fixed(a, digits)} / ${fixed(b, digits)} ms`;
}

/** CPU µs per frame answered of each part of a stream run (consumers 0 when inline). */
export function cpuPerFrame(stream: StreamResult) {
  const per = (cpuMs: number) => (cpuMs * 1000) / stream.frames;
  const consumers =
    stream.settings.placement === 'child'
      ? per(stream.consumers.reduce((sum, c) => sum + c.cpuMs, 0))
      : 0;
  const producer = per(stream.producer.cpuMs);
  const redis = per(stream.servers.redisMs);
  const postgres = per(stream.servers.postgresMs);
  const autovacuum = per(stream.servers.autovacuumMs);
  const total = producer + consumers + redis + postgres + autovacuum;
  return { producer, consumers, redis, postgres, autovacuum, total };
}

/** The share of the consumers' time spent in their handler (parsing and the statement). */
export function applyingShare(stream: StreamResult): number {
  const handle = stream.consumers.reduce((sum, c) => sum + c.handleMs, 0);
  const between = stream.consumers.reduce((sum, c) => sum + c.betweenMs, 0);
  return handle / (handle + between);
}
