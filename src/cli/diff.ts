import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { Command } from 'commander';
import { UserError, EXIT } from '../errors.js';
import { diffSides, regressions, fmtUs, type DiffSide } from '../report/diff.js';
import { diskTree, gitTree, loadSide, mustExist } from '../store/diff-load.js';
import { renderDiffTable } from '../report/diff-table.js';
import { renderDiffMarkdown } from '../report/markdown.js';

interface DiffOptions {
  base?: string;
  markdown?: boolean;
  json?: boolean;
  all?: boolean;
  failOnRegression?: number;
}

const isFile = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

function parsePct(text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) {
    throw new UserError(`--fail-on-regression takes a percentage >= 0 (e.g. 3 for 3%), got ${JSON.stringify(text)}`);
  }
  return v;
}

/** Both sides of the comparison: two paths on disk, or (with --base) the paths at a git revision vs on disk. */
async function loadSides(paths: string[], opts: DiffOptions): Promise<[DiffSide, DiffSide]> {
  if (opts.base !== undefined) {
    const targets = paths.length ? paths : ['tuned-configs'];
    const oldSide: DiffSide = new Map();
    const newSide: DiffSide = new Map();
    for (const p of targets) {
      const [oldTree, newTree] = [await gitTree(opts.base, p), diskTree(p)];
      if (!(await oldTree.list()).length && !(await newTree.list()).length) {
        throw new UserError(`${p}: no such file or folder, here or at ${opts.base}`);
      }
      // keys are repository-style paths (p/...), so a file compares with itself and folders match file by file
      const prefix = oldTree.single || newTree.single ? posix.dirname(p) : p;
      for (const [k, v] of await loadSide(oldTree, prefix)) oldSide.set(k, v);
      for (const [k, v] of await loadSide(newTree, prefix)) newSide.set(k, v);
    }
    return [oldSide, newSide];
  }
  if (paths.length !== 2) throw new UserError('tune diff needs <old> <new> (files or folders), or --base <rev> [paths...]');
  const [a, b] = paths as [string, string];
  mustExist(a);
  mustExist(b);
  if (isFile(a) !== isFile(b)) throw new UserError(`compare a file with a file or a folder with a folder (${a} vs ${b})`);
  const [oldSide, newSide] = [await loadSide(diskTree(a)), await loadSide(diskTree(b))];
  if (!isFile(a)) return [oldSide, newSide];
  // two single files are compared with each other whatever their names
  const key = [...newSide.keys()][0] ?? b;
  return [new Map([...oldSide.values()].map((d) => [key, d])), newSide];
}

/** `tune diff`: what a change to tuned-configs/ does, entry by entry, with the measured times on both sides. */
export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare tuned-config files (two files, two folders, or --base <rev> against the working tree)')
    .argument('[paths...]', '<old> <new>, or with --base the paths to compare (default: tuned-configs)')
    .option('--base <rev>', 'read the old side from this git revision (e.g. origin/main)')
    .option('--markdown', 'print Markdown for a pull-request comment')
    .option('--json', 'print the diff as JSON')
    .option('--all', 'also list unchanged entries and files')
    .option('--fail-on-regression <pct>', 'exit 1 when a changed entry measured more than <pct>% slower', parsePct)
    .action(async (paths: string[], opts: DiffOptions) => {
      if (opts.markdown && opts.json) throw new UserError('choose one of --markdown and --json');
      const [oldSide, newSide] = await loadSides(paths, opts);
      const result = diffSides(oldSide, newSide);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else if (opts.markdown) {
        const title = opts.base === undefined ? undefined : `tuned-configs diff against ${opts.base}`;
        process.stdout.write(renderDiffMarkdown(result, { all: opts.all, title }));
      } else process.stdout.write(renderDiffTable(result, { all: opts.all }));
      if (opts.failOnRegression === undefined) return;
      const bad = regressions(result, opts.failOnRegression);
      for (const { path, entry: e } of bad) {
        const pct = ((e.newUs! / e.oldUs! - 1) * 100).toFixed(1);
        console.error(`regression: ${path} M=${e.M}: ${fmtUs(e.oldUs)} us -> ${fmtUs(e.newUs)} us (+${pct}%, limit ${opts.failOnRegression}%)`);
      }
      if (bad.length) process.exitCode = EXIT.finding;
    });
}
