import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Meta, MKey, configOfFileEntry, tunedConfigFile, type ConfigEntry, type Family, type TunedConfigFile } from '../schema/index.js';
import { formatIssue } from '../schema/issues.js';
import { parseConfigFileName } from './naming.js';
import { topLevelKeys } from './rawkeys.js';
import { printable } from '../errors.js';

/** A read either gives the value or the problems found, each as `path: message`; it never throws. */
export type Read<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const fail = <T>(...problems: string[]): Read<T> => ({ ok: false, problems });

function parseJson(text: string): Read<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    // the message quotes the bad text: shown escaped, so a file's control bytes never reach the terminal
    return fail(`(root): not valid JSON (${printable((err as Error).message.split('\n')[0]!)})`);
  }
}

/**
 * Keys named `__proto__`, anywhere in a parsed value: JSON.parse keeps them as own keys but zod's records and
 * objects skip them without a word, so a file holding one would pass validation and then fail in a reader that
 * sees every key (kernels/configs.py: int("__proto__")).
 */
function protoKeys(value: unknown, path: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (k === '__proto__') out.push(`${[...path, k].join('.')}: not a valid key${path.length === 0 ? ' (M must be a positive decimal integer)' : ''}`);
    out.push(...protoKeys(v, [...path, k]));
  }
  return out;
}

/** Problems with the raw key order: duplicate M keys, and M keys not in ascending numeric order. */
export function keyOrderProblems(text: string): string[] {
  const keys = topLevelKeys(text);
  if (!keys) return [];
  const problems: string[] = [];
  const seen = new Set<string>();
  let prev: number | undefined;
  for (const k of keys) {
    if (seen.has(k)) problems.push(`${k}: duplicate M key (each M may appear once)`);
    seen.add(k);
    if (!MKey.safeParse(k).success) continue;
    const m = Number(k);
    if (prev !== undefined && m < prev) problems.push(`${k}: M keys are not sorted ascending (${k} comes after ${prev})`);
    if (prev === undefined || m > prev) prev = m;
  }
  return problems;
}

/** Reads a tuned-config body of `family` from raw text: JSON, then key order and duplicates, then zod; the entries as
 * configs (the keys a file may leave out filled in, booleans as 0 / 1: configOfFileEntry). */
export function parseTunedConfig(text: string, family: Family): Read<TunedConfigFile> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const problems = [...keyOrderProblems(text), ...protoKeys(json.value)];
  const r = tunedConfigFile(family).safeParse(json.value);
  if (!r.success) problems.push(...r.error.issues.map(formatIssue));
  if (problems.length || !r.success) return { ok: false, problems: problems.map(printable) };
  const configs = Object.fromEntries(Object.entries(r.data as Record<string, Record<string, unknown>>).map(([m, e]) => [m, configOfFileEntry(family, e) as ConfigEntry]));
  return { ok: true, value: configs };
}

/** Reads a sidecar `<name>.meta.json` from raw text. */
export function parseMeta(text: string): Read<Meta> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const r = Meta.safeParse(json.value);
  const problems = [...protoKeys(json.value), ...(r.success ? [] : r.error.issues.map(formatIssue))];
  if (problems.length || !r.success) return { ok: false, problems: problems.map(printable) };
  return { ok: true, value: r.data };
}

/**
 * Reads a file's text; a missing or unreadable file is a problem, not an exception. Only regular files are read
 * (a FIFO or a device named *.json would block or never end); a name that is not valid UTF-8 cannot be opened by
 * the name Node gives it, and is said to be that.
 */
export function readText(path: string): Read<string> {
  try {
    if (!statSync(path).isFile()) return fail('(file): not a regular file (a folder, FIFO or device); give a tuned-config file');
    return { ok: true, value: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && path.includes('\uFFFD')) return fail('(file): cannot open: its name is not valid UTF-8 (shown with \uFFFD); rename it');
    return fail(`(file): cannot read (${code === 'ENOENT' ? 'no such file' : code ?? String(err)})`);
  }
}

/**
 * Reads a tuned-config file from disk. The family comes from `family` when given, else from the file
 * name; a name we cannot parse without a family is a problem.
 */
export function readTunedConfig(path: string, family?: Family): Read<{ family: Family; entries: TunedConfigFile }> {
  const fam = family ?? parseConfigFileName(basename(path), dirname(resolve(path)))?.family;
  if (!fam) return fail(`(name): ${basename(path)} is not a tuned-config file name tritune knows (see docs/FORMATS.md)`);
  const text = readText(path);
  if (!text.ok) return text;
  const r = parseTunedConfig(text.value, fam);
  return r.ok ? { ok: true, value: { family: fam, entries: r.value } } : r;
}

/** Reads a sidecar from disk. */
export function readMeta(path: string): Read<Meta> {
  const text = readText(path);
  return text.ok ? parseMeta(text.value) : text;
}

/** The M keys of a config body, ascending. */
export const mKeys = (entries: Record<string, unknown>): number[] =>
  Object.keys(entries)
    .map(Number)
    .sort((a, b) => a - b);
