import { z } from 'zod';
import { EXPORTED_SCHEMAS } from './registry.js';

/** The JSON Schema documents for schemas/, rendered from the zod schemas (name -> file text). */
export function renderJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, schema] of Object.entries(EXPORTED_SCHEMAS)) {
    const doc = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    out.set(`${name}.schema.json`, JSON.stringify({ $id: `tritune/${name}`, ...doc }, null, 2) + '\n');
  }
  return out;
}
