/**
 * The benchmark's side of its consumers: each one in a child process
 * (bench/metrics-consumer-process.ts) or in the benchmark's own process, behind one interface,
 * and the tally of what they applied, which tells when the last frame answered was committed.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../functions/platform/db/database.ts';
import {
  type AppliedReport,
  type ChildConfig,
  type ChildMessage,
  type ConsumerConfig,
  type ConsumerStats,
  type ParentMessage,
  startBenchConsumer,
} from './metrics-consume.ts';

const CHILD = join(import.meta.dirname, 'metrics-consumer-process.ts');

/** What every consumer applied: frames newly stored, and when the last batch was committed. */
export class AppliedTally {
  stored = 0;
  received = 0;
  batches = 0;
  lastAt = 0;

  add(report: AppliedReport): void {
    this.stored += report.stored;
    this.received += report.received;
    this.batches += 1;
    this.lastAt = Math.max(this.lastAt, report.at);
  }

  /** Resolves with the commit time (epoch ms) of the batch that brought the count to `frames`. */
  async until(frames: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.stored < frames) {
      if (performance.now() > deadline) {
        throw new Error(
          `the consumers stored ${this.stored} of ${frames} frames in ${timeoutMs} ms`,
        );
      }
      await sleep(2);
    }
    return this.lastAt;
  }
}

/** A running consumer, wherever it runs. */
export interface RunningConsumer {
  readonly name: string;
  /** Stops it after the batch in hand and returns its statistics. */
  stop(): Promise<ConsumerStats>;
  /** SIGKILL: the batch in hand stays pending in the group (a child only). */
  kill(): Promise<void>;
  /**
   * Makes it hold its next batch once committed, before acknowledging it; resolves when it holds
   * one (a child only).
   */
  holdAfterCommit(): Promise<void>;
}

/** Where the consumers run. */
export type ConsumerPlacement = 'child' | 'inline';

/** Starts a consumer in the benchmark's process, on a pool of its own (two connections). */
export async function inlineConsumer(
  config: ConsumerConfig,
  pool: (poolMax: number) => Sql,
  tally: AppliedTally,
): Promise<RunningConsumer> {
  const consumer = await startBenchConsumer(config, pool(2), {
    onApplied: (report) => tally.add(report),
  });
  return {
    name: config.consumer,
    stop: () => consumer.stop(),
    kill: () => Promise.reject(new Error('an inline consumer cannot be killed')),
    holdAfterCommit: () => Promise.reject(new Error('an inline consumer cannot hold')),
  };
}

/**
 * Starts a consumer in a child process (`node --import tsx`) and resolves once it reads the
 * stream. `onBegin` hears of each batch it is about to apply when `config.reportBegin` is set.
 */
export async function spawnConsumer(
  config: ChildConfig,
  tally: AppliedTally,
  onBegin?: (records: number) => void,
): Promise<RunningConsumer> {
  const child = fork(CHILD, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stats: ConsumerStats | undefined;
  let held: (() => void) | undefined;
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'applied') tally.add(message);
    else if (message.type === 'begin') onBegin?.(message.records);
    else if (message.type === 'held') held?.();
    else if (message.type === 'stats') stats = message.stats;
  });
  await whenReady(child, exited, config.consumer);
  return {
    name: config.consumer,
    stop: async () => {
      child.send({ type: 'stop' } satisfies ParentMessage);
      const code = await exited;
      if (code !== 0 || !stats) throw new Error(`consumer ${config.consumer} exited with ${code}`);
      return stats;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    holdAfterCommit: () =>
      new Promise<void>((resolve) => {
        held = resolve;
        child.send({ type: 'hold' } satisfies ParentMessage);
      }),
  };
}

function whenReady(
  child: ChildProcess,
  exited: Promise<number | null>,
  name: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve();
    });
    void exited.then((code) =>
      reject(new Error(`consumer ${name} exited (${code}) before it was ready`)),
    );
  });
}
