import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the repository root (the directory holding package.json and cdk.json),
 * derived from this file's location so it does not depend on the working directory.
 */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Resolves a path given relative to the repository root, such as an entry of FUNCTION_ENTRIES. */
export function repoPath(relativePath: string): string {
  return join(REPO_ROOT, relativePath);
}
