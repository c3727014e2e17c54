/**
 * Logging and metrics defaults of `npm start`, set before Powertools builds its singletons (so this
 * module is imported first). Every variable set in the environment wins.
 *
 * At INFO every request writes a JSON access-log line and an EMF metrics document to stdout,
 * synchronously, on the event loop that serves the next request: about a tenth of the runtime's
 * CPU per network update, for output nobody collects locally (EMF is CloudWatch's format). So the
 * local runtime logs at WARN, with Powertools' debug sampling (`POWERTOOLS_LOGGER_SAMPLE_RATE`
 * 0.01) writing every line of a small sample of requests, and emits no EMF. `POWERTOOLS_LOG_LEVEL=INFO` logs every request again,
 * `POWERTOOLS_METRICS_DISABLED=false` brings the metrics back.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_LOGGER_SAMPLE_RATE ??= '0.01';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
