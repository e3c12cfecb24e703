// Writes schemas/*.schema.json from src/schema (run: npm run gen:schemas).
import { mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { renderJsonSchemas } from '../src/schema/jsonschema.js';

const dir = join(process.cwd(), 'schemas');
mkdirSync(dir, { recursive: true });
const docs = renderJsonSchemas();
for (const f of readdirSync(dir)) if (f.endsWith('.json') && !docs.has(f)) rmSync(join(dir, f));
for (const [file, text] of docs) writeFileSync(join(dir, file), text);
console.log(`wrote ${docs.size} files to schemas/`);
