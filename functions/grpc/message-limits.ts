/**
 * How large a message each method may receive (docs/design.md section 3, Limits): the compress
 * methods a frame at the cap and the rest of its request; every other method, health and
 * reflection included, {@link MAX_SMALL_MESSAGE_BYTES}.
 */
import { MAX_FRAME_BYTES_GRPC } from '../core/contracts/compress.ts';
import { AIC_SERVICE_NAME } from './proto.ts';

/** Room for the other fields of a request next to a frame at the cap. */
export const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

/** The receive limit of the compress methods: the 10 MiB frame cap plus the rest of the message. */
export const MAX_RECEIVE_MESSAGE_BYTES = MAX_FRAME_BYTES_GRPC + MESSAGE_OVERHEAD_BYTES;

/** The receive limit of every method that carries no frame. */
export const MAX_SMALL_MESSAGE_BYTES = 64 * 1024;

/** The methods whose requests carry frames. */
const FRAME_METHODS: ReadonlySet<string> = new Set(
  ['CompressFrame', 'CompressStream'].map((method) => `/${AIC_SERVICE_NAME}/${method}`),
);

/** The receive limit of the method at `path` (`/package.Service/Method`). */
export function maxReceiveBytes(path: string): number {
  return FRAME_METHODS.has(path) ? MAX_RECEIVE_MESSAGE_BYTES : MAX_SMALL_MESSAGE_BYTES;
}
