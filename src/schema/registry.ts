import type { z } from 'zod';
import { W8A8ConfigFile, W4A16ConfigFile, MoEW4A16ConfigFile } from './config.js';
import { Meta } from './meta.js';
import { Request, Response } from './protocol.js';
import { JournalRecord } from './journal.js';
import { ModelShapes } from './models.js';
import { SpaceFile } from './space.js';

/** Every format exported to schemas/<name>.schema.json (regenerate with `npm run gen:schemas`). */
export const EXPORTED_SCHEMAS: Record<string, z.ZodType> = {
  'tuned-config-w8a8': W8A8ConfigFile,
  'tuned-config-w4a16': W4A16ConfigFile,
  'tuned-config-moe-w4a16': MoEW4A16ConfigFile,
  meta: Meta,
  'worker-request': Request,
  'worker-response': Response,
  'journal-record': JournalRecord,
  'model-shapes': ModelShapes,
  space: SpaceFile,
};
