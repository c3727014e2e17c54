import type { Migration } from './index.ts';

/**
 * Two roles for least privilege (docs/design.md section 5.6), created once per cluster (roles are
 * cluster-wide) and granted in this database:
 *
 * - `aic_app`: what the services need and nothing more: `SELECT`, `INSERT`, `UPDATE`, `DELETE` on
 *   the service's tables, `USAGE` on their identity sequences and `EXECUTE` on the `aic_*`
 *   functions; no DDL (not the schema's owner, no `CREATE` on it), nothing outside these tables.
 * - `aic_migrator`: owns nothing yet, may `CREATE` in the schema; the migrations' role.
 *
 * Both are `NOLOGIN` here: how a process becomes one (a login through RDS Proxy with IAM, given
 * by the bootstrap step, `functions/platform/db/bootstrap-roles.ts`) is the deployment's, not the
 * schema's. Tables created by later migrations are granted by the default privileges set below
 * (for the role that runs them) and by the bootstrap step (for `aic_migrator`).
 *
 * Frozen like 0001 to 0006.
 */
export const migration: Migration = {
  id: '0007_service_roles',
  sql: /* sql */ `
-- Roles are the cluster's: another database's migration may create them at the same moment.
-- Where they exist (the bootstrap step made them), nothing is created, so a migrator without
-- CREATEROLE runs this too.
do $$
declare
  name text;
begin
  foreach name in array array['aic_app', 'aic_migrator'] loop
    continue when exists (select 1 from pg_roles where rolname = name);
    begin
      execute format('create role %I nologin', name);
    exception when duplicate_object or unique_violation then
      null;
    end;
  end loop;
end
$$;

revoke create on schema public from public;
revoke all on all tables in schema public from public;
grant usage on schema public to aic_app, aic_migrator;
grant create on schema public to aic_migrator;

grant select, insert, update, delete on
  compression_configs, sessions, network_samples, frame_metrics, alerts, frame_metrics_hourly,
  frame_latency_hourly, frame_metrics_user_hourly, session_quotas
  to aic_app;
grant select on schema_migrations to aic_app;
grant usage on all sequences in schema public to aic_app;
grant execute on all functions in schema public to aic_app;

alter default privileges in schema public
  grant select, insert, update, delete on tables to aic_app;
alter default privileges in schema public grant usage on sequences to aic_app;
alter default privileges in schema public grant execute on functions to aic_app;
`,
};
