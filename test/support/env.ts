// Every test process runs offline and quietly: no instance metadata, no X-Ray daemon, no EMF
// flushes to stdout unless a test asks for them.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_REGION ??= 'eu-west-1';
process.env.POWERTOOLS_DEV ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.AIC_JWT_SECRET ??= 'test-signing-key-of-at-least-32-bytes!!';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
