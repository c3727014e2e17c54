/**
 * Where the CPU of a run went, for the profile of bench/metrics.ts: the Redis server's process and
 * the Postgres processes on the benchmark's own database (client backends and autovacuum workers
 * apart), read from /proc (both servers run on this machine; elsewhere the figures are left out).
 * Shared background work (the WAL writer, the checkpointer, other agents' databases) is not
 * counted. A process that ended before the end of a run is not counted either.
 */
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { Sql } from '../functions/platform/db/database.ts';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/** CPU ms of each process by id; a process that is gone or unreadable is left out. */
async function cpuOf(pids: readonly number[]): Promise<Map<number, number>> {
  const times = new Map<number, number>();
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]);
        if (Number.isFinite(ticks)) times.set(pid, (ticks * 1000) / TICKS_PER_S);
      } catch {
        // Not on this machine, or exited: no figure.
      }
    }),
  );
  return times;
}

/** The Postgres processes working on the benchmark's database now, by kind. */
export interface Backends {
  /** The connections of the benchmark and its consumers: the statements' cost. */
  clients: number[];
  /** Autovacuum workers (and any other server process) on the database. */
  others: number[];
}

/** The processes whose CPU a run counts. */
export interface ServerProcesses {
  redisPid: number | undefined;
  backends(): Promise<Backends>;
}

/** Finds the Redis server's process and the benchmark database's backends. */
export async function serverProcesses(
  redis: Redis,
  sql: Sql,
  database: string,
): Promise<ServerProcesses> {
  const info = await redis.info('server');
  const pid = /process_id:(\d+)/.exec(info)?.[1];
  return {
    redisPid: pid === undefined ? undefined : Number(pid),
    backends: async () => {
      const rows = await sql<{ pid: number; client: boolean }[]>`
        select pid, backend_type = 'client backend' as client
        from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
      return {
        clients: rows.filter((r) => r.client).map((r) => r.pid),
        others: rows.filter((r) => !r.client).map((r) => r.pid),
      };
    },
  };
}

/** CPU ms of the servers since a snapshot. */
export interface ServerCpu {
  redisMs: number;
  /** The client backends: the statements. */
  postgresMs: number;
  /** Autovacuum on the benchmark's tables, a cost of the writes that no statement pays. */
  autovacuumMs: number;
}

/**
 * Takes a snapshot now; the returned function reads the CPU spent since, by Redis and by the
 * backends alive at that later moment (a backend started meanwhile counts from zero). Read it
 * before the consumers close their pools.
 */
export async function serverCpuSince(
  processes: ServerProcesses,
): Promise<() => Promise<ServerCpu>> {
  const redisPids = processes.redisPid === undefined ? [] : [processes.redisPid];
  const all = (b: Backends) => [...redisPids, ...b.clients, ...b.others];
  const before = await cpuOf(all(await processes.backends()));
  return async () => {
    const backends = await processes.backends();
    const after = await cpuOf(all(backends));
    const spent = (pids: readonly number[]) =>
      pids.reduce((sum, pid) => sum + (after.get(pid) ?? 0) - (before.get(pid) ?? 0), 0);
    return {
      redisMs: spent(redisPids),
      postgresMs: spent(backends.clients),
      autovacuumMs: spent(backends.others),
    };
  };
}
