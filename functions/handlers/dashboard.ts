import { type CompressionConfig, DEFAULT_CONFIG } from '../core/contracts/config.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { getConfig, putConfig } from '../platform/db/config-repository.ts';
import { getRuntime } from '../platform/runtime.ts';

const saveConfig = async ({ userId, body }: { userId: string; body: CompressionConfig }) => {
  const { db } = await getRuntime();
  return { body: await putConfig(db.sql, userId, body) };
};

/** Lambda entry of the dashboard function: the caller's policy, metrics and statistics. */
export const handler = createFunctionHandler('dashboard', {
  getConfig: async ({ userId }) => {
    const { db } = await getRuntime();
    return { body: (await getConfig(db.sql, userId)) ?? { ...DEFAULT_CONFIG, updated_at: null } };
  },
  putConfig: saveConfig,
  postConfig: saveConfig,
});
