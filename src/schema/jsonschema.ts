import { z } from 'zod';
import { EXPORTED_SCHEMAS } from './registry.js';
import { familyTables } from './tables.js';

/** The files of schemas/, rendered from the zod schemas (name -> file text): JSON Schema documents and families.json. */
export function renderJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, schema] of Object.entries(EXPORTED_SCHEMAS)) {
    const doc = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    out.set(`${name}.schema.json`, JSON.stringify({ $id: `tritune/${name}`, ...doc }, null, 2) + '\n');
  }
  out.set('families.json', JSON.stringify(familyTables(), null, 2) + '\n');
  return out;
}
