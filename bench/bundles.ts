/**
 * `npm run bench:bundles`: what `cdk deploy` ships and how fast it starts.
 *
 * 1. Synth time: `npm run synth` (all three stages, esbuild bundling, cdk-nag) into cdk.out, timed
 *    as a user runs it. The sharp layer is reused from cdk.out when present (its asset hash is the
 *    locked versions), as on any second synth; the first synth of a fresh clone also runs npm for it.
 * 2. Bundle size per Lambda function of the dev stage: index.mjs (minified ESM), its source map,
 *    and the deployment zip those two make (deflate, as the CDK asset zip). sharp is not in any
 *    bundle: it comes from the sharp layer.
 * 3. Cold import time: each bundle imported in a fresh Node process (BENCH_RUNS times, median and
 *    max), with the function's configuration from the template (secret ARNs and endpoints point at
 *    nothing: importing connects to nothing) and NODE_OPTIONS=--enable-source-maps as on Lambda.
 *    The compress bundle's external `sharp` resolves to this machine's sharp (node_modules), which
 *    stands in for the layer's arm64 build.
 *
 * Goals: compress <= 1.5 MB, every other function <= 1 MB (the deployment zip, without the sharp
 * layer); cold import <= 300 ms. The baseline is the health function: the middleware chain and
 * platform code every function carries, with no domain of its own. Writes
 * docs/benchmarks/bundles.md, and exits 1 when a goal is missed.
 *
 * Environment: BENCH_RUNS (imports per bundle, 5), BENCH_SKIP_SYNTH=1 (reuse cdk.out as it is).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { mebibytes, ms } from './format.ts';
import {
  type BenchmarkRun,
  type Goal,
  markdownTable,
  startRun,
  writeBenchmarkPage,
} from './report-page.ts';
import { summarise } from './stats.ts';

const ROOT = join(import.meta.dirname, '..');
const CDK_OUT = join(ROOT, 'cdk.out');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const STAGE = 'dev';
const MB = 1024 * 1024;
/** The baseline: the function with the least code of its own. */
const BASELINE = 'health';
const GOAL_IMPORT_MS = 300;
/** Zip size goals: compress carries the engine (and still not sharp); the rest share the core. */
const goalBytes = (fn: string) => (fn === 'compress' ? 1.5 * MB : 1 * MB);

interface LambdaResource {
  Type: string;
  Properties: {
    Code?: { S3Key?: string };
    Environment?: { Variables?: Record<string, unknown> };
  };
  Metadata?: { 'aws:cdk:path'?: string };
}

interface BundleRow {
  fn: string;
  bundleBytes: number;
  mapBytes: number;
  zipBytes: number;
  importMs: { median: number; max: number };
  importNoMapsMs: { median: number; max: number };
}

function synth(): number {
  const started = performance.now();
  const result = spawnSync('npm', ['run', '--silent', 'synth'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * MB,
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  if (result.status !== 0) {
    throw new Error(`npm run synth failed (exit ${result.status}):\n${result.stderr}`);
  }
  return performance.now() - started;
}

/** The Lambda functions of the stage's templates: name (from the construct path) and resource. */
function stageFunctions(): { fn: string; resource: LambdaResource }[] {
  const dir = join(CDK_OUT, `assembly-${STAGE}`);
  const found: { fn: string; resource: LambdaResource }[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      Resources: Record<string, LambdaResource>;
    };
    for (const resource of Object.values(template.Resources)) {
      const path = resource.Metadata?.['aws:cdk:path'] ?? '';
      const match = /^[^/]+\/[^/]+\/(\w+)Function\/Function\/Resource$/.exec(path);
      if (resource.Type !== 'AWS::Lambda::Function' || !match?.[1]) continue;
      found.push({ fn: match[1].charAt(0).toLowerCase() + match[1].slice(1), resource });
    }
  }
  return found.sort((a, b) => a.fn.localeCompare(b.fn));
}

/** Deploy-zip size estimate: every file deflated, plus zip headers (30 + 46 + 2 * name bytes). */
function zipBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => {
    const deflated = deflateRawSync(readFileSync(join(dir, name)), { level: 9 }).length;
    return sum + deflated + 76 + 2 * name.length;
  }, 22);
}

/** Median and max of `runs` fresh-process imports of `file`, in milliseconds. */
function coldImport(
  file: string,
  variables: Record<string, string>,
  nodeOptions: string,
): { median: number; max: number } {
  const script =
    'const t = performance.now();' +
    `await import(${JSON.stringify(pathToFileURL(file).href)});` +
    'process.stdout.write(String(performance.now() - t));';
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        ...variables,
        NODE_OPTIONS: nodeOptions,
      },
    });
    if (result.status !== 0) throw new Error(`importing ${file} failed:\n${result.stderr}`);
    samples.push(Number(result.stdout));
  }
  const { p50, max } = summarise(samples);
  return { median: p50, max };
}

/** The function's environment with unresolved references (ARNs, endpoints) as placeholders. */
function importEnvironment(resource: LambdaResource): Record<string, string> {
  const placeholders: Record<string, string> = {
    DB_HOST: 'proxy.invalid',
    DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-db',
    REDIS_URL: 'rediss://redis.invalid:6380',
    REDIS_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-redis',
  };
  return Object.fromEntries(
    Object.entries(resource.Properties.Environment?.Variables ?? {}).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : (placeholders[name] ?? 'placeholder'),
    ]),
  );
}

function measureBundles(): BundleRow[] {
  return stageFunctions().map(({ fn, resource }) => {
    const key = resource.Properties.Code?.S3Key ?? '';
    const dir = join(CDK_OUT, `asset.${key.replace(/\.zip$/, '')}`);
    const bundle = join(dir, 'index.mjs');
    const variables = importEnvironment(resource);
    return {
      fn,
      bundleBytes: statSync(bundle).size,
      mapBytes: statSync(`${bundle}.map`).size,
      zipBytes: zipBytes(dir),
      importMs: coldImport(bundle, variables, '--enable-source-maps'),
      importNoMapsMs: coldImport(bundle, variables, ''),
    };
  });
}

function goalsOf(rows: readonly BundleRow[]): Goal[] {
  return rows.flatMap((row) => [
    {
      goal: `\`${row.fn}\`: deployment zip`,
      measured: mebibytes(row.zipBytes),
      target: `<= ${mebibytes(goalBytes(row.fn))}`,
      met: row.zipBytes <= goalBytes(row.fn),
    },
    {
      goal: `\`${row.fn}\`: cold import, slowest of ${RUNS}`,
      measured: ms(row.importMs.max, 0),
      target: `<= ${GOAL_IMPORT_MS} ms`,
      met: row.importMs.max <= GOAL_IMPORT_MS,
    },
  ]);
}

const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;

async function writePage(
  run: BenchmarkRun,
  rows: readonly BundleRow[],
  synthMs: number | undefined,
) {
  const goals = goalsOf(rows);
  const base = rows.find((row) => row.fn === BASELINE) ?? (rows[0] as BundleRow);
  await writeBenchmarkPage(run, {
    name: 'bundles',
    title: 'Lambda bundles',
    source: 'bench/bundles.ts',
    measures: `What \`cdk deploy\` ships for each Lambda function of the ${STAGE} stage and how fast each bundle starts: \`npm run synth\` time, bundle and deployment zip sizes (without the sharp layer), and the cold import of each bundle in a fresh Node process.`,
    goals,
    baseline: `The \`${BASELINE}\` function, measured in the same run: the middleware chain and the platform code that every function carries, with no domain of its own (zip ${mebibytes(base.zipBytes)}, cold import ${ms(base.importMs.median, 0)} at p50). The ratio columns divide each function by it.`,
    results: [
      {
        heading: 'Synth',
        body: [
          synthMs === undefined
            ? '`BENCH_SKIP_SYNTH=1`: cdk.out reused as it was, synth not timed.'
            : `\`npm run synth\` (3 stages, bundling and cdk-nag): ${(synthMs / 1000).toFixed(1)} s.`,
        ],
      },
      {
        heading: `Bundles (${RUNS} cold imports each)`,
        body: markdownTable(
          [
            'function',
            'index.mjs',
            '.map',
            'zip',
            'zip / baseline',
            'goal',
            'cold import p50 / max',
            'import / baseline',
            'without source maps p50 / max',
          ],
          rows.map((row) => [
            row.fn,
            mebibytes(row.bundleBytes),
            mebibytes(row.mapBytes),
            mebibytes(row.zipBytes),
            ratio(row.zipBytes, base.zipBytes),
            `<= ${mebibytes(goalBytes(row.fn))}`,
            `${ms(row.importMs.median, 0)} / ${ms(row.importMs.max, 0)}`,
            ratio(row.importMs.median, base.importMs.median),
            `${ms(row.importNoMapsMs.median, 0)} / ${ms(row.importNoMapsMs.max, 0)}`,
          ]),
        ),
      },
    ],
    method: `\`npm run synth\` runs as a user runs it (the sharp layer is reused from cdk.out when present, as on any second synth). Each function's asset directory holds index.mjs (minified ESM) and its source map; the zip size is every file deflated plus zip headers, as the CDK asset zip. Each bundle is imported ${RUNS} times in a fresh Node process with the function's environment from the template (secret ARNs and endpoints point at nothing: importing connects to nothing) and \`NODE_OPTIONS=--enable-source-maps\` as on Lambda, and as many times without them. sharp is external in every bundle (the compress function loads it from the sharp layer); here it resolves to this machine's build.`,
  });
  return goals;
}

const run = startRun();
const synthMs = process.env.BENCH_SKIP_SYNTH === '1' ? undefined : synth();
const goals = await writePage(run, measureBundles(), synthMs);
const missed = goals.filter((goal) => goal.met === false);
if (missed.length > 0) {
  console.error(`\nMissed goals:\n  ${missed.map((g) => `${g.goal}: ${g.measured}`).join('\n  ')}`);
  process.exitCode = 1;
}
