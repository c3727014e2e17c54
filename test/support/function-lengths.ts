/**
 * Lengths of every function in the repository's TypeScript sources, read with the TypeScript
 * compiler's parser (no type checking), for the test that keeps functions short enough to read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One function, method, constructor or arrow function and how many lines it spans. */
export interface FunctionLength {
  file: string;
  name: string;
  line: number;
  lines: number;
  /** The reason given in a `@longFunction <reason>` TSDoc tag, if any. */
  reason?: string;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) yield* sourceFiles(path);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) {
    return node.name.getText(source);
  }
  if (ts.isConstructorDeclaration(node)) {
    const owner = node.parent;
    return `${ts.isClassLike(owner) && owner.name ? owner.name.text : 'class'} constructor`;
  }
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))) {
    return parent.name.getText(source);
  }
  return '(anonymous)';
}

function longReason(node: ts.Node): string | undefined {
  const holder = ts.isArrowFunction(node) || ts.isFunctionExpression(node) ? node.parent : node;
  for (const tag of ts.getJSDocTags(
    holder.parent && ts.isVariableDeclaration(holder) ? holder.parent.parent : holder,
  )) {
    if (tag.tagName.text === 'longFunction') {
      const text = ts.getTextOfJSDocComment(tag.comment)?.trim();
      if (text) return text;
    }
  }
  return undefined;
}

/** Every function of the `.ts` files under `dirs` (relative to `root`), longest first. */
export function functionLengths(root: string, dirs: readonly string[]): FunctionLength[] {
  const found: FunctionLength[] = [];
  for (const dir of dirs) {
    for (const path of sourceFiles(join(root, dir))) {
      const source = ts.createSourceFile(
        path,
        readFileSync(path, 'utf8'),
        ts.ScriptTarget.Latest,
        true,
      );
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body) {
          const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          found.push({
            file: relative(root, path),
            name: nameOf(node, source),
            line: start + 1,
            lines: end - start + 1,
            reason: longReason(node),
          });
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return found.sort((a, b) => b.lines - a.lines);
}
