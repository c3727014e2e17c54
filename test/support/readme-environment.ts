import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The variable names of the README's environment table: the markdown table whose header is
 * `| Variable | Default | Meaning |`, every backticked name in its first column.
 */
export function readmeEnvironmentVariables(root: string): string[] {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const header = lines.findIndex((line) =>
    /^\|\s*Variable\s*\|\s*Default\s*\|\s*Meaning\s*\|/.test(line),
  );
  if (header < 0) throw new Error('README.md has no `| Variable | Default | Meaning |` table');
  const names: string[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const firstCell = line.split('|')[1] ?? '';
    for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.push(match[1] as string);
  }
  return names;
}
