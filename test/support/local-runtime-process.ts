/**
 * The local runtime (`functions/local/main.ts`, what `npm start` runs) in its own process, for
 * benchmarks and load runs that must not share an event loop with the traffic they generate.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { NODE_HEAP_FLAGS, PIXEL_PROCESS_ENV } from '../../lib/config/node-flags.ts';

/** A running local runtime process. */
export interface LocalRuntimeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` of its gRPC server. */
  grpcAddress: string;
  /** SIGTERM, then waits for the process to exit (it stops what it started). */
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Starts the local runtime with `env` over the current environment (free ports unless `PORT` /
 * `GRPC_PORT` are given) and resolves once its start-up banner says it serves. `preload` names
 * modules (paths from the repository root) imported before the runtime, after tsx, such as
 * `test/support/runtime-probe.ts`.
 */
export async function spawnLocalRuntime(
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
  preload: readonly string[] = [],
): Promise<LocalRuntimeProcess> {
  const imports = ['tsx', ...preload.map((path) => `./${path}`)].flatMap((m) => ['--import', m]);
  const child = spawn(
    process.execPath,
    [...NODE_HEAP_FLAGS, ...imports, 'functions/local/main.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, ...PIXEL_PROCESS_ENV, PORT: '0', GRPC_PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let banner = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const { url, grpcAddress } = await new Promise<{ url: string; grpcAddress: string }>(
      (resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the local runtime did not start:\n${banner}`)),
          timeoutMs,
        );
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the local runtime exited (${code}):\n${banner}`));
        });
        child.stderr?.on('data', (chunk: Buffer) => {
          if (banner.includes('Ctrl-C stops')) return;
          banner += chunk.toString();
          const http = /HTTP API\s+(http:\/\/\S+)/.exec(banner)?.[1];
          const grpc = /gRPC\s+([\d.]+:\d+)/.exec(banner)?.[1];
          if (http && grpc && banner.includes('Ctrl-C stops')) {
            clearTimeout(timer);
            resolve({ url: http, grpcAddress: grpc });
          }
        });
      },
    );
    // Keep draining stderr so a chatty runtime never blocks on a full pipe.
    child.stderr?.resume();
    return { child, url, grpcAddress, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
