/**
 * The HTTP API and the gRPC service in one test process, over one runtime (one database, one Redis
 * key prefix, one frame-event stream and its consumer), as `npm start` serves them: a test can send
 * one tenant's frames by either transport and read the dashboards over HTTP.
 */
import type * as grpc from '@grpc/grpc-js';
import type { CompressFrameResponseMessage } from '../../functions/grpc/proto.ts';
import { type GrpcServer, startGrpcServer } from '../../functions/grpc/server.ts';
import { type AicClient, aicClient, unaryCall } from './grpc.ts';
import { startTestApi, type TestApi } from './local-api.ts';

/** The API and the service of one runtime. */
export interface TwoTransports {
  api: TestApi;
  server: GrpcServer;
  client: AicClient;
  /** Stops the service, then the API (which flushes the frame log and closes the runtime). */
  close(): Promise<void>;
}

/** Starts the test API with `env` ({@link startTestApi}), then the gRPC service beside it. */
export async function startTwoTransports(
  env: Record<string, string | undefined>,
): Promise<TwoTransports> {
  const api = await startTestApi(env);
  const server = await startGrpcServer({ port: 0, healthIntervalMs: 200 });
  const client = aicClient(`127.0.0.1:${server.port}`);
  return {
    api,
    server,
    client,
    close: async () => {
      client.close();
      await server.shutdown(1000);
      await api.close();
    },
  };
}

/** One `CompressFrame` call with `metadata`. */
export function grpcCompressFrame(client: AicClient, request: object, metadata: grpc.Metadata) {
  return unaryCall<CompressFrameResponseMessage>(client, 'CompressFrame', request, metadata);
}
