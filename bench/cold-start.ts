/**
 * `npm run bench:cold`: what a process's first frame costs, with and without the imaging warm-up
 * that the gRPC task and `npm start` run before they serve (`warmUpImaging`). Each sample is a
 * fresh Node process (the production flags) that serves one 1280x720 scene frame as a session's
 * first frame and then again as its second, under the default policy and the 5 Mbps / 30 fps
 * profile. Pairs alternate which kind starts first, so that load
 * that comes and goes falls on both; the baseline (no warm-up) is measured in the same run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { NODE_HEAP_FLAGS, PIXEL_PROCESS_ENV } from '../lib/config/node-flags.ts';
import { encodeFrame } from '../test/support/frames.ts';
import { childReport } from './child-report.ts';
import type { ColdStartReport } from './cold-start-child.ts';
import { summarise } from './stats.ts';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 8);
const CHILD = join(import.meta.dirname, 'cold-start-child.ts');

function serveInFreshProcess(framePath: string, warm: boolean): Promise<ColdStartReport> {
  return childReport<ColdStartReport>(CHILD, [framePath, warm ? 'warm' : 'cold'], {
    execArgv: [...NODE_HEAP_FLAGS, '--import', 'tsx'],
    env: { ...process.env, ...PIXEL_PROCESS_ENV },
  });
}

const dir = await mkdtemp(join(os.tmpdir(), 'aic-bench-cold-'));
try {
  const framePath = join(dir, 'scene-1280x720.jpg');
  await writeFile(framePath, await encodeFrame('scene', { width: 1280, height: 720 }));
  process.stdout.write(
    `${PAIRS} pairs of fresh processes, 1280x720 scene JPEG q90, default policy, 5 Mbps / 30 fps, Node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]?.toFixed(2)}\n`,
  );
  const reports: ColdStartReport[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? [false, true] : [true, false];
    for (const warm of order) reports.push(await serveInFreshProcess(framePath, warm));
  }
  const of = (warm: boolean) => reports.filter((r) => r.warm === warm);
  const median = (values: number[]) => summarise(values).p50;
  const line = (label: string, rs: ColdStartReport[]) => {
    const within = rs.filter((r) => r.firstWithinBudget).length;
    const ssims = rs.flatMap((r) => (r.firstSsim === undefined ? [] : [r.firstSsim]));
    return `${label.padEnd(16)} first frame median ${median(rs.map((r) => r.firstMs)).toFixed(1)} ms (max ${Math.max(...rs.map((r) => r.firstMs)).toFixed(1)}), second frame median ${median(rs.map((r) => r.secondMs)).toFixed(1)} ms, first frame within budget ${within}/${rs.length}, its SSIM median ${ssims.length ? median(ssims).toFixed(3) : 'n/a'}`;
  };
  const cold = of(false);
  const warm = of(true);
  const ratio = median(warm.map((r) => r.firstMs)) / median(cold.map((r) => r.firstMs));
  process.stdout.write(
    [
      line('no warm-up', cold),
      line('warm-up first', warm),
      `first frame with / without the warm-up: ${ratio.toFixed(2)}x; the warm-up itself, median ${median(warm.map((r) => r.warmUpMs)).toFixed(0)} ms, paid once per process before it serves`,
      `load average at the end ${os.loadavg()[0]?.toFixed(2)}`,
      '',
    ].join('\n'),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
