import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type MigrateResult, migrate } from '../platform/db/migrate.ts';
import { logger } from '../platform/observability.ts';
import { getRuntime } from '../platform/runtime.ts';

/**
 * Lambda entry of the deploy-time migration step. A CloudFormation trigger of the data stack
 * invokes it whenever its bundle changes (the bundle embeds the migrations, so a new migration is a
 * change), before the API and gRPC stacks roll out code that needs the new schema. It runs the same
 * `migrate` as `npm run migrate`, through RDS Proxy with the rotated credentials; an error fails the
 * invocation and with it the deployment.
 */
export const handler = middy<unknown, MigrateResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const { db, settings } = await getRuntime();
    const result = await migrate(db.sql, {
      logger: { info: (message, context) => logger.info(message, { ...context }) },
      // The services connect as this function's role: its default bounds their every statement.
      statementTimeoutMs: settings.DB_STATEMENT_TIMEOUT_MS,
    });
    logger.info('Schema is current', { applied: result.applied });
    return result;
  });
