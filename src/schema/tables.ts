import { z } from 'zod';
import { FAMILIES } from './family.js';
import { FAMILY_FORMATS, entryKeys, optionalKeys } from './formats.js';

/** One problem field as the Python side checks it: its kind, whether a request must carry it, its default, its values. */
interface FieldTable {
  type: 'integer' | 'boolean' | 'string';
  required: boolean;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
}

interface JsonProp {
  type?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: Array<{ type?: string; const?: unknown }>;
  minimum?: number;
  exclusiveMinimum?: number;
}

/** A problem schema's fields, read off its JSON Schema (so what zod says is exactly what Python checks). */
function problemTable(problem: z.ZodObject): Record<string, FieldTable> {
  const doc = z.toJSONSchema(problem, { io: 'input' }) as { properties: Record<string, JsonProp>; required?: string[] };
  const out: Record<string, FieldTable> = {};
  for (const [name, p] of Object.entries(doc.properties)) {
    const values = p.enum ?? p.anyOf?.map((a) => a.const);
    const type = values ? (typeof values[0] === 'number' ? 'integer' : (typeof values[0] as 'string' | 'boolean')) : (p.type as FieldTable['type']);
    const field: FieldTable = { type, required: doc.required?.includes(name) ?? false };
    if (p.default !== undefined) field.default = p.default;
    if (values) field.enum = values;
    const min = p.minimum ?? (p.exclusiveMinimum !== undefined ? p.exclusiveMinimum + 1 : undefined);
    if (min !== undefined) field.minimum = min;
    out[name] = field;
  }
  return out;
}

/**
 * The tables both languages need, generated from src/schema into schemas/families.json (`npm run gen:schemas`; a
 * test fails when it is stale): per family its dtype tag, name grammars, config keys (and those a file may leave out) and problem fields.
 */
export function familyTables(): Record<string, unknown> {
  const families = Object.fromEntries(
    FAMILIES.map((f) => {
      const fmt = FAMILY_FORMATS[f];
      const dtypes = (fmt as { dtypes?: readonly string[] }).dtypes;
      const names = { dtype: fmt.dtype, ...(dtypes ? { dtypes } : {}), file_name: fmt.fileName, shape_key: fmt.shapeKey, folder: fmt.folder };
      return [f, { ...names, config_keys: entryKeys(f), optional_keys: optionalKeys(f), problem: problemTable(fmt.problem) }];
    }),
  );
  return { $comment: 'generated from src/schema by `npm run gen:schemas`; do not edit', families };
}
