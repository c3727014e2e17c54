/**
 * A metrics consumer in a process of its own, for bench/metrics.ts: started with
 * `node --import tsx bench/metrics-consumer-process.ts '<ChildConfig JSON>'` over IPC, it reads
 * the stream with the service's consumer, reports every batch it applied (and, for the crash test,
 * every batch it is about to apply; on `hold`, it keeps its next batch committed but unacknowledged
 * until it is killed), and on `stop` reports its statistics and exits. Killed with
 * SIGKILL, it leaves its batch in hand pending in the group, as a crashed consumer does.
 */
import './metrics-env.ts';
import { createDatabase } from '../functions/platform/db/database.ts';
import {
  type ChildConfig,
  type ChildMessage,
  type ParentMessage,
  startBenchConsumer,
} from './metrics-consume.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const send = (message: ChildMessage, then?: () => void) =>
  process.send?.(message, undefined, undefined, then);

// Alone with the database: one statement at a time, and a spare connection like the Lambda's.
const db = createDatabase({
  url: config.databaseUrl,
  poolMax: 2,
  applicationName: `aic-bench-metrics-${config.consumer}`,
});
let holdNext = false;
const consumer = await startBenchConsumer(config, db.sql, {
  onBegin: config.reportBegin ? (records) => send({ type: 'begin', records }) : undefined,
  onApplied: (report) => send({ type: 'applied', ...report }),
  afterApplied: async () => {
    if (!holdNext) return;
    // Committed, not acknowledged: the parent kills the process here.
    send({ type: 'held' });
    await new Promise(() => {});
  },
});

process.on('message', (message: ParentMessage) => {
  if (message.type === 'hold') holdNext = true;
  if (message.type !== 'stop') return;
  void consumer.stop().then(async (stats) => {
    await db.close();
    send({ type: 'stats', stats }, () => process.exit(0));
  });
});
// The benchmark is gone (it failed or was interrupted): nobody is left to stop this consumer.
process.on('disconnect', () => process.exit(1));
send({ type: 'ready' });
