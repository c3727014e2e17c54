import { join } from 'node:path';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';
import { SCHEDULED_FUNCTIONS, type ScheduledFunctionName } from '../core/contracts/routes.ts';
import { lambdaContext } from './api-gateway-event.ts';

type ScheduledHandler = (event: Record<string, unknown>, context: Context) => Promise<unknown>;

const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** An EventBridge scheduled event, as the rule delivers it. */
function scheduledEvent(name: ScheduledFunctionName): Record<string, unknown> {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: [`arn:aws:events:local:000000000000:rule/aic-${name}`],
    detail: {},
  };
}

/** Invokes a scheduled function's Lambda handler once, as its EventBridge rule would. */
export async function invokeScheduled(name: ScheduledFunctionName): Promise<unknown> {
  const entry = join(REPO_ROOT, SCHEDULED_FUNCTIONS[name].entry);
  const { handler } = (await import(entry)) as { handler: ScheduledHandler };
  const context = lambdaContext(`aic-${name}`, 60_000);
  const invoke = () => handler(scheduledEvent(name), context);
  // Beside the local server, invocations run concurrently, each in its own invoke store.
  if (!process.env.AWS_LAMBDA_MAX_CONCURRENCY) return invoke();
  const store = await InvokeStore.getInstanceAsync(true);
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, invoke);
}

/** Running timers of the scheduled functions. */
export interface Scheduler {
  stop(): void;
}

/**
 * Runs every scheduled function on its own interval (each one's `everyMinutes`, or `intervalMs`
 * when given), like the EventBridge rules on AWS. A run still going when the next is due is not
 * doubled up; failures are reported to `onError` and the next tick tries again.
 */
export function startScheduler(options: {
  intervalMs?: number;
  onError: (name: ScheduledFunctionName, error: unknown) => void;
}): Scheduler {
  const timers = (Object.keys(SCHEDULED_FUNCTIONS) as ScheduledFunctionName[]).map((name) => {
    let running = false;
    const tick = () => {
      if (running) return;
      running = true;
      invokeScheduled(name)
        .catch((error: unknown) => options.onError(name, error))
        .finally(() => {
          running = false;
        });
    };
    const timer = setInterval(
      tick,
      options.intervalMs ?? SCHEDULED_FUNCTIONS[name].everyMinutes * 60_000,
    );
    timer.unref();
    return timer;
  });
  return {
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
