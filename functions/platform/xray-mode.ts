/**
 * Puts the X-Ray SDK in manual mode where the Powertools tracer is disabled anyway (outside Lambda:
 * the local runtime, tests). In its default automatic mode the SDK enables an async hook at import
 * that tracks every promise of the process (with destroy callbacks) for a context nobody reads
 * there; on a busy local runtime that cost about 0.2 ms of CPU per request. Imported for this side
 * effect before the tracer, so the SDK reads the variable when it loads. An explicit setting wins.
 */
const tracingOff =
  !process.env.AWS_EXECUTION_ENV || process.env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() === 'false';
if (tracingOff) process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
