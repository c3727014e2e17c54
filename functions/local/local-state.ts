import { join } from 'node:path';

/** Where a running `npm start` records the URL of its embedded Postgres, for `npm run alerts`. */
export function localDatabaseUrlFile(stateDir: string): string {
  return join(stateDir, 'database-url');
}
