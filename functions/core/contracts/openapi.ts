import { z } from 'zod';

/** Body of `GET /openapi.json`: an OpenAPI 3.1 document (its full shape is the OpenAPI schema's). */
export const openApiDocumentSchema = z
  .looseObject({
    openapi: z.string().startsWith('3.1'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
    components: z.record(z.string(), z.unknown()),
  })
  .describe('An OpenAPI 3.1 document.');
