import { type ForkOptions, fork } from 'node:child_process';
import { basename } from 'node:path';

/**
 * Runs `module` in a child Node process and resolves with the last message it sent, once it has
 * exited with code 0; rejects when it failed or sent nothing.
 */
export function childReport<T>(
  module: string,
  args: readonly string[],
  options?: ForkOptions,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(module, args, options);
    let report: T | undefined;
    child.on('message', (message) => {
      report = message as T;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (report !== undefined && code === 0) resolve(report);
      else reject(new Error(`${basename(module)} exited with ${code} and no report`));
    });
  });
}
