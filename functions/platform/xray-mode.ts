/**
 * Puts the X-Ray SDK in manual mode where the Powertools tracer is disabled anyway (outside Lambda:
 * the local runtime, tests). In its default automatic mode the SDK enables an async hook at import
 * that tracks every promise of the process (with destroy callbacks) for a context nobody reads
 * there, a CPU cost on every request of a busy local runtime. Imported for this side effect before
 * the tracer, so the SDK reads the variable when it loads. An explicit setting wins.
 */
import { loadSettings } from './settings.ts';

// AWS_EXECUTION_ENV is the Lambda runtime's own variable, set in every Lambda container.
const tracingOff =
  !process.env.AWS_EXECUTION_ENV || loadSettings().POWERTOOLS_TRACE_ENABLED === false;
if (tracingOff) process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
