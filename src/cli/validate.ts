import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { checkFile, type FileReport } from '../store/check.js';
import { isMetaFileName } from '../store/naming.js';
import { listConfigFiles } from '../store/scan.js';
import { EXIT, printable, UserError } from '../errors.js';

/** `tune validate [paths...]`: checks tuned-config files and sidecars; exit 1 when any has a finding. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check tuned-config files: schema, sorted unique M keys, file names, sidecars (sim results are refused), M-grid coverage')
    .argument('[paths...]', 'files or folders to check', ['tuned-configs'])
    .option('--json', 'print one JSON report per file')
    .option('-q, --quiet', 'print findings only, not warnings or passing files')
    .option('--allow-simulated', 'accept sim-backend results (a warning, not an error): for trying a pipeline without GPUs')
    .action((paths: string[], opts: { json?: boolean; quiet?: boolean; allowSimulated?: boolean }) => {
      const files: string[] = [];
      for (const p of paths) {
        if (!existsSync(p)) throw new UserError(`${p} does not exist (give tuned-config files or folders; default tuned-configs/)`);
        // a sidecar given directly stands for its config file
        files.push(...listConfigFiles(p).map((f) => (isMetaFileName(f) ? f.replace(/\.meta\.json$/, '.json') : f)));
      }
      const reports = [...new Set(files)].map((f) => checkFile(f, { allowSimulated: opts.allowSimulated ?? false }));
      if (opts.json) console.log(JSON.stringify(reports, null, 2));
      else print(reports, opts.quiet ?? false);
      const bad = reports.filter((r) => r.findings.length).length;
      process.exitCode = bad ? EXIT.finding : EXIT.ok;
    });
}

function print(reports: FileReport[], quiet: boolean): void {
  for (const r of reports) {
    if (r.findings.length) {
      console.log(`FAIL ${printable(r.path)}`);
      for (const f of r.findings) console.log(`  error: ${printable(f)}`);
    } else if (!quiet) console.log(`ok   ${printable(r.path)} (${r.keys.length} M)`);
    if (!quiet) for (const w of r.warnings) console.log(`  warning: ${printable(w)}`);
  }
  const bad = reports.filter((r) => r.findings.length).length;
  const warned = reports.filter((r) => r.warnings.length).length;
  if (reports.length === 0) console.log('no tuned-config files found');
  else console.log(`${reports.length} file(s): ${reports.length - bad} ok, ${bad} with errors, ${warned} with warnings`);
}
