// Imported first by the bench entry: Powertools reads these when its singletons are built.
process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'false';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
