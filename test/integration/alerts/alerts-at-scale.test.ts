import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertEvaluation } from '../../../functions/app/alert-evaluator.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * The alert evaluator over 100,000 tenants with alerts firing, on the real Postgres: one statement
 * for all of them would need 1.8 million parameters (Postgres takes 65,535) and hold every tenant
 * in memory at once.
 */

const TENANTS = 100_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
  // One slow, poor frame that fell back, per tenant, a few seconds ago: all three rules fire.
  await db.sql`
    insert into sessions (session_id, user_id)
    select gen_random_uuid(), 'tenant-' || lpad(i::text, 6, '0') from generate_series(1, ${TENANTS}) i
  `;
  await db.sql`
    insert into frame_metrics (session_id, user_id, recorded_at, mode, format, width, height,
      original_bytes, compressed_bytes, compression_ratio, ssim, budget_bytes, within_budget,
      decode_ms, encode_ms, metrics_ms, total_ms, fallback)
    select session_id, user_id, now() - interval '5 seconds', 'adaptive', 'jpeg', 640, 360,
      10000, 10000, 0, 0.5, 10000, true, 1, 1, 1, 500, true
    from sessions
  `;
}, 300_000);

afterAll(async () => {
  await db?.drop();
});

describe('the alert evaluator at 100,000 tenants', () => {
  it('opens every tenant’s alerts in bounded batches, and a second run opens none', async () => {
    const first = await runAlertEvaluation(db.sql, { windowMinutes: 5, minFrames: 1 });
    expect(first.usersEvaluated).toBe(TENANTS);
    expect(first.alertsFiring).toBe(3 * TENANTS);
    expect(first.alertsOpened).toBe(3 * TENANTS);
    const [row] = await db.sql<{ alerts: number; tenants: number }[]>`
      select count(*)::int as alerts, count(distinct user_id)::int as tenants
      from alerts where resolved_at is null`;
    expect(row).toEqual({ alerts: 3 * TENANTS, tenants: TENANTS });

    const second = await runAlertEvaluation(db.sql, { windowMinutes: 5, minFrames: 1 });
    expect(second).toEqual({ usersEvaluated: TENANTS, alertsFiring: 3 * TENANTS, alertsOpened: 0 });
  }, 300_000);
});
