import { z } from 'zod';
import { Family } from './family.js';

/** A search-space file (`--space path.json`): the values each config axis takes; the space is their product. */
export const SpaceFile = z.strictObject({
  family: Family,
  axes: z.record(z.string(), z.array(z.number().int().positive()).min(1)),
});
export type SpaceFile = z.infer<typeof SpaceFile>;
