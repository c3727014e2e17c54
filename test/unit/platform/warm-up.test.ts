import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../../../functions/platform/imaging/sharp-engine-port.ts';
import { warmUpImaging } from '../../../functions/platform/imaging/warm-up.ts';
import { encodeFrame } from '../../support/frames.ts';

describe('the imaging warm-up', () => {
  it('leaves nothing behind: a frame served after it measures as one served before it', async () => {
    const frame = await decodeFrame(await encodeFrame('scene', { width: 640, height: 360 }));
    const serve = async () => {
      const port = createSharpEnginePort(frame);
      try {
        const jpeg = await port.measure(
          await port.encode({ format: 'jpeg', quality: 50, scale: 0.5, width: 320, height: 180 }),
        );
        const webp = await port.measure(
          await port.encode({ format: 'webp', quality: 50, scale: 1, width: 640, height: 360 }),
        );
        return [jpeg, webp].map(({ ssim, psnrDb }) => ({ ssim, psnrDb }));
      } finally {
        port.finish();
      }
    };
    const before = await serve();
    await warmUpImaging();
    expect(await serve()).toEqual(before);
  });
});
