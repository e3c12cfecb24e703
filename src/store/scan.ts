import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMetaFileName } from './naming.js';

/** A folder entry's kind; one that cannot be stat'ed (a dangling link, a name that is not UTF-8) counts as a file, which the reader then reports. */
const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/**
 * Every `*.json` file (sidecars excluded) under `root`, recursively, in sorted order; `root` may also
 * be a single file. Hidden entries (temp files of an interrupted write) and node_modules are skipped; a folder
 * reached twice through symbolic links is walked once.
 */
export function listConfigFiles(root: string): string[] {
  if (!isDirectory(root)) return [root];
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (dir: string) => {
    const real = realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const p = join(dir, name);
      if (isDirectory(p)) walk(p);
      else if (name.endsWith('.json') && !isMetaFileName(name)) out.push(p);
    }
  };
  walk(root);
  return out;
}
