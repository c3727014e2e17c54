/**
 * `npm run bench:cold`: what a process's first frame costs, with and without the imaging warm-up
 * that the gRPC task and `npm start` run before they serve (`warmUpImaging`). Each sample is a
 * fresh Node process (the production flags) that serves one 1280x720 scene frame as a session's
 * first frame and then again as its second, under the default policy and the 5 Mbps / 30 fps
 * profile. Pairs alternate which kind starts first, so that load that comes and goes falls on
 * both; the baseline (no warm-up) is measured in the same run. Writes docs/benchmarks/cold-start.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { NODE_HEAP_FLAGS, PIXEL_PROCESS_ENV } from '../lib/config/node-flags.ts';
import { encodeFrame } from '../test/support/frames.ts';
import { childReport } from './child-report.ts';
import type { ColdStartReport } from './cold-start-child.ts';
import { PROFILES } from './compress-support.ts';
import { fixed, ms, times } from './format.ts';
import { type BenchmarkRun, markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { median } from './stats.ts';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 8);
const CHILD = join(import.meta.dirname, 'cold-start-child.ts');

function serveInFreshProcess(framePath: string, warm: boolean): Promise<ColdStartReport> {
  return childReport<ColdStartReport>(CHILD, [framePath, warm ? 'warm' : 'cold'], {
    execArgv: [...NODE_HEAP_FLAGS, '--import', 'tsx'],
    env: { ...process.env, ...PIXEL_PROCESS_ENV },
  });
}

/** Alternating pairs of fresh processes, so load that comes and goes falls on both kinds. */
async function measurePairs(framePath: string): Promise<ColdStartReport[]> {
  const reports: ColdStartReport[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? [false, true] : [true, false];
    for (const warm of order) reports.push(await serveInFreshProcess(framePath, warm));
  }
  return reports;
}

function row(label: string, reports: readonly ColdStartReport[]): string[] {
  const within = reports.filter((r) => r.firstWithinBudget).length;
  const ssims = reports.flatMap((r) => (r.firstSsim === undefined ? [] : [r.firstSsim]));
  return [
    label,
    `${ms(median(reports.map((r) => r.firstMs)), 1)} (${ms(Math.max(...reports.map((r) => r.firstMs)), 1)})`,
    ms(median(reports.map((r) => r.secondMs)), 1),
    `${within}/${reports.length}`,
    fixed(median(ssims), 3),
  ];
}

async function writePage(run: BenchmarkRun, reports: readonly ColdStartReport[]): Promise<void> {
  const cold = reports.filter((r) => !r.warm);
  const warm = reports.filter((r) => r.warm);
  const firstCold = median(cold.map((r) => r.firstMs));
  const firstWarm = median(warm.map((r) => r.firstMs));
  const warmWithin = warm.filter((r) => r.firstWithinBudget).length;
  const goals = [
    {
      goal: 'first frame with the warm-up / without, decode + engine, median',
      measured: times(firstWarm / firstCold),
      target: '< 1x',
      met: firstWarm < firstCold,
    },
    {
      goal: "first frame's encoding within its byte budget, after the warm-up",
      measured: `${warmWithin}/${warm.length}`,
      target: 'all',
      met: warmWithin === warm.length,
    },
  ];
  await writeBenchmarkPage(run, {
    name: 'cold-start',
    title: 'Cold start of a process',
    source: 'bench/cold-start.ts',
    measures:
      "What a process's first frame costs, with and without the imaging warm-up (`warmUpImaging`) that the gRPC task and `npm start` run before they serve.",
    machine: [`sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`],
    goals,
    baseline: `Fresh processes without the warm-up, in the same run, alternating with those that warm up: first frame ${ms(firstCold, 1)} (median) without, ${ms(firstWarm, 1)} with, ${times(firstWarm / firstCold)}. The warm-up itself takes ${ms(median(warm.map((r) => r.warmUpMs)), 0)} (median), once per process, before it serves.`,
    results: [
      {
        heading: `${PAIRS} pairs of fresh processes`,
        body: markdownTable(
          [
            'process',
            'first frame, decode + engine, median (max)',
            'second frame, median',
            'first frame within budget',
            "first frame's SSIM, median",
          ],
          [row('no warm-up (baseline)', cold), row('warm-up before serving', warm)],
        ),
      },
    ],
    method: `Each sample is a fresh Node process started with the production flags (\`lib/config/node-flags.ts\`) that serves one 1280x720 scene frame (JPEG q90) as a session's first frame and then again as its second, under the default policy and the ${PROFILES[0]?.name} profile, decode and engine timed as \`compress-service.ts\` runs them. Half of the processes run \`warmUpImaging\` first. Pairs alternate which kind starts first, so that load that comes and goes falls on both.`,
  });
}

const run = startRun();
const dir = await mkdtemp(join(os.tmpdir(), 'aic-bench-cold-'));
try {
  const framePath = join(dir, 'scene-1280x720.jpg');
  await writeFile(framePath, await encodeFrame('scene', { width: 1280, height: 720 }));
  await writePage(run, await measurePairs(framePath));
} finally {
  await rm(dir, { recursive: true, force: true });
}
