/**
 * The standard `grpc.health.v1.Health` service (Check, Watch and List) driven by the container's
 * readiness (Postgres, Redis, initialisation: the checks of `GET /readiness`). Written here rather
 * than taken from grpc-health-check's implementation because a draining server must end the open
 * Watch streams (they never end by themselves and would hold the drain to its bound), and Watch
 * must only send when the status changes.
 */
import type * as grpc from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import type { ReadinessResponse } from '../core/contracts/health.ts';
import { logger } from '../platform/observability.ts';
import { AIC_SERVICE_NAME } from './proto.ts';

/** Serving status of a service, as the health proto names it. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

type WatchCall = grpc.ServerWritableStream<{ service: string }, { status: string }>;

/** The services this server reports: the whole server (`''`) and the AIC service. */
export const HEALTH_SERVICES = ['', AIC_SERVICE_NAME] as const;

/** The health service of one server. */
export class HealthService {
  readonly #status = new Map<string, ServingStatus>();
  readonly #watchers = new Set<{ service: string; call: WatchCall }>();

  constructor(initial: ServingStatus = 'NOT_SERVING') {
    for (const service of HEALTH_SERVICES) this.#status.set(service, initial);
  }

  /** Status of the whole server. */
  get status(): ServingStatus {
    return this.#status.get('') ?? 'NOT_SERVING';
  }

  /** Sets every service's status; watchers hear only about a change. */
  setAll(status: ServingStatus): void {
    for (const service of HEALTH_SERVICES) {
      if (this.#status.get(service) === status) continue;
      this.#status.set(service, status);
      for (const watcher of this.#watchers) {
        if (watcher.service === service) watcher.call.write({ status });
      }
    }
  }

  /** Ends every open Watch stream with OK (after a final NOT_SERVING): the server is draining. */
  endWatches(): void {
    for (const { call } of this.#watchers) call.end();
    this.#watchers.clear();
  }

  /** Registers the service on `server`. */
  addToServer(server: grpc.Server): void {
    server.addService(healthServiceDefinition, {
      check: (
        call: grpc.ServerUnaryCall<{ service: string }, { status: string }>,
        callback: grpc.sendUnaryData<{ status: string }>,
      ) => {
        const status = this.#status.get(call.request.service);
        if (status) callback(null, { status });
        else callback({ code: 5, details: `unknown service ${call.request.service}` });
      },
      watch: (call: WatchCall) => {
        const service = call.request.service;
        const watcher = { service, call };
        this.#watchers.add(watcher);
        call.on('cancelled', () => this.#watchers.delete(watcher));
        call.write({ status: this.#status.get(service) ?? 'SERVICE_UNKNOWN' });
      },
      list: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
        const statuses = Object.fromEntries(
          [...this.#status].map(([service, status]) => [service, { status }]),
        );
        callback(null, { statuses });
      },
    });
  }
}

/** A running readiness poll. */
export interface ReadinessMonitor {
  /** Runs one check now and applies it. */
  checkNow(): Promise<ServingStatus>;
  stop(): void;
}

/**
 * Polls `check` every `intervalMs` and sets the health status from it: SERVING when ready or
 * degraded (Redis down only weakens rate limiting), NOT_SERVING when not ready. Polls never overlap.
 */
export function startReadinessMonitor(
  health: HealthService,
  check: () => Promise<ReadinessResponse>,
  intervalMs: number,
  onChange?: (status: ServingStatus) => void,
): ReadinessMonitor {
  let running: Promise<ServingStatus> | undefined;
  let stopped = false;
  const checkNow = () => {
    running ??= check()
      .then((readiness) => (readiness.status === 'not_ready' ? 'NOT_SERVING' : 'SERVING'))
      .catch((error: unknown): ServingStatus => {
        logger.error('readiness check failed', { error });
        return 'NOT_SERVING';
      })
      .then((status) => {
        // A drain may have begun while the check ran: it owns the status from then on.
        if (!stopped && status !== health.status) {
          health.setAll(status);
          onChange?.(status);
        }
        return status;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void checkNow(), intervalMs);
  timer.unref();
  void checkNow();
  return {
    checkNow,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
