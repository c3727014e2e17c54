import { loadSettings } from './settings.ts';

/** The service version reported by health checks (`AIC_VERSION`, set by the deployment). */
export const SERVICE_VERSION = loadSettings().AIC_VERSION;
