import { randomUUID } from 'node:crypto';
import {
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsOutput,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FrameEvent, parseFrameEvent } from '../../../functions/core/contracts/frame-event.ts';
import { DependencyUnavailableError } from '../../../functions/core/errors.ts';
import {
  createKinesisFrameLog,
  type KinesisRetryInfo,
  PutRecordsPartialFailure,
  planPutBatches,
} from '../../../functions/platform/metrics/kinesis-frame-log.ts';
import { sampleFrameEvent } from '../../support/frame-events.ts';
import {
  type Kinesalite,
  localKinesisClient,
  type StreamRecord,
  startKinesalite,
} from '../../support/kinesalite.ts';
import { freePort } from '../../support/own-redis.ts';

function frameEvent(sessionId: string, frameNumber: number, extra: Partial<FrameEvent> = {}) {
  return sampleFrameEvent(frameNumber, {
    user_id: 'user-kinesis',
    session_id: sessionId,
    recorded_at: new Date(Date.UTC(2026, 0, 1, 12, 0, frameNumber % 60)).toISOString(),
    ...extra,
  });
}

/** `count` events of `sessions` sessions, interleaved: frame n of every session, then n + 1. */
function interleavedEvents(sessions: readonly string[], count: number): FrameEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const sessionId = sessions[i % sessions.length] ?? '';
    return frameEvent(sessionId, Math.floor(i / sessions.length));
  });
}

function eventsOf(records: readonly StreamRecord[]): FrameEvent[] {
  return records.map((record) => {
    const parsed = parseFrameEvent(record.data);
    if (!parsed.ok) throw new Error(`record ${record.sequenceNumber} is ${parsed.reason}`);
    return parsed.event;
  });
}

const key = (event: FrameEvent) => `${event.session_id}/${event.event_id}`;

/** The PutRecords entries each call to `client.send` carried, in call order. */
function putCalls(send: { mock: { calls: unknown[][] } }): PutRecordsRequestEntry[][] {
  return send.mock.calls
    .map(([command]) => command)
    .filter((command): command is PutRecordsCommand => command instanceof PutRecordsCommand)
    .map((command) => command.input.Records ?? []);
}

/**
 * Kinesis may answer PutRecords with some entries failed and the rest stored; kinesalite never
 * does (an AWS behaviour that cannot be produced here). This client forwards every call to the
 * real server, except that the first `failures` answers pretend the entries picked by `fails`
 * were throttled: those entries are kept from the server, and the answer reports them failed.
 */
function throttlingSomeEntries(
  client: KinesisClient,
  fails: (entry: PutRecordsRequestEntry, index: number) => boolean,
  failures = 1,
): KinesisClient {
  let left = failures;
  const send = async (command: unknown) => {
    if (!(command instanceof PutRecordsCommand) || left === 0) {
      return client.send(command as PutRecordsCommand);
    }
    left -= 1;
    const entries = command.input.Records ?? [];
    const kept = entries.filter((entry, index) => !fails(entry, index));
    const stored = kept.length > 0 ? await client.send(withRecords(command, kept)) : undefined;
    const storedResults = [...(stored?.Records ?? [])];
    const results: PutRecordsResultEntry[] = entries.map((entry, index) =>
      fails(entry, index)
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }
        : (storedResults.shift() ?? {}),
    );
    const failed = entries.length - kept.length;
    return { FailedRecordCount: failed, Records: results, $metadata: {} } as PutRecordsOutput;
  };
  return { send } as unknown as KinesisClient;
}

function withRecords(command: PutRecordsCommand, records: PutRecordsRequestEntry[]) {
  return new PutRecordsCommand({ ...command.input, Records: records });
}

describe('the Kinesis frame-event log against kinesalite', () => {
  let kinesis: Kinesalite;

  beforeEach(async () => {
    kinesis = await startKinesalite({ shards: 4 });
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await kinesis.stop();
  });

  it('appends 1,200 events in puts of at most 500 and every one reads back exactly once', async () => {
    const sessions = Array.from({ length: 12 }, () => randomUUID());
    const events = interleavedEvents(sessions, 1_200);
    const send = vi.spyOn(kinesis.client, 'send');
    const log = createKinesisFrameLog({ client: kinesis.client, streamName: kinesis.streamName });
    expect(log.kind).toBe('kinesis');

    await log.append(events);

    expect(putCalls(send).map((records) => records.length)).toEqual([500, 500, 200]);
    const stored = eventsOf(await kinesis.readAll());
    expect(stored).toHaveLength(1_200);
    expect(new Set(stored.map(key)).size).toBe(1_200);
    expect(new Set(stored.map(key))).toEqual(new Set(events.map(key)));
    for (const session of sessions) {
      const frames = stored.filter((e) => e.session_id === session).map((e) => e.frame_number);
      expect(frames).toEqual(Array.from({ length: 100 }, (_, n) => n));
    }
    await log.close();
  });

  it('keeps the events of one session on one shard, in the order they were appended', async () => {
    const sessions = Array.from({ length: 20 }, () => randomUUID());
    const log = createKinesisFrameLog({ client: kinesis.client, streamName: kinesis.streamName });
    // Five appends, as five answered frames per session would make them.
    for (let round = 0; round < 5; round++) {
      await log.append(sessions.map((session) => frameEvent(session, round)));
    }

    const records = await kinesis.readAll();
    const shardsUsed = new Set(records.map((record) => record.shardId));
    expect(shardsUsed.size).toBeGreaterThan(1);
    for (const session of sessions) {
      const own = records.filter((record) => record.partitionKey === session);
      expect(new Set(own.map((record) => record.shardId)).size).toBe(1);
      expect(eventsOf(own).map((event) => event.frame_number)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('splits an append by bytes when 500 records would be over 5 MiB', async () => {
    const session = randomUUID();
    // Each record about 600 kB: eight fit in 5 MiB, the ninth would not.
    const reason = 'x'.repeat(600_000);
    const events = Array.from({ length: 10 }, (_, n) =>
      frameEvent(session, n, { fallback: true, fallback_reason: reason }),
    );
    const send = vi.spyOn(kinesis.client, 'send');
    const log = createKinesisFrameLog({ client: kinesis.client, streamName: kinesis.streamName });

    await log.append(events);

    expect(putCalls(send).map((records) => records.length)).toEqual([8, 2]);
    // Read as plain JSON: a 600 kB fallback_reason is over the schema's cap, which is why real
    // events never come near the byte limits (about 1 kB each); only the split is tested here.
    const stored = (await kinesis.readAll()).map((record) => JSON.parse(record.data) as FrameEvent);
    expect(stored.map((event) => event.frame_number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses an event whose record is over 1 MiB without calling the stream', async () => {
    const send = vi.spyOn(kinesis.client, 'send');
    const log = createKinesisFrameLog({ client: kinesis.client, streamName: kinesis.streamName });
    const huge = frameEvent(randomUUID(), 0, { fallback_reason: 'x'.repeat(1_100_000) });

    await expect(log.append([huge])).rejects.toBeInstanceOf(RangeError);
    expect(send).not.toHaveBeenCalled();
  });

  it('sends again only the entries a PutRecords answer reports failed, in their order', async () => {
    const session = randomUUID();
    const events = Array.from({ length: 10 }, (_, n) => frameEvent(session, n));
    const failing = new Set([2, 5, 6, 9]);
    const client = throttlingSomeEntries(kinesis.client, (_, index) => failing.has(index));
    const send = vi.spyOn(client, 'send');
    const retries: KinesisRetryInfo[] = [];
    const log = createKinesisFrameLog({
      client,
      streamName: kinesis.streamName,
      baseDelayMs: 5,
      onRetry: (info) => retries.push(info),
    });

    await log.append(events);

    const calls = putCalls(send);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toHaveLength(10);
    const resent = (calls[1] ?? []).map((entry) => eventsOf([asRecord(entry)])[0]?.frame_number);
    expect(resent).toEqual([2, 5, 6, 9]);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, records: 4 });
    expect(retries[0]?.error).toBeInstanceOf(PutRecordsPartialFailure);
    const stored = eventsOf(await kinesis.readAll());
    expect(stored.map((event) => event.frame_number).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  it('rejects with DependencyUnavailableError when entries still fail after maxAttempts', async () => {
    const events = Array.from({ length: 6 }, (_, n) => frameEvent(randomUUID(), n));
    const client = throttlingSomeEntries(kinesis.client, (_, index) => index === 0, 3);
    const send = vi.spyOn(client, 'send');
    const log = createKinesisFrameLog({
      client,
      streamName: kinesis.streamName,
      maxAttempts: 3,
      baseDelayMs: 5,
    });

    const error = await log.append(events).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe('metrics stream');
    expect((error as Error).cause).toBeInstanceOf(PutRecordsPartialFailure);
    expect(putCalls(send).map((records) => records.length)).toEqual([6, 1, 1]);
    // Everything but the throttled entry was stored by the first call, once.
    expect(await kinesis.readAll()).toHaveLength(5);
  });
});

describe('the Kinesis frame-event log without a server', () => {
  it('rejects with DependencyUnavailableError after maxAttempts when nothing listens', async () => {
    const port = await freePort();
    // The SDK's own retries are off so every try of the adapter is one connection attempt.
    const client = localKinesisClient(`http://127.0.0.1:${port}`, { maxAttempts: 1 });
    const send = vi.spyOn(client, 'send');
    const retries: KinesisRetryInfo[] = [];
    const log = createKinesisFrameLog({
      client,
      streamName: 'frame-events',
      maxAttempts: 3,
      baseDelayMs: 10,
      onRetry: (info) => retries.push(info),
    });
    try {
      const started = performance.now();
      const error = await log.append([frameEvent(randomUUID(), 0)]).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(send).toHaveBeenCalledTimes(3);
      expect(retries.map((info) => info.attempt)).toEqual([1, 2]);
      // Waits of 10 and 20 ms, jittered down to no less than half.
      expect(retries[0]?.delayMs).toBeGreaterThanOrEqual(5);
      expect(retries[0]?.delayMs).toBeLessThanOrEqual(10);
      expect(retries[1]?.delayMs).toBeGreaterThanOrEqual(10);
      expect(retries[1]?.delayMs).toBeLessThanOrEqual(20);
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      client.destroy();
    }
  });

  it('appends nothing and calls nothing for an empty list', async () => {
    const client = localKinesisClient('http://127.0.0.1:9');
    const send = vi.spyOn(client, 'send');
    const log = createKinesisFrameLog({ client, streamName: 'frame-events' });

    await log.append([]);

    expect(send).not.toHaveBeenCalled();
    client.destroy();
  });

  it('plans batches within both the record count and the byte limits, in order', () => {
    const entry = (id: string, bytes: number) => ({
      Data: new Uint8Array(bytes),
      PartitionKey: id,
    });
    const entries = ['a', 'b', 'c', 'd', 'e'].map((id) => entry(id, 9));
    const limits = { maxRecords: 2, maxBytes: 25, maxRecordBytes: 20 };
    const ids = (batches: { PartitionKey: string }[][]) =>
      batches.map((batch) => batch.map((e) => e.PartitionKey).join(''));

    expect(ids(planPutBatches(entries, limits))).toEqual(['ab', 'cd', 'e']);
    expect(ids(planPutBatches(entries, { ...limits, maxRecords: 5 }))).toEqual(['ab', 'cd', 'e']);
    expect(ids(planPutBatches(entries, { ...limits, maxBytes: 10 }))).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect(() => planPutBatches([entry('z', 20)], limits)).toThrow(RangeError);
  });
});

function asRecord(entry: PutRecordsRequestEntry): StreamRecord {
  return {
    data: Buffer.from(entry.Data ?? new Uint8Array()).toString('utf8'),
    partitionKey: entry.PartitionKey ?? '',
    sequenceNumber: '',
    shardId: '',
  };
}
