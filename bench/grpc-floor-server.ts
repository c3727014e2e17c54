/**
 * The transport floor of `bench:grpc`: a grpc-js server in its own process that serves
 * `CompressStream` from the repository's proto and does no work at all. Each frame is held for
 * `FLOOR_HOLD_MS` with a busy core (the engine's time in the real server) and answered with a
 * canned result of `FLOOR_RESULT_BYTES`, whose `latency_ms.total` is the time it was held. What a
 * client measures beyond that total is grpc-js, protobuf and loopback alone: the least any server
 * of this contract can add to a frame here. Prints `listening <port>` once it serves.
 */
import * as grpc from '@grpc/grpc-js';
import {
  aicServiceDefinition,
  type CompressStreamRequestMessage,
  type CompressStreamResponseMessage,
} from '../functions/grpc/proto.ts';
import { busyFor } from './busy-for.ts';

const holdMs = Number(process.env.FLOOR_HOLD_MS ?? 10);
const compressed = Buffer.alloc(Number(process.env.FLOOR_RESULT_BYTES ?? 8000), 0x5a);

function cannedResult(
  request: CompressStreamRequestMessage,
  heldMs: number,
): CompressStreamResponseMessage {
  const frame = request.frame;
  return {
    result: {
      status: 'COMPRESSION_STATUS_SUCCESS',
      session_id: frame?.session_id ?? '',
      frame_number: frame?.metadata?.frame_number,
      compressed_data: compressed,
      format: 'IMAGE_FORMAT_WEBP',
      quality: 60,
      width: 640,
      height: 360,
      original_size_bytes: frame?.frame_data.length ?? 0,
      compressed_size_bytes: compressed.length,
      compression_ratio: 0.87,
      bandwidth_savings_percent: 87,
      budget_bytes: 12_000,
      within_budget: true,
      ssim: 0.93,
      psnr_db: 33.1,
      quality_score: 0.9,
      encode_attempts: 1,
      latency_ms: { decode: 1, encode: heldMs - 2, metrics: 1, total: heldMs },
      fallback_used: false,
    },
  };
}

const server = new grpc.Server({ 'grpc.max_receive_message_length': 10 * 1024 * 1024 });
server.addService(aicServiceDefinition(), {
  CompressStream: (
    call: grpc.ServerDuplexStream<CompressStreamRequestMessage, CompressStreamResponseMessage>,
  ) => {
    call.on('data', (request: CompressStreamRequestMessage) => {
      const received = performance.now();
      busyFor(holdMs);
      call.write(cannedResult(request, performance.now() - received));
    });
    call.on('end', () => call.end());
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
