/**
 * The per-call receive limit reaches into grpc-js internals (functions/grpc/receive-limit.ts). These
 * tests run it against grpc-js's own call class: when an upgrade of @grpc/grpc-js moves the fields
 * it sets, they fail here, by name, instead of health checks quietly accepting 10 MiB again.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import { describe, expect, it } from 'vitest';
import { limitReceivedMessages } from '../../../functions/grpc/receive-limit.ts';

/** Just enough of an HTTP/2 stream for grpc-js's call to read from and answer on. */
class FakeStream extends EventEmitter {
  readonly responses: Record<string, unknown>[] = [];
  destroyed = false;
  closed = false;
  session = undefined;
  pause() {}
  resume() {}
  respond(headers: Record<string, unknown>) {
    this.responses.push(headers);
  }
}

function baseCall(serverLimit: number) {
  const stream = new FakeStream();
  const handler = {
    path: '/grpc.health.v1.Health/Check',
    type: 'unary',
    deserialize: (b: Buffer) => b,
  };
  const call = new BaseServerInterceptingCall(stream as never, {}, null, handler as never, {
    'grpc.max_receive_message_length': serverLimit,
  });
  call.start({
    onReceiveMetadata: () => undefined,
    onReceiveMessage: () => undefined,
    onReceiveHalfClose: () => undefined,
    onCancel: () => undefined,
  });
  return { call, stream };
}

/** The 5-byte gRPC message prefix claiming `length` bytes. */
function prefix(length: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt32BE(length, 1);
  return bytes;
}

describe("a call's own receive limit", () => {
  it('finds the grpc-js internals it sets (if this fails, grpc-js moved them: see receive-limit.ts)', () => {
    const { call } = baseCall(10 * 1024 * 1024);
    expect(limitReceivedMessages(call, 64 * 1024)).toBe(true);
    const internals = call as unknown as {
      maxReceiveMessageSize: number;
      decoder: { maxReadMessageLength: number };
    };
    expect(internals.maxReceiveMessageSize).toBe(64 * 1024);
    expect(internals.decoder.maxReadMessageLength).toBe(64 * 1024);
  });

  it('refuses a message by its length prefix alone, with RESOURCE_EXHAUSTED', () => {
    const { call, stream } = baseCall(10 * 1024 * 1024);
    limitReceivedMessages(call, 64 * 1024);
    stream.emit('data', prefix(64 * 1024 + 1));
    expect(stream.responses).toHaveLength(1);
    expect(stream.responses[0]?.['grpc-status']).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('reads a message within the limit', () => {
    const { call, stream } = baseCall(10 * 1024 * 1024);
    limitReceivedMessages(call, 64 * 1024);
    stream.emit('data', Buffer.concat([prefix(1000), Buffer.alloc(1000)]));
    expect(stream.responses).toEqual([]);
  });

  it('only lowers a limit, and lowers an unlimited one', () => {
    const { call } = baseCall(1000);
    limitReceivedMessages(call, 64 * 1024);
    expect((call as unknown as { maxReceiveMessageSize: number }).maxReceiveMessageSize).toBe(1000);
    const unlimited = baseCall(-1).call;
    limitReceivedMessages(unlimited, 64 * 1024);
    expect((unlimited as unknown as { maxReceiveMessageSize: number }).maxReceiveMessageSize).toBe(
      64 * 1024,
    );
  });

  it('reports a call without those internals instead of failing', () => {
    const wrapped = new grpc.ServerInterceptingCall(baseCall(1000).call);
    expect(limitReceivedMessages(wrapped, 64 * 1024)).toBe(false);
  });
});
