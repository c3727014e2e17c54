import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BANDWIDTH_SAFETY_FACTOR,
  frameBudget,
  networkBytesPerFrame,
} from '../../../../functions/core/network/budget.ts';

const originals = fc.integer({ min: 1_000, max: 10_000_000 });
const ratios = fc.double({ min: 0.1, max: 0.95, noNaN: true });
const networks = fc.record({
  bandwidthKbps: fc.double({ min: 64, max: 100_000, noNaN: true }),
  packetLossPercent: fc.double({ min: 0, max: 100, noNaN: true }),
  fps: fc.integer({ min: 1, max: 120 }),
});

describe('frame budget', () => {
  it('gives a 5 Mbps, 30 fps, loss-free link its safety share per frame', () => {
    expect(BANDWIDTH_SAFETY_FACTOR).toBe(0.85);
    expect(networkBytesPerFrame({ bandwidthKbps: 5000, packetLossPercent: 0, fps: 30 })).toBe(
      Math.floor(((5_000_000 / 8) * 0.85) / 30),
    );
  });

  it('removes lost packets from the usable bandwidth and assumes 30 fps without a rate', () => {
    expect(networkBytesPerFrame({ bandwidthKbps: 1000, packetLossPercent: 10 })).toBe(
      Math.floor(((1_000_000 / 8) * 0.9 * 0.85) / 30),
    );
  });

  it('uses the ratio cap alone without network information', () => {
    expect(frameBudget({ originalBytes: 100_000, targetCompressionRatio: 0.8 })).toEqual({
      budgetBytes: 20_000,
      limitedBy: 'target_ratio',
    });
  });

  it('says the network limits a frame when its share is under the ratio cap', () => {
    const budget = frameBudget({
      originalBytes: 1_000_000,
      targetCompressionRatio: 0.5,
      network: { bandwidthKbps: 400, packetLossPercent: 0, fps: 10 },
    });
    expect(budget).toEqual({ budgetBytes: 4250, limitedBy: 'network' });
  });

  it('is never above the ratio cap nor above the network share', () => {
    fc.assert(
      fc.property(originals, ratios, networks, (originalBytes, ratio, network) => {
        const budget = frameBudget({ originalBytes, targetCompressionRatio: ratio, network });
        expect(budget.budgetBytes).toBeLessThanOrEqual(originalBytes * (1 - ratio) + 1e-6);
        expect(budget.budgetBytes).toBeLessThanOrEqual(networkBytesPerFrame(network));
        expect(Number.isInteger(budget.budgetBytes)).toBe(true);
        expect(budget.budgetBytes).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('never shrinks when the bandwidth grows and never grows when the loss grows', () => {
    fc.assert(
      fc.property(
        originals,
        ratios,
        networks,
        fc.double({ min: 0, max: 50_000, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (originalBytes, ratio, network, moreKbps, moreLoss) => {
          const base = frameBudget({ originalBytes, targetCompressionRatio: ratio, network });
          const faster = frameBudget({
            originalBytes,
            targetCompressionRatio: ratio,
            network: { ...network, bandwidthKbps: network.bandwidthKbps + moreKbps },
          });
          const lossier = frameBudget({
            originalBytes,
            targetCompressionRatio: ratio,
            network: {
              ...network,
              packetLossPercent: Math.min(100, network.packetLossPercent + moreLoss),
            },
          });
          expect(faster.budgetBytes).toBeGreaterThanOrEqual(base.budgetBytes);
          expect(lossier.budgetBytes).toBeLessThanOrEqual(base.budgetBytes);
        },
      ),
    );
  });

  it('rejects sizes, ratios and network samples outside their ranges', () => {
    expect(() => frameBudget({ originalBytes: 0, targetCompressionRatio: 0.5 })).toThrow(
      RangeError,
    );
    expect(() => frameBudget({ originalBytes: 10, targetCompressionRatio: 1 })).toThrow(RangeError);
    expect(() => frameBudget({ originalBytes: 10, targetCompressionRatio: -0.1 })).toThrow(
      RangeError,
    );
    const bad = [
      { bandwidthKbps: Number.NaN, packetLossPercent: 0 },
      { bandwidthKbps: 100, packetLossPercent: 101 },
      { bandwidthKbps: 100, packetLossPercent: 0, fps: 0 },
    ];
    for (const network of bad) {
      expect(() =>
        frameBudget({ originalBytes: 10, targetCompressionRatio: 0.5, network }),
      ).toThrow(RangeError);
    }
  });
});
