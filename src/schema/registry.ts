import type { z } from 'zod';
import { tunedConfigFile } from './formats.js';
import { Meta } from './meta.js';
import { Request, Response } from './protocol.js';
import { JournalRecord } from './journal.js';
import { ModelShapes } from './models.js';
import { SpaceFile } from './space.js';

/** Every format exported to schemas/<name>.schema.json (regenerate with `npm run gen:schemas`). */
export const EXPORTED_SCHEMAS: Record<string, z.ZodType> = {
  'tuned-config-w8a8': tunedConfigFile('w8a8-int8'),
  'tuned-config-w4a16': tunedConfigFile('w4a16'),
  'tuned-config-moe-w4a16': tunedConfigFile('moe-w4a16'),
  meta: Meta,
  'worker-request': Request,
  'worker-response': Response,
  'journal-record': JournalRecord,
  'model-shapes': ModelShapes,
  space: SpaceFile,
};
