import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ContentChange,
  LOCAL_EDIT_SHARE,
  planForViewer,
  REFINE_MIN_STEP,
} from '../../../../functions/core/temporal/viewer-plan.ts';

const unit = fc.double({ min: 0, max: 1, noNaN: true });
const threshold = fc.double({ min: 0.9, max: 1, noNaN: true });
const floor = fc.double({ min: 0.5, max: 1, noNaN: true });
const SAME: ContentChange = { kind: 'same' };
const UNKNOWN: ContentChange = { kind: 'unknown' };
const content = fc.oneof(
  fc.constant(SAME),
  fc.constant(UNKNOWN),
  unit.map((share): ContentChange => ({ kind: 'changed', share })),
);

describe('the plan for what the viewer already has', () => {
  it('answers unchanged only when the viewer image meets the threshold and the screen did not change', () => {
    fc.assert(
      fc.property(
        unit,
        threshold,
        floor,
        content,
        fc.boolean(),
        (viewer, limit, min, change, stalled) => {
          const plan = planForViewer(viewer, limit, min, change, { full: stalled, stalled });
          expect(plan.kind === 'unchanged').toBe(viewer >= limit && change.kind !== 'changed');
        },
      ),
    );
  });

  it('refines an image that meets the threshold while the edit it was sent for is blurred, by what the edit lacks', () => {
    const blurred: ContentChange = { kind: 'same', editGain: 0.0004 };
    expect(planForViewer(0.9977, 0.99, 0.85, blurred)).toEqual({ kind: 'refine', floor: 0.9981 });
    expect(planForViewer(0.9999, 0.99, 0.85, blurred)).toEqual({ kind: 'refine', floor: 1 });
    expect(planForViewer(0.9977, 0.99, 0.85, SAME)).toEqual({ kind: 'unchanged' });
    expect(planForViewer(0.9977, 0.99, 0.85, blurred, { full: true, stalled: true })).toEqual({
      kind: 'hold',
    });
  });

  it('never answers unchanged without a threshold or without an image to compare', () => {
    expect(planForViewer(1, null, 0.85, SAME)).toEqual({ kind: 'fresh' });
    expect(planForViewer(undefined, 0.99, 0.85, SAME)).toEqual({ kind: 'fresh' });
  });

  it('sends an edit so that its tiles alone would meet the threshold, however close the global SSIM', () => {
    const plan = planForViewer(0.999, 0.99, 0.85, { kind: 'changed', share: 0.01 });
    expect(plan.kind).toBe('refine');
    expect(plan.kind === 'refine' && plan.floor).toBeCloseTo(0.9999, 10);
  });

  it('treats a screen that changed a lot below the threshold, or a video frame below the floor, as a frame like any other', () => {
    expect(planForViewer(0.95, 0.99, 0.85, { kind: 'changed', share: 0.9 })).toEqual({
      kind: 'fresh',
    });
    expect(planForViewer(0.995, 0.99, 0.85, { kind: 'changed', share: 0.9 })).toEqual({
      kind: 'refine',
      floor: 0.99,
      target: 0.99,
    });
    expect(planForViewer(0.7, 0.99, 0.85, UNKNOWN)).toEqual({ kind: 'fresh' });
  });

  it('shows a change at the best that fits once the bank is full, rather than never', () => {
    const full = { full: true, stalled: false };
    const plan = planForViewer(0.999, 0.99, 0.85, { kind: 'changed', share: 0.01 }, full);
    expect(plan).toMatchObject({ kind: 'refine', floor: 0.85 });
    // The edit's own target stays with the image sent for it.
    expect(plan.kind === 'refine' && plan.target).toBeCloseTo(0.9999, 10);
  });

  it('holds a refinement that a full bucket could not better, and never holds a frame it could answer unchanged', () => {
    const stalled = { full: true, stalled: true };
    expect(planForViewer(0.95, 0.99, 0.85, SAME, stalled)).toEqual({ kind: 'hold' });
    expect(planForViewer(0.995, 0.99, 0.85, SAME, stalled)).toEqual({ kind: 'unchanged' });
  });

  it('refines the same content whatever the viewer has, up to the threshold', () => {
    expect(planForViewer(0.7, 0.99, 0.85, SAME)).toEqual({ kind: 'refine', floor: 0.85 });
  });

  it('asks a refinement to beat the viewer image by a step, within the threshold and above the floor', () => {
    fc.assert(
      fc.property(unit, threshold, floor, content, (viewer, limit, min, change) => {
        const plan = planForViewer(viewer, limit, min, change);
        if (plan.kind !== 'refine') return;
        expect(plan.floor).toBeGreaterThanOrEqual(min);
        if (change.kind === 'changed') {
          const edit = change.share <= LOCAL_EDIT_SHARE;
          expect(plan.floor).toBeGreaterThanOrEqual(edit ? 1 - change.share * (1 - limit) : limit);
          return;
        }
        expect(plan.floor).toBeGreaterThan(viewer);
        expect(plan.floor).toBeLessThanOrEqual(Math.max(limit, min));
        expect(plan.floor - viewer).toBeGreaterThanOrEqual(
          Math.min(REFINE_MIN_STEP, limit - viewer) - 1e-12,
        );
      }),
    );
  });

  it('converges: refinements of the same content that each just meet their floor reach the threshold in bounded steps', () => {
    fc.assert(
      fc.property(threshold, floor, unit, (limit, min, start) => {
        let viewer = start * limit;
        const bound = Math.ceil((limit - viewer) / REFINE_MIN_STEP) + 2;
        let steps = 0;
        for (let plan = planForViewer(viewer, limit, min, SAME); plan.kind === 'refine'; steps++) {
          expect(steps).toBeLessThanOrEqual(bound);
          viewer = plan.floor;
          plan = planForViewer(viewer, limit, min, SAME);
        }
        expect(viewer).toBeGreaterThanOrEqual(limit);
      }),
    );
  });
});
