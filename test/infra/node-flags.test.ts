import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_HEAP_FLAGS, PIXEL_PROCESS_ENV } from '../../lib/config/node-flags.ts';
import { repoPath } from '../../lib/paths.ts';

describe('the Node flags of the processes that handle pixels', () => {
  it('are the same, with the malloc setting, on the gRPC task, npm start and the benchmarks', () => {
    const dockerfile = readFileSync(repoPath('functions/grpc/Dockerfile'), 'utf8');
    const cmd = /^CMD \[(.*)\]$/m.exec(dockerfile)?.[1] ?? '';
    expect(JSON.parse(`[${cmd}]`)).toEqual([
      'node',
      ...NODE_HEAP_FLAGS,
      'dist/functions/grpc/main.mjs',
    ]);
    const { scripts } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const env = Object.entries(PIXEL_PROCESS_ENV).map(([name, value]) => `${name}=${value}`);
    for (const name of ['start', 'start:grpc', 'bench:compress']) {
      expect(scripts[name], name).toMatch(
        new RegExp(`^${env.join(' ')} tsx ${NODE_HEAP_FLAGS.join(' ')} \\S+$`),
      );
    }
    for (const [name, value] of Object.entries(PIXEL_PROCESS_ENV)) {
      expect(dockerfile).toMatch(new RegExp(`^\\s+${name}=${value} \\\\$`, 'm'));
    }
  });

  it('reach Node through the Lambda exec wrapper, before the runtime entry script', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aic-node-flags-'));
    try {
      const entry = join(dir, 'entry.mjs');
      writeFileSync(entry, 'console.log(JSON.stringify(process.execArgv));\n');
      const run = (flags: string) =>
        spawnSync(
          'bash',
          [repoPath('layers/sharp/aic-node-flags'), process.execPath, '--no-warnings', entry],
          { encoding: 'utf8', env: { ...process.env, AIC_NODE_FLAGS: flags, NODE_OPTIONS: '' } },
        );
      const withFlags = run(NODE_HEAP_FLAGS.join(' '));
      expect(withFlags.status, withFlags.stderr).toBe(0);
      expect(JSON.parse(withFlags.stdout)).toEqual(['--no-warnings', ...NODE_HEAP_FLAGS]);
      const without = run('');
      expect(JSON.parse(without.stdout)).toEqual(['--no-warnings']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
