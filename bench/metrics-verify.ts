/**
 * The checks of bench/metrics.ts: what the dashboard reads against what was answered. Each
 * session's `frames_total` equals its frames answered (each distinct frame once); the per-session
 * hourly rollup adds up to all of them; and `windowTotals` over the last hour, the dashboard's
 * own query, shows the frames and byte sums of each user checked.
 */

import { windowTotals } from '../functions/platform/db/dashboard-repository.ts';
import type { Sql } from '../functions/platform/db/database.ts';
import { count } from './format.ts';
import { answeredFrames, type Shape } from './metrics-fixture.ts';

/** One check: what was expected, what the database says. */
export interface Check {
  name: string;
  expected: string;
  actual: string;
  pass: boolean;
}

function check(name: string, expected: number, actual: number): Check {
  return { name, expected: count(expected), actual: count(actual), pass: expected === actual };
}

/** Per-session totals and the hourly rollups of the shape's users, against what was answered. */
async function storedChecks(sql: Sql, shape: Shape): Promise<Check[]> {
  const ids = shape.sessions.map((s) => s.sessionId);
  const rows = await sql<{ session_id: string; frames_total: number }[]>`
    select session_id, frames_total from sessions where session_id in ${sql(ids)}`;
  const stored = new Map(rows.map((r) => [r.session_id, r.frames_total]));
  const wrong = shape.sessions.filter((s) => stored.get(s.sessionId) !== s.answered);
  const [sums] = await sql<{ hourly: number; user_hourly: number; rows: number }[]>`
    select
      (select coalesce(sum(frames), 0)::bigint from frame_metrics_hourly
        where user_id in ${sql(shape.users)}) as hourly,
      (select coalesce(sum(frames), 0)::bigint from frame_metrics_user_hourly
        where user_id in ${sql(shape.users)}) as user_hourly,
      (select count(*)::bigint from frame_metrics where user_id in ${sql(shape.users)}) as rows`;
  const total = answeredFrames(shape);
  return [
    {
      name: `sessions whose frames_total equals their frames answered (of ${count(shape.sessions.length)})`,
      expected: count(shape.sessions.length),
      actual: count(shape.sessions.length - wrong.length),
      pass: wrong.length === 0,
    },
    check('sum of frame_metrics_hourly.frames', total, sums?.hourly ?? 0),
    check('sum of frame_metrics_user_hourly.frames', total, sums?.user_hourly ?? 0),
    check('frame_metrics rows', total, sums?.rows ?? 0),
  ];
}

/** `windowTotals` of `userId` over the last hour against the user's answered frames. */
async function windowChecks(sql: Sql, shape: Shape, userId: string): Promise<Check[]> {
  const sessions = shape.sessions.filter((s) => s.userId === userId);
  const sum = (pick: (s: (typeof sessions)[number]) => number) =>
    sessions.reduce((total, s) => total + pick(s), 0);
  const window = await windowTotals(sql, userId, 3600);
  return [
    check(
      `windowTotals(1 h).frames of ${userId}`,
      sum((s) => s.answered),
      window.frames,
    ),
    check(
      `windowTotals(1 h).bytesIn of ${userId}`,
      sum((s) => s.bytesIn),
      window.bytesIn,
    ),
    check(
      `windowTotals(1 h).bytesOut of ${userId}`,
      sum((s) => s.bytesOut),
      window.bytesOut,
    ),
  ];
}

/**
 * Every check of the shape; `windowUsers` users (the first ones) also through `windowTotals`.
 * Call it once every frame answered has been consumed.
 */
export async function verifyShape(sql: Sql, shape: Shape, windowUsers: number): Promise<Check[]> {
  const checks = await storedChecks(sql, shape);
  for (const userId of shape.users.slice(0, windowUsers)) {
    checks.push(...(await windowChecks(sql, shape, userId)));
  }
  return checks;
}
