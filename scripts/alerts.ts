/**
 * `npm run alerts`: runs the alert evaluator's Lambda handler once, against DATABASE_URL or else
 * the embedded Postgres of a running `npm start` (which also runs it every minute by itself).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

// One invocation, like a single Lambda container: the handler's Powertools singletons must not
// expect the multi-concurrency invoke store of the local server (an inherited setting).
delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
const { closeRuntime } = await import('../functions/platform/runtime.ts');
const { localDatabaseUrlFile } = await import('../functions/local/local-state.ts');
const { invokeScheduled } = await import('../functions/local/scheduler.ts');
const { loadSettings } = await import('../functions/platform/settings.ts');

async function databaseUrl(): Promise<string | undefined> {
  const settings = loadSettings();
  if (settings.DATABASE_URL) return settings.DATABASE_URL;
  const stateDir = settings.AIC_LOCAL_STATE_DIR ?? join(import.meta.dirname, '..', '.aic-local');
  return readFile(localDatabaseUrlFile(stateDir), 'utf8').catch(() => undefined);
}

async function main(): Promise<number> {
  const url = await databaseUrl();
  if (!url) {
    console.error(
      'No database: set DATABASE_URL, or run `npm start` (it records its embedded Postgres and ' +
        'evaluates alerts every minute by itself).',
    );
    return 1;
  }
  process.env.DATABASE_URL = url;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  try {
    console.log(JSON.stringify(await invokeScheduled('alerts')));
    return 0;
  } catch (error) {
    console.error('Alert evaluation failed:', error instanceof Error ? error.message : error);
    return 1;
  } finally {
    await closeRuntime();
  }
}

process.exitCode = await main();
