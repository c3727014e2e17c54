import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ImportEdge, importEdges } from '../../support/import-graph.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * What each folder of `functions/` may import (docs/design.md section 1): a layer sees only the
 * layers below it; the two transports never see each other; the local runtime is the composition
 * root of `npm start` and may use everything.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core'],
  platform: ['core', 'platform'],
  app: ['core', 'platform', 'app'],
  http: ['core', 'platform', 'app', 'http'],
  grpc: ['core', 'platform', 'app', 'grpc'],
  handlers: ['core', 'platform', 'app', 'http', 'handlers'],
  local: ['core', 'platform', 'app', 'http', 'grpc', 'handlers', 'local'],
};

/** Packages the pure core may use: schemas and Node's own modules, nothing with I/O to AWS or a database. */
const CORE_PACKAGES = /^(zod|node:.*)$/;

const layerOf = (path: string) => /^functions\/([^/]+)\//.exec(path)?.[1];

function violations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const from = layerOf(edge.from) as string;
    if (edge.external) {
      if (from === 'core' && !CORE_PACKAGES.test(edge.to)) found.push(`${edge.from} -> ${edge.to}`);
      continue;
    }
    const to = layerOf(edge.to);
    if (to === undefined || !ALLOWED[from]?.includes(to)) found.push(`${edge.from} -> ${edge.to}`);
  }
  return found;
}

describe('the layers of functions/', () => {
  const edges = importEdges(ROOT, ['functions']);

  it('has a rule for every folder', () => {
    const folders = new Set(edges.map((edge) => layerOf(edge.from)));
    expect([...folders].filter((folder) => !folder || !(folder in ALLOWED))).toEqual([]);
  });

  it('imports only from the same layer or a layer below it', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('reports an import from a layer above (the check itself works)', () => {
    const upward: ImportEdge[] = [
      { from: 'functions/core/x.ts', to: 'functions/platform/y.ts', external: false },
      { from: 'functions/grpc/x.ts', to: 'functions/http/y.ts', external: false },
      { from: 'functions/http/x.ts', to: 'functions/grpc/y.ts', external: false },
      { from: 'functions/core/x.ts', to: 'postgres', external: true },
      { from: 'functions/app/x.ts', to: 'lib/y.ts', external: false },
    ];
    expect(violations(upward)).toHaveLength(upward.length);
  });
});

describe('the infrastructure and tools', () => {
  it('take only the contracts from functions/: lib/, bin/ and layers/ import only functions/core', () => {
    const wrong = importEdges(ROOT, ['lib', 'bin', 'layers'])
      .filter((edge) => !edge.external && edge.to.startsWith('functions/'))
      .filter((edge) => !edge.to.startsWith('functions/core/'))
      .map((edge) => `${edge.from} -> ${edge.to}`);
    expect(wrong).toEqual([]);
  });

  it('are never imported by the service: nothing in functions/ reaches lib, scripts, bench or test', () => {
    const wrong = importEdges(ROOT, ['functions'])
      .filter((edge) => !edge.external && /^(lib|bin|scripts|bench|test)\//.test(edge.to))
      .map((edge) => `${edge.from} -> ${edge.to}`);
    expect(wrong).toEqual([]);
  });
});
