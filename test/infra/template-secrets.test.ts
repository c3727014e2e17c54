import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../../functions/platform/jwt.ts';
import { synthAicApp } from './app-fixture.ts';

/**
 * Synthesizes the whole app (every environment, bundling skipped) and searches every template for
 * secret values: the signing keys this repository knows, and any password, token or secret property
 * given as a literal instead of a reference (Secrets Manager dynamic reference, Ref, Fn::*).
 */

const SECRET_KEY = /(password|secret|token|apikey|api_key|privatekey|private_key)/i;
// Names of secrets, ARNs and switches are not secret values.
const NOT_A_VALUE = /(arn|name|id|ttl|length|rotation|enabled|characters|exclude|template|key$)/i;

function templates(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('asset.') ? [] : templates(path);
    return entry.name.endsWith('.template.json') ? [path] : [];
  });
}

/** `[path, value]` of every literal string under a secret-looking key. */
function literalSecrets(value: unknown, path: string[] = []): [string, string][] {
  if (Array.isArray(value))
    return value.flatMap((item, i) => literalSecrets(item, [...path, String(i)]));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]): [string, string][] => {
    const here = [...path, key];
    if (typeof child === 'string' && SECRET_KEY.test(key) && !NOT_A_VALUE.test(key)) {
      const reference = child.startsWith('{{resolve:') || child === '';
      return reference ? [] : [[here.join('.'), child]];
    }
    // Environment variables are a name/value map: judge each by its name.
    return literalSecrets(child, here);
  });
}

describe('synthesized templates', () => {
  it('hold no secret value, only references to secrets', () => {
    const { app } = synthAicApp();
    const files = templates(app.outdir);
    expect(files.length).toBeGreaterThan(0);
    const testKey = process.env.AIC_JWT_SECRET as string;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toContain(DEV_JWT_SECRET);
      expect(text, file).not.toContain(testKey);
      expect(literalSecrets(JSON.parse(text)), file).toEqual([]);
    }
  }, 120_000);
});
