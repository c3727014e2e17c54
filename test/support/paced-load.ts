/**
 * An open-loop load generator that sends requests at evenly spaced times (a constant arrival rate,
 * like wrk2 or k6's constant-arrival-rate), over a bounded pool of keep-alive connections.
 *
 * autocannon's `overallRate` is a per-connection quota refilled once a second on timers that all
 * start together: every connection sends its whole quota back to back at the top of each second,
 * so "200 req/s over 32 connections" arrives as a burst of 32 concurrent requests followed by
 * silence, and its latency is mostly queueing behind the rest of the burst. This sends request `n`
 * at `start + n / rate` instead. A request that finds every connection busy waits for one, and
 * that wait is part of its latency, which runs from the moment it was issued to the end of its
 * response (as the client sees it).
 */
import { Agent, request as httpRequest } from 'node:http';

/** One request to send. */
export interface PacedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Options of {@link pacedLoad}. */
export interface PacedLoadOptions {
  /** `http://host:port` */
  url: string;
  /** Requests per second, evenly spaced. */
  rate: number;
  durationS: number;
  /** Keep-alive connections, so also the most requests in flight at once. */
  connections: number;
  /** The `n`-th request (from 0). */
  request: (n: number) => PacedRequest;
  /** A request without a complete response after this long counts as a timeout. Default 10 s. */
  timeoutMs?: number;
}

/** What a run measured. */
export interface PacedLoadResult {
  /** Client-observed latency of every completed response, ms, in completion order. */
  latenciesMs: number[];
  /** Responses by HTTP status. */
  statuses: Map<number, number>;
  sent: number;
  /** Requests that failed without a response (connection errors). */
  errors: number;
  timeouts: number;
  /** How late each request was issued against its schedule, ms (the generator's own lag). */
  issueLagMs: number[];
  /** Wall time from the first request to the last response, s. */
  elapsedS: number;
}

/** Runs the load and resolves once every issued request has completed or failed. */
export function pacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.durationS);
  const intervalMs = 1000 / options.rate;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const result: PacedLoadResult = {
    latenciesMs: [],
    statuses: new Map(),
    sent: 0,
    errors: 0,
    timeouts: 0,
    issueLagMs: [],
    elapsedS: 0,
  };

  return new Promise((resolve) => {
    let settled = 0;
    const start = performance.now();
    const settle = () => {
      settled++;
      if (settled < total) return;
      result.elapsedS = (performance.now() - start) / 1000;
      agent.destroy();
      resolve(result);
    };

    const issue = (n: number) => {
      const spec = options.request(n);
      const issued = performance.now();
      result.issueLagMs.push(issued - (start + n * intervalMs));
      result.sent++;
      let done = false;
      const finish = (outcome: { status: number } | 'error' | 'timeout') => {
        if (done) return;
        done = true;
        if (outcome === 'error') result.errors++;
        else if (outcome === 'timeout') result.timeouts++;
        else {
          result.latenciesMs.push(performance.now() - issued);
          result.statuses.set(outcome.status, (result.statuses.get(outcome.status) ?? 0) + 1);
        }
        settle();
      };
      const req = httpRequest(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: spec.method,
          path: spec.path,
          headers: {
            ...spec.headers,
            ...(spec.body === undefined ? {} : { 'content-length': Buffer.byteLength(spec.body) }),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => finish({ status: res.statusCode ?? 0 }));
          res.on('error', () => finish('error'));
        },
      );
      req.setTimeout(timeoutMs, () => {
        finish('timeout');
        req.destroy();
      });
      req.on('error', () => finish('error'));
      req.end(spec.body);
    };

    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) issue(next++);
      if (next < total)
        setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    tick();
  });
}
