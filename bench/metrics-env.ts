// Imported first by bench/metrics.ts and its consumer child: Powertools reads these when its
// singletons are built. A consumer logs and counts every batch; neither belongs in the timings'
// output, and an EMF line per hundred batches would swamp the page printed at the end.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
