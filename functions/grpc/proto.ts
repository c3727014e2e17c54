/**
 * The gRPC contract as loaded at run time: `proto/auralink/aic/v1/aic.proto` through
 * `@grpc/proto-loader`, with the options the server, the CLI, the benchmark and the tests share, and
 * TypeScript shapes of the messages as those options decode them.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { loadSettings } from '../platform/settings.ts';

/** Directory of the repository's `.proto` files (`AIC_PROTO_DIR` overrides it in a bundle). */
export const PROTO_DIR =
  loadSettings().AIC_PROTO_DIR ?? join(import.meta.dirname, '..', '..', 'proto');

/** The proto file of the service, relative to {@link PROTO_DIR}. */
export const AIC_PROTO_FILE = 'auralink/aic/v1/aic.proto';

/** Fully qualified name of the service (what reflection and health checks name). */
export const AIC_SERVICE_NAME = 'auralink.aic.v1.AICCompressionService';

/**
 * Decoding options: field names as in the proto (snake_case like the HTTP contract), 64-bit
 * integers as numbers (frame numbers stay far below 2^53), enums by name, unset fields with their
 * defaults and `optional` presence kept, and the name of the set member of each oneof.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** The AIC package definition (proto-loader form). */
export function loadAicDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(AIC_PROTO_FILE, LOADER_OPTIONS);
}

/** The AIC service and the standard health service, for server reflection. */
export function loadReflectedDefinition(): protoLoader.PackageDefinition {
  return { ...loadAicDefinition(), ...protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS) };
}

/** The service definition to register on a server. */
export function aicServiceDefinition(
  definition = loadAicDefinition(),
): grpc.ServiceDefinition<grpc.UntypedServiceImplementation> {
  return definition[AIC_SERVICE_NAME] as grpc.ServiceDefinition<grpc.UntypedServiceImplementation>;
}

/** A client constructor of the service, built from the repository's proto. */
export function aicClientConstructor(
  definition = loadAicDefinition(),
): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(
    aicServiceDefinition(definition),
    'AICCompressionService',
  );
}

/** `NetworkConditions` as decoded. */
export interface NetworkConditionsMessage {
  available_bandwidth_kbps: number;
  rtt_ms: number;
  packet_loss_percent: number;
  jitter_ms: number;
  fps?: number;
  connection_type: string | number;
}

/** `FrameMetadata` as decoded. */
export interface FrameMetadataMessage {
  frame_number?: number;
  timestamp_us?: number;
  frame_type: string | number;
}

/** `CompressFrameRequest` as decoded. */
export interface CompressFrameRequestMessage {
  session_id: string;
  frame_data: Buffer;
  metadata: FrameMetadataMessage | null;
  mode: string | number;
  target_compression_ratio?: number;
  max_latency_ms?: number;
  min_quality_score?: number;
  on_budget_miss?: string | number;
  unchanged_ssim_screen?: number;
  unchanged_ssim_video?: number;
  network?: NetworkConditionsMessage | null;
  network_condition?: number;
  network_hint?: 'network' | 'network_condition';
}

/** `CompressFrameResponse` as encoded. */
export interface CompressFrameResponseMessage {
  status: string;
  session_id: string;
  frame_number?: number;
  compressed_data: Buffer;
  format: string;
  quality?: number;
  width: number;
  height: number;
  original_size_bytes: number;
  compressed_size_bytes: number;
  compression_ratio: number;
  bandwidth_savings_percent: number;
  budget_bytes: number;
  within_budget: boolean;
  ssim?: number;
  psnr_db?: number;
  quality_score?: number;
  encode_attempts: number;
  latency_ms: { decode: number; encode: number; metrics: number; total: number };
  fallback_used: boolean;
  fallback_reason?: string;
  drop_reason?: string;
}

/** `FieldViolation` (also the JSON of the `aic-error-details` trailer). */
export interface FieldViolationMessage {
  field: string;
  message: string;
  code: string;
}

/** `FrameError`, a per-frame failure inside `CompressStream`. */
export interface FrameErrorMessage {
  code: string;
  message: string;
  details: FieldViolationMessage[];
  grpc_status_code: number;
  retry_after_seconds: number;
}

/** `CompressStreamRequest` as decoded. */
export interface CompressStreamRequestMessage {
  frame: CompressFrameRequestMessage | null;
}

/** `CompressStreamResponse`: exactly one of `result` and `error` is set (decoded: `outcome` names it). */
export interface CompressStreamResponseMessage {
  result?: CompressFrameResponseMessage | null;
  error?: FrameErrorMessage | null;
  outcome?: 'result' | 'error';
}

/** `GetCompressionHintsRequest` as decoded. */
export interface GetCompressionHintsRequestMessage {
  session_id: string;
  mode: string | number;
  frame_type: string | number;
}

/** `AnalyzeNetworkConditionsRequest` and `UpdateNetworkConditionsRequest` as decoded. */
export interface NetworkRequestMessage {
  session_id: string;
  network: NetworkConditionsMessage | null;
}

/** `CompressionRecommendation` as encoded. */
export interface RecommendationMessage {
  mode: string;
  format: string;
  quality: number;
  scale: number;
}

/** `AnalyzeNetworkConditionsResponse` and `UpdateNetworkConditionsResponse` as encoded. */
export interface NetworkEstimateMessage {
  session_id: string;
  smoothed_bandwidth_kbps: number;
  predicted_bandwidth_kbps: number;
  stability: number;
  network_quality: string;
  network_condition: number;
  budget_bytes_per_frame: number;
  recommendation: RecommendationMessage;
  sample_count: number;
}

/** `GetCompressionHintsResponse` as encoded. */
export interface CompressionHintsMessage {
  session_id: string;
  recommendation: RecommendationMessage;
  budget_bytes_per_frame: number;
  network_quality: string;
  network_condition: number;
  sample_count: number;
  mode: string;
  target_compression_ratio: number;
  max_latency_ms: number;
  min_quality_score: number;
  on_budget_miss: string;
  /** Unset: a screen frame is never answered `unchanged` (mode off). */
  unchanged_ssim_screen?: number;
  /** Unset: a video frame is never answered `unchanged`. */
  unchanged_ssim_video?: number;
}
