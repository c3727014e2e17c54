/**
 * Keeps the per-frame rows in Postgres bounded (docs/design.md section 5.8): rows older than
 * `FRAME_ROWS_RETENTION_HOURS` are deleted a slice at a time, so one run never holds locks or
 * runs long; the totals and rollups keep what the rows counted, and the archive in S3 keeps the
 * rows themselves.
 */
import type { Sql } from '../platform/db/database.ts';
import { pruneFrameRows } from '../platform/db/frame-metrics-repository.ts';

/** Rows one slice deletes. */
const SLICE = 10_000;

/** Deletes expired frame rows, at most `maxSlices` slices; returns how many it deleted. */
export async function pruneExpiredFrameRows(
  sql: Sql,
  retentionHours: number,
  maxSlices = 20,
): Promise<number> {
  let deleted = 0;
  for (let slice = 0; slice < maxSlices; slice++) {
    const count = await pruneFrameRows(sql, retentionHours, SLICE);
    deleted += count;
    if (count < SLICE) break;
  }
  return deleted;
}
