import { z } from 'zod';

/** The error envelope every non-2xx response carries (docs/design.md section 2). */
export const errorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string().describe('Stable machine-readable code, e.g. VALIDATION_FAILED.'),
    message: z.string().describe('Human-readable; never contains stack traces or internals.'),
    request_id: z.string().describe('Same value as the X-Request-ID response header.'),
    details: z
      .array(z.object({ field: z.string(), message: z.string(), code: z.string().optional() }))
      .optional()
      .describe(
        'One entry per failing field: for validation errors, and for a frame refused as unprocessable.',
      ),
  }),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;
