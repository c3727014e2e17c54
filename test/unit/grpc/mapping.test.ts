import { describe, expect, it } from 'vitest';
import {
  compressInputFromQuery,
  toCompressCommand,
} from '../../../functions/app/compress-command.ts';
import {
  type CompressResponse,
  compressQuerySchema,
} from '../../../functions/core/contracts/compress.ts';
import { ValidationError } from '../../../functions/core/errors.ts';
import {
  fromCompressFrameRequest,
  toCompressFrameResponse,
} from '../../../functions/grpc/mapping.ts';
import type { CompressFrameRequestMessage } from '../../../functions/grpc/proto.ts';

const SESSION_ID = '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77';

/** A `CompressFrameRequest` as grpc-js decodes one, with `fields` set. */
function request(fields: Partial<CompressFrameRequestMessage> = {}): CompressFrameRequestMessage {
  return {
    session_id: SESSION_ID,
    frame_data: Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
    metadata: { frame_type: 'FRAME_TYPE_SCREEN' },
    mode: 'COMPRESSION_MODE_UNSPECIFIED',
    ...fields,
  };
}

describe('the unchanged thresholds of a compress request', () => {
  it('reach the policy overrides from gRPC, and stay unset when not sent', () => {
    const command = fromCompressFrameRequest(
      request({ unchanged_ssim_screen: 0.97, unchanged_ssim_video: 0.995 }),
      'user-1',
    );
    expect(command.policy).toMatchObject({ unchangedSsimScreen: 0.97, unchangedSsimVideo: 0.995 });
    const unset = fromCompressFrameRequest(request(), 'user-1');
    expect(unset.policy.unchangedSsimScreen).toBeUndefined();
    expect(unset.policy.unchangedSsimVideo).toBeUndefined();
  });

  it('are refused over gRPC outside 0.9..1, by their field', () => {
    for (const [field, value] of [
      ['unchanged_ssim_screen', 0.89],
      ['unchanged_ssim_video', 1.01],
    ] as const) {
      let thrown: unknown;
      try {
        fromCompressFrameRequest(request({ [field]: value }), 'user-1');
      } catch (error) {
        thrown = error;
      }
      expect(thrown, field).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).details?.map((d) => d.field)).toEqual([field]);
    }
  });

  it('reach the policy overrides from the query of a raw image over HTTP', () => {
    const query = compressQuerySchema.parse({
      session_id: SESSION_ID,
      unchanged_ssim_screen: '0.98',
      unchanged_ssim_video: '1',
    });
    const command = toCompressCommand(compressInputFromQuery(query), Buffer.alloc(1), 'user-1');
    expect(command.policy).toMatchObject({ unchangedSsimScreen: 0.98, unchangedSsimVideo: 1 });
    expect(
      compressQuerySchema.safeParse({ session_id: SESSION_ID, unchanged_ssim_screen: '0.5' })
        .success,
    ).toBe(false);
  });
});

describe('an unchanged answer over gRPC', () => {
  it('is COMPRESSION_STATUS_UNCHANGED with no bytes, its SSIM and no reasons', () => {
    const unchanged: CompressResponse = {
      status: 'unchanged',
      session_id: SESSION_ID,
      frame_number: 9,
      compressed_data: '',
      format: 'png',
      quality: null,
      width: 1280,
      height: 720,
      original_size_bytes: 30_000,
      compressed_size_bytes: 0,
      compression_ratio: 1,
      bandwidth_savings_percent: 100,
      budget_bytes: 5_000,
      within_budget: true,
      ssim: 0.996,
      psnr_db: 51.3,
      quality_score: 0.996,
      encode_attempts: 0,
      latency_ms: { decode: 1, encode: 0, metrics: 1, total: 2 },
      fallback_used: false,
      fallback_reason: null,
      drop_reason: null,
    };
    const message = toCompressFrameResponse(unchanged);
    expect(message).toMatchObject({
      status: 'COMPRESSION_STATUS_UNCHANGED',
      compressed_size_bytes: 0,
      ssim: 0.996,
      psnr_db: 51.3,
      fallback_used: false,
    });
    expect(message.compressed_data).toHaveLength(0);
    expect(message.fallback_reason).toBeUndefined();
    expect(message.drop_reason).toBeUndefined();
  });
});
