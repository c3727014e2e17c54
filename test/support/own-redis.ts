import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../functions/local/embedded-services.ts';

/**
 * A private `redis-server` for fault tests: the shared server on 6379 must never be stopped, so
 * tests that kill or stall Redis start their own on a free port and kill only that one.
 */

/** Handle of a Redis server owned by one test file. */
export interface OwnRedis {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** SIGKILLs the server (a crash, not a shutdown) and waits until the process is gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after `kill`) and waits until it answers PING. */
  restart(): Promise<void>;
  /** Kills the server for good; call it in `afterAll`. */
  stop(): Promise<void>;
}

/** Options of {@link startOwnRedis}. */
export interface OwnRedisOptions {
  /** Allow `DEBUG SLEEP` and friends from local connections (to simulate a slow server). */
  enableDebugCommand?: boolean;
  /** How long to wait for the server to answer PING. */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence when a test file crashes before its afterAll runs.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** One raw PING over TCP; true when the server answers `+PONG`. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

function launch(port: number, options: OwnRedisOptions): ChildProcess {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (options.enableDebugCommand) args.push('--enable-debug-command', 'local');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

async function waitUntilUp(child: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited during start-up`);
    }
    if (await answersPing(port)) return;
    await sleep(20);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Starts `redis-server --port <free port> --bind 127.0.0.1 --save '' --appendonly no` and waits
 * until it answers PING. The process is also killed when the test process exits.
 */
export async function startOwnRedis(options: OwnRedisOptions = {}): Promise<OwnRedis> {
  installExitHook();
  const startTimeoutMs = options.startTimeoutMs ?? 5_000;
  const port = await freePort();
  let child = launch(port, options);
  await waitUntilUp(child, port, startTimeoutMs).catch(async (error: unknown) => {
    await killChild(child);
    throw error;
  });

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => killChild(child),
    async restart() {
      await killChild(child);
      child = launch(port, options);
      await waitUntilUp(child, port, startTimeoutMs);
    },
    stop: () => killChild(child),
  };
}

export { freePort };
