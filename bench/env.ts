// Imported first by the bench entry: Powertools reads these when its singletons are built.
process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'false';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
// The middleware benchmark measures the chain; the limiter has its own benchmark (bench:limiter).
process.env.RATE_LIMIT_ROUTE_OVERRIDES ??= '{"*":"exempt"}';
