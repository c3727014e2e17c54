/**
 * Defaults of `npm start`, set before anything reads them (so this module is imported first). Every
 * variable set in the environment wins.
 *
 * The local runtime talks to Postgres directly, not through RDS Proxy, so it prepares its
 * statements: each is planned once per connection instead of on every execution, which also saves
 * the runtime about a quarter of a millisecond of CPU per statement.
 *
 * At INFO every request writes a JSON access-log line and an EMF metrics document to stdout,
 * synchronously, on the event loop that serves the next request: about a tenth of the runtime's
 * CPU per network update, for output nobody collects locally (EMF is CloudWatch's format). So the
 * local runtime logs at WARN, with Powertools' debug sampling (`POWERTOOLS_LOGGER_SAMPLE_RATE`
 * 0.01) writing every line of a small sample of requests, and emits no EMF.
 * `POWERTOOLS_LOG_LEVEL=INFO` logs every request again, `POWERTOOLS_METRICS_DISABLED=false` brings
 * the metrics back.
 */
process.env.DB_PREPARE ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_LOGGER_SAMPLE_RATE ??= '0.01';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
