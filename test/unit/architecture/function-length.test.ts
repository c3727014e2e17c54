import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionLengths } from '../../support/function-lengths.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SOURCE_DIRS = ['functions', 'lib', 'bin', 'layers', 'scripts', 'bench'];

/** Short enough to read at once. */
const LIMIT = 80;
/** Past {@link LIMIT} only with a `@longFunction <reason>` tag, and never past this. */
const HARD_LIMIT = 100;

describe('the functions of the source tree', () => {
  const lengths = functionLengths(ROOT, SOURCE_DIRS);
  const describeOne = (f: (typeof lengths)[number]) =>
    `${f.file}:${f.line} ${f.name} (${f.lines} lines)`;

  it(`run to at most ${LIMIT} lines, or ${HARD_LIMIT} with a stated reason`, () => {
    const tooLong = lengths.filter(
      (f) => f.lines > LIMIT && (f.reason === undefined || f.lines > HARD_LIMIT),
    );
    expect(tooLong.map(describeOne)).toEqual([]);
  });

  it('are all measured (the parser finds the functions it should)', () => {
    expect(lengths.length).toBeGreaterThan(500);
    expect(
      lengths.some((f) => f.file === 'functions/platform/settings.ts' && f.name === 'loadSettings'),
    ).toBe(true);
  });
});
