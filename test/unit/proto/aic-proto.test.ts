import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  compressJsonRequestSchema,
  compressLatencySchema,
  compressResponseSchema,
  inputFormatSchema,
  networkConditionsSchema,
} from '../../../functions/core/contracts/compress.ts';
import {
  compressionModeSchema,
  onBudgetMissSchema,
  outputFormatSchema,
} from '../../../functions/core/contracts/config.ts';

const PROTO_ROOT = fileURLToPath(new URL('../../../proto', import.meta.url));
const PROTO_FILE = 'auralink/aic/v1/aic.proto';
const PACKAGE = 'auralink.aic.v1';
const SERVICE = 'AICCompressionService';

/** The options the gRPC server and the clients load the proto with. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

const definition = protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);

/** The parts of a protobuf descriptor these tests read. */
interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
}
interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}

const qualified = (name: string): string => `${PACKAGE}.${name}`;

function messageType(name: string): protoLoader.MessageTypeDefinition<object, object> {
  const entry = definition[qualified(name)];
  if (!entry || !('format' in entry) || entry.format !== 'Protocol Buffer 3 DescriptorProto') {
    throw new Error(`no message ${name}`);
  }
  return entry as protoLoader.MessageTypeDefinition<object, object>;
}

const messageDescriptor = (name: string): MessageDescriptor =>
  messageType(name).type as MessageDescriptor;

const fieldNames = (name: string): string[] => messageDescriptor(name).field.map((f) => f.name);

function field(message: string, name: string): FieldDescriptor {
  const found = messageDescriptor(message).field.find((f) => f.name === name);
  if (!found) throw new Error(`no field ${message}.${name}`);
  return found;
}

function roundTrip(name: string, value: object): Record<string, unknown> {
  const type = messageType(name);
  return type.deserialize(type.serialize(value)) as Record<string, unknown>;
}

/** Fields that are not set on the wire and have presence come back absent (or null for messages). */
function unsetWhenEmpty(name: string): string[] {
  const decoded = roundTrip(name, {});
  return fieldNames(name).filter((key) => decoded[key] === undefined || decoded[key] === null);
}

const enums = Object.entries(definition)
  .filter(
    ([, entry]) => 'format' in entry && entry.format === 'Protocol Buffer 3 EnumDescriptorProto',
  )
  .map(([name, entry]) => ({
    name,
    descriptor: (entry as protoLoader.EnumTypeDefinition).type as EnumDescriptor,
  }));

const messages = Object.entries(definition)
  .filter(([, entry]) => 'format' in entry && entry.format === 'Protocol Buffer 3 DescriptorProto')
  .map(([name]) => name.slice(PACKAGE.length + 1));

function enumValueNames(name: string): string[] {
  const entry = definition[qualified(name)] as protoLoader.EnumTypeDefinition;
  return (entry.type as EnumDescriptor).value.map((v) => v.name);
}

/** `COMPRESSION_MODE` for `CompressionMode`: buf's ENUM_VALUE_PREFIX rule. */
const enumPrefix = (enumName: string): string =>
  enumName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** The proto enum value that stands for an HTTP string enum value (`5g` -> `CONNECTION_TYPE_5G`). */
const protoEnumValue = (enumName: string, jsonValue: string): string =>
  `${enumPrefix(enumName)}_${jsonValue.toUpperCase()}`;

/** Keys of a zod object schema. */
const keysOf = (schema: { shape: Record<string, unknown> }): string[] =>
  Object.keys(schema.shape).sort();

const acceptsNull = (schema: z.ZodType): boolean => schema.safeParse(null).success;

function fullNetwork() {
  return {
    available_bandwidth_kbps: 2500.5,
    rtt_ms: 42.25,
    packet_loss_percent: 1.5,
    jitter_ms: 3.75,
    fps: 60,
    connection_type: 'CONNECTION_TYPE_5G',
  };
}

function fullCompressRequest() {
  return {
    session_id: '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77',
    frame_data: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0xff, 0xd9]),
    metadata: {
      frame_number: 123_456_789_012,
      timestamp_us: 1_767_225_600_000_000,
      frame_type: 'FRAME_TYPE_SCREEN',
    },
    mode: 'COMPRESSION_MODE_AGGRESSIVE',
    target_compression_ratio: 0.9,
    max_latency_ms: 25,
    min_quality_score: 0.7,
    on_budget_miss: 'ON_BUDGET_MISS_SMALLEST',
    unchanged_ssim_screen: 0.97,
    unchanged_ssim_video: 0.995,
    network: fullNetwork(),
  };
}

function fullCompressResponse() {
  return {
    status: 'COMPRESSION_STATUS_SUCCESS',
    session_id: '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77',
    frame_number: 7,
    compressed_data: Buffer.from([1, 2, 3, 4, 5]),
    format: 'IMAGE_FORMAT_WEBP',
    quality: 72,
    width: 1280,
    height: 720,
    original_size_bytes: 250_000,
    compressed_size_bytes: 50_000,
    compression_ratio: 0.8,
    bandwidth_savings_percent: 80,
    budget_bytes: 52_083,
    within_budget: true,
    ssim: 0.9612,
    psnr_db: 38.25,
    quality_score: 0.9612,
    encode_attempts: 2,
    latency_ms: { decode: 1.5, encode: 6.25, metrics: 0.75, total: 9 },
    fallback_used: false,
    fallback_reason: 'none needed',
  };
}

function fullNetworkEstimate() {
  return {
    session_id: '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77',
    smoothed_bandwidth_kbps: 4800.5,
    predicted_bandwidth_kbps: 4500.25,
    stability: 0.875,
    network_quality: 'NETWORK_QUALITY_FAIR',
    network_condition: 0.625,
    budget_bytes_per_frame: 17_000,
    recommendation: {
      mode: 'COMPRESSION_MODE_ADAPTIVE',
      format: 'IMAGE_FORMAT_AVIF',
      quality: 60,
      scale: 0.75,
    },
    sample_count: 12,
  };
}

describe('the AuraLink AIC proto', () => {
  it('declares the AICCompressionService with exactly five methods and their streaming flags', () => {
    const service = definition[qualified(SERVICE)] as protoLoader.ServiceDefinition;
    const methods = Object.fromEntries(
      Object.entries(service).map(([name, method]) => [
        name,
        {
          requestStream: method.requestStream,
          responseStream: method.responseStream,
          path: method.path,
        },
      ]),
    );
    const path = (name: string) => `/${PACKAGE}.${SERVICE}/${name}`;
    expect(methods).toEqual({
      CompressFrame: { requestStream: false, responseStream: false, path: path('CompressFrame') },
      CompressStream: { requestStream: true, responseStream: true, path: path('CompressStream') },
      GetCompressionHints: {
        requestStream: false,
        responseStream: false,
        path: path('GetCompressionHints'),
      },
      AnalyzeNetworkConditions: {
        requestStream: false,
        responseStream: false,
        path: path('AnalyzeNetworkConditions'),
      },
      UpdateNetworkConditions: {
        requestStream: false,
        responseStream: false,
        path: path('UpdateNetworkConditions'),
      },
    });
  });

  it('gives grpc-js a client constructor with the same five methods', () => {
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      auralink: { aic: { v1: Record<string, grpc.ServiceClientConstructor> } };
    };
    const Client = loaded.auralink.aic.v1[SERVICE];
    expect(Client).toBeTypeOf('function');
    expect(Client?.serviceName).toBe(SERVICE);
    const service = Client?.service ?? {};
    expect(Object.keys(service).sort()).toEqual([
      'AnalyzeNetworkConditions',
      'CompressFrame',
      'CompressStream',
      'GetCompressionHints',
      'UpdateNetworkConditions',
    ]);
    expect(service.CompressStream?.requestStream).toBe(true);
    expect(service.CompressStream?.responseStream).toBe(true);
    expect(service.CompressFrame?.path).toBe(`/${PACKAGE}.${SERVICE}/CompressFrame`);
    const client = new (Client as grpc.ServiceClientConstructor)(
      'localhost:1',
      grpc.credentials.createInsecure(),
    );
    try {
      for (const method of Object.keys(service)) {
        expect(client[method]).toBeTypeOf('function');
      }
    } finally {
      client.close();
    }
  });

  it('names every request and response after its method, each used by one method only', () => {
    const service = definition[qualified(SERVICE)] as protoLoader.ServiceDefinition;
    const used = new Set<string>();
    for (const [name, method] of Object.entries(service)) {
      const request = (method.requestType.type as MessageDescriptor).name;
      const response = (method.responseType.type as MessageDescriptor).name;
      expect([request, response]).toEqual([`${name}Request`, `${name}Response`]);
      expect(used.has(request) || used.has(response)).toBe(false);
      used.add(request);
      used.add(response);
    }
  });

  it('marks the read-only methods as free of side effects', () => {
    const service = definition[qualified(SERVICE)] as protoLoader.ServiceDefinition;
    const levels = Object.fromEntries(
      Object.entries(service).map(([name, method]) => [name, method.options.idempotency_level]),
    );
    expect(levels.GetCompressionHints).toBe('NO_SIDE_EFFECTS');
    expect(levels.AnalyzeNetworkConditions).toBe('NO_SIDE_EFFECTS');
    expect(levels.UpdateNetworkConditions).not.toBe('NO_SIDE_EFFECTS');
    expect(levels.CompressFrame).not.toBe('NO_SIDE_EFFECTS');
  });

  it('starts every enum with a zero value named after the enum and ending in UNSPECIFIED', () => {
    expect(enums.length).toBeGreaterThanOrEqual(6);
    for (const { name, descriptor } of enums) {
      const zero = descriptor.value.find((v) => v.number === 0);
      expect(zero?.name, name).toBe(`${enumPrefix(descriptor.name)}_UNSPECIFIED`);
      expect(descriptor.value[0]?.number, name).toBe(0);
    }
  });

  it('prefixes every enum value with its enum name in upper snake case', () => {
    for (const { name, descriptor } of enums) {
      for (const value of descriptor.value) {
        expect(
          value.name.startsWith(`${enumPrefix(descriptor.name)}_`),
          `${name}.${value.name}`,
        ).toBe(true);
        expect(value.name, `${name}.${value.name}`).toMatch(/^[A-Z][A-Z0-9_]*$/);
      }
    }
  });

  it('uses snake_case field names and PascalCase message names', () => {
    for (const name of messages) {
      expect(name).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      for (const f of messageDescriptor(name).field) {
        expect(f.name, `${name}.${f.name}`).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      }
    }
  });

  it('documents every service, method, message, enum, field and enum value with a comment', () => {
    const lines = readFileSync(`${PROTO_ROOT}/${PROTO_FILE}`, 'utf8').split('\n');
    const declaration =
      /^\s*(service |rpc |message |enum |oneof |(optional |repeated )?[A-Za-z0-9_.]+ [a-z0-9_]+ = \d+;|[A-Z0-9_]+ = \d+;)/;
    const undocumented: string[] = [];
    lines.forEach((line, index) => {
      if (!declaration.test(line) || /^\s*option /.test(line)) return;
      const previous = lines[index - 1]?.trim() ?? '';
      if (!previous.startsWith('//')) undocumented.push(`${index + 1}: ${line.trim()}`);
    });
    expect(undocumented).toEqual([]);
  });

  it('round-trips a CompressFrame request with every field set', () => {
    const request = fullCompressRequest();
    const decoded = roundTrip('CompressFrameRequest', request);
    expect(decoded).toMatchObject({ ...request, network_hint: 'network' });
    expect(Buffer.from(decoded.frame_data as Uint8Array)).toEqual(request.frame_data);
  });

  it('round-trips a CompressFrame request that carries a network score instead of a sample', () => {
    const { network: _network, ...rest } = fullCompressRequest();
    const decoded = roundTrip('CompressFrameRequest', { ...rest, network_condition: 0.25 });
    expect(decoded.network_hint).toBe('network_condition');
    expect(decoded.network_condition).toBe(0.25);
    expect(decoded.network).toBeUndefined();
  });

  it('round-trips a CompressFrame response with every field set', () => {
    const response = fullCompressResponse();
    const decoded = roundTrip('CompressFrameResponse', response);
    expect(decoded).toMatchObject(response);
    expect(Buffer.from(decoded.compressed_data as Uint8Array)).toEqual(response.compressed_data);
  });

  it('serialises the request and response of CompressFrame with the method serialisers of grpc-js', () => {
    const service = definition[qualified(SERVICE)] as protoLoader.ServiceDefinition;
    const method = service.CompressFrame as protoLoader.MethodDefinition<object, object>;
    const request = fullCompressRequest();
    const response = fullCompressResponse();
    expect(method.requestDeserialize(method.requestSerialize(request))).toMatchObject(request);
    expect(method.responseDeserialize(method.responseSerialize(response))).toMatchObject(response);
  });

  it('carries the frame as raw bytes, not base64', () => {
    const frame = Buffer.alloc(30_000, 0xab);
    const encoded = messageType('CompressFrameRequest').serialize({
      session_id: '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77',
      frame_data: frame,
    });
    expect(encoded.length).toBeGreaterThan(frame.length);
    expect(encoded.length).toBeLessThan(frame.length + 64);
  });

  it('keeps an explicit zero in an optional field apart from an unset one', () => {
    const zeroes = roundTrip('CompressFrameRequest', {
      session_id: 's',
      metadata: { frame_number: 0, timestamp_us: 0 },
      target_compression_ratio: 0,
      max_latency_ms: 0,
      min_quality_score: 0,
      unchanged_ssim_screen: 0,
      unchanged_ssim_video: 0,
      network: { available_bandwidth_kbps: 64, fps: 0 },
    });
    expect(zeroes).toMatchObject({
      metadata: { frame_number: 0, timestamp_us: 0 },
      target_compression_ratio: 0,
      max_latency_ms: 0,
      min_quality_score: 0,
      unchanged_ssim_screen: 0,
      unchanged_ssim_video: 0,
      network: { fps: 0 },
    });
    const unset = roundTrip('CompressFrameRequest', { session_id: 's', metadata: {}, network: {} });
    for (const key of [
      'target_compression_ratio',
      'max_latency_ms',
      'min_quality_score',
      'unchanged_ssim_screen',
      'unchanged_ssim_video',
    ]) {
      expect(unset[key], key).toBeUndefined();
    }
    expect((unset.metadata as Record<string, unknown>).frame_number).toBeUndefined();
    expect((unset.metadata as Record<string, unknown>).timestamp_us).toBeUndefined();
    expect((unset.metadata as Record<string, unknown>).frame_type).toBe('FRAME_TYPE_UNSPECIFIED');
    expect((unset.network as Record<string, unknown>).fps).toBeUndefined();
    expect((unset.network as Record<string, unknown>).rtt_ms).toBe(0);
  });

  it('round-trips a stream element of either kind: a result or a per-frame error', () => {
    const request = { frame: fullCompressRequest() };
    expect(roundTrip('CompressStreamRequest', request)).toMatchObject(request);

    const result = { result: fullCompressResponse() };
    expect(roundTrip('CompressStreamResponse', result)).toMatchObject({
      ...result,
      outcome: 'result',
    });

    const error = {
      error: {
        code: 'VALIDATION_FAILED',
        message: 'the request is not valid',
        details: [{ field: 'network.rtt_ms', message: 'must be at most 5000', code: 'too_big' }],
        grpc_status_code: grpc.status.INVALID_ARGUMENT,
      },
    };
    const decoded = roundTrip('CompressStreamResponse', error);
    expect(decoded).toMatchObject({ ...error, outcome: 'error' });
    expect(decoded.result).toBeUndefined();
  });

  it('round-trips the network, hints and analysis messages with every field set', () => {
    const network = { session_id: '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77', network: fullNetwork() };
    expect(roundTrip('UpdateNetworkConditionsRequest', network)).toMatchObject(network);
    expect(roundTrip('AnalyzeNetworkConditionsRequest', network)).toMatchObject(network);
    expect(roundTrip('UpdateNetworkConditionsResponse', fullNetworkEstimate())).toMatchObject(
      fullNetworkEstimate(),
    );
    expect(roundTrip('AnalyzeNetworkConditionsResponse', fullNetworkEstimate())).toMatchObject(
      fullNetworkEstimate(),
    );

    const hintsRequest = {
      session_id: '0b0b1d3a-6f4c-4a51-9d7e-2a1f0c9b8e77',
      mode: 'COMPRESSION_MODE_CONSERVATIVE',
      frame_type: 'FRAME_TYPE_VIDEO',
    };
    expect(roundTrip('GetCompressionHintsRequest', hintsRequest)).toMatchObject(hintsRequest);
    const { smoothed_bandwidth_kbps, predicted_bandwidth_kbps, stability, ...estimate } =
      fullNetworkEstimate();
    const hints = {
      ...estimate,
      mode: 'COMPRESSION_MODE_CONSERVATIVE',
      target_compression_ratio: 0.5,
      max_latency_ms: 15,
      min_quality_score: 0.95,
      on_budget_miss: 'ON_BUDGET_MISS_SMALLEST',
      unchanged_ssim_screen: 0.99,
      unchanged_ssim_video: 0.995,
    };
    expect(roundTrip('GetCompressionHintsResponse', hints)).toMatchObject(hints);
    // Unset thresholds (never unchanged) come back unset, not 0.
    const never = roundTrip('GetCompressionHintsResponse', { session_id: 's' });
    expect(never.unchanged_ssim_screen).toBeUndefined();
    expect(never.unchanged_ssim_video).toBeUndefined();
  });

  it('tells an analysis request without a sample from one with a sample', () => {
    const decoded = roundTrip('AnalyzeNetworkConditionsRequest', { session_id: 's' });
    expect(decoded.network).toBeNull();
  });

  it('answers analysis and update with the same fields, numbers and types', () => {
    const shape = (name: string) =>
      messageDescriptor(name).field.map(({ name: n, number, type, typeName, label }) => ({
        n,
        number,
        type,
        typeName,
        label,
      }));
    expect(shape('AnalyzeNetworkConditionsResponse')).toEqual(
      shape('UpdateNetworkConditionsResponse'),
    );
  });

  it('numbers the unchanged status and thresholds after the fields before them', () => {
    const status = (definition[qualified('CompressionStatus')] as protoLoader.EnumTypeDefinition)
      .type as EnumDescriptor;
    expect(status.value.find((v) => v.name === 'COMPRESSION_STATUS_UNCHANGED')?.number).toBe(4);
    for (const message of ['CompressFrameRequest', 'GetCompressionHintsResponse']) {
      expect(field(message, 'unchanged_ssim_screen'), message).toMatchObject({
        number: 15,
        type: 'TYPE_DOUBLE',
      });
      expect(field(message, 'unchanged_ssim_video'), message).toMatchObject({
        number: 16,
        type: 'TYPE_DOUBLE',
      });
    }
  });

  it('has a compress response field for every field of the HTTP compress response, and no more', () => {
    // No documented difference: compressed_data keeps its name; it is bytes here, base64 in JSON.
    expect(fieldNames('CompressFrameResponse').sort()).toEqual(keysOf(compressResponseSchema));
    expect(field('CompressFrameResponse', 'compressed_data').type).toBe('TYPE_BYTES');
    expect(fieldNames('LatencyBreakdown').sort()).toEqual(keysOf(compressLatencySchema));
  });

  it('makes exactly the nullable fields of the HTTP compress response optional', () => {
    const nullable = Object.entries(compressResponseSchema.shape)
      .filter(([, schema]) => acceptsNull(schema as z.ZodType))
      .map(([key]) => key)
      .sort();
    const withPresence = unsetWhenEmpty('CompressFrameResponse')
      .filter((key) => field('CompressFrameResponse', key).type !== 'TYPE_MESSAGE')
      .sort();
    expect(withPresence).toEqual(nullable);
  });

  it('has a compress request field for every field of the HTTP compress request', () => {
    // Documented difference: frame_number, timestamp_us and frame_type travel in `metadata`.
    const flattened = fieldNames('CompressFrameRequest').flatMap((name) =>
      name === 'metadata' ? fieldNames('FrameMetadata') : [name],
    );
    expect(flattened.sort()).toEqual(keysOf(compressJsonRequestSchema));
    expect(field('CompressFrameRequest', 'frame_data').type).toBe('TYPE_BYTES');
  });

  it('carries every field of the HTTP network update in NetworkConditions, and no more', () => {
    expect(fieldNames('NetworkConditions').sort()).toEqual(keysOf(networkConditionsSchema));
    expect(field('CompressFrameRequest', 'network').typeName).toMatch(/NetworkConditions$/);
    expect(field('UpdateNetworkConditionsRequest', 'network').typeName).toMatch(
      /NetworkConditions$/,
    );
    expect(field('AnalyzeNetworkConditionsRequest', 'network').typeName).toMatch(
      /NetworkConditions$/,
    );
  });

  it('has a proto enum value for every value of the HTTP string enums, and no other', () => {
    const connectionTypes = networkConditionsSchema.shape.connection_type.unwrap().options;
    const frameTypes = compressJsonRequestSchema.shape.frame_type.unwrap().options;
    const cases: [string, readonly string[]][] = [
      ['CompressionMode', compressionModeSchema.options],
      ['ConnectionType', connectionTypes],
      ['FrameType', frameTypes],
      ['CompressionStatus', compressResponseSchema.shape.status.options],
      ['ImageFormat', [...new Set([...inputFormatSchema.options, ...outputFormatSchema.options])]],
      ['NetworkQuality', ['excellent', 'good', 'fair', 'poor']],
      ['OnBudgetMiss', onBudgetMissSchema.options],
    ];
    for (const [enumName, jsonValues] of cases) {
      const expected = [
        `${enumPrefix(enumName)}_UNSPECIFIED`,
        ...jsonValues.map((value) => protoEnumValue(enumName, value)),
      ].sort();
      expect(enumValueNames(enumName).sort(), enumName).toEqual(expected);
    }
    expect(cases.map(([name]) => name).sort()).toEqual(
      enums.map(({ descriptor }) => descriptor.name).sort(),
    );
  });
});
