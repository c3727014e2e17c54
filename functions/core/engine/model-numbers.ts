/**
 * Schemas of the numbers a serialized engine model holds, shared by its parts (`model.ts`,
 * `regression.ts`, `residuals.ts`): a cached copy that is not finite would poison every prediction.
 */
import { z } from 'zod';

/** A finite number. */
export const finiteNumber = z.number().refine(Number.isFinite, 'must be finite');

/** A finite number above 0. */
export const positiveNumber = finiteNumber.refine((value) => value > 0, 'must be positive');
