/**
 * `npm run migrate`: applies the schema migrations to the database named by DATABASE_URL.
 */
import { createDatabase } from '../functions/platform/db/database.ts';
import { migrate } from '../functions/platform/db/migrate.ts';
import { loadSettings } from '../functions/platform/settings.ts';

async function main(): Promise<number> {
  const settings = loadSettings();
  const url = settings.DATABASE_URL;
  if (!url) {
    console.error(
      'DATABASE_URL is not set. Set it to the target database, for example:\n' +
        '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/auralink npm run migrate',
    );
    return 1;
  }
  const db = createDatabase({ url, poolMax: 1, applicationName: 'auralink-aic-migrate' });
  try {
    const { applied } = await migrate(db.sql, {
      statementTimeoutMs: settings.DB_STATEMENT_TIMEOUT_MS,
    });
    console.log(
      applied.length === 0
        ? 'Schema is up to date; nothing to apply.'
        : `Applied ${applied.length} migration(s): ${applied.join(', ')}`,
    );
    return 0;
  } catch (error) {
    console.error('Migration failed:', error instanceof Error ? error.message : error);
    return 1;
  } finally {
    await db.close();
  }
}

process.exitCode = await main();
