import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { type BootstrapRolesResult, bootstrapRoles } from '../platform/db/bootstrap-roles.ts';
import { readRoleLogins } from '../platform/db/role-logins.ts';
import { logger } from '../platform/observability.ts';
import { getRuntime } from '../platform/runtime.ts';
import { createSecretsLoader } from '../platform/secrets.ts';

/**
 * Lambda entry of the deploy-time database bootstrap (docs/design.md section 5.6). A
 * CloudFormation trigger runs it before the migrations, as the master user through RDS Proxy: the
 * only function that may connect as that user. It gives `aic_app` and `aic_migrator` their logins
 * from their rotated secrets, hands the schema to the migrator and bounds the app role's
 * statements; an error fails the deployment.
 */
export const handler = middy<unknown, BootstrapRolesResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const { db, settings } = await getRuntime();
    const secrets = createSecretsLoader({ client: new SecretsManagerClient({}) });
    const logins = await readRoleLogins(settings, (arn) => secrets.getJson(arn));
    const result = await bootstrapRoles(db.sql, {
      logins,
      statementTimeoutMs: settings.DB_STATEMENT_TIMEOUT_MS,
    });
    logger.info('Database roles are set up', {
      logins: logins !== undefined,
      reassigned: result.reassigned.length,
    });
    return result;
  });
