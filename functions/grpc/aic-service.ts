/**
 * The implementation of `AICCompressionService` handed to grpc-js: each RPC's work, over the same
 * compress and network services as the HTTP API (docs/design.md section 3).
 */
import type * as grpc from '@grpc/grpc-js';
import { compress } from '../app/compress-service.ts';
import { recordNetworkUpdate } from '../app/network-service.ts';
import { MAX_FRAME_BYTES_GRPC } from '../core/contracts/compress.ts';
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

/**
 * `CompressFrame`: one frame, compressed and stored like a frame of `POST /compress`, once the frame
 * capacity has taken it (after the rate limit, before the decode).
 */
function compressFrameWork(
  services: CallServices,
): UnaryWork<CompressFrameRequestMessage, CompressFrameResponseMessage> {
  return async (ctx, request, runtime) => {
    const command = fromCompressFrameRequest(request, ctx.userId ?? '');
    recordFrameReceived(services.metrics, command.frame.length);
    const permit = services.frames.admit(command.userId, command.frame);
    try {
      const { response } = await compress(
        runtime,
        { ...command, signal: ctx.signal },
        MAX_FRAME_BYTES_GRPC,
      );
      const message = toCompressFrameResponse(response);
      recordFrameAnswered(services.metrics, response, message.compressed_data.length);
      return message;
    } finally {
      permit.release();
    }
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
) => {
  const input = toNetworkUpdate(request);
  const { body } = await recordNetworkUpdate(runtime, { userId: ctx.userId ?? '', ...input });
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
