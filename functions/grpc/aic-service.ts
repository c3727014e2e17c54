/**
 * The implementation of `AICCompressionService` handed to grpc-js: each RPC's work, over the same
 * compress and network services as the HTTP API (docs/design.md section 3).
 */
import type * as grpc from '@grpc/grpc-js';
import { answerFrameOnce, compress } from '../app/compress-service.ts';
import { recordNetworkUpdateOnce } from '../app/network-service.ts';
import { MAX_FRAME_BYTES_GRPC } from '../core/contracts/compress.ts';
import {
  IDEMPOTENCY_KEY_HEADER,
  parseIdempotencyKey,
  REPLAY_TRAILER,
} from '../platform/idempotency/identity.ts';
import type { CallContext } from './call-context.ts';
import type { CallServices } from './call-services.ts';
import { recordFrameAnswered, recordFrameReceived } from './frame-metrics.ts';
import {
  fromCompressFrameRequest,
  toCompressFrameResponse,
  toHintsInput,
  toNetworkAnalysis,
  toNetworkEstimateMessage,
  toNetworkUpdate,
} from './mapping.ts';
import { analyseNetwork, compressionHints } from './network.ts';
import type {
  CompressFrameRequestMessage,
  CompressFrameResponseMessage,
  CompressionHintsMessage,
  GetCompressionHintsRequestMessage,
  NetworkEstimateMessage,
  NetworkRequestMessage,
} from './proto.ts';
import { compressStreamCall } from './stream-call.ts';
import type { ActiveStreams } from './stream-stop.ts';
import { type UnaryWork, unaryCall } from './unary-call.ts';

const KEY_METADATA = IDEMPOTENCY_KEY_HEADER.toLowerCase();

/** The call's `idempotency-key` metadata (docs/design.md section 3), checked like the header. */
function idempotencyKeyOf(metadata: grpc.Metadata): string | undefined {
  const [value] = metadata.get(KEY_METADATA);
  return parseIdempotencyKey(
    typeof value === 'string' ? value : value?.toString(),
    `metadata.${KEY_METADATA}`,
  );
}

/** Marks the call's answer as a replay in its trailers (`aic-replay: true`). */
function markReplay(ctx: CallContext, replay: boolean | undefined): void {
  if (replay) ctx.trailers[REPLAY_TRAILER] = 'true';
}

/**
 * `CompressFrame`: one frame, compressed and stored like a frame of `POST /compress`, once the frame
 * capacity has taken it (after the rate limit, before the decode). A repeat of the frame (its
 * number, else its `idempotency-key`) gets the first answer and takes no place in the capacity.
 */
function compressFrameWork(
  services: CallServices,
): UnaryWork<CompressFrameRequestMessage, CompressFrameResponseMessage> {
  return async (ctx, request, runtime, metadata) => {
    const key = idempotencyKeyOf(metadata);
    const command = fromCompressFrameRequest(request, ctx.userId ?? '');
    recordFrameReceived(services.metrics, command.frame.length);
    const work = async () => {
      const permit = services.frames.admit(command.userId, command.frame);
      try {
        const signalled = { ...command, signal: ctx.signal };
        return (await compress(runtime, signalled, MAX_FRAME_BYTES_GRPC, key)).response;
      } finally {
        permit.release();
      }
    };
    const { answer, replay } = await answerFrameOnce(runtime, command, work, key);
    markReplay(ctx, replay);
    const message = toCompressFrameResponse(answer);
    recordFrameAnswered(services.metrics, answer, message.compressed_data.length);
    return message;
  };
}

const hintsWork: UnaryWork<GetCompressionHintsRequestMessage, CompressionHintsMessage> = (
  ctx,
  request,
  runtime,
) => compressionHints(runtime, ctx.userId ?? '', toHintsInput(request));

const analyseWork: UnaryWork<NetworkRequestMessage, NetworkEstimateMessage> = (
  ctx,
  request,
  runtime,
) => {
  const input = toNetworkAnalysis(request);
  return analyseNetwork(runtime, ctx.userId ?? '', input.sessionId, input.conditions);
};

const updateWork: UnaryWork<NetworkRequestMessage, NetworkEstimateMessage> = async (
  ctx,
  request,
  runtime,
  metadata,
) => {
  const idempotencyKey = idempotencyKeyOf(metadata);
  const input = toNetworkUpdate(request);
  const { body, replay } = await recordNetworkUpdateOnce(runtime, {
    userId: ctx.userId ?? '',
    ...input,
    idempotencyKey,
  });
  markReplay(ctx, replay);
  return toNetworkEstimateMessage(body);
};

/** The service's handlers over `services`; streams register with `streams` to be drained. */
export function aicServiceImplementation(
  services: CallServices,
  streams: ActiveStreams,
): grpc.UntypedServiceImplementation {
  return {
    CompressFrame: unaryCall(services, 'CompressFrame', compressFrameWork(services)),
    CompressStream: compressStreamCall(services, streams),
    GetCompressionHints: unaryCall(services, 'GetCompressionHints', hintsWork),
    AnalyzeNetworkConditions: unaryCall(services, 'AnalyzeNetworkConditions', analyseWork),
    UpdateNetworkConditions: unaryCall(services, 'UpdateNetworkConditions', updateWork),
  };
}
