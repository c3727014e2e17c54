import { describe, expect, it } from 'vitest';
import { Deadline } from '../../../../functions/core/engine/deadline.ts';
import { pickForBudget } from '../../../../functions/core/engine/next-candidate.ts';
import type { Scored } from '../../../../functions/core/engine/scoring.ts';

/** A scored candidate as the model would see it: `zBytes` under the budget, `zFloor` over the floor. */
function scored(quality: number, scale: number, zBytes: number, zFloor: number): Scored {
  const phi = (z: number) => 0.5 * (1 + Math.tanh(0.8 * z));
  return {
    candidate: { format: 'jpeg', quality, scale, width: 1920 * scale, height: 1080 * scale },
    prediction: {
      logBytes: 10,
      logBytesSd: 0.3,
      logDistortion: -3.5,
      logDistortionSd: 0.3,
      ssim: 0.97,
      encodeMs: 4,
      measureMs: 8,
    },
    zBytes,
    zFloor,
    success: phi(zBytes) * phi(zFloor),
  };
}

describe('the budget phase pick on the last try the time allows', () => {
  // Likely to fit but unsure of the floor, against sure of the floor but likely over the budget.
  const likeliest = scored(60, 0.25, 0.8, 0.4);
  const sureOfFloor = scored(55, 0.5, -1.5, 2);
  const pool = [likeliest, sureOfFloor];
  // 19 ms left: one encode and measurement (18 ms planned) and no second.
  const search = { deadline: new Deadline(() => 0, 19 / 0.9), hasValid: () => false };

  it('puts the floor first when an encoding over the budget would still be sent', () => {
    expect(pickForBudget(search, pool, true)).toBe(sureOfFloor);
  });

  it('takes the candidate likeliest to fit and meet the floor when what misses the budget is dropped', () => {
    expect(pickForBudget(search, pool, false)).toBe(likeliest);
  });
});
