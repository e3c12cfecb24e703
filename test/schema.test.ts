import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderJsonSchemas } from '../src/schema/jsonschema.js';

test('schemas/*.schema.json and schemas/families.json are up to date with src/schema (run `npm run gen:schemas`)', () => {
  const docs = renderJsonSchemas();
  const dir = join(process.cwd(), 'schemas');
  const onDisk = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(onDisk, [...docs.keys()].sort(), 'schemas/ holds a different set of files');
  for (const [file, text] of docs) assert.equal(readFileSync(join(dir, file), 'utf8'), text, `schemas/${file} is stale`);
});
