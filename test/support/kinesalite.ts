/**
 * A real Kinesis-API server for tests: kinesalite (npm `kinesalite`, in-memory store), on a free
 * loopback port, with one stream created and ACTIVE.
 *
 * Why it is served over cleartext HTTP/2: `@aws-sdk/client-kinesis` is the one SDK v3 client
 * whose default request handler is `NodeHttp2Handler` (Kinesis has SubscribeToShard, an HTTP/2
 * event stream), and with an `http://` endpoint it speaks HTTP/2 with prior knowledge (h2c).
 * kinesalite itself is an HTTP/1.1 server, and the SDK's default client fails against it with
 * `ERR_HTTP2_ERROR: Protocol error` (kinesalite issue #118). Rather than give the tests a client
 * configured unlike production (`requestHandler: new NodeHttpHandler()`), kinesalite's own
 * request handler is mounted on a `node:http2` server through Node's HTTP/1 compatibility API:
 * the tests run the SDK's default transport, as Lambda does. The wire protocol needs nothing:
 * the client sends `application/x-amz-json-1.1` (AwsJson1_1), which kinesalite speaks (it also
 * speaks CBOR, which the Java SDKs use).
 */
import type { Server as HttpServer } from 'node:http';
import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type KinesisClientConfig,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';

/** The options of the `kinesalite` package (it ships no types). */
interface KinesaliteOptions {
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
  shardLimit?: number;
  ssl?: boolean;
}

const kinesalite = createRequire(import.meta.url)('kinesalite') as (
  options: KinesaliteOptions,
) => HttpServer;

/** One record read back from the stream. */
export interface StreamRecord {
  /** The record's data, decoded as UTF-8. */
  data: string;
  partitionKey: string;
  sequenceNumber: string;
  shardId: string;
}

/** A running kinesalite with one stream. */
export interface Kinesalite {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** A client of the server (destroyed by `stop`). */
  readonly client: KinesisClient;
  readonly streamName: string;
  /** Every record of the stream: shard by shard (by shard id), each in sequence order. */
  readAll(): Promise<StreamRecord[]>;
  /** Destroys the client, ends every connection and stops the server. */
  stop(): Promise<void>;
}

/** Options of {@link startKinesalite}. */
export interface StartKinesaliteOptions {
  /** Shards of the stream (default 4, at most 50). */
  shards?: number;
  /** Default `frame-events`. */
  streamName?: string;
}

/**
 * A client for a local Kinesis endpoint: region us-east-1, dummy credentials, and otherwise the
 * SDK's defaults (HTTP/2 handler included) unless `overrides` says otherwise.
 */
export function localKinesisClient(
  endpoint: string,
  overrides: Partial<KinesisClientConfig> = {},
): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...overrides,
  });
}

/** Starts kinesalite on a free loopback port and creates an ACTIVE stream on it. */
export async function startKinesalite(options: StartKinesaliteOptions = {}): Promise<Kinesalite> {
  const streamName = options.streamName ?? 'frame-events';
  const store = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 50,
  });
  // kinesalite only uses what Node's HTTP/2 compatibility API keeps of the HTTP/1 one.
  const handler = store.listeners('request')[0] as (
    req: Http2ServerRequest,
    res: Http2ServerResponse,
  ) => void;
  const server = createServer(handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const port = await listen(server);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localKinesisClient(endpoint);
  await client.send(
    new CreateStreamCommand({ StreamName: streamName, ShardCount: options.shards ?? 4 }),
  );
  await waitUntilActive(client, streamName);
  return {
    endpoint,
    client,
    streamName,
    readAll: () => readAll(client, streamName),
    async stop() {
      client.destroy();
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Closes kinesalite's in-memory store; its HTTP/1 server never listened, hence the error.
      await new Promise<void>((resolve) => store.close(() => resolve()));
    },
  };
}

function listen(server: Http2Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function waitUntilActive(client: KinesisClient, streamName: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`stream ${streamName} is not ACTIVE after 5 s`);
    await sleep(10);
  }
}

async function readAll(client: KinesisClient, streamName: string): Promise<StreamRecord[]> {
  const listed = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const shardIds = (listed.Shards ?? []).map((shard) => shard.ShardId ?? '').sort();
  const records: StreamRecord[] = [];
  for (const shardId of shardIds) records.push(...(await readShard(client, streamName, shardId)));
  return records;
}

/** Every record of one shard from TRIM_HORIZON, until a read returns nothing more. */
async function readShard(
  client: KinesisClient,
  streamName: string,
  shardId: string,
): Promise<StreamRecord[]> {
  const start = await client.send(
    new GetShardIteratorCommand({
      StreamName: streamName,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const records: StreamRecord[] = [];
  let iterator = start.ShardIterator;
  while (iterator) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    const got = page.Records ?? [];
    for (const record of got) {
      records.push({
        data: Buffer.from(record.Data ?? new Uint8Array()).toString('utf8'),
        partitionKey: record.PartitionKey ?? '',
        sequenceNumber: record.SequenceNumber ?? '',
        shardId,
      });
    }
    // An open shard always hands out a next iterator: an empty page is the end of what is there.
    iterator = got.length > 0 ? page.NextShardIterator : undefined;
  }
  return records;
}
