/**
 * The ordered list of schema migrations. SQL lives in TypeScript modules so that tsx, vitest and
 * esbuild bundles all carry it without file loaders. Append only: never edit an applied migration.
 */
import { migration as initial } from './0001_initial.ts';
import { migration as dashboardRollups } from './0002_dashboard_rollups.ts';
import { migration as boundedSessions } from './0003_bounded_sessions.ts';
import { migration as framesCountedOnce } from './0004_frames_counted_once.ts';
import { migration as frameEvents } from './0005_frame_events.ts';
import { migration as tenantSessions } from './0006_tenant_sessions.ts';
import { migration as serviceRoles } from './0007_service_roles.ts';
import { migration as frameStatuses } from './0008_frame_statuses.ts';
import { migration as unchangedFrames } from './0009_unchanged_frames.ts';
import { migration as qualityScore } from './0010_quality_score.ts';

/** One versioned schema change, applied once in its own transaction. */
export interface Migration {
  /** Sortable, unique and stable forever: `NNNN_name`. */
  id: string;
  /** One or more SQL statements. */
  sql: string;
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  initial,
  dashboardRollups,
  boundedSessions,
  framesCountedOnce,
  frameEvents,
  tenantSessions,
  serviceRoles,
  frameStatuses,
  unchangedFrames,
  qualityScore,
];
