import { describe, expect, it } from 'vitest';
import {
  addSample,
  type FrameSample,
  framesOf,
  overFloor,
  PHASES,
  samplesOf,
  summarisePhase,
} from '../../../bench/latency-stats.ts';

const frame = (size: string, profile: string, phases: FrameSample['phases']): FrameSample => ({
  size,
  profile,
  phases,
});

describe('the latency benchmark statistics', () => {
  it('keep every sample a frame gives of a phase, in order', () => {
    const phases: FrameSample['phases'] = {};
    addSample(phases, 'encode3', 4);
    addSample(phases, 'encode3', 2);
    addSample(phases, 'decode', 7);
    expect(phases).toEqual({ encode3: [4, 2], decode: [7] });
  });

  it('pool a phase over frames, skipping the frames that did not give it', () => {
    const frames = [
      frame('1280x720', 'a', { encode2: [3] }),
      frame('1280x720', 'a', {}),
      frame('1280x720', 'b', { encode2: [5, 6] }),
    ];
    expect(samplesOf(frames, 'encode2')).toEqual([3, 5, 6]);
  });

  it('take the p50 and p95 by nearest rank', () => {
    const frames = Array.from({ length: 20 }, (_, i) => frame('s', 'p', { decode: [20 - i] }));
    expect(summarisePhase(frames, 'decode')).toEqual({ p50: 10, p95: 19, n: 20 });
  });

  it('answer NaN and no samples for a phase no frame gave', () => {
    const summary = summarisePhase([frame('s', 'p', { decode: [1] })], 'encode2');
    expect(summary.n).toBe(0);
    expect(summary.p50).toBeNaN();
    expect(summary.p95).toBeNaN();
  });

  it('select frames by size, and by profile when one is given', () => {
    const frames = [frame('a', 'x', {}), frame('a', 'y', {}), frame('b', 'x', {})];
    expect(framesOf(frames, 'a')).toHaveLength(2);
    expect(framesOf(frames, 'a', 'y')).toEqual([frames[1]]);
  });

  it('give a ratio to the floor only against a positive floor', () => {
    expect(overFloor(30, 20)).toBe(1.5);
    expect(overFloor(30, 0)).toBeNaN();
    expect(overFloor(30, Number.NaN)).toBeNaN();
  });

  it('name every phase once', () => {
    const keys = PHASES.map((phase) => phase.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
