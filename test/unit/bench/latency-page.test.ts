import { describe, expect, it } from 'vitest';
import {
  breakdownTable,
  type FrameOutcome,
  floorTable,
  type LatencyReport,
  latencyGoals,
  profileTable,
} from '../../../bench/latency-page.ts';
import { type FrameSample, PHASES } from '../../../bench/latency-stats.ts';

const HD = '1280x720';
const FHD = '1920x1080';

const sample = (size: string, phases: FrameSample['phases']): FrameSample => ({
  size,
  profile: 'fast',
  phases,
});

const outcome = (
  size: string,
  fallbackReason: string | null,
  feasible?: boolean,
): FrameOutcome => ({
  size,
  profile: 'fast',
  encodes: 1,
  status: fallbackReason ? 'fallback' : 'success',
  fallbackReason,
  feasible,
});

function report(samples: FrameSample[], outcomes: FrameOutcome[]): LatencyReport {
  return {
    sizes: [HD, FHD],
    profiles: ['fast'],
    samples,
    outcomes,
    floorCandidates: new Map([[HD, 'jpeg q30 x0.25 (2 of 2)']]),
    kernelsAgree: true,
    kernelsUnavailable: undefined,
    settings: {
      framesPerSession: 2,
      floorEvery: 2,
      floorRepeats: 3,
      libvipsThreads: 2,
      uvThreadpool: '2',
    },
  };
}

const rowOf = (lines: readonly string[], text: string) => lines.find((line) => line.includes(text));

describe('the latency benchmark page', () => {
  it('gives every phase a row with p50, p95 and samples for each size', () => {
    const lines = breakdownTable(
      [sample(HD, { decode: [4, 6] }), sample(FHD, { decode: [9] })],
      [HD, FHD],
    );
    expect(lines[0]).toBe(`| part | phase | ${HD} p50 | p95 | n | ${FHD} p50 | p95 | n |`);
    expect(lines).toHaveLength(PHASES.length + 2);
    expect(rowOf(lines, 'input decode')).toContain('| 4.00 | 6.00 | 2 | 9.00 | 9.00 | 1 |');
  });

  it('shows a phase no frame gave as a dash with no samples', () => {
    const lines = breakdownTable([sample(HD, {})], [HD]);
    expect(rowOf(lines, 'encode 2')).toMatch(/\| - \| - \| 0 \|$/);
  });

  it('divides the p95 of decode + engine by the p95 of the floor', () => {
    const samples = [sample(HD, { decodeEngine: [30], floor: [20], svcTotal: [35] })];
    const lines = profileTable(report(samples, [outcome(HD, null)]));
    expect(rowOf(lines, HD)).toContain(
      '| 30.0 / 30.0 | 35.0 / 35.0 | 20.0 / 20.0 (n = 1) | 1.50x | 0 | 0 |',
    );
    expect(rowOf(floorTable(report(samples, [])), HD)).toContain(
      '| 1.50x | jpeg q30 x0.25 (2 of 2) |',
    );
  });

  it('judges the goals on the p95s and shows a floor above a goal once', () => {
    const samples = [
      sample(HD, { decodeEngine: [18], svcTotal: [30], floor: [26] }),
      sample(FHD, { decodeEngine: [34], floor: [20] }),
    ];
    const goals = latencyGoals(report(samples, [outcome(HD, null, true)]));
    const verdicts = goals.map((g) => [g.goal, g.met]);
    expect(verdicts).toEqual([
      [`decode + engine p95, ${HD}`, true],
      [`for reference: floor p95, ${HD}`, undefined],
      [`\`latency_ms.total\` p95, ${HD}`, false],
      [`decode + engine p95, ${FHD}`, true],
      ['`latency_budget_exhausted` where the byte budget can be met (frames with a grid)', true],
    ]);
  });

  it('counts a frame out of latency only against the goal when its budget could be met', () => {
    const outcomes = [
      outcome(HD, 'latency_budget_exhausted', false),
      outcome(HD, 'latency_budget_exhausted', undefined),
      outcome(HD, 'latency_budget_exhausted', true),
      outcome(HD, null, true),
    ];
    const goal = latencyGoals(report([], outcomes)).at(-1);
    expect(goal?.measured).toBe('1 of 2 (all frames: 3 of 4)');
    expect(goal?.met).toBe(false);
  });
});
