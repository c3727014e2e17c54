/**
 * Network samples (`network_samples`): the durable history of a session's network updates. Every
 * statement is parameterised and filtered by the owner.
 */
import type { NetworkConditions } from '../../core/contracts/compress.ts';
import type { StoredConfig } from '../../core/contracts/config.ts';
import { type ConfigRow, configColumns, toStoredConfig } from './config-repository.ts';
import type { Sql } from './database.ts';
import {
  type ClaimStatus,
  claimable,
  claimStatus,
  DEFAULT_SESSIONS_PER_USER_PER_DAY,
  quotaClaim,
  REPEAT,
  runClaim,
} from './session-quota.ts';

/** One accepted update with what the estimator made of it. */
export interface NetworkSampleRecord {
  sessionId: string;
  userId: string;
  conditions: NetworkConditions;
  estimatedBandwidthKbps: number;
  networkCondition: number;
  /** The client's `Idempotency-Key` (docs/design.md section 2.4): the sample is stored once. */
  idempotencyKey?: string;
}

/** Ids of a stored sample and of the session's newest sample before it, and the owner's policy. */
export interface InsertedSample {
  id: number;
  /** Newest sample committed before this statement began; null for the session's first. */
  previousId: number | null;
  /** The owner's stored compression policy, read by the same statement; null when none. */
  config: StoredConfig | null;
}

type InsertedRow = ClaimStatus & {
  id: number;
  previous_id: number | null;
  has_config: boolean;
} & ConfigRow;

/**
 * Stores one update, creating the session for its owner on first use within the owner's daily
 * quota of new sessions (or touching its `last_seen_at`), in one statement: the sample and the
 * claim commit together. Returns the new row's id. The same statement reads the owner's stored
 * policy, which the answer's recommendation needs, so an update costs one round trip to Postgres.
 *
 * Concurrent updates of one session serialise on the session row's lock and each adds its own row,
 * except that a sample whose `idempotencyKey` is stored for the session already is not stored
 * again: the answer is then {@link REPEAT} (migration 0004).
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing is written).
 */
export async function insertNetworkSample(
  sql: Sql,
  record: NetworkSampleRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<InsertedSample | typeof REPEAT> {
  const c = record.conditions;
  const claim = { sessionId: record.sessionId, userId: record.userId, sessionsPerDay };
  const row = await runClaim(
    () => sql<InsertedRow[]>`
    with ${quotaClaim(sql, claim)}, claimed as (
      insert into sessions (session_id, user_id)
      select ${record.sessionId}, ${record.userId}
      where ${claimable(sql, claim)}
      on conflict (user_id, session_id) do update set last_seen_at = now()
      returning session_id, user_id
    ), previous as (
      select max(id) as id from network_samples
      where session_id = ${record.sessionId} and user_id = ${record.userId}
    ), inserted as (
      insert into network_samples (
        session_id, user_id, available_bandwidth_kbps, rtt_ms, packet_loss_percent, jitter_ms, fps,
        connection_type, estimated_bandwidth_kbps, network_condition, idempotency_key
      )
      select
        claimed.session_id, claimed.user_id, ${c.available_bandwidth_kbps}, ${c.rtt_ms},
        ${c.packet_loss_percent}, ${c.jitter_ms}, ${c.fps}, ${c.connection_type ?? null},
        ${record.estimatedBandwidthKbps}, ${record.networkCondition},
        ${record.idempotencyKey ?? null}
      from claimed
      on conflict do nothing
      returning id, user_id
    )
    select inserted.id, (select id from previous) as previous_id,
      config.user_id is not null as has_config, ${sql.unsafe(configColumns('config'))},
      ${claimStatus(sql, claim, 'inserted')}
    from (select) as status
      left join inserted on true
      left join compression_configs config on config.user_id = inserted.user_id
  `,
    sessionsPerDay,
    record.idempotencyKey === undefined ? undefined : () => sampleStoredBefore(sql, record),
  );
  if (row === REPEAT) return row;
  return {
    id: row.id,
    previousId: row.previous_id,
    config: row.has_config ? toStoredConfig(row) : null,
  };
}

/** Whether the sample's `idempotencyKey` is stored for its session and owner already. */
async function sampleStoredBefore(sql: Sql, record: NetworkSampleRecord): Promise<boolean> {
  const rows = await sql`
    select 1 from network_samples
    where user_id = ${record.userId} and session_id = ${record.sessionId}
      and idempotency_key = ${record.idempotencyKey ?? null}
  `;
  return rows.length > 0;
}

/** The latest samples of a session, oldest first, and how many it has in all. */
export interface RecentSamples {
  samples: NetworkConditions[];
  /** Highest sample id of the session; null when there is none. */
  lastId: number | null;
  total: number;
}

interface SampleRow {
  id: number;
  available_bandwidth_kbps: number;
  rtt_ms: number;
  packet_loss_percent: number;
  jitter_ms: number;
  fps: number;
  connection_type: NetworkConditions['connection_type'] | null;
  last_id: number;
  total: number;
}

/** The last `limit` samples of `sessionId` if it belongs to `userId` (none otherwise). */
export async function recentNetworkSamples(
  sql: Sql,
  sessionId: string,
  userId: string,
  limit: number,
): Promise<RecentSamples> {
  const rows = await sql<SampleRow[]>`
    select id, available_bandwidth_kbps, rtt_ms, packet_loss_percent, jitter_ms, fps,
      connection_type, max(id) over () as last_id, count(*) over () as total
    from network_samples
    where session_id = ${sessionId} and user_id = ${userId}
    order by recorded_at desc, id desc
    limit ${limit}
  `;
  const newest = rows[0];
  return {
    samples: rows.reverse().map((row) => ({
      available_bandwidth_kbps: row.available_bandwidth_kbps,
      rtt_ms: row.rtt_ms,
      packet_loss_percent: row.packet_loss_percent,
      jitter_ms: row.jitter_ms,
      fps: row.fps,
      ...(row.connection_type === null ? {} : { connection_type: row.connection_type }),
    })),
    lastId: newest?.last_id ?? null,
    total: newest?.total ?? 0,
  };
}
