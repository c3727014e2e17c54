/**
 * The server interceptor at the edge of the gRPC server (docs/design.md section 3, Limits). It runs
 * on a call's metadata, before grpc-js reads any byte of its messages (grpc-js starts reading only
 * once the metadata has passed every interceptor), so a call it refuses never has a message
 * buffered:
 * - every method gets its own receive limit (receive-limit.ts);
 * - a call of the AIC service must carry a valid bearer token, and its user may have at most
 *   `maxCallsPerUser` calls in flight;
 * - a connection may hold at most `maxHealthWatchesPerConnection` health `Watch` calls;
 * - health checks and reflection are public and pass at once.
 * A refused call ends with its error's status and trailers, and is counted and logged.
 */
import * as grpc from '@grpc/grpc-js';
import { KeyedLimit } from '../core/admission/keyed-limit.ts';
import type { Permit } from '../core/admission/permit.ts';
import { ConcurrencyLimitError } from '../core/errors.ts';
import { resolveRequestId } from '../core/request-id.ts';
import type { JwtSettings } from '../platform/jwt.ts';
import { logger } from '../platform/observability.ts';
import { verifyCaller } from './call-identity.ts';
import { asAicError, toServiceError } from './call-outcome.ts';
import { maxReceiveBytes } from './message-limits.ts';
import type { GrpcMetrics } from './prometheus.ts';
import { AIC_SERVICE_NAME } from './proto.ts';
import { limitReceivedMessages } from './receive-limit.ts';
import type { GrpcLimits } from './server-limits.ts';

/** What {@link edgeInterceptor} checks calls with. */
export interface EdgeOptions {
  jwt: JwtSettings;
  limits: Pick<GrpcLimits, 'maxCallsPerUser' | 'maxHealthWatchesPerConnection'>;
  metrics: GrpcMetrics;
}

/** The checks a method's calls pass on their metadata. */
type Admission = 'caller' | 'watch' | 'public';

const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

function admissionOf(path: string): Admission {
  if (path.startsWith(`/${AIC_SERVICE_NAME}/`)) return 'caller';
  return path === HEALTH_WATCH_PATH ? 'watch' : 'public';
}

/** The counters one server's calls share. */
interface EdgeState extends EdgeOptions {
  userCalls: KeyedLimit;
  watches: KeyedLimit;
}

/** One call passing the edge: admitted on its metadata, its permit released when it ends. */
class EdgeCall {
  readonly intercepting: grpc.ServerInterceptingCall;
  readonly #started = performance.now();
  #permit: Permit | undefined;
  #cancelled = false;

  constructor(
    private readonly edge: EdgeState,
    private readonly path: string,
    private readonly call: grpc.ServerInterceptingCallInterface,
  ) {
    const admission = admissionOf(path);
    this.intercepting = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            if (admission === 'public') return forward(metadata);
            this.admit(admission, metadata).then(
              () => forward(metadata),
              (error: unknown) => this.refuse(metadata, error),
            );
          },
          onCancel: () => {
            this.#cancelled = true;
            this.#permit?.release();
          },
        }),
      sendStatus: (status, next) => {
        this.#permit?.release();
        next(status);
      },
    });
  }

  private async admit(admission: Admission, metadata: grpc.Metadata): Promise<void> {
    if (admission === 'watch') {
      this.hold(
        this.edge.watches.tryAcquire(this.call.getPeer()),
        `At most ${this.edge.watches.max} health Watch calls per connection`,
      );
      return;
    }
    const { userId } = await verifyCaller(metadata, this.edge.jwt);
    this.hold(
      this.edge.userCalls.tryAcquire(userId),
      `At most ${this.edge.userCalls.max} calls of one user at once`,
    );
  }

  /** Keeps `permit` until the call ends; a call already gone gives it back at once. */
  private hold(permit: Permit | undefined, refusal: string): void {
    if (!permit) throw new ConcurrencyLimitError(refusal);
    this.#permit = permit;
    if (this.#cancelled) permit.release();
  }

  private refuse(metadata: grpc.Metadata, error: unknown): void {
    const aic = asAicError(error);
    const header = metadata.get('x-request-id')[0];
    const requestId = resolveRequestId(typeof header === 'string' ? header : undefined);
    const { code, details, metadata: trailers } = toServiceError(aic, requestId);
    this.intercepting.sendStatus({ code, details, metadata: trailers });
    const method = this.path.slice(this.path.lastIndexOf('/') + 1);
    const status = grpc.status[code] ?? String(code);
    const seconds = (performance.now() - this.#started) / 1000;
    this.edge.metrics.calls.inc({ method, code: status });
    this.edge.metrics.latency.observe({ method }, seconds);
    logger.info('grpc call rejected', {
      request_id: requestId,
      rpc: method,
      grpc_code: status,
      code: aic.code,
      reason: aic.message,
      peer: this.call.getPeer(),
    });
  }
}

/**
 * The interceptor of one server; pass it first in the server's `interceptors`, so that it is given
 * grpc-js's own call (see receive-limit.ts).
 */
export function edgeInterceptor(options: EdgeOptions): grpc.ServerInterceptor {
  const edge: EdgeState = {
    ...options,
    userCalls: new KeyedLimit(options.limits.maxCallsPerUser),
    watches: new KeyedLimit(options.limits.maxHealthWatchesPerConnection),
  };
  let warned = false;
  return (method, call) => {
    if (!limitReceivedMessages(call, maxReceiveBytes(method.path)) && !warned) {
      warned = true;
      logger.error('per-method receive limits are off: grpc-js internals moved (receive-limit.ts)');
    }
    return new EdgeCall(edge, method.path, call).intercepting;
  };
}
