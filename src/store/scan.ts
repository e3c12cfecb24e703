import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMetaFileName } from './naming.js';

/**
 * Every `*.json` file (sidecars excluded) under `root`, recursively, in sorted order; `root` may also
 * be a single file. Hidden entries (temp files of an interrupted write) and node_modules are skipped.
 */
export function listConfigFiles(root: string): string[] {
  if (statSync(root).isFile()) return [root];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith('.json') && !isMetaFileName(name)) out.push(p);
    }
  };
  walk(root);
  return out;
}
