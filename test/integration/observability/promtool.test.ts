import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promtool, RULE_TESTS_DIR, RULES_FILE, SCRAPE_CONFIG } from './prometheus-server.ts';

// Rule and config checks by promtool, which CI installs with the prometheus package.
const ruleTestFiles = () =>
  readdirSync(RULE_TESTS_DIR)
    .filter((name) => name.endsWith('.yml'))
    .map((name) => join(RULE_TESTS_DIR, name));

describe('the Prometheus rules and scrape configuration', () => {
  it('hold rules promtool accepts', () => {
    expect(promtool(['check', 'rules', RULES_FILE])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass every promtool unit test of deploy/prometheus/tests', () => {
    const files = ruleTestFiles();
    expect(files.length).toBeGreaterThan(0);
    const output = promtool(['test', 'rules', ...files]);
    expect(output.match(/SUCCESS/g)).toHaveLength(files.length);
  });

  it('make a scrape configuration promtool accepts, with the rules file loaded', () => {
    const output = promtool(['check', 'config', SCRAPE_CONFIG]);
    expect(output).toContain('is valid prometheus config file syntax');
    expect(output).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('test every alert both firing and not firing', () => {
    const tests = ruleTestFiles()
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const names = (pattern: RegExp) => new Set([...tests.matchAll(pattern)].map((m) => m[1]));
    const quiet = names(/alertname: (\w+)\n\s+exp_alerts: \[\]/g);
    const firing = names(/alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:/g);
    const alerts = new Set(
      [...readFileSync(RULES_FILE, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]),
    );
    expect(alerts.size).toBeGreaterThan(10);
    for (const alert of alerts) {
      expect.soft(firing.has(alert), `${alert} fires in a test`).toBe(true);
      expect.soft(quiet.has(alert), `${alert} stays quiet in a test`).toBe(true);
    }
  });
});
