import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFilesAtomically } from '../store/atomic.js';
import { mergeResultDirs } from '../store/merge.js';
import { isMetaFileName } from '../store/naming.js';
import { readMeta, readTunedConfig } from '../store/reader.js';
import { assertWritable } from '../store/writer.js';
import { checkFolder } from '../store/folders.js';
import { UserError } from '../errors.js';

/** Refuses to replace an output file that exists and fails validation (unless --force). */
function guardExisting(path: string, force: boolean): void {
  if (force || !existsSync(path)) return;
  const r = isMetaFileName(path) ? readMeta(path) : readTunedConfig(path);
  if (!r.ok) throw new UserError(`refusing to overwrite ${path}: it fails validation (${r.problems[0]}); fix it or pass --force to replace it`);
}

/** `tune merge <inputs...> --out <dir>`: deterministic merge of result folders (e.g. one per shard). */
export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('merge result folders (e.g. one per shard or machine) into one; per M the faster measured entry wins; the same inputs in any order give identical bytes')
    .argument('<inputs...>', 'result folders (or files) holding <family>/<name>.json and sidecars')
    .requiredOption('--out <dir>', 'output root; files there with the same names are replaced (list --out among the inputs to keep its entries)')
    .option('--force', 'replace output files even if the existing ones fail validation')
    .option('--json', 'print what was written and the conflicts as JSON')
    .action((inputs: string[], opts: { out: string; force?: boolean; json?: boolean }) => {
      checkFolder(opts.out, '--out', false);
      const result = mergeResultDirs(inputs);
      if (result.files.size === 0) throw new UserError(`no tuned-config files found under ${inputs.join(', ')}`);
      assertWritable(opts.out, { backend: result.simulated ? 'sim' : 'cuda', simulated: result.simulated });
      const files = [...result.files].map(([rel, text]) => ({ path: join(opts.out, rel), text }));
      for (const f of files) guardExisting(f.path, opts.force ?? false);
      checkFolder(opts.out, '--out', true);
      writeFilesAtomically(files);
      if (opts.json) {
        console.log(JSON.stringify({ written: files.map((f) => f.path), conflicts: result.conflicts, skipped: result.skipped }, null, 2));
        return;
      }
      for (const f of files) console.log(`wrote ${f.path}`);
      for (const c of result.conflicts) {
        const fmt = (us: number | null) => (us === null ? 'unmeasured' : `${us.toFixed(2)} µs`);
        console.log(`conflict ${c.file} M=${c.M}: kept ${c.winner.path} (${fmt(c.winner.us)}) over ${c.losers.map((l) => `${l.path} (${fmt(l.us)})`).join(', ')}`);
      }
      for (const s of result.skipped) console.log(`skipped ${s} (not a tuned-config file name)`);
      console.log(`${result.files.size} file(s) written, ${result.conflicts.length} conflicting M resolved`);
    });
}
