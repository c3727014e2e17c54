/**
 * The database bootstrap step (docs/design.md section 5.6): run by the master user, the one place
 * that user's credentials serve besides their own rotation. It makes the two roles of migration
 * 0007 usable and hands the schema to the migrator, so that everything after it runs with less:
 *
 * - `aic_app` and `aic_migrator` exist and, given their passwords (the secrets RDS Proxy logs in
 *   with), may log in;
 * - only `aic_migrator` may create in the schema, and it owns every service object the master
 *   created (earlier deployments migrated as the master), so later migrations can alter them;
 * - what `aic_migrator` creates is granted to `aic_app` by default privileges;
 * - `aic_app` has the service's statement timeout as its default in this database.
 *
 * Idempotent, and serialised with the migration runners by their lock.
 */
import type { TransactionSql } from 'postgres';
import type { Sql } from './database.ts';
import { lockUnbounded } from './migrate.ts';
import { applyStatementTimeout } from './statement-timeout.ts';

/** The services' role: DML on the service's tables only. */
export const APP_ROLE = 'aic_app';

/** The migrations' role: owns the schema's objects, may create in it. */
export const MIGRATOR_ROLE = 'aic_migrator';

/** The passwords the two roles log in with (the current values of their rotated secrets). */
export interface RoleLogins {
  app: string;
  migrator: string;
}

/** Options of {@link bootstrapRoles}. */
export interface BootstrapRolesOptions {
  /** Give the roles these logins; without, they stay as they are (`NOLOGIN` when new). */
  logins?: RoleLogins;
  /** The `statement_timeout` of {@link APP_ROLE} in this database (`DB_STATEMENT_TIMEOUT_MS`). */
  statementTimeoutMs: number;
}

/** What one {@link bootstrapRoles} call changed. */
export interface BootstrapRolesResult {
  /** Objects whose ownership moved from the connected user to {@link MIGRATOR_ROLE}. */
  reassigned: string[];
}

/**
 * Runs the bootstrap in one transaction as the connected user, who must be able to create and
 * alter roles and own the schema's objects (the RDS master user; a superuser locally).
 */
export async function bootstrapRoles(
  sql: Sql,
  options: BootstrapRolesOptions,
): Promise<BootstrapRolesResult> {
  return sql.begin(async (tx) => {
    await lockUnbounded(tx);
    await ensureRoles(tx, options.logins);
    await tx.unsafe(SCHEMA_PRIVILEGES);
    const reassigned = await reassignOwnership(tx);
    await tx.unsafe(DEFAULT_PRIVILEGES);
    await applyStatementTimeout(tx, options.statementTimeoutMs, APP_ROLE);
    return { reassigned };
  });
}

/** Creates the roles where missing and sets their logins. */
async function ensureRoles(tx: TransactionSql, logins: RoleLogins | undefined): Promise<void> {
  for (const [role, password] of [
    [APP_ROLE, logins?.app],
    [MIGRATOR_ROLE, logins?.migrator],
  ] as const) {
    const [row] = await tx`select 1 as present from pg_roles where rolname = ${role}`;
    if (!row) await tx.unsafe(`create role ${role} nologin`);
    if (password === undefined) continue;
    // The password travels as a setting local to this transaction, not in the statement's text,
    // so no statement the server might log holds it.
    await tx`select set_config('aic.bootstrap_password', ${password}, true)`;
    await tx.unsafe(`
      do $$ begin
        execute format('alter role %I with login password %L',
          '${role}', current_setting('aic.bootstrap_password'));
      end $$
    `);
  }
  await tx`select set_config('aic.bootstrap_password', '', true)`;
}

// The master joins the migrator role: it must be able to act as it to hand it objects and to set
// its default privileges.
const SCHEMA_PRIVILEGES = /* sql */ `
  revoke create on schema public from public;
  grant usage, create on schema public to ${MIGRATOR_ROLE};
  grant usage on schema public to ${APP_ROLE};
  grant ${MIGRATOR_ROLE} to current_user;
`;

const DEFAULT_PRIVILEGES = /* sql */ `
  alter default privileges for role ${MIGRATOR_ROLE} in schema public
    grant select, insert, update, delete on tables to ${APP_ROLE};
  alter default privileges for role ${MIGRATOR_ROLE} in schema public
    grant usage on sequences to ${APP_ROLE};
  alter default privileges for role ${MIGRATOR_ROLE} in schema public
    grant execute on functions to ${APP_ROLE};
`;

/**
 * Hands {@link MIGRATOR_ROLE} the tables, views, sequences and functions of the schema that the
 * connected user owns. Sequences owned by a column follow their table; objects of extensions
 * stay with the extension.
 */
async function reassignOwnership(tx: TransactionSql): Promise<string[]> {
  const objects = await tx<{ kind: string; name: string }[]>`
    select case c.relkind
             when 'S' then 'sequence' when 'v' then 'view'
             when 'm' then 'materialized view' else 'table'
           end as kind,
           c.oid::regclass::text as name
      from pg_class c
     where c.relnamespace = 'public'::regnamespace
       and c.relowner = (select oid from pg_roles where rolname = current_user)
       and c.relkind in ('r', 'p', 'v', 'm', 'S')
       and not exists (
         select 1 from pg_depend d
          where d.classid = 'pg_class'::regclass and d.objid = c.oid
            and d.deptype in ('a', 'i', 'e'))
    union all
    select case p.prokind when 'p' then 'procedure' else 'function' end,
           p.oid::regprocedure::text
      from pg_proc p
     where p.pronamespace = 'public'::regnamespace
       and p.proowner = (select oid from pg_roles where rolname = current_user)
       and p.prokind in ('f', 'p')
       and not exists (
         select 1 from pg_depend d
          where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
     order by 2
  `;
  for (const { kind, name } of objects) {
    // Names come from the catalogue already quoted (regclass, regprocedure output).
    await tx.unsafe(`alter ${kind} ${name} owner to ${MIGRATOR_ROLE}`);
  }
  return objects.map(({ kind, name }) => `${kind} ${name}`);
}
