import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedApp, synthAicApp } from './app-fixture.ts';

/**
 * Every alarm an operator can receive, from CloudWatch or from Prometheus, names a section of
 * docs/runbook.md that exists.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const RUNBOOK = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');

/** GitHub's anchors of the runbook's headings: lower case, punctuation dropped, spaces to `-`. */
const ANCHORS = new Set(
  [...RUNBOOK.matchAll(/^#{2,4} (.+)$/gm)].map(([, heading]) =>
    (heading as string)
      .trim()
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-'),
  ),
);

let synthesized: SynthesizedApp;

beforeAll(() => {
  synthesized = synthAicApp();
}, 120_000);

describe('the runbook', () => {
  it('has the section every CloudWatch alarm of every stage links to', () => {
    const links: string[] = [];
    for (const stacks of Object.values(synthesized.templates)) {
      for (const template of Object.values(stacks)) {
        for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
          const description = String(alarm.Properties?.AlarmDescription ?? '');
          const anchor = /Runbook: docs\/runbook\.md#([\w-]+)$/.exec(description)?.[1];
          expect(anchor, description).toBeDefined();
          links.push(anchor as string);
        }
      }
    }
    expect(links.length).toBeGreaterThan(0);
    for (const anchor of links) expect(ANCHORS, anchor).toContain(anchor);
  });

  it('has the section every Prometheus alert links to', () => {
    const rules = readFileSync(
      join(ROOT, 'deploy', 'prometheus', 'rules', 'aic-alerts.yml'),
      'utf8',
    );
    const alerts = [...rules.matchAll(/^\s*- alert: (\w+)$/gm)].map(([, name]) => name as string);
    const links = [...rules.matchAll(/runbook_url: ['"]?docs\/runbook\.md#([\w-]+)/g)].map(
      ([, anchor]) => anchor as string,
    );
    expect(alerts.length).toBeGreaterThan(0);
    expect(links.length).toBeGreaterThanOrEqual(alerts.length);
    for (const anchor of links) expect(ANCHORS, anchor).toContain(anchor);
  });
});
