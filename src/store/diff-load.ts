import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.js';
import { isFamily, isMetaFileName, metaFileName, parseConfigFileName } from './naming.js';
import { parseMeta, parseTunedConfig, readText } from './reader.js';
import type { Family, Meta } from '../schema/index.js';

/** One tuned-config file as a diff sees it: its body (M -> config) and its sidecar, if it has one. */
export interface ConfigDoc {
  /** Where it was read from (a path, or `rev:path` for the git side), for messages. */
  source: string;
  /** M (decimal string) -> config entry, as written in the file. */
  body: Record<string, Record<string, number>>;
  meta: Meta | null;
}

/** One side of a diff: files keyed by the path both sides share (relative to the compared folder). */
export type DiffSide = Map<string, ConfigDoc>;

/** A tree of files to read a diff side from: a folder or file on disk, or the same path at a git revision. */
export interface TreeReader {
  /** How the tree is named in messages, e.g. `tuned-configs` or `origin/main:tuned-configs`. */
  label: string;
  /** True when the root is one file (the tree holds it and its sidecar, by basename). */
  single: boolean;
  /** Paths of every file in the tree, relative to its root ('/'-separated); [] when the root does not exist. */
  list(): Promise<string[]>;
  read(rel: string): Promise<string>;
}

const toPosix = (p: string): string => p.split(sep).join('/');

function walk(dir: string, out: string[], root: string): void {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) walk(p, out, root);
    else if (ent.isFile()) out.push(toPosix(relative(root, p)));
  }
}

/** A file or folder on disk; a single file is a tree holding just its basename. */
export function diskTree(path: string): TreeReader {
  const isFile = (() => {
    try {
      return statSync(path).isFile();
    } catch {
      return null;
    }
  })();
  const root = isFile ? dirname(path) : path;
  return {
    label: path,
    single: isFile === true,
    async list() {
      if (isFile === null) return [];
      if (isFile) {
        const name = basename(path);
        const meta = name.endsWith('.json') && !isMetaFileName(name) ? metaFileName(name) : null;
        return meta && statSync(join(root, meta), { throwIfNoEntry: false })?.isFile() ? [name, meta] : [name];
      }
      const out: string[] = [];
      walk(path, out, path);
      return out.sort();
    },
    async read(rel) {
      const r = readText(join(root, rel));
      if (!r.ok) throw new UserError(`${join(root, rel)}: ${r.problems[0]}`);
      return r.value;
    },
  };
}

/** Throws a UserError unless `path` exists on disk (for the positional old/new arguments). */
export function mustExist(path: string): void {
  try {
    statSync(path);
  } catch {
    throw new UserError(`${path}: no such file or folder`);
  }
}

async function git(args: string[], cwd: string): Promise<string> {
  const r = await execa('git', args, { cwd, reject: false, stripFinalNewline: false });
  if (r.failed) throw new Error(String(r.stderr || r.message).split('\n')[0]);
  return r.stdout;
}

/** Resolves `rev` to a commit, or throws a UserError saying how to get it. */
export async function resolveRev(rev: string, cwd = process.cwd()): Promise<string> {
  try {
    await git(['rev-parse', '--show-toplevel'], cwd);
  } catch {
    throw new UserError(`--base ${rev}: ${cwd} is not inside a git repository`);
  }
  try {
    return (await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], cwd)).trim();
  } catch {
    throw new UserError(`--base ${rev}: not a commit in this repository (fetch it first, e.g. \`git fetch origin main\`)`);
  }
}

/** `path` (relative to `cwd`, or absolute) as it would be at `rev`, read with `git ls-tree` / `git show`. */
export async function gitTree(rev: string, path: string, cwd = process.cwd()): Promise<TreeReader> {
  const commit = await resolveRev(rev, cwd);
  const top = (await git(['rev-parse', '--show-toplevel'], cwd)).trim();
  const prefix = (await git(['rev-parse', '--show-prefix'], cwd)).trim();
  const rel = toPosix(relative(cwd, resolve(cwd, path)));
  const full = posix.normalize(posix.join(prefix, rel)).replace(/\/$/, '');
  if (full.startsWith('..')) throw new UserError(`${path}: outside the git repository at ${top}`);
  const kind = await git(['cat-file', '-t', `${commit}:${full === '.' ? '' : full}`], top).then(
    (t) => t.trim(),
    () => 'missing',
  );
  // a single file is a tree of itself and its sidecar (by basename); a folder lists everything under it
  const root = kind === 'blob' ? posix.dirname(full) : full;
  const under = (n: string): string => (root === '.' ? n : n.slice(root.length + 1));
  return {
    label: `${rev}:${full}`,
    single: kind === 'blob',
    async list() {
      if (kind === 'missing') return [];
      const specs = kind === 'blob' && full.endsWith('.json') ? [full, metaFileName(full)] : full === '.' ? [] : [full];
      const out = await git(['ls-tree', '-r', '--name-only', '--full-name', '-z', commit, '--', ...specs], top);
      return out.split('\0').filter(Boolean).map(under).sort();
    },
    async read(r) {
      return git(['show', `${commit}:${root === '.' ? r : `${root}/${r}`}`], top);
    },
  };
}

/** The family of a file: from its sidecar, else its name and folder, else the folder it sits in (tuned-configs/<family>/). */
function familyOf(rel: string, metaFamily: Family | undefined): Family | undefined {
  if (metaFamily) return metaFamily;
  const byName = parseConfigFileName(basename(rel), dirname(rel))?.family;
  if (byName) return byName;
  const parent = basename(dirname(rel));
  return isFamily(parent) ? parent : undefined;
}

/**
 * Reads every tuned-config file (and its sidecar) in a tree. Malformed files are a UserError naming the file and
 * its first problem: a diff of a file that does not load would mislead the reviewer. `keyPrefix` is prepended to
 * the keys the two sides are matched by.
 */
export async function loadSide(tree: TreeReader, keyPrefix = ''): Promise<DiffSide> {
  const files = await tree.list();
  const present = new Set(files);
  const side: DiffSide = new Map();
  for (const rel of files) {
    if (!rel.endsWith('.json') || isMetaFileName(rel)) continue;
    const where = `${tree.label}${tree.label.endsWith(rel) ? '' : `/${rel}`}`;
    const metaRel = metaFileName(rel);
    let meta = null;
    if (present.has(metaRel)) {
      const m = parseMeta(await tree.read(metaRel));
      if (!m.ok) throw new UserError(`${where.replace(/\.json$/, '.meta.json')}: ${m.problems[0]} (run \`tune validate\`)`);
      meta = m.value;
    }
    const family = familyOf(rel, meta?.family);
    if (!family) throw new UserError(`${where}: cannot tell its kernel family (not a tritune file name, no sidecar, not under a family folder)`);
    const body = parseTunedConfig(await tree.read(rel), family);
    if (!body.ok) throw new UserError(`${where}: ${body.problems[0]}${body.problems.length > 1 ? ` (and ${body.problems.length - 1} more)` : ''}`);
    const doc: ConfigDoc = { source: where, body: body.value as ConfigDoc['body'], meta };
    side.set(keyPrefix ? posix.join(keyPrefix, rel) : rel, doc);
  }
  return side;
}
