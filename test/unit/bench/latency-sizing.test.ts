import { describe, expect, it } from 'vitest';
import {
  ARM64_PRICE,
  billedGbSeconds,
  billedMsOf,
  choiceText,
  chooseSize,
  costPerMillion,
  EMULATED_SIZES,
  type LambdaSize,
  type SizingReport,
  type SizingRun,
  sizingGoal,
  sizingRow,
  sizingTable,
} from '../../../bench/latency-sizing.ts';

const [ONE, TWO] = EMULATED_SIZES as [LambdaSize, LambdaSize];

const run = (size: LambdaSize, decodeEngineMs: number[], billedMs: number[]): SizingRun => ({
  size,
  decodeEngineMs,
  totalMs: decodeEngineMs.map((ms) => ms + 2),
  billedMs,
  cpusSeen: size.vcpus,
});

const report = (runs: SizingRun[]): SizingReport => ({
  runs,
  profiles: ['fast'],
  load: { start: 1, end: 1 },
});

describe('the memory-size cost arithmetic of the latency benchmark', () => {
  it('bills each duration rounded up to the next whole millisecond, times the memory in GB', () => {
    expect(billedGbSeconds([20.1, 19.9, 21], 1024)).toBeCloseTo(0.021 + 0.02 + 0.021, 12);
    expect(billedGbSeconds([10], 2048)).toBeCloseTo(0.02, 12);
  });

  it('bills nothing for no invocations', () => {
    expect(billedGbSeconds([], 1769)).toBe(0);
  });

  it('scales the mean cost of a frame to a million frames and adds the request charge', () => {
    const cost = costPerMillion([25, 25], 1024, { perGbSecond: 0.00001, perRequest: 0.2e-6 });
    expect(cost.gbSecondsPerFrame).toBeCloseTo(0.025, 12);
    expect(cost.dollarsPerMillion).toBeCloseTo(1e6 * (0.025 * 0.00001) + 0.2, 9);
  });

  it('prices a 30 ms frame at 1769 MiB at the published arm64 rate', () => {
    const { dollarsPerMillion } = costPerMillion([29.2], 1769);
    const gbSeconds = 0.03 * (1769 / 1024);
    expect(dollarsPerMillion).toBeCloseTo(1e6 * gbSeconds * 0.0000133334 + 0.2, 9);
    expect(ARM64_PRICE.perRequest * 1e6).toBeCloseTo(0.2, 12);
  });

  it('emulates one vCPU at 1769 MiB on one core and two at 3538 MiB on two', () => {
    expect(ONE).toEqual({ memoryMiB: 1769, vcpus: 1, cpuList: '0' });
    expect(TWO).toEqual({ memoryMiB: 3538, vcpus: 2, cpuList: '0,1' });
  });

  it("bills a frame's whole request in the service plus the handler's parse and response", () => {
    const phases = { svcWall: [20], request: [0.5], base64: [0.1], json: [0.2], decode: [6] };
    expect(billedMsOf(phases)).toBeCloseTo(20.8, 12);
  });
});

describe('the choice of a memory size', () => {
  it('chooses the cheapest size among those that keep the budget at p95', () => {
    const rows = [run(ONE, [15, 18, 19], [30, 30, 30]), run(TWO, [9, 10, 11], [18, 18, 18])].map(
      (r) => sizingRow(r),
    );
    expect(rows.map((r) => r.withinBudget)).toEqual([true, true]);
    expect(chooseSize(rows)).toEqual({ row: rows[0], withinBudget: true });
  });

  it('leaves out a cheaper size that misses the budget', () => {
    const rows = [run(ONE, [15, 18, 25], [30, 30, 30]), run(TWO, [9, 10, 11], [18, 18, 18])].map(
      (r) => sizingRow(r),
    );
    expect(chooseSize(rows)?.row.size).toBe(TWO);
  });

  it('chooses the lowest p95 when no size keeps the budget, and says so', () => {
    const rows = [run(ONE, [30, 40], [45, 45]), run(TWO, [25, 28], [30, 30])].map((r) =>
      sizingRow(r),
    );
    expect(chooseSize(rows)).toEqual({ row: rows[1], withinBudget: false });
    expect(sizingGoal(report([run(ONE, [30, 40], [45, 45])]))?.target).toContain('lowest p95');
  });

  it('chooses nothing without runs', () => {
    expect(chooseSize([])).toBeUndefined();
    expect(sizingGoal(report([]))).toBeUndefined();
  });
});

describe('the sizing table', () => {
  it("puts a new account's largest size, 3008 MiB, between the measured sizes, costed on both runs' durations", () => {
    const lines = sizingTable(report([run(ONE, [15, 18], [20, 20]), run(TWO, [9, 10], [10, 10])]));
    expect(lines).toHaveLength(5);
    const quotaRow = lines[3] ?? '';
    expect(quotaRow).toContain("3008 MiB (1.70 vCPUs), a new account's limit");
    const low = costPerMillion([10, 10], 3008).dollarsPerMillion.toFixed(2);
    const high = costPerMillion([20, 20], 3008).dollarsPerMillion.toFixed(2);
    expect(quotaRow).toContain(`$${low} to $${high}`);
    expect(lines[2]).toContain('**1769 MiB (1 vCPU)**');
  });

  it('names the chosen size with the cost of the other beside it', () => {
    const text = choiceText(report([run(ONE, [15, 18], [20, 20]), run(TWO, [9, 10], [10, 10])]));
    expect(text).toContain('Chosen: **1769 MiB (1 vCPU)**');
    expect(text).toContain('Against 3538 MiB (2 vCPUs): p95 10.0 ms');
  });
});
