/**
 * Translation between the proto messages and the transport-neutral contract: requests are mapped to
 * the HTTP contract's JSON shape and validated by the same zod schemas (so every range, the UUID v4
 * rule and the defaults are the HTTP ones), and results are mapped back to proto messages. Enum
 * values follow the proto's rule: prefix + JSON value in upper case, `*_UNSPECIFIED` = not sent.
 */
import { z } from 'zod';
import { type CompressCommand, toCompressCommand } from '../app/compress-command.ts';
import {
  type CompressResponse,
  compressJsonRequestSchema,
  type NetworkConditions,
  networkConditionsSchema,
  sessionIdSchema,
} from '../core/contracts/compress.ts';
import type { NetworkEstimateResponse } from '../core/contracts/network.ts';
import type { Recommendation } from '../core/engine/recommend.ts';
import { issuesToDetails, ValidationError } from '../core/errors.ts';
import type {
  CompressFrameRequestMessage,
  CompressFrameResponseMessage,
  NetworkConditionsMessage,
  NetworkEstimateMessage,
  NetworkRequestMessage,
  RecommendationMessage,
} from './proto.ts';

/**
 * The JSON value of a proto enum value: undefined for `<PREFIX>_UNSPECIFIED` (and 0); a value that
 * does not carry the prefix (an unknown number) is passed on as is, for the schema to reject.
 */
export function fromProtoEnum(prefix: string, value: string | number): string | number | undefined {
  if (value === 0 || value === `${prefix}_UNSPECIFIED`) return undefined;
  if (typeof value === 'string' && value.startsWith(`${prefix}_`)) {
    return value.slice(prefix.length + 1).toLowerCase();
  }
  return value;
}

/** The proto enum value of a JSON value; `<PREFIX>_UNSPECIFIED` for null or undefined. */
export function toProtoEnum(prefix: string, value: string | null | undefined): string {
  return `${prefix}_${(value ?? 'unspecified').toUpperCase()}`;
}

/** Fields that live in `metadata` in the proto but at the top of the HTTP request. */
const METADATA_FIELDS = new Set(['frame_number', 'timestamp_us', 'frame_type']);

/** A frame's bytes: present and not empty (the size cap is the compress service's). */
const frameBytesSchema = z
  .instanceof(Uint8Array, { error: 'must be the bytes of a JPEG, PNG or WebP image' })
  .refine((bytes) => bytes.length > 0, 'must not be empty');

/**
 * The HTTP compress request's schema with `frame_data` as bytes instead of base64. Its refinement
 * (network or network_condition, not both) is the proto's `oneof network_hint`, so the wire format
 * already enforces it.
 */
const compressFrameSchema = z
  .object({ ...compressJsonRequestSchema.shape, frame_data: frameBytesSchema })
  .strict();

const hintsSchema = z
  .object({
    session_id: sessionIdSchema,
    mode: compressJsonRequestSchema.shape.mode,
    frame_type: compressJsonRequestSchema.shape.frame_type,
  })
  .strict();

const updateSchema = z
  .object({ session_id: sessionIdSchema, network: networkConditionsSchema })
  .strict();

const analyseSchema = z
  .object({ session_id: sessionIdSchema, network: networkConditionsSchema.optional() })
  .strict();

/** Validates `input` or throws the {@link ValidationError} of every failing field, proto paths. */
function validate<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = issuesToDetails('', result.error.issues).map((detail) => {
    const field = detail.field.slice(1);
    const top = field.split('.')[0] ?? '';
    return { ...detail, field: METADATA_FIELDS.has(top) ? `metadata.${field}` : field };
  });
  throw new ValidationError('The request is invalid', details);
}

function networkInput(message: NetworkConditionsMessage | null | undefined) {
  if (!message) return undefined;
  return {
    available_bandwidth_kbps: message.available_bandwidth_kbps,
    rtt_ms: message.rtt_ms,
    packet_loss_percent: message.packet_loss_percent,
    jitter_ms: message.jitter_ms,
    fps: message.fps,
    connection_type: fromProtoEnum('CONNECTION_TYPE', message.connection_type),
  };
}

/** Drops undefined members, so `.strict()` and `.optional()` see absent keys, as in JSON. */
function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Validates a `CompressFrameRequest` with the HTTP rules and turns it into the command the compress
 * service runs, by the same mapping as the HTTP handler.
 *
 * @throws ValidationError listing every failing field by its proto path (`metadata.frame_number`).
 */
export function fromCompressFrameRequest(
  message: CompressFrameRequestMessage,
  userId: string,
): CompressCommand {
  const network = message.network_hint === 'network' ? networkInput(message.network) : undefined;
  const { frame_data, ...input } = validate(
    compressFrameSchema,
    defined({
      session_id: message.session_id,
      frame_data: message.frame_data,
      frame_number: message.metadata?.frame_number,
      timestamp_us: message.metadata?.timestamp_us,
      frame_type: fromProtoEnum('FRAME_TYPE', message.metadata?.frame_type ?? 0),
      mode: fromProtoEnum('COMPRESSION_MODE', message.mode),
      target_compression_ratio: message.target_compression_ratio,
      max_latency_ms: message.max_latency_ms,
      min_quality_score: message.min_quality_score,
      on_budget_miss: fromProtoEnum('ON_BUDGET_MISS', message.on_budget_miss ?? 0),
      unchanged_ssim_screen: message.unchanged_ssim_screen,
      unchanged_ssim_video: message.unchanged_ssim_video,
      network: network && defined(network),
      network_condition:
        message.network_hint === 'network_condition' ? message.network_condition : undefined,
    }),
  );
  const frame = Buffer.isBuffer(frame_data) ? frame_data : Buffer.from(frame_data);
  return toCompressCommand(input, frame, userId);
}

/** A validated `GetCompressionHintsRequest`. */
export interface HintsInput {
  sessionId: string;
  mode: z.output<typeof hintsSchema>['mode'];
  frameType: 'video' | 'screen';
}

/** Validates a `GetCompressionHintsRequest`. */
export function toHintsInput(message: {
  session_id: string;
  mode: string | number;
  frame_type: string | number;
}): HintsInput {
  const input = validate(
    hintsSchema,
    defined({
      session_id: message.session_id,
      mode: fromProtoEnum('COMPRESSION_MODE', message.mode),
      frame_type: fromProtoEnum('FRAME_TYPE', message.frame_type),
    }),
  );
  return { sessionId: input.session_id, mode: input.mode, frameType: input.frame_type };
}

/** Validates an `UpdateNetworkConditionsRequest`: the sample is required. */
export function toNetworkUpdate(message: NetworkRequestMessage): {
  sessionId: string;
  conditions: NetworkConditions;
} {
  const network = networkInput(message.network);
  const input = validate(
    updateSchema,
    defined({ session_id: message.session_id, network: network && defined(network) }),
  );
  return { sessionId: input.session_id, conditions: input.network };
}

/** Validates an `AnalyzeNetworkConditionsRequest`: the sample is optional. */
export function toNetworkAnalysis(message: NetworkRequestMessage): {
  sessionId: string;
  conditions: NetworkConditions | undefined;
} {
  const network = networkInput(message.network);
  const input = validate(
    analyseSchema,
    defined({ session_id: message.session_id, network: network && defined(network) }),
  );
  return { sessionId: input.session_id, conditions: input.network };
}

const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** The proto form of a compress result; `compressed_data` travels as raw bytes. */
export function toCompressFrameResponse(result: CompressResponse): CompressFrameResponseMessage {
  return {
    status: toProtoEnum('COMPRESSION_STATUS', result.status),
    session_id: result.session_id,
    frame_number: orUndefined(result.frame_number),
    compressed_data: Buffer.from(result.compressed_data, 'base64'),
    format: toProtoEnum('IMAGE_FORMAT', result.format),
    quality: orUndefined(result.quality),
    width: result.width,
    height: result.height,
    original_size_bytes: result.original_size_bytes,
    compressed_size_bytes: result.compressed_size_bytes,
    compression_ratio: result.compression_ratio,
    bandwidth_savings_percent: result.bandwidth_savings_percent,
    budget_bytes: result.budget_bytes,
    within_budget: result.within_budget,
    ssim: orUndefined(result.ssim),
    psnr_db: orUndefined(result.psnr_db),
    quality_score: orUndefined(result.quality_score),
    encode_attempts: result.encode_attempts,
    latency_ms: result.latency_ms,
    fallback_used: result.fallback_used,
    fallback_reason: orUndefined(result.fallback_reason),
    drop_reason: orUndefined(result.drop_reason),
  };
}

/** The proto form of a recommendation (`IMAGE_FORMAT_UNSPECIFIED`, quality 0: send the original). */
export function toRecommendationMessage(
  recommendation: Pick<Recommendation, 'mode' | 'format' | 'quality' | 'scale'>,
): RecommendationMessage {
  return {
    mode: toProtoEnum('COMPRESSION_MODE', recommendation.mode),
    format: toProtoEnum('IMAGE_FORMAT', recommendation.format),
    quality: recommendation.quality ?? 0,
    scale: recommendation.scale,
  };
}

/** The proto form of a network estimate (the HTTP body under the same field names). */
export function toNetworkEstimateMessage(body: NetworkEstimateResponse): NetworkEstimateMessage {
  return {
    ...body,
    network_quality: toProtoEnum('NETWORK_QUALITY', body.network_quality),
    recommendation: toRecommendationMessage(body.recommendation),
  };
}
