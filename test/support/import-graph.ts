/**
 * The import graph of the repository's TypeScript sources, read from the text of each file: static
 * `import`/`export ... from`, side-effect imports and literal dynamic `import()`s. Enough for the
 * layer rules; it does not resolve path aliases (the project has none).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One import of a source file: a repository path for relative imports, else the package name. */
export interface ImportEdge {
  /** The importing file, relative to the repository root. */
  from: string;
  /** The imported file relative to the root (relative imports), or the bare specifier. */
  to: string;
  /** True when {@link to} is a package (or `node:` built-in) rather than a repository file. */
  external: boolean;
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** Every import of every `.ts` file under `dirs` (relative to `root`). */
export function importEdges(root: string, dirs: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const dir of dirs) {
    for (const path of sourceFiles(join(root, dir))) {
      const from = relative(root, path);
      for (const match of readFileSync(path, 'utf8').matchAll(IMPORT)) {
        const specifier = (match[1] ?? match[2] ?? match[3]) as string;
        const external = !specifier.startsWith('.');
        const to = external ? specifier : relative(root, resolve(dirname(path), specifier));
        edges.push({ from, to, external });
      }
    }
  }
  return edges;
}
