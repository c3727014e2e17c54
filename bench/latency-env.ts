// Imported first by bench/latency.ts: Powertools reads these when its singletons are built, and the
// service's logs and EMF metrics would only interleave with the page.
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
