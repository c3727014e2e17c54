import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jwtSettingsFromEnv } from '../../../functions/platform/jwt.ts';
import { loadSettings, settingsSchema } from '../../../functions/platform/settings.ts';
import { readmeEnvironmentVariables } from '../../support/readme-environment.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('the settings schema', () => {
  it('is what the README environment table lists, no more and no less', () => {
    const documented = readmeEnvironmentVariables(ROOT);
    expect(new Set(documented).size, 'a variable listed twice').toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.keys(settingsSchema.shape).sort());
  });

  it('gives every variable its default when the environment is empty', () => {
    const settings = loadSettings({});
    expect(settings.GRPC_PORT).toBe(50051);
    expect(settings.PORT).toBe(3000);
    expect(settings.HOST).toBe('127.0.0.1');
    expect(settings.AIC_JWT_AUDIENCE).toEqual(['auralink-aic']);
    expect(settings.AIC_VERSION).toBe('0.1.0');
  });

  it('names the variable of a bad value', () => {
    expect(() => loadSettings({ GRPC_PORT: '70000' })).toThrow(/GRPC_PORT/);
    expect(() => loadSettings({ POWERTOOLS_LOG_LEVEL: 'LOUD' })).toThrow(/POWERTOOLS_LOG_LEVEL/);
    expect(() => loadSettings({ POWERTOOLS_LOGGER_SAMPLE_RATE: '2' })).toThrow(
      /POWERTOOLS_LOGGER_SAMPLE_RATE/,
    );
    expect(() => loadSettings({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/);
  });

  it('reads the JWT settings from the same schema', () => {
    const jwt = jwtSettingsFromEnv({
      AIC_JWT_AUDIENCE: 'a, b',
      AIC_JWT_ISSUER: 'https://id.example',
    });
    expect(jwt.audience).toEqual(['a', 'b']);
    expect(jwt.issuer).toBe('https://id.example');
    expect(jwt.jwksUrl).toBeUndefined();
  });
});
