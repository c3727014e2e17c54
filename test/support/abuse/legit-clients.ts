/**
 * The legitimate clients of an abuse scenario: one media server sending frames over gRPC
 * (`CompressFrame`) and one over HTTP (`POST /compress`), each one frame at a time at a steady
 * pace, as a real call would, recording every frame's round trip and whether it succeeded.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { aicClient, callMetadata, unaryCall } from '../grpc.ts';

/** What a legitimate client saw. */
export interface LegitRecord {
  /** Round trip of every answered frame, ms. */
  latenciesMs: number[];
  /** Frames that did not succeed, by what they ended with (a gRPC code name or an HTTP status). */
  failures: Record<string, number>;
}

/** Where the runtime listens and who the legitimate user is. */
export interface LegitTarget {
  httpUrl: string;
  grpcAddress: string;
  user: string;
  frame: Buffer;
  /** Gap between one frame's answer and the next frame, ms. */
  paceMs: number;
}

const fail = (record: LegitRecord, outcome: string) => {
  record.failures[outcome] = (record.failures[outcome] ?? 0) + 1;
};

/** Sends frames over `CompressFrame` until `signal` aborts. */
export async function grpcLegitClient(target: LegitTarget, signal: AbortSignal) {
  const client = aicClient(target.grpcAddress);
  const record: LegitRecord = { latenciesMs: [], failures: {} };
  const sessionId = randomUUID();
  try {
    for (let n = 0; !signal.aborted; n++) {
      const metadata = await callMetadata(target.user);
      const started = performance.now();
      const outcome = await unaryCall(
        client,
        'CompressFrame',
        { session_id: sessionId, frame_data: target.frame, metadata: { frame_number: n } },
        metadata,
        { deadline: Date.now() + 10_000 },
      );
      if (outcome.error) fail(record, String(outcome.error.code));
      else record.latenciesMs.push(performance.now() - started);
      await sleep(target.paceMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    client.close();
  }
  return record;
}

/** Sends frames to `POST /compress` (the raw image body) until `signal` aborts. */
export async function httpLegitClient(
  target: LegitTarget,
  authorization: string,
  signal: AbortSignal,
) {
  const record: LegitRecord = { latenciesMs: [], failures: {} };
  const sessionId = randomUUID();
  for (let n = 0; !signal.aborted; n++) {
    const started = performance.now();
    const url = `${target.httpUrl}/api/v1/aic/compress?session_id=${sessionId}&frame_number=${n}`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'image/jpeg' },
        body: target.frame,
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.status === 200) record.latenciesMs.push(performance.now() - started);
      else fail(record, String(response.status));
    } catch (error) {
      fail(record, error instanceof Error ? error.name : 'error');
    }
    await sleep(target.paceMs, undefined, { signal }).catch(() => undefined);
  }
  return record;
}
