/**
 * Preloaded into a local runtime process by a benchmark (`--import` after tsx, see
 * `spawnLocalRuntime`'s `probe` option): the server's own view of the run, written as JSON to
 * `AIC_RUNTIME_PROBE_FILE` when the process exits. It measures each HTTP request from the moment
 * its headers were parsed to the moment its response was handed to the socket (Node's
 * `http.server.*` diagnostics channels), the event loop's scheduling delay, and the process's CPU
 * time since its first request. Nothing in the runtime knows about it.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** What the probe writes. Times in ms. */
export interface RuntimeProbeReport {
  /** Per request: headers parsed to response finished. */
  serverMs: number[];
  /** Requests already in flight when each request arrived. */
  inFlightAtArrival: number[];
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** User + system CPU of the process from its first request to its exit. */
  cpuMs: number;
}

const file = process.env.AIC_RUNTIME_PROBE_FILE;
if (file) {
  const started = new WeakMap<ServerResponse, number>();
  const report: RuntimeProbeReport = {
    serverMs: [],
    inFlightAtArrival: [],
    eventLoopDelayMs: { p50: 0, p99: 0, max: 0 },
    cpuMs: 0,
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  let inFlight = 0;

  subscribe('http.server.request.start', (message) => {
    const { response } = message as { response: ServerResponse };
    if (cpuAtFirst === undefined) {
      cpuAtFirst = process.cpuUsage();
      delay.enable();
    }
    report.inFlightAtArrival.push(inFlight++);
    started.set(response, performance.now());
  });
  subscribe('http.server.response.finish', (message) => {
    const { response } = message as { response: ServerResponse };
    const at = started.get(response);
    if (at === undefined) return;
    inFlight--;
    report.serverMs.push(performance.now() - at);
  });
  process.on('exit', () => {
    const ms = (ns: number) => ns / 1e6;
    report.eventLoopDelayMs = {
      p50: ms(delay.percentile(50)),
      p99: ms(delay.percentile(99)),
      max: ms(delay.max),
    };
    const cpu = process.cpuUsage(cpuAtFirst);
    report.cpuMs = cpuAtFirst === undefined ? 0 : (cpu.user + cpu.system) / 1000;
    writeFileSync(file, JSON.stringify(report));
  });
}
