import { describe, expect, it } from 'vitest';
import { networkBytesPerFrame } from '../../../../functions/core/network/budget.ts';
import { BURST_SECONDS } from '../../../../functions/core/temporal/bit-bucket.ts';
import {
  applyChange,
  MAX_VIEWER_BYTES,
  type TemporalChange,
} from '../../../../functions/core/temporal/session-state.ts';
import {
  nextFrameBudget,
  planTemporal,
} from '../../../../functions/core/temporal/temporal-plan.ts';
import { encodeSignature } from '../../../../functions/core/temporal/tile-signature.ts';

const RATE = 100_000;
const network = { bandwidthKbps: 800 / 0.85, packetLossPercent: 0, fps: 10 };
const frame = { width: 64, height: 36, digest: () => 'a' };
const change = (sent: number, clockUs: number, keepViewer = true): TemporalChange => ({
  bucket: { clockUs, bytesPerSecond: RATE, fps: 10 },
  sent: Buffer.alloc(sent, 1),
  frame,
  quality: { ssim: 0.97, psnrDb: 38 },
  keepViewer,
});
const measured = (ssim: number) => async () => ({ ssim, psnrDb: 40, measureMs: 1 });

describe('a session temporal state', () => {
  it('counts both frames when a change lands on a state another frame wrote meanwhile', () => {
    const first = applyChange({}, change(10_000, 0));
    const both = applyChange(first, change(5_000, 0));
    expect(both.bucket?.tokens).toBe(RATE / 10 - 15_000);
    expect(both.bucket?.sent.map((s) => s.bytes)).toEqual([10_000, 5_000]);
  });

  it('keeps what was sent as the viewer image, and the previous one when nothing was sent', async () => {
    const sent = applyChange({}, change(100, 0));
    expect((await sent.viewer?.image())?.length).toBe(100);
    const nothing = applyChange(sent, change(0, 100_000));
    expect(nothing.viewer).toBe(sent.viewer);
  });

  it('marks the viewer image a full bucket could not better, only when it was made from the same frame', () => {
    const state = applyChange({}, change(100, 0));
    const stalled = applyChange(state, { ...change(0, 100_000), stalledAt: 50_000 });
    expect(stalled.viewer?.stalledAt).toBe(50_000);
    const other = applyChange(state, {
      ...change(0, 100_000),
      frame: { ...frame, digest: () => 'other' },
      stalledAt: 50_000,
    });
    expect(other.viewer?.stalledAt).toBeUndefined();
  });

  it('lets the frame after a dropped one spend all the bucket holds, and the one after a sent frame its share', () => {
    const start = applyChange({}, change(100, 0));
    const dropped = applyChange(start, { ...change(0, 500_000), missed: true });
    expect(dropped.bucket?.missed).toBe(true);
    const next = nextFrameBudget(dropped.bucket, network);
    const sent = applyChange(dropped, change(100, 600_000));
    expect(sent.bucket?.missed).toBeUndefined();
    expect(nextFrameBudget(sent.bucket, network)).toBeLessThan(next);
    expect(next).toBeGreaterThan(networkBytesPerFrame(network) * 2);
  });

  it('keeps what the ladder learnt with the viewer image, through frames that sent nothing', () => {
    const learnt = { 'webp-lossless@100x1': { bytes: 169_000, encodeMs: 40, ssim: 1 } };
    const more = { ...learnt, 'png-palette@16x1': { bytes: 47_000, encodeMs: 30, ssim: 0.999 } };
    const sent = applyChange({}, { ...change(100, 0), ladder: learnt });
    expect(sent.viewer?.ladder).toEqual(learnt);
    const refined = applyChange(sent, { ...change(0, 100_000), ladder: more });
    expect(refined.viewer?.ladder).toEqual(more);
    expect(refined.viewer?.digest).toBe(sent.viewer?.digest);
    expect(applyChange(refined, change(0, 200_000)).viewer?.ladder).toEqual(more);
    expect(applyChange(refined, change(100, 200_000)).viewer?.ladder).toBeUndefined();
  });

  it('raises the threshold of the same content to the target an edit left with its image', async () => {
    const sharp = { ...change(100, 0), quality: { ssim: 0.995, psnrDb: 45 } };
    const input = {
      frame: { ...frame, frameType: 'screen' as const },
      network,
      threshold: 0.99,
      floor: 0.85,
      compare: measured(0.5),
    };
    const plain = await planTemporal({ ...input, state: applyChange({}, sharp) });
    expect(plain.plan.kind).toBe('unchanged');
    const edited = await planTemporal({
      ...input,
      state: applyChange({}, { ...sharp, target: 0.9999 }),
    });
    expect(edited.plan.kind).toBe('refine');
  });

  it('keeps no viewer image when the policy has no threshold, or the image is too large to keep', () => {
    expect(applyChange({}, change(100, 0, false)).viewer).toBeUndefined();
    expect(applyChange({}, change(MAX_VIEWER_BYTES + 1, 0)).viewer).toBeUndefined();
  });

  it('plans a frame close enough to the viewer image as unchanged', async () => {
    const state = applyChange({}, change(100, 0));
    const input = {
      state,
      frame: { ...frame, digest: () => 'b', frameType: 'screen' as const },
      network,
    };
    const plan = await planTemporal({
      ...input,
      threshold: 0.99,
      floor: 0.85,
      compare: measured(0.995),
    });
    expect(plan.plan).toEqual({ kind: 'unchanged' });
    expect(plan.viewer?.ssim).toBe(0.995);
  });

  it('lets a refinement spend all the bucket allows, and a video frame a spread share', async () => {
    const state = applyChange({}, change(100, 0));
    const base = { state, network, threshold: 0.99, floor: 0.85 };
    const refine = await planTemporal({
      ...base,
      frame: { ...frame, digest: () => 'b', frameType: 'video', timestampUs: 100_000 },
      compare: measured(0.95),
    });
    expect(refine.plan.kind).toBe('refine');
    const tokens = Math.min(RATE * BURST_SECONDS, RATE / 10 - 100 + RATE / 10);
    expect(refine.networkBytes).toBe(Math.floor(tokens));
    const fresh = await planTemporal({
      ...base,
      frame: { ...frame, digest: () => 'b', frameType: 'video', timestampUs: 100_000 },
      compare: measured(0.5),
    });
    expect(fresh.plan.kind).toBe('fresh');
    expect(fresh.networkBytes).toBe(Math.floor(RATE / 10 + (tokens - RATE / 10) / 4));
  });

  it('takes the viewer image of the same frame again at the quality it was sent with, without comparing', async () => {
    const state = applyChange({}, change(100, 0));
    const plan = await planTemporal({
      state,
      frame: { ...frame, frameType: 'screen' },
      network,
      threshold: 0.99,
      floor: 0.85,
      compare: async () => {
        throw new Error('must not be called');
      },
    });
    expect(plan.viewer).toEqual({ ssim: 0.97, psnrDb: 38, measureMs: 0 });
    expect(plan.plan.kind).toBe('refine');
  });

  it('compares a screen with the viewer image only when at most half its tiles changed', async () => {
    const signature = (changed: number) =>
      encodeSignature(Uint32Array.from({ length: 8 }, (_, i) => (i < changed ? 1 : 0)));
    const screen = { ...frame, tiles: () => signature(0) };
    const state = applyChange({}, { ...change(100, 0), frame: screen });
    let compared = 0;
    const plan = (changed: number) =>
      planTemporal({
        state,
        frame: {
          ...frame,
          digest: () => 'b',
          tiles: () => signature(changed),
          frameType: 'screen',
        },
        network,
        threshold: 0.99,
        floor: 0.85,
        compare: async () => {
          compared++;
          return { ssim: 0.995, psnrDb: 40, measureMs: 1 };
        },
      });
    expect((await plan(4)).plan).toMatchObject({ kind: 'refine', target: 0.99 });
    expect(compared).toBe(1);
    const scrolled = await plan(5);
    expect(scrolled.plan.kind).toBe('fresh');
    expect(scrolled.viewer).toBeUndefined();
    expect(compared).toBe(1);
    // In motion: the screen ladder is not worth its time for it.
    expect(scrolled.moving).toBe(true);
    expect((await plan(4)).moving).toBe(false);
  });

  it('plans an edit with the tiles it changed, and refines it until they are measured sharp', async () => {
    // 64x36 in 32 px tiles: two columns, two rows.
    const signature = (changed: number[]) =>
      encodeSignature(Uint32Array.from({ length: 4 }, (_, i) => (changed.includes(i) ? 1 : 0)));
    const screen = { ...frame, tiles: () => signature([]) };
    const input = {
      frame: { ...screen, frameType: 'screen' as const },
      network,
      threshold: 0.99,
      floor: 0.85,
      compare: measured(0.999),
    };
    const before = applyChange({}, { ...change(100, 0), frame: screen });
    const edited = { ...input.frame, digest: () => 'b', tiles: () => signature([1]) };
    const edit = await planTemporal({ ...input, state: before, frame: edited });
    expect(edit.plan.kind).toBe('refine');
    expect(edit.editTiles).toEqual([1]);
    const sent = (ssim: number) =>
      applyChange(before, {
        ...change(100, 100_000),
        frame: edited,
        quality: { ssim: 0.999, psnrDb: 50 },
        target: 0.9999,
        edit: { tiles: [1], ssim },
      });
    const blurred = await planTemporal({ ...input, state: sent(0.95), frame: edited });
    expect(blurred.plan.kind).toBe('refine');
    expect(blurred.editTiles).toEqual([1]);
    // Measured sharp where it changed: the estimate the target made no longer holds it back.
    const sharp = await planTemporal({ ...input, state: sent(0.995), frame: edited });
    expect(sharp.plan.kind).toBe('unchanged');
  });

  it('compares nothing of another size, and plans frames alone when the state could not be read', async () => {
    const state = applyChange({}, change(100, 0));
    const compare = async () => {
      throw new Error('must not be called');
    };
    const resized = await planTemporal({
      state,
      frame: { width: 32, height: 18, digest: () => 'b', frameType: 'screen' },
      network,
      threshold: 0.99,
      floor: 0.85,
      compare,
    });
    expect(resized.viewer).toBeUndefined();
    const unread = await planTemporal({
      state: null,
      frame: { ...frame, frameType: 'screen' },
      network,
      threshold: 0.99,
      floor: 0.85,
      compare,
    });
    expect(unread).toEqual({ plan: { kind: 'fresh' }, viewer: undefined, moving: false });
  });

  it('plans the next frame one interval after the last: the even share before any frame', () => {
    expect(nextFrameBudget(undefined, network)).toBe(networkBytesPerFrame(network));
    const after = applyChange({}, change(4_000, 0));
    // 10 000 - 4 000 left, one share (10 000) gained: its share and a quarter of the rest.
    expect(nextFrameBudget(after.bucket, network)).toBe(Math.floor(10_000 + 6_000 / 4));
  });
});
