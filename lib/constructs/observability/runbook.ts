/**
 * Where an alarm's operators read what it means, how to confirm it and what to do: its section of
 * `docs/runbook.md`, whose heading is the alarm's short name (`### http-5xx-rate`).
 */
export function runbookLink(name: string): string {
  return `docs/runbook.md#${name}`;
}
