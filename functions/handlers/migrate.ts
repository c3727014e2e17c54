import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type MigrateResult, migrate } from '../platform/db/migrate.ts';
import { logger } from '../platform/observability.ts';
import { getRuntime } from '../platform/runtime.ts';

/**
 * Lambda entry of the deploy-time migration step. A CloudFormation trigger of the data stack
 * invokes it whenever its bundle changes (the bundle embeds the migrations, so a new migration is a
 * change), after the database bootstrap and before the API and gRPC stacks roll out code that needs
 * the new schema. It runs the same `migrate` as `npm run migrate`, through RDS Proxy as
 * `aic_migrator` (docs/design.md section 5.6); an error fails the invocation and with it the
 * deployment. The services' statement timeout belongs to their own role, which the bootstrap sets.
 */
export const handler = middy<unknown, MigrateResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const { db } = await getRuntime();
    const result = await migrate(db.sql, {
      logger: { info: (message, context) => logger.info(message, { ...context }) },
    });
    logger.info('Schema is current', { applied: result.applied });
    return result;
  });
