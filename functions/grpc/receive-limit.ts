/**
 * The one place that reaches into grpc-js internals (checked against @grpc/grpc-js 1.14.7).
 *
 * Why: grpc-js has one receive limit per server (`grpc.max_receive_message_length`) and no public
 * way to give a method a smaller one, yet a health check must not be allowed the 10 MiB a frame
 * needs (docs/design.md section 3, Limits). The call the first server interceptor receives is
 * grpc-js's `BaseServerInterceptingCall`: its `decoder` (a `StreamDecoder`) refuses a message by its
 * length prefix, before buffering any of it, against `maxReadMessageLength`, and it checks a
 * decompressed message against `maxReceiveMessageSize`. Both are set when the call is created,
 * before any byte of the body is read, so lowering them there gives that call its own limit.
 *
 * test/unit/grpc/receive-limit.test.ts fails loudly when an upgrade moves these fields; at run time
 * a call whose internals are not found keeps the server-wide limit, and the caller logs it.
 */
import type * as grpc from '@grpc/grpc-js';

/** The fields of grpc-js's BaseServerInterceptingCall this module sets. */
interface BaseCallInternals {
  maxReceiveMessageSize: number;
  decoder: { maxReadMessageLength: number };
}

function internalsOf(call: grpc.ServerInterceptingCallInterface): BaseCallInternals | undefined {
  const candidate = call as unknown as Partial<BaseCallInternals>;
  if (typeof candidate.maxReceiveMessageSize !== 'number') return undefined;
  if (typeof candidate.decoder?.maxReadMessageLength !== 'number') return undefined;
  return candidate as BaseCallInternals;
}

/** `current` lowered to `maxBytes` (-1, grpc-js's "unlimited", counts as above any limit). */
const lowered = (current: number, maxBytes: number) =>
  current === -1 ? maxBytes : Math.min(current, maxBytes);

/**
 * Lowers the receive limit of one call to `maxBytes`: a message whose length prefix says more ends
 * the call with RESOURCE_EXHAUSTED before any of it is buffered. Call from the first server
 * interceptor, with the call it was given. Returns false when the call does not have the grpc-js
 * internals this relies on (the server-wide limit then still applies).
 */
export function limitReceivedMessages(
  call: grpc.ServerInterceptingCallInterface,
  maxBytes: number,
): boolean {
  const internals = internalsOf(call);
  if (!internals) return false;
  internals.maxReceiveMessageSize = lowered(internals.maxReceiveMessageSize, maxBytes);
  internals.decoder.maxReadMessageLength = lowered(
    internals.decoder.maxReadMessageLength,
    maxBytes,
  );
  return true;
}
