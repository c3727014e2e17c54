/**
 * The page of the compression benchmark (docs/benchmarks/compress.md), built from the record of
 * every frame, the peak-RSS child's report and the plot's frame.
 */
import sharp from 'sharp';
import type { RssReport } from './compress-rss.ts';
import {
  CONTENTS,
  type FrameRecord,
  floorMs,
  GOALS,
  HD,
  isFeasible,
  isInfeasible,
  ORACLE_EVERY,
  overBare,
  RESOLUTIONS,
  SESSION_FRAMES,
  sizeLabel,
  spentLatency,
  ssimRatio,
  strictSsimRatio,
  totalMs,
  WARM_FRAMES,
} from './compress-run.ts';
import { POLICY, PROFILES } from './compress-support.ts';
import { fixed, formatBytes, ms, pct, times } from './format.ts';
import { type BenchmarkPage, type Goal, markdownTable, type PageSection } from './report-page.ts';
import { mean, median, quantile } from './stats.ts';

/** What the run knows besides the records. */
export interface CompressRunFacts {
  readonly rss: RssReport;
  /** The frame of the 1280x720 scene pan session the plot shows. */
  readonly plotIndex: number;
  /** 1-minute load average before and after the timed sessions. */
  readonly sessionLoad: readonly [number, number];
  /** The plot's path relative to the page. */
  readonly plotLink: string;
}

const ms1 = (value: number) => ms(value, 1);
const hdTimed = (records: readonly FrameRecord[]) => records.filter((r) => r.bareMs !== undefined);
const at = (records: readonly FrameRecord[], size: { width: number; height: number }) =>
  records.filter((r) => r.resolution === sizeLabel(size));
const share = (records: readonly FrameRecord[], test: (r: FrameRecord) => boolean) =>
  mean(records.map((r) => (test(r) ? 1 : 0)));

function qualityGoals(records: readonly FrameRecord[]): Goal[] {
  const feasible = records.filter(isFeasible);
  const feasibleSent = feasible.filter((r) => r.withinBudget && r.chosen !== undefined);
  const warm = records.filter((r) => r.index >= WARM_FRAMES);
  const ssim = mean(feasibleSent.map(ssimRatio));
  const within = share(feasible, (r) => r.withinBudget);
  const encodes = mean(warm.map((r) => r.encodes));
  return [
    {
      goal: '1. mean SSIM vs the oracle, feasible frames sent within budget',
      measured: `${fixed(ssim, 4)} (n = ${feasibleSent.length}; ${fixed(mean(feasible.map(strictSsimRatio)), 4)} over all ${feasible.length} feasible frames, a miss counting 0)`,
      target: `>= ${GOALS.ssimRatio}`,
      met: ssim >= GOALS.ssimRatio,
    },
    {
      goal: '2. frames within budget where feasible',
      measured: `${pct(within)} (${feasible.filter((r) => r.withinBudget).length}/${feasible.length})`,
      target: `>= ${GOALS.withinBudget * 100} %`,
      met: within >= GOALS.withinBudget,
    },
    {
      goal: `3. encodes per frame after frame ${WARM_FRAMES}`,
      measured: `${fixed(encodes, 2)} (n = ${warm.length})`,
      target: `<= ${GOALS.encodesPerFrame}`,
      met: encodes <= GOALS.encodesPerFrame,
    },
  ];
}

function costGoals(records: readonly FrameRecord[], rss: RssReport): Goal[] {
  const timed = hdTimed(records);
  const ratio = median(timed.map(overBare));
  const p95Small = quantile(at(records, RESOLUTIONS[0]).map(totalMs), 95);
  const hd = sizeLabel(HD);
  return [
    {
      goal: `4. engine time / one bare encode, median, ${hd}`,
      measured: `${times(ratio)} (n = ${timed.length})`,
      target: `<= ${GOALS.engineOverBare}x`,
      met: ratio <= GOALS.engineOverBare,
    },
    {
      goal: `4. for reference: (encode + one decode of the output) / encode, median, ${hd}`,
      measured: times(median(timed.map((r) => floorMs(r) / (r.bareMs as number)))),
      target: 'the least a measured frame costs',
      met: undefined,
    },
    {
      goal: `4. for reference: one measured encode (no search) / encode, median, ${hd}`,
      measured: times(
        median(timed.map((r) => (r.measuredEncodeMs as number) / (r.bareMs as number))),
      ),
      target: 'the least the engine costs with its measurement',
      met: undefined,
    },
    {
      goal: `5. p95 added latency (decode + engine), ${sizeLabel(RESOLUTIONS[0])}`,
      measured: ms1(p95Small),
      target: `<= ${GOALS.p95Ms360} ms`,
      met: p95Small <= GOALS.p95Ms360,
    },
    {
      goal: `5. p95 added latency (decode + engine), ${hd}`,
      measured: ms1(quantile(at(records, HD).map(totalMs), 95)),
      target: 'no goal',
      met: undefined,
    },
    {
      goal: `6. peak RSS, ${rss.frames} frames of ${rss.width}x${rss.height} back to back`,
      measured: `${fixed(rss.peakRssMb, 0)} MB`,
      target: `<= ${GOALS.peakRssMb} MB`,
      met: rss.peakRssMb <= GOALS.peakRssMb,
    },
  ];
}

function sessionRow(records: readonly FrameRecord[]): string[] {
  const first = records[0] as FrameRecord;
  const feasible = records.filter(isFeasible);
  const sent = records.filter((r) => r.chosen !== undefined);
  return [
    first.resolution,
    first.content,
    first.profile,
    formatBytes(median(records.map((r) => r.budgetBytes))),
    formatBytes(mean(records.map((r) => r.sentBytes))),
    fixed(mean(sent.map((r) => r.chosen?.ssim ?? 0)), 3),
    pct(share(records, (r) => r.withinBudget)),
    `${feasible.length}/${records.filter((r) => r.oracleRun).length}`,
    feasible.length === 0 ? 'n/a' : pct(share(feasible, (r) => r.withinBudget)),
    fixed(mean(feasible.filter((r) => r.withinBudget && r.chosen).map(ssimRatio)), 3),
    fixed(mean(records.filter((r) => r.index >= WARM_FRAMES).map((r) => r.encodes)), 2),
    String(records.length - sent.length),
    fixed(quantile(records.map(totalMs), 95), 1),
  ];
}

function sessionSection(records: readonly FrameRecord[]): PageSection {
  const rows = RESOLUTIONS.flatMap((size) =>
    CONTENTS.flatMap((content) =>
      PROFILES.map((profile) =>
        sessionRow(
          records.filter(
            (r) =>
              r.resolution === sizeLabel(size) &&
              r.content === content.label &&
              r.profile === profile.name,
          ),
        ),
      ),
    ),
  );
  const header = [
    'size',
    'content',
    'profile',
    'budget (median)',
    'sent, mean',
    'SSIM, mean',
    'within budget, all frames',
    'feasible / oracle frames',
    'within budget, feasible',
    'SSIM vs oracle, feasible, in budget',
    `encodes/frame after ${WARM_FRAMES}`,
    'fallbacks',
    'p95 ms',
  ];
  return {
    heading: 'Per session',
    body: [
      ...markdownTable(header, rows),
      '',
      '"sent" is the chosen encoding, or the original frame on fallback. "SSIM, mean" is over the frames that sent an encoding.',
    ],
  };
}

function missesSection(records: readonly FrameRecord[]): PageSection {
  const feasible = records.filter(isFeasible);
  const rows = RESOLUTIONS.flatMap((size) =>
    CONTENTS.flatMap((content) => {
      const f = feasible.filter(
        (r) => r.resolution === sizeLabel(size) && r.content === content.label,
      );
      if (f.length === 0) return [];
      const misses = f.filter((r) => !r.withinBudget);
      return [
        [
          sizeLabel(size),
          content.label,
          `${misses.length}/${f.length}`,
          String(misses.filter((r) => r.chosen === undefined).length),
          fixed(mean(misses.map((r) => r.encodes)), 2),
          pct(share(misses, spentLatency)),
          times(mean(misses.map((r) => r.sentBytes / r.budgetBytes))),
        ],
      ];
    }),
  );
  const header = [
    'size',
    'content',
    'misses / feasible',
    'fallbacks',
    'encodes, mean',
    'latency budget spent',
    'sent / budget, mean',
  ];
  return {
    heading: 'Budget misses on feasible frames',
    body: [
      ...markdownTable(header, rows),
      '',
      `Contents without a feasible frame are left out. "latency budget spent": the engine took at least the ${POLICY.maxLatencyMs} ms budget minus the decode time, so it could not try again after a miss.`,
    ],
  };
}

function fallbacksSection(records: readonly FrameRecord[]): PageSection {
  const infeasible = records.filter(isInfeasible);
  const noValid = infeasible.filter((r) => r.oracle === undefined);
  const smallest = infeasible.filter((r) => r.oracle !== undefined);
  const overBytes = smallest.map((r) => r.sentBytes / (r.oracle?.chosen.bytes ?? 1));
  const reasons = new Map<string, number>();
  for (const r of records) {
    if (r.fallbackReason) reasons.set(r.fallbackReason, (reasons.get(r.fallbackReason) ?? 0) + 1);
  }
  const reasonList =
    reasons.size === 0 ? 'none' : [...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ');
  return {
    heading: 'Infeasible budgets and fallbacks',
    body: [
      `${infeasible.length} of ${records.filter((r) => r.oracleRun).length} oracle frames have no candidate that fits the budget and meets the floor. On the ${smallest.length} where some candidate meets the floor, the rule sends the smallest such encoding (the oracle's choice): the engine sent ${times(mean(overBytes))} its bytes on average (median ${times(median(overBytes))}), ${smallest.filter((r) => r.chosen === undefined).length} of them as the uncompressed original (a fallback). On the ${noValid.length} where no candidate meets the floor, a fallback is the right answer. Fallbacks over all ${records.length} frames: ${reasonList}.`,
    ],
  };
}

function encodesSection(records: readonly FrameRecord[]): PageSection {
  const rows = RESOLUTIONS.map((size) => {
    const rs = at(records, size);
    const late = rs.filter((r) => r.index >= WARM_FRAMES);
    return [
      sizeLabel(size),
      fixed(mean(rs.filter((r) => r.index < WARM_FRAMES).map((r) => r.encodes)), 2),
      fixed(mean(late.map((r) => r.encodes)), 2),
      String(Math.max(...late.map((r) => r.encodes))),
      pct(share(rs, spentLatency)),
    ];
  });
  const header = [
    'size',
    `frames 0..${WARM_FRAMES - 1}`,
    `frames ${WARM_FRAMES}..${SESSION_FRAMES - 1}`,
    'max after warm-up',
    'frames that spent the latency budget',
  ];
  return {
    heading: 'Encodes per frame',
    body: [
      ...markdownTable(header, rows),
      '',
      'The engine starts no encode it does not expect to finish within the latency budget, so where most frames spend that budget, few encodes per frame say more about the latency budget than about the model.',
    ],
  };
}

function latencySection(records: readonly FrameRecord[], facts: CompressRunFacts): PageSection {
  const rows = RESOLUTIONS.map((size) => {
    const rs = at(records, size);
    const decode = rs.map((r) => r.decodeMs);
    const engine = rs.map((r) => r.engineMs);
    const total = rs.map(totalMs);
    return [
      sizeLabel(size),
      String(rs.length),
      ...[decode, engine, total].flatMap((values) =>
        [quantile(values, 50), quantile(values, 95)].map(ms1),
      ),
      ms1(Math.max(...total)),
    ];
  });
  const header = ['size', 'frames', 'decode p50', 'decode p95', 'engine p50', 'engine p95'];
  return {
    heading: 'Latency (decode + engine, as the service runs them)',
    body: [
      ...markdownTable([...header, 'total p50', 'total p95', 'total max'], rows),
      '',
      `1-minute load average ${fixed(facts.sessionLoad[0], 1)} before and ${fixed(facts.sessionLoad[1], 1)} after the timed sessions.`,
    ],
  };
}

function engineRow(records: readonly FrameRecord[], label: string): string[] {
  const bare = (r: FrameRecord) => r.bareMs as number;
  const measured = (r: FrameRecord) => r.measuredEncodeMs as number;
  const ratios = records.map(overBare);
  return [
    label,
    String(records.length),
    ms1(median(records.map((r) => r.engineMs))),
    ms1(median(records.map(bare))),
    times(median(ratios)),
    times(quantile(ratios, 95)),
    ms1(median(records.map(floorMs))),
    times(median(records.map((r) => r.engineMs / floorMs(r)))),
    times(median(records.map((r) => measured(r) / bare(r)))),
    times(median(records.map((r) => r.engineMs / measured(r)))),
    fixed(mean(records.map((r) => r.encodes)), 2),
  ];
}

function engineSection(records: readonly FrameRecord[]): PageSection {
  const timed = hdTimed(records);
  const rows = [...CONTENTS.map((c) => c.label), 'all'].map((label) =>
    engineRow(
      timed.filter((r) => label === 'all' || r.content === label),
      label,
    ),
  );
  const header = [
    'content',
    'frames',
    'engine median',
    'bare encode median',
    'ratio median',
    'ratio p95',
    'floor: encode + output decode',
    'engine / floor, median',
    'one measured encode / bare, median',
    'engine / one measured encode, median',
    'encodes/frame',
  ];
  return {
    heading: `Engine time against one bare encode (${sizeLabel(HD)})`,
    body: [
      ...markdownTable(header, rows),
      '',
      "The engine always measures what it sends (decode of the output, upscale to the input size, SSIM and PSNR), so even a one-encode frame costs an encode plus a measurement plus the input's luma. The floor column is what any engine that measures its output pays at the least: the encode and one decode of the output, timed right after; the SSIM and PSNR arithmetic and any further encodes are the engine's own cost above it. \"One measured encode\" is the engine's own tools with no search at all: a fresh port, one encode at the chosen parameters and its measurement (the input's luma, the output's decode and upscale, SSIM and PSNR), timed right after; the engine over it is what the search and the model add.",
    ],
  };
}

function rssSection(rss: RssReport): PageSection {
  return {
    heading: `Peak RSS (${rss.width}x${rss.height})`,
    body: [
      `A separate Node process (\`bench/compress-rss.ts\`) read ${rss.frames} scene frames (JPEG q90, up to ${formatBytes(rss.maxInputBytes)}) one after the other and served each (decode + engine, ${PROFILES[0]?.name}, one session): RSS ${fixed(rss.baselineRssMb, 0)} MB before the first frame, **peak ${fixed(rss.peakRssMb, 0)} MB** (getrusage maxrss, whole process life). Per frame: median ${fixed(median(rss.frameMs), 0)} ms, max ${fixed(Math.max(...rss.frameMs), 0)} ms, ${fixed(mean(rss.encodes), 2)} encodes, ${rss.fallbacks} fallbacks.`,
    ],
  };
}

function plotSection(facts: CompressRunFacts): PageSection {
  return {
    heading: 'Bytes vs SSIM',
    body: [
      `![Bytes vs SSIM for every candidate of one ${sizeLabel(HD)} scene frame, with the engine's and the oracle's picks per network profile](${facts.plotLink})`,
      '',
      `Frame ${facts.plotIndex} of the ${sizeLabel(HD)} scene pan: every candidate of the grid, the three budgets, the engine's pick in each profile's session (stars) and the oracle's (rings).`,
    ],
  };
}

function baseline(records: readonly FrameRecord[]): string {
  const feasibleSent = records.filter(
    (r) => isFeasible(r) && r.withinBudget && r.chosen !== undefined,
  );
  const timed = hdTimed(records);
  return `Two baselines, measured in the same run on the same frames. The exhaustive oracle encodes and measures the whole grid and applies the same rule without a latency limit: the engine's choices reach ${fixed(mean(feasibleSent.map(ssimRatio)), 4)} of the oracle's SSIM (goal 1). One bare encode at the engine's chosen parameters, timed right after the engine on the same port: the engine takes ${times(median(timed.map(overBare)))} its time (median, ${sizeLabel(HD)}; goal 4), against a floor of ${times(median(timed.map((r) => floorMs(r) / (r.bareMs as number))))} for an encode plus the one decode that measuring it needs.`;
}

function method(records: readonly FrameRecord[]): string {
  const oracleFrames = records.filter((r) => r.oracleRun).length;
  return [
    `Policy as production resolves it for a caller with no stored config: mode \`${POLICY.mode}\`, target ratio ${POLICY.targetCompressionRatio}, SSIM floor ${POLICY.minQualityScore}, latency budget ${POLICY.maxLatencyMs} ms minus the decode time, formats ${POLICY.allowedFormats.join(' + ')}. Frames are JPEG q90 as a client would send them, decoded with \`decodeFrame\` and compressed through \`createSharpEnginePort\`. Sessions of ${SESSION_FRAMES} frames, one per resolution x content x profile (${records.length / SESSION_FRAMES} sessions, ${records.length} frames), each starting from the cold-start model and carrying it from frame to frame through its JSON form, as Redis does. Network profiles (1 % loss; budget = bandwidth x 0.99 x 0.85 / fps, capped at 20 % of the input): ${PROFILES.map((p) => p.name).join(', ')}. Content: ${CONTENTS.map((c) => `**${c.label}**: ${c.description}`).join('; ')}.`,
    '',
    `The oracle encodes and measures the whole grid (${POLICY.allowedFormats.length} formats x 16 qualities x up to 5 scales). It is expensive, so it runs only on frames 0, ${ORACLE_EVERY}, ${2 * ORACLE_EVERY}, ... of each session (${oracleFrames} frame x profile pairs), after the timed sessions; goals 1 and 2 are measured on those frames only. Goal 1 is the mean over frames of (SSIM of the engine's encoding) / (SSIM of the oracle's choice), on the oracle frames whose budget is feasible (some candidate fits the budget and meets the floor) and that the engine sent within the budget: there the oracle's choice is the best possible, so the ratio is at most 1. An engine pick over the budget may have a higher SSIM than the best in-budget one, so it would flatter the ratio; such frames are goal 2's misses, and the stricter figure in parentheses counts them, and fallbacks, as 0. Goal 4 divides \`createSharpEnginePort\` + \`compressFrame\` by one \`encode\` of the chosen candidate on the same port (one sharp resize + encode with the production settings), timed right after.`,
  ].join('\n');
}

/** The whole page. */
export function compressPage(records: readonly FrameRecord[], facts: CompressRunFacts) {
  return {
    name: 'compress',
    title: 'Compression engine',
    source: 'bench/compress.ts',
    measures: `The compression engine on real encodes (the production sharp port on decoded frames): ${CONTENTS.length} kinds of synthetic content at ${RESOLUTIONS.map(sizeLabel).join(' and ')} under ${PROFILES.length} network profiles, against an exhaustive oracle and a bare encode; the peak RSS of a process serving ${sizeLabel(facts.rss)} frames.`,
    machine: [`sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`],
    goals: [...qualityGoals(records), ...costGoals(records, facts.rss)],
    baseline: baseline(records),
    results: [
      sessionSection(records),
      missesSection(records),
      fallbacksSection(records),
      encodesSection(records),
      latencySection(records, facts),
      engineSection(records),
      rssSection(facts.rss),
      plotSection(facts),
    ],
    method: method(records),
  } satisfies BenchmarkPage;
}
