/**
 * The logins of the two service roles, read from their rotated secrets (RDS's JSON shape:
 * `{ username, password, ... }`) for the bootstrap step.
 */
import { z } from 'zod';
import { DependencyUnavailableError } from '../../core/errors.ts';
import { SECRETS_DEPENDENCY } from '../secrets.ts';
import type { Settings } from '../settings.ts';
import { APP_ROLE, MIGRATOR_ROLE, type RoleLogins } from './bootstrap-roles.ts';

const loginSecret = (role: string) =>
  z.object({
    username: z.literal(role),
    password: z.string().min(8),
  });

/**
 * Reads `DB_APP_SECRET_ARN` and `DB_MIGRATOR_SECRET_ARN`; undefined when neither is set (a local
 * database, where the roles need no login).
 *
 * @throws Error naming the setting when only one is set.
 * @throws DependencyUnavailableError('secrets-manager') when a secret cannot be read, or names
 *   another user than its role, or has no password.
 */
export async function readRoleLogins(
  settings: Pick<Settings, 'DB_APP_SECRET_ARN' | 'DB_MIGRATOR_SECRET_ARN'>,
  getSecretJson: (arn: string) => Promise<unknown>,
): Promise<RoleLogins | undefined> {
  const { DB_APP_SECRET_ARN: appArn, DB_MIGRATOR_SECRET_ARN: migratorArn } = settings;
  if (appArn === undefined && migratorArn === undefined) return undefined;
  if (appArn === undefined || migratorArn === undefined) {
    throw new Error('Set both DB_APP_SECRET_ARN and DB_MIGRATOR_SECRET_ARN, or neither');
  }
  const [app, migrator] = await Promise.all([
    readLogin(appArn, APP_ROLE, getSecretJson),
    readLogin(migratorArn, MIGRATOR_ROLE, getSecretJson),
  ]);
  return { app, migrator };
}

async function readLogin(
  arn: string,
  role: string,
  getSecretJson: (arn: string) => Promise<unknown>,
): Promise<string> {
  const parsed = loginSecret(role).safeParse(await getSecretJson(arn));
  if (!parsed.success) {
    // Names the fields only: the secret's values must never reach a log.
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new DependencyUnavailableError(SECRETS_DEPENDENCY, {
      cause: new Error(`The ${role} secret is unusable: ${fields}`),
    });
  }
  return parsed.data.password;
}
