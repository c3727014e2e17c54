/**
 * The parts of the metrics page (bench/metrics-page.ts) past the headline table: the profile of
 * each stage, where the CPU of the runs went, the crash test, the checks, what would speed the
 * path up, and the method.
 */
import os from 'node:os';
import { count, fixed, ms } from './format.ts';
import type { CrashResult } from './metrics-crash.ts';
import {
  cpuPerFrame,
  type MetricsReport,
  pair,
  rate,
  type ShapeRun,
  saturating,
  setupOf,
} from './metrics-report.ts';
import type { StreamResult } from './metrics-stream.ts';
import type { Check } from './metrics-verify.ts';
import { markdownTable, type PageSection } from './report-page.ts';

const us = (value: number) => `${fixed(value, 1)} µs`;

function stagesSection(report: MetricsReport): PageSection {
  const { producer: p, read: r } = report;
  const readUs = r.readUs + r.parseUs + r.zodUs + r.paramUs + r.ackUs;
  return {
    heading: 'Each stage alone',
    body: markdownTable(
      ['stage', 'frames/s alone', 'per frame', 'detail'],
      [
        [
          'producers alone, nobody consuming (the many-tenant sessions)',
          rate(p.framesPerS),
          `${us(p.cpuUs)} CPU in the producing process, ${us(p.redisUs)} in Redis`,
          `XADD pipelines of ${fixed(p.meanBatch, 0)} events in ${ms(p.meanPipelineMs, 1)} on average; ack p50 / p99 ${pair(p.ack.p50, p.ack.p99)}; JSON.stringify of an event ${us(p.stringifyUs)}`,
        ],
        [
          'the consumer without the statement (one reader, batches of 500)',
          rate(r.framesPerS),
          `${us(readUs)} of wall time`,
          `XREADGROUP ${us(r.readUs)}, JSON.parse ${us(r.parseUs)}, zod ${us(r.zodUs)}, the statement's JSON parameter ${us(r.paramUs)}, XACK + XDEL ${us(r.ackUs)}`,
        ],
        ...report.floors
          .filter((f) => f.batchSize === 500)
          .map((f) => [
            `the statement alone, ${f.shape}, ${f.concurrency} at a time`,
            rate(f.framesPerS),
            `${us(f.postgresUs)} CPU in Postgres`,
            `\`applyFrameEvents\` on pre-built batches of 500; a batch p50 / p99 ${pair(f.batch.p50, f.batch.p99)}`,
          ]),
      ],
    ),
  };
}

function floorsSection(report: MetricsReport): PageSection {
  return {
    heading: 'The floor: the statement alone (the consumer ceiling on this database)',
    body: [
      ...markdownTable(
        [
          'shape',
          'batch',
          'statements at a time',
          'frames/s',
          'batch p50 / p99',
          'Postgres CPU per frame',
          'autovacuum meanwhile',
        ],
        report.floors.map((f) => [
          f.shape,
          count(f.batchSize),
          String(f.concurrency),
          rate(f.framesPerS),
          pair(f.batch.p50, f.batch.p99),
          us(f.postgresUs),
          us(f.autovacuumUs),
        ]),
      ),
      '',
      "Measured right after the shape's stream runs, on the same tables: pre-built frame events, round robin over the shape's sessions as the producers send them, applied with `applyFrameEvents` and nothing else: no stream, no parsing. Batches of 2,000 are not what the consumer reads (500); they show what larger batches would give.",
    ],
  };
}

function cpuRow(run: ShapeRun, s: StreamResult): string[] {
  const cpu = cpuPerFrame(s);
  const child = s.settings.placement === 'child';
  const cores = os.availableParallelism();
  return [
    run.shape.label,
    setupOf(s),
    child ? us(cpu.producer) : `${us(cpu.producer)} (consumers included)`,
    child ? us(cpu.consumers) : 'in the bench process',
    us(cpu.redis),
    us(cpu.postgres),
    us(cpu.autovacuum),
    us(cpu.total),
    `${fixed((cpu.total * s.frames) / 1e6 / s.seconds, 2)} of ${cores}`,
    rate((cores * 1e6) / cpu.total),
  ];
}

function cpuSection(report: MetricsReport): PageSection {
  return {
    heading: 'Where the CPU of the unpaced runs went',
    body: [
      ...markdownTable(
        [
          'shape',
          'setup',
          'producing process',
          'consumers',
          'Redis',
          'Postgres backends',
          'autovacuum',
          'total per frame',
          'cores busy',
          'frames/s if every core did only this',
        ],
        report.shapes.flatMap((run) => saturating(run).map((s) => cpuRow(run, s))),
      ),
      '',
      "CPU time per frame answered, from `process.cpuUsage()` of the benchmark and of each consumer child, and from /proc for the Redis server and for the Postgres processes on the benchmark's database: the client backends (the statements) and the autovacuum workers, which the writes set going (the WAL writer, the checkpointer and the other agents' work on the shared servers are not counted; Redis's figure includes whatever else used it meanwhile). The last column divides the cores by the total: the most this machine could take at this cost per frame.",
    ],
  };
}

/** The profile: each stage alone, the statement's floor, the CPU of the runs. */
export function profileSections(report: MetricsReport): PageSection[] {
  return [stagesSection(report), floorsSection(report), cpuSection(report)];
}

function checksTable(checks: readonly Check[]): string[] {
  return markdownTable(
    ['check', 'expected', 'stored', 'verdict'],
    checks.map((c) => [c.name, c.expected, c.actual, c.pass ? 'pass' : '**FAIL**']),
  );
}

/** The crash test: what happened and what was checked. */
export function crashSection(crash: CrashResult): PageSection {
  return {
    heading: `Crash test: ${crash.pass ? 'PASS' : 'FAIL'}`,
    body: [...crash.story.map((line) => `- ${line}`), '', ...checksTable(crash.checks)],
  };
}

/** The checks after the throughput runs, per shape. */
export function checksSection(report: MetricsReport): PageSection {
  const checks = report.shapes.flatMap((run) =>
    run.checks.map((c) => ({ ...c, name: `${run.shape.label}: ${c.name}` })),
  );
  return {
    heading: 'Every frame counted once after the throughput runs',
    body: [
      'After the baseline, the stream runs and the floors of each shape (every frame each of them answered):',
      '',
      ...checksTable(checks),
    ],
  };
}
