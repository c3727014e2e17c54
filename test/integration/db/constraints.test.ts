import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameStatusSchema } from '../../../functions/core/contracts/compress.ts';
import {
  CONFIG_BOUNDS,
  type CompressionConfig,
  DEFAULT_CONFIG,
  onBudgetMissSchema,
} from '../../../functions/core/contracts/config.ts';
import { putConfig } from '../../../functions/platform/db/config-repository.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

// A CHECK violation is SQLSTATE 23514; anything else would be a different bug.
async function expectCheckViolation(work: Promise<unknown>): Promise<void> {
  await expect(work).rejects.toMatchObject({ code: '23514' });
}

// Bypasses the repository's types so out-of-contract values reach the database.
const putRaw = (userId: string, config: Record<string, unknown>) =>
  putConfig(db.sql, userId, config as CompressionConfig);

/** Each bounded policy field with its bounds: `unchanged_ssim` bounds both frame types' fields. */
const numericFields = Object.entries(CONFIG_BOUNDS).flatMap(([bound, range]) =>
  (bound === 'unchanged_ssim' ? ['unchanged_ssim_screen', 'unchanged_ssim_video'] : [bound]).map(
    (field) => ({ field, ...range }),
  ),
);

describe('compression_configs constraints', () => {
  it('bounds every policy field of the contract that CONFIG_BOUNDS names', () => {
    expect(numericFields.map(({ field }) => field)).toEqual([
      'target_compression_ratio',
      'max_latency_ms',
      'min_quality_score',
      'unchanged_ssim_screen',
      'unchanged_ssim_video',
    ]);
    for (const { field } of numericFields) expect(DEFAULT_CONFIG).toHaveProperty(field);
  });

  it.each(numericFields)(
    'accepts $field at both bounds of the contract',
    async ({ field, min, max }) => {
      await putRaw(`bounds-${field}`, { ...DEFAULT_CONFIG, [field]: min });
      await putRaw(`bounds-${field}`, { ...DEFAULT_CONFIG, [field]: max });
    },
  );

  it.each(numericFields)(
    'rejects $field just outside the contract bounds',
    async ({ field, min, max }) => {
      const step = field === 'max_latency_ms' ? 1 : 0.001;
      await expectCheckViolation(
        putRaw(`out-${field}`, { ...DEFAULT_CONFIG, [field]: min - step }),
      );
      await expectCheckViolation(
        putRaw(`out-${field}`, { ...DEFAULT_CONFIG, [field]: max + step }),
      );
    },
  );

  it('rejects an unknown mode', async () => {
    await expectCheckViolation(putRaw('mode', { ...DEFAULT_CONFIG, mode: 'turbo' }));
  });

  it('accepts any non-empty set of jpeg, webp and avif', async () => {
    for (const formats of [['jpeg'], ['avif', 'webp'], ['webp', 'jpeg', 'avif']]) {
      const stored = await putRaw('formats-ok', { ...DEFAULT_CONFIG, allowed_formats: formats });
      expect(stored.allowed_formats).toEqual(formats);
    }
  });

  it.each([
    ['an empty list', []],
    ['an unknown format', ['jpeg', 'gif']],
    ['a repeated format', ['jpeg', 'jpeg']],
  ])('rejects allowed_formats with %s', async (_label, formats) => {
    await expectCheckViolation(
      putRaw('formats-bad', { ...DEFAULT_CONFIG, allowed_formats: formats }),
    );
  });

  it('accepts every on_budget_miss of the contract, and none', async () => {
    for (const value of [...onBudgetMissSchema.options, null]) {
      const stored = await putRaw('budget-miss', { ...DEFAULT_CONFIG, on_budget_miss: value });
      expect(stored.on_budget_miss).toBe(value);
    }
  });

  it('rejects an unknown on_budget_miss', async () => {
    await expectCheckViolation(
      putRaw('budget-miss', { ...DEFAULT_CONFIG, on_budget_miss: 'skip' }),
    );
  });

  it('accepts no unchanged threshold (the defaults) for either frame type', async () => {
    const stored = await putRaw('unchanged-none', {
      ...DEFAULT_CONFIG,
      unchanged_ssim_screen: null,
      unchanged_ssim_video: null,
    });
    expect(stored).toMatchObject({ unchanged_ssim_screen: null, unchanged_ssim_video: null });
  });

  it('rejects a missing policy field', async () => {
    const { opt_out: _omitted, ...partial } = DEFAULT_CONFIG;
    await expect(putRaw('missing', { ...partial, opt_out: null })).rejects.toMatchObject({
      code: '23502',
    });
  });
});

describe('session-owned tables', () => {
  const newSession = async (userId: string) => {
    const sessionId = randomUUID();
    await db.sql`insert into sessions (session_id, user_id) values (${sessionId}, ${userId})`;
    return sessionId;
  };
  const insertSample = (sessionId: string, userId: string) => db.sql`
    insert into network_samples (session_id, user_id, available_bandwidth_kbps, rtt_ms,
      packet_loss_percent, jitter_ms, fps, estimated_bandwidth_kbps, network_condition)
    values (${sessionId}, ${userId}, 5000, 40, 0.5, 3, 30, 4800, 0.7)
  `;

  it('stores a network sample for the owner of the session', async () => {
    const sessionId = await newSession('alice');
    await insertSample(sessionId, 'alice');
    const [row] = await db.sql<{ id: number; n: number }[]>`
      select max(id) as id, count(*)::int as n from network_samples where session_id = ${sessionId}
    `;
    // bigint identity ids arrive as numbers, not strings.
    expect(typeof row?.id).toBe('number');
    expect(row?.n).toBe(1);
  });

  it('refuses a network sample for a session its tenant does not have, though another tenant has that id', async () => {
    const sessionId = await newSession('alice');
    await expect(insertSample(sessionId, 'mallory')).rejects.toMatchObject({ code: '23503' });
  });

  it('keys a session by its tenant and id: two tenants may share an id, one tenant may not have it twice', async () => {
    const sessionId = await newSession('alice');
    await db.sql`insert into sessions (session_id, user_id) values (${sessionId}, 'mallory')`;
    await expect(
      db.sql`insert into sessions (session_id, user_id) values (${sessionId}, 'alice')`,
    ).rejects.toMatchObject({ code: '23505' });
    await insertSample(sessionId, 'alice');
    await insertSample(sessionId, 'mallory');
    const rows = await db.sql<{ user_id: string; n: number }[]>`
      select user_id, count(*)::int as n from network_samples where session_id = ${sessionId}
      group by user_id order by user_id`;
    expect(rows).toEqual([
      { user_id: 'alice', n: 1 },
      { user_id: 'mallory', n: 1 },
    ]);
  });

  it('refuses more fallbacks than frames in a session', async () => {
    const sessionId = await newSession('alice');
    await expectCheckViolation(db.sql`
      update sessions set frames_total = 1, fallbacks_total = 2 where session_id = ${sessionId}
    `);
  });

  it('refuses more dropped frames than frames in a session, or fewer than none', async () => {
    const sessionId = await newSession('alice');
    await db.sql`
      update sessions set frames_total = 2, dropped_total = 2 where session_id = ${sessionId}
    `;
    for (const dropped of [3, -1]) {
      await expectCheckViolation(db.sql`
        update sessions set dropped_total = ${dropped} where session_id = ${sessionId}
      `);
    }
  });

  it('refuses more unchanged frames than frames in a session, or fewer than none', async () => {
    const sessionId = await newSession('alice');
    await db.sql`
      update sessions set frames_total = 2, unchanged_total = 2 where session_id = ${sessionId}
    `;
    for (const unchanged of [3, -1]) {
      await expectCheckViolation(db.sql`
        update sessions set unchanged_total = ${unchanged} where session_id = ${sessionId}
      `);
    }
  });
});

describe('alerts constraints', () => {
  const openAlert = (userId: string, type: string) => db.sql<{ id: string }[]>`
    insert into alerts (user_id, type, severity, message, observed_value, threshold)
    values (${userId}, ${type}, 'warning', 'p95 latency above budget', 31, 20)
    returning id
  `;

  it('allows one open alert per user and type, and a new one after resolving it', async () => {
    const [first] = await openAlert('bob', 'latency_p95');
    expect(first?.id).toMatch(/^[0-9a-f-]{36}$/);
    await expect(openAlert('bob', 'latency_p95')).rejects.toMatchObject({ code: '23505' });
    await openAlert('bob', 'ssim_floor');
    await openAlert('carol', 'latency_p95');
    await db.sql`update alerts set resolved_at = now() where id = ${first?.id ?? ''}`;
    await openAlert('bob', 'latency_p95');
  });
});

describe('frame_metrics constraints', () => {
  const insertFrame = (status: string | null, dropReason: string | null) => db.sql`
    insert into frame_metrics (session_id, user_id, event_id, mode, format, width, height,
      original_bytes, compressed_bytes, compression_ratio, budget_bytes, within_budget, decode_ms,
      encode_ms, metrics_ms, total_ms, status, drop_reason)
    values (${randomUUID()}, 'frames', 'f:0', 'adaptive', 'jpeg', 640, 360, 1000, 0, 1, 500, true,
      1, 1, 1, 3, ${status}, ${dropReason})
  `;

  it('accepts every frame status of the contract, and none on a row from before statuses', async () => {
    for (const status of [...frameStatusSchema.options, null]) await insertFrame(status, null);
    await insertFrame('dropped', 'x'.repeat(200));
  });

  it('checks the status with one constraint that names every status of the contract', async () => {
    const checks = await db.sql<{ name: string; definition: string }[]>`
      select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint
      where conrelid = 'frame_metrics'::regclass and contype = 'c'
        and pg_get_constraintdef(oid) like '%status%'
    `;
    expect(checks.map((c) => c.name)).toEqual(['frame_metrics_status_check']);
    for (const status of frameStatusSchema.options) {
      expect(checks[0]?.definition, status).toContain(`'${status}'`);
    }
  });

  it('rejects an unknown status and an empty or overlong drop reason', async () => {
    await expectCheckViolation(insertFrame('skipped', null));
    await expectCheckViolation(insertFrame('Unchanged', null));
    await expectCheckViolation(insertFrame('dropped', ''));
    await expectCheckViolation(insertFrame('dropped', 'x'.repeat(201)));
  });
});
