// First: the X-Ray SDK (loaded by the tracer) reads its mode when it is imported.
import './xray-mode.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** Service name in logs, metrics and traces (overridden by POWERTOOLS_SERVICE_NAME). */
export const SERVICE_NAME = 'auralink-aic';

/** CloudWatch namespace of every EMF metric (overridden by POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'AuraLink/AIC';

/**
 * One logger, metrics and tracer per container: Powertools keeps per-invocation state itself (and
 * scopes it per invocation when the runtime runs invocations concurrently), so sharing is safe.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/** EMF metrics, flushed once per invocation by the `logMetrics` middleware. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** X-Ray tracer; a no-op outside Lambda. */
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
