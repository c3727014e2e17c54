import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { type AlertEvaluationResult, runAlertEvaluation } from '../app/alert-evaluator.ts';
import { pruneExpiredFrameRows } from '../app/frame-retention.ts';
import { logger, metrics, tracer } from '../platform/observability.ts';
import { getRuntime } from '../platform/runtime.ts';

/**
 * Lambda entry of the alert evaluator, run every minute by an EventBridge rule (and by a timer
 * under `npm start`): turns every user's recent frames into threshold alerts, then deletes the
 * per-frame rows past their retention.
 */
export const handler = middy<
  ScheduledEvent | Record<string, never>,
  AlertEvaluationResult & { frameRowsPruned: number }
>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics))
  .handler(async () => {
    const { db, settings } = await getRuntime();
    const result = await runAlertEvaluation(db.sql, {
      windowMinutes: settings.ALERT_WINDOW_MINUTES,
      minFrames: settings.ALERT_MIN_FRAMES,
    });
    metrics.addMetric('AlertsOpened', MetricUnit.Count, result.alertsOpened);
    metrics.addMetric('AlertsFiring', MetricUnit.Count, result.alertsFiring);
    const frameRowsPruned = await pruneExpiredFrameRows(
      db.sql,
      settings.FRAME_ROWS_RETENTION_HOURS,
    );
    logger.info('Alert evaluation finished', { ...result, frameRowsPruned });
    return { ...result, frameRowsPruned };
  });
