/**
 * One abuse scenario against a running local runtime, in two phases of the same run: the legitimate
 * clients alone (the baseline), then the same clients while the attack runs. What it reports is
 * what the issue asks of each attack: the server's RSS and event-loop delay during the attack (from
 * the loop probe preloaded into the server), and the legitimate clients' frame latency p95 with
 * and without it.
 */
import { readFileSync } from 'node:fs';
import type { Outcomes } from './attacks.ts';
import {
  grpcLegitClient,
  httpLegitClient,
  type LegitRecord,
  type LegitTarget,
} from './legit-clients.ts';
import type { LoopSample } from './loop-probe.ts';

/** The runtime under attack. */
export interface ScenarioTarget extends LegitTarget {
  /** `Bearer <token>` of the legitimate user, for HTTP. */
  authorization: string;
  /** The loop probe's file (`AIC_LOOP_PROBE_FILE` of the runtime). */
  probeFile: string;
}

/** A phase's legitimate traffic. */
export interface PhaseResult {
  grpc: LegitRecord;
  http: LegitRecord;
  /** Server samples taken during the phase. */
  samples: LoopSample[];
}

/** What one scenario measured. */
export interface ScenarioResult {
  name: string;
  baseline: PhaseResult;
  attack: PhaseResult;
  attackOutcomes: Outcomes;
  /** The server answered `/health` with 200 after the attack. */
  aliveAfter: boolean;
}

/** The `q` quantile (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function probeSamples(file: string, from: number, to: number): LoopSample[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LoopSample)
    .filter((sample) => sample.t > from && sample.t <= to + 300);
}

async function phase(
  target: ScenarioTarget,
  durationMs: number,
  attack?: (signal: AbortSignal) => Promise<Outcomes>,
): Promise<PhaseResult & { outcomes: Outcomes }> {
  const from = Date.now();
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), durationMs);
  const [grpc, http, outcomes] = await Promise.all([
    grpcLegitClient(target, stop.signal),
    httpLegitClient(target, target.authorization, stop.signal),
    attack ? attack(stop.signal) : Promise.resolve({}),
  ]);
  clearTimeout(timer);
  return { grpc, http, outcomes, samples: probeSamples(target.probeFile, from, Date.now()) };
}

/** Runs the baseline phase, then the attack phase, then checks the server still answers. */
export async function runScenario(
  name: string,
  target: ScenarioTarget,
  attack: (signal: AbortSignal) => Promise<Outcomes>,
  timing: { baselineMs: number; attackMs: number },
): Promise<ScenarioResult> {
  const baseline = await phase(target, timing.baselineMs);
  const { outcomes, ...attacked } = await phase(target, timing.attackMs, attack);
  const health = await fetch(`${target.httpUrl}/health`, { signal: AbortSignal.timeout(5000) })
    .then((response) => response.status === 200)
    .catch(() => false);
  const { outcomes: _, ...baselinePhase } = baseline;
  return {
    name,
    baseline: baselinePhase,
    attack: attacked,
    attackOutcomes: outcomes,
    aliveAfter: health,
  };
}

/** The figures of a scenario the suite reports and checks. */
export function summarise(result: ScenarioResult) {
  const rssBefore = Math.min(...result.baseline.samples.slice(-4).map((s) => s.rssMiB));
  const rssPeak = Math.max(...result.attack.samples.map((s) => s.rssMiB));
  const legitFailures = (phase: PhaseResult) =>
    [phase.grpc, phase.http].reduce(
      (sum, record) => sum + Object.values(record.failures).reduce((a, b) => a + b, 0),
      0,
    );
  return {
    grpcP95: {
      baseline: quantile(result.baseline.grpc.latenciesMs, 0.95),
      attack: quantile(result.attack.grpc.latenciesMs, 0.95),
    },
    httpP95: {
      baseline: quantile(result.baseline.http.latenciesMs, 0.95),
      attack: quantile(result.attack.http.latenciesMs, 0.95),
    },
    legitFrames: result.attack.grpc.latenciesMs.length + result.attack.http.latenciesMs.length,
    legitFailures: legitFailures(result.baseline) + legitFailures(result.attack),
    rssGrowthMiB: rssPeak - rssBefore,
    rssPeakMiB: rssPeak,
    loopP99Ms: quantile(
      result.attack.samples.map((s) => s.p99Ms),
      0.5,
    ),
    loopMaxMs: Math.max(...result.attack.samples.map((s) => s.maxMs)),
  };
}
