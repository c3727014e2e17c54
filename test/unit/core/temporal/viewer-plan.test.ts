import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planForViewer, REFINE_MIN_STEP } from '../../../../functions/core/temporal/viewer-plan.ts';

const unit = fc.double({ min: 0, max: 1, noNaN: true });
const threshold = fc.double({ min: 0.9, max: 1, noNaN: true });
const floor = fc.double({ min: 0.5, max: 1, noNaN: true });

describe('the plan for what the viewer already has', () => {
  it('answers unchanged only when the viewer image meets the threshold', () => {
    fc.assert(
      fc.property(unit, threshold, floor, (viewer, limit, min) => {
        const plan = planForViewer(viewer, limit, min);
        expect(plan.kind === 'unchanged').toBe(viewer >= limit);
      }),
    );
  });

  it('sends a screen whose pixels changed at the threshold, however close its global SSIM', () => {
    expect(planForViewer(0.999, 0.99, 0.85, true)).toEqual({ kind: 'refine', floor: 0.99 });
    fc.assert(
      fc.property(unit, threshold, floor, (viewer, limit, min) => {
        expect(planForViewer(viewer, limit, min, true).kind).not.toBe('unchanged');
      }),
    );
  });

  it('never answers unchanged without a threshold or without an image to compare', () => {
    expect(planForViewer(1, null, 0.85)).toEqual({ kind: 'fresh' });
    expect(planForViewer(undefined, 0.99, 0.85)).toEqual({ kind: 'fresh' });
  });

  it('treats a viewer image below the quality floor as new content', () => {
    expect(planForViewer(0.7, 0.99, 0.85)).toEqual({ kind: 'fresh' });
  });

  it('asks a refinement to beat the viewer image by a step, within the threshold and above the floor', () => {
    fc.assert(
      fc.property(unit, threshold, floor, (viewer, limit, min) => {
        const plan = planForViewer(viewer, limit, min);
        if (plan.kind !== 'refine') return;
        expect(plan.floor).toBeGreaterThan(viewer);
        expect(plan.floor).toBeLessThanOrEqual(limit);
        expect(plan.floor).toBeGreaterThanOrEqual(min);
        expect(plan.floor - viewer).toBeGreaterThanOrEqual(
          Math.min(REFINE_MIN_STEP, limit - viewer) - 1e-12,
        );
      }),
    );
  });

  it('converges: refinements that each just meet their floor reach the threshold in bounded steps', () => {
    fc.assert(
      fc.property(threshold, floor, unit, (limit, min, start) => {
        let viewer = min + (limit - min) * start;
        const bound = Math.ceil((limit - viewer) / REFINE_MIN_STEP) + 1;
        let steps = 0;
        for (let plan = planForViewer(viewer, limit, min); plan.kind === 'refine'; steps++) {
          expect(steps).toBeLessThanOrEqual(bound);
          viewer = plan.floor;
          plan = planForViewer(viewer, limit, min);
        }
        expect(planForViewer(viewer, limit, min).kind).toBe(
          viewer >= limit ? 'unchanged' : 'fresh',
        );
      }),
    );
  });
});
