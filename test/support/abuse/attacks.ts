/**
 * The attacks of the abuse suite, each run against a local runtime until its signal aborts, each
 * counting how its requests ended. They use only what any client on the network can: raw HTTP/2
 * and TCP, the repository's proto, and (where the attack is an authenticated user's) a token.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { aicClient, callMetadata } from '../grpc.ts';

/** How an attack's requests ended: an outcome (a gRPC code, an HTTP status, `open`) and a count. */
export type Outcomes = Record<string, number>;

const count = (outcomes: Outcomes, outcome: string) => {
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
};

/** An attack listens to its run's signal once per stream or connection it holds. */
const listenMany = (signal: AbortSignal) => setMaxListeners(0, signal);

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/** Options of {@link stalledUnauthenticatedCalls}. */
export interface StalledCallsOptions {
  calls: number;
  connections: number;
  /** Bytes of the message actually sent before stalling. */
  sendBytes: number;
  /** Length the message's gRPC prefix claims (more than is sent, so the server waits for it). */
  claimBytes: number;
}

/**
 * `calls` unary calls without a token, spread over `connections` HTTP/2 connections, each sending
 * `sendBytes` of a message that claims `claimBytes` and then stalling. Outcome: the `grpc-status`
 * the server ended the call with, `reset <code>` when it reset the stream (HTTP/2 error code), or
 * `open` when it still held it at the end.
 */
export async function stalledUnauthenticatedCalls(
  grpcAddress: string,
  options: StalledCallsOptions,
  signal: AbortSignal,
): Promise<Outcomes> {
  listenMany(signal);
  const outcomes: Outcomes = {};
  const sessions = Array.from({ length: options.connections }, () =>
    http2.connect(`http://${grpcAddress}`).on('error', () => undefined),
  );
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(options.claimBytes, 1);
  const body = Buffer.alloc(options.sendBytes, 7);
  const ended = Array.from({ length: options.calls }, (_, i) => {
    const session = sessions[i % sessions.length] as http2.ClientHttp2Session;
    return new Promise<void>((resolve) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/auralink.aic.v1.AICCompressionService/CompressFrame',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      let status: string | undefined;
      const note = (headers: http2.IncomingHttpHeaders) => {
        status ??= headers['grpc-status'] as string | undefined;
      };
      stream
        .on('response', note)
        .on('trailers', note)
        .on('error', () => undefined);
      stream.on('close', () => {
        // A stream the server reset (its session memory or stream limit) has no status: its code.
        const reset = `reset ${stream.rstCode ?? ''}`.trim();
        count(outcomes, status ?? (signal.aborted ? 'open' : reset));
        resolve();
      });
      stream.resume();
      stream.write(prefix);
      stream.write(body);
      signal.addEventListener('abort', () => stream.close(), { once: true });
    });
  });
  await aborted(signal);
  await Promise.all(ended);
  for (const session of sessions) session.destroy();
  return outcomes;
}

type StreamCall = grpc.ClientDuplexStream<object, { result?: unknown; error?: { code: string } }>;

/**
 * One authenticated stream per `sessions` entry, keeping `window` frames written ahead of the
 * answers, until `signal` aborts. Outcome per frame: `ok`, the frame error's code, or the code
 * that ended the stream.
 */
async function streamFrames(
  grpcAddress: string,
  user: string,
  frames: { frame: Buffer; sessionFor: (n: number) => string; streams: number; window: number },
  signal: AbortSignal,
): Promise<Outcomes> {
  listenMany(signal);
  const outcomes: Outcomes = {};
  const client = aicClient(grpcAddress);
  const metadata = await callMetadata(user);
  const run = () =>
    new Promise<void>((resolve) => {
      const call = (client.CompressStream as (m: grpc.Metadata) => StreamCall)(metadata);
      let sent = 0;
      const send = () => {
        if (signal.aborted) return;
        const frame = { session_id: frames.sessionFor(sent), frame_data: frames.frame };
        call.write({ frame: { ...frame, metadata: { frame_number: sent++ } } });
      };
      call.on('data', (answer) => {
        count(outcomes, answer.error ? answer.error.code : 'ok');
        send();
      });
      call.on('error', (error: grpc.ServiceError) => {
        if (!signal.aborted) count(outcomes, `ended ${error.code}`);
      });
      // `status` comes once, however the call ended (an error, the server's end, a cancel).
      call.on('status', () => resolve());
      for (let i = 0; i < frames.window; i++) send();
      signal.addEventListener('abort', () => call.cancel(), { once: true });
    });
  await Promise.all(Array.from({ length: frames.streams }, run));
  client.close();
  return outcomes;
}

/**
 * One user holding `streams` concurrent streams of 4K frames, `window` frames ahead on each (two by
 * default; one stream with a window of one is an honest 4K client, the floor of this attack).
 */
export function manyStreamsOfLargeFrames(
  grpcAddress: string,
  options: { user: string; frame: Buffer; streams: number; window?: number },
  signal: AbortSignal,
): Promise<Outcomes> {
  const sessionFor = () => randomUUID();
  const sessionIds = Array.from({ length: options.streams }, sessionFor);
  let next = 0;
  return streamFrames(
    grpcAddress,
    options.user,
    {
      frame: options.frame,
      streams: options.streams,
      window: options.window ?? 2,
      // Each stream is one session, as a media server's participant would be.
      sessionFor: () => sessionIds[next++ % sessionIds.length] as string,
    },
    signal,
  );
}

/** One stream whose every frame names a new session id. */
export function newSessionEveryFrame(
  grpcAddress: string,
  options: { user: string; frame: Buffer },
  signal: AbortSignal,
): Promise<Outcomes> {
  return streamFrames(
    grpcAddress,
    options.user,
    { frame: options.frame, streams: 1, window: 2, sessionFor: () => randomUUID() },
    signal,
  );
}

/**
 * `connections` clients asking `path` (`/readiness`; `/liveness`, which touches no dependency, is
 * the floor of the attack) back to back. Outcome: the HTTP status.
 */
export async function readinessFlood(
  httpUrl: string,
  options: { connections: number; path?: string },
  signal: AbortSignal,
): Promise<Outcomes> {
  listenMany(signal);
  const outcomes: Outcomes = {};
  const client = async () => {
    while (!signal.aborted) {
      try {
        // A timeout of its own per request: the run's signal would collect a listener per fetch.
        const response = await fetch(`${httpUrl}${options.path ?? '/readiness'}`, {
          signal: AbortSignal.timeout(5000),
        });
        await response.arrayBuffer();
        count(outcomes, String(response.status));
      } catch {
        if (!signal.aborted) count(outcomes, 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  return outcomes;
}

/**
 * `connections` requests to `POST /compress` that declare `declaredBytes` of body and send one
 * byte every `byteEveryMs`. Outcome: the status line the server answered with before closing, or
 * `closed` without one, or `open` when the connection was still held at the end.
 */
export async function trickledBodies(
  httpUrl: string,
  options: { connections: number; declaredBytes: number; byteEveryMs: number; token: string },
  signal: AbortSignal,
): Promise<Outcomes> {
  listenMany(signal);
  const outcomes: Outcomes = {};
  const { hostname, port } = new URL(httpUrl);
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), hostname);
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('data', (chunk) => {
        answer += chunk.toString('latin1');
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
        count(outcomes, signal.aborted && !status ? 'open' : (status ?? 'closed'));
        resolve();
      });
      socket.write(
        `POST /api/v1/aic/compress?session_id=${randomUUID()} HTTP/1.1\r\nHost: ${hostname}\r\n` +
          `Authorization: Bearer ${options.token}\r\nContent-Type: image/jpeg\r\n` +
          `Content-Length: ${options.declaredBytes}\r\n\r\n`,
      );
      timer = setInterval(() => socket.write(Buffer.from([0xff])), options.byteEveryMs);
      signal.addEventListener('abort', () => socket.destroy(), { once: true });
    });
  await Promise.all(Array.from({ length: options.connections }, one));
  return outcomes;
}
