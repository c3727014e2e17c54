/**
 * gRPC test helpers: a real grpc-js client built from the repository's proto, promise wrappers
 * that keep the metadata and trailers of a call, and a token for a user.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import {
  aicClientConstructor,
  type CompressStreamResponseMessage,
  LOADER_OPTIONS,
} from '../../functions/grpc/proto.ts';
import { jwtSettingsFromEnv, signToken } from '../../functions/platform/jwt.ts';

/** A client of `AICCompressionService`. */
export type AicClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A client of the service at `address` over plaintext loopback. */
export function aicClient(address: string, options: grpc.ClientOptions = {}): AicClient {
  const Client = aicClientConstructor();
  return new Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...options,
  }) as unknown as AicClient;
}

/**
 * Call metadata with the bearer token of `user` (none when undefined), with `claims` added to the
 * token (e.g. a `client_id`), and extra entries.
 */
export async function callMetadata(
  user: string | undefined,
  extra: Record<string, string> = {},
  claims: Record<string, string> = {},
): Promise<grpc.Metadata> {
  const metadata = new grpc.Metadata();
  if (user) {
    const token = await signToken(user, jwtSettingsFromEnv(), 600, claims);
    metadata.set('authorization', `Bearer ${token}`);
  }
  for (const [key, value] of Object.entries(extra)) metadata.set(key, value);
  return metadata;
}

/** What a unary call ended with. */
export interface UnaryOutcome<T> {
  response?: T;
  error?: grpc.ServiceError;
  metadata: grpc.Metadata;
  trailers: grpc.Metadata;
}

/** Calls a unary `method` and resolves with its response or error, its metadata and trailers. */
export function unaryCall<T = Record<string, unknown>>(
  client: AicClient,
  method: string,
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions = {},
): Promise<UnaryOutcome<T>> {
  return new Promise((resolve) => {
    let initial = new grpc.Metadata();
    let trailers = new grpc.Metadata();
    let result: { response?: T; error?: grpc.ServiceError } | undefined;
    let status = false;
    const settle = () => {
      if (result && status) resolve({ ...result, metadata: initial, trailers });
    };
    const call = (client[method] as (...args: unknown[]) => grpc.ClientUnaryCall)(
      request,
      metadata,
      options,
      (error: grpc.ServiceError | null, response: T) => {
        result = error ? { error } : { response };
        settle();
      },
    );
    call.on('metadata', (m: grpc.Metadata) => {
      initial = m;
    });
    call.on('status', (s: grpc.StatusObject) => {
      trailers = s.metadata;
      status = true;
      settle();
    });
  });
}

/** Reflection's `ServerReflection` client for `v1` or `v1alpha`. */
export function reflectionClient(address: string, version: 'v1' | 'v1alpha'): grpc.Client {
  const dir = join(
    import.meta.dirname,
    '..',
    '..',
    'node_modules',
    '@grpc',
    'reflection',
    'build',
    'proto',
  );
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
    ...LOADER_OPTIONS,
    includeDirs: [dir],
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> };
  };
  const Client = loaded.grpc.reflection[version]?.ServerReflection as grpc.ServiceClientConstructor;
  return new Client(address, grpc.credentials.createInsecure());
}

/** The service names reflection lists. */
export function listServices(client: grpc.Client): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const call = (
      client as unknown as Record<
        string,
        () => grpc.ClientDuplexStream<
          object,
          {
            list_services_response?: { service: { name: string }[] };
          }
        >
      >
    ).ServerReflectionInfo?.();
    if (!call) {
      reject(new Error('no ServerReflectionInfo'));
      return;
    }
    call.on('data', (message) => {
      resolve((message.list_services_response?.service ?? []).map((s: { name: string }) => s.name));
      call.end();
    });
    call.on('error', reject);
    call.write({ list_services: '' });
  });
}

/** A client of `grpc.health.v1.Health`. */
export function healthClient(address: string): grpc.Client {
  const definition = protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

/** Sends `requests` on one `CompressStream` and collects every response and the final status. */
export async function grpcCompressStream(
  client: AicClient,
  requests: object[],
  metadata: grpc.Metadata,
): Promise<{ responses: CompressStreamResponseMessage[]; status: grpc.StatusObject }> {
  const call = (
    client.CompressStream as (
      m: grpc.Metadata,
    ) => grpc.ClientDuplexStream<object, CompressStreamResponseMessage>
  )(metadata);
  const responses: CompressStreamResponseMessage[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (response: CompressStreamResponseMessage) => responses.push(response));
  call.on('error', () => undefined);
  for (const request of requests) call.write(request);
  call.end();
  return { responses, status: await status };
}
