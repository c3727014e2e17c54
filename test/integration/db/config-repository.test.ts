import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CompressionConfig,
  DEFAULT_CONFIG,
  storedConfigSchema,
} from '../../../functions/core/contracts/config.ts';
import { getConfig, putConfig } from '../../../functions/platform/db/config-repository.ts';
import { insertNetworkSample } from '../../../functions/platform/db/network-repository.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

const custom: CompressionConfig = {
  enabled: false,
  mode: 'aggressive',
  target_compression_ratio: 0.9,
  max_latency_ms: 25,
  min_quality_score: 0.7,
  allowed_formats: ['webp', 'avif'],
  enable_predictive_compression: false,
  enable_perceptual_optimization: true,
  opt_out: true,
};

describe('config repository', () => {
  it('returns null for a user who never stored a policy', async () => {
    expect(await getConfig(db.sql, 'nobody')).toBeNull();
  });

  it('round-trips every field of a stored policy', async () => {
    const stored = await putConfig(db.sql, 'user-round-trip', custom);
    expect(storedConfigSchema.parse(stored)).toEqual(stored);
    const { updated_at, ...fields } = stored;
    // A policy that never set on_budget_miss or an unchanged threshold reads them as null: the
    // defaults.
    expect(fields).toEqual({
      ...custom,
      on_budget_miss: null,
      unchanged_ssim_screen: null,
      unchanged_ssim_video: null,
    });
    expect(new Date(updated_at ?? '').toISOString()).toBe(updated_at);
    expect(await getConfig(db.sql, 'user-round-trip')).toEqual(stored);
  });

  it('stores on_budget_miss, and a put without it leaves it unset', async () => {
    for (const onBudgetMiss of ['drop', 'smallest', 'original'] as const) {
      const stored = await putConfig(db.sql, 'user-budget-miss', {
        ...custom,
        on_budget_miss: onBudgetMiss,
      });
      expect(stored.on_budget_miss).toBe(onBudgetMiss);
      expect(await getConfig(db.sql, 'user-budget-miss')).toEqual(stored);
    }
    const replaced = await putConfig(db.sql, 'user-budget-miss', DEFAULT_CONFIG);
    expect(replaced.on_budget_miss).toBeNull();
    expect(storedConfigSchema.parse(replaced)).toEqual(replaced);
  });

  it('stores the unchanged thresholds exactly, and a put without them leaves them unset', async () => {
    for (const [screen, video] of [
      [0.9, 1],
      [0.993, null],
      [null, 0.9975],
      [1, 0.9],
    ] as const) {
      const stored = await putConfig(db.sql, 'user-unchanged', {
        ...custom,
        unchanged_ssim_screen: screen,
        unchanged_ssim_video: video,
      });
      expect(stored).toMatchObject({ unchanged_ssim_screen: screen, unchanged_ssim_video: video });
      expect(await getConfig(db.sql, 'user-unchanged')).toEqual(stored);
    }
    const replaced = await putConfig(db.sql, 'user-unchanged', DEFAULT_CONFIG);
    expect(replaced).toMatchObject({ unchanged_ssim_screen: null, unchanged_ssim_video: null });
    expect(storedConfigSchema.parse(replaced)).toEqual(replaced);
  });

  it('is read with its newer fields by the statement that stores a network sample', async () => {
    const stored = await putConfig(db.sql, 'user-sample', {
      ...custom,
      on_budget_miss: 'original',
      unchanged_ssim_screen: 0.985,
      unchanged_ssim_video: 0.999,
    });
    const inserted = await insertNetworkSample(db.sql, {
      sessionId: randomUUID(),
      userId: 'user-sample',
      conditions: {
        available_bandwidth_kbps: 1500,
        rtt_ms: 40,
        packet_loss_percent: 0,
        jitter_ms: 2,
        fps: 30,
      },
      estimatedBandwidthKbps: 1500,
      networkCondition: 0.6,
    });
    expect(inserted).toMatchObject({ config: stored });
  });

  it('replaces the policy on a second put and moves updated_at forward', async () => {
    // Microsecond timestamps as text: two puts can fall within one millisecond of each other.
    const storedAt = async () => {
      const [row] = await db.sql<{ at: string }[]>`
        select updated_at::text as at from compression_configs where user_id = 'user-update'
      `;
      return row?.at ?? '';
    };
    const first = await putConfig(db.sql, 'user-update', DEFAULT_CONFIG);
    const firstAt = await storedAt();
    const second = await putConfig(db.sql, 'user-update', custom);
    const secondAt = await storedAt();
    expect(second).toMatchObject(custom);
    expect(Date.parse(second.updated_at ?? '')).toBeGreaterThanOrEqual(
      Date.parse(first.updated_at ?? ''),
    );
    const [order] = await db.sql<{ later: boolean }[]>`
      select ${secondAt}::timestamptz > ${firstAt}::timestamptz as later
    `;
    expect(order?.later).toBe(true);
    expect(await getConfig(db.sql, 'user-update')).toEqual(second);
    const [row] = await db.sql<{ n: number; created_before_update: boolean }[]>`
      select count(*)::int as n, bool_and(created_at <= updated_at) as created_before_update
      from compression_configs where user_id = 'user-update'
    `;
    expect(row).toEqual({ n: 1, created_before_update: true });
  });

  it("never returns or changes another user's policy", async () => {
    await putConfig(db.sql, 'owner-a', custom);
    await putConfig(db.sql, 'owner-b', DEFAULT_CONFIG);
    expect(await getConfig(db.sql, 'owner-a')).toMatchObject(custom);
    expect(await getConfig(db.sql, 'owner-b')).toMatchObject(DEFAULT_CONFIG);
    expect(await getConfig(db.sql, 'owner-c')).toBeNull();
  });

  it('treats hostile user ids as plain data', async () => {
    const hostile = "x' or '1'='1; drop table compression_configs; --";
    await putConfig(db.sql, hostile, custom);
    expect(await getConfig(db.sql, hostile)).toMatchObject(custom);
    expect(await getConfig(db.sql, 'x')).toBeNull();
  });
});
