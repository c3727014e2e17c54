/** The service version reported by health checks; the build replaces it through the environment. */
export const SERVICE_VERSION = process.env.AIC_VERSION ?? '0.1.0';
