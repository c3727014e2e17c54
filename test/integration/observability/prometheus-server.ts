/**
 * A Prometheus server of the test's own: Debian's `prometheus` binary with a temporary config and
 * TSDB on a free loopback port, killed by the test (never the system's service), and a client of
 * its HTTP API. `promtool` and `prometheus` must be installed (CI: `apt-get install -y
 * --no-install-recommends prometheus`); when they are not, the tests fail and say so.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../../functions/local/embedded-services.ts';

/** Repository paths of the Prometheus side of operations. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const RULES_FILE = join(ROOT, 'deploy', 'prometheus', 'rules', 'aic-alerts.yml');
export const SCRAPE_CONFIG = join(ROOT, 'deploy', 'prometheus', 'scrape.yml');
export const RULE_TESTS_DIR = join(ROOT, 'deploy', 'prometheus', 'tests');
export const DASHBOARD_FILE = join(ROOT, 'deploy', 'grafana', 'auralink-aic.json');

const INSTALL_HINT = 'install it with: apt-get install -y --no-install-recommends prometheus';

/** Throws, naming the package, unless `binary` runs. */
export function requireBinary(binary: 'prometheus' | 'promtool'): void {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${binary} is not installed or does not run; ${INSTALL_HINT}`);
  }
}

/** Runs promtool with `args`; its output, or an error carrying it when it exits non-zero. */
export function promtool(args: readonly string[]): string {
  requireBinary('promtool');
  try {
    return execFileSync('promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** The body of an answer of Prometheus's HTTP API. */
export interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

/** One series of an instant query. */
export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus. */
export interface PrometheusServer {
  url: string;
  /** GET of an API path (`/api/v1/...`) with query parameters. */
  api<T>(path: string, params?: Record<string, string>): Promise<ApiAnswer<T>>;
  /** An instant query at the current time. */
  query(expr: string): Promise<ApiAnswer<{ resultType: string; result: InstantSample[] }>>;
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** `host:port` of the target to scrape every second. */
  target: string;
  /** Labels the target gets, as scrape.yml's relabelling gives them. */
  labels: Record<string, string>;
  job: string;
}

function configText(options: PrometheusOptions): string {
  const labels = Object.entries(options.labels)
    .map(([name, value]) => `          ${name}: ${JSON.stringify(value)}`)
    .join('\n');
  return [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(RULES_FILE)}`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(options.job)}`,
    '    static_configs:',
    `      - targets: [${JSON.stringify(options.target)}]`,
    '        labels:',
    labels,
    '',
  ].join('\n');
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited:\n${log()}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await sleep(100);
  }
  throw new Error(`prometheus did not become ready:\n${log()}`);
}

/** Starts Prometheus scraping `options.target` every second, with the repository's rules. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  requireBinary('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'aic-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, configText(options));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(path: string, params: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
    return (await response.json()) as ApiAnswer<T>;
  };
  try {
    await waitUntilReady(url, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    api,
    query: (expr) => api('/api/v1/query', { query: expr }),
    stop,
  };
}
