import { join } from 'node:path';
import { FAMILIES, FAMILY_FORMATS, templateFields, type Family } from '../schema/index.js';
import { kernelFamily, type WeightShape } from '../families/index.js';

/**
 * File names, folders and shape keys, from each family's grammar in src/schema/formats.ts (kernels/configs.py reads
 * the same grammar from schemas/families.json). A family's files live in <out>/<folder>/<name>, the folder being the
 * family's name or the server's own layout; the sidecar is <name without .json>.meta.json beside the file.
 */

export interface ParsedConfigName {
  family: Family;
  /** What the name says (numbers; `dtype`, when the name has one, is a string): a name may hold the server's N. */
  fields: Record<string, number | string>;
  /** The device slug as written in the name (spaces already turned into `_`). */
  device: string;
}

/** The CUDA device name as it appears in file names: spaces become `_` (e.g. NVIDIA_H100_80GB_HBM3). */
export const deviceSlug = (deviceName: string): string => deviceName.trim().replace(/\s+/g, '_');

type Values = Record<string, number | string | undefined>;
const TEXT_FIELDS = new Set(['device', 'dtype', 'quant', 'triton', 'per_channel_quant']);

/** What a family's templates are filled with: the shape's fields, the dtype tag, and what the family module names. */
function nameValues(family: Family, shape: WeightShape, deviceName?: string): Values {
  const kf = kernelFamily(family);
  return {
    ...(shape as unknown as Values),
    dtype: FAMILY_FORMATS[family].dtype ?? undefined,
    ...(kf.nameFields?.(shape) ?? {}),
    ...(deviceName !== undefined ? { device: (kf.deviceSlug ?? deviceSlug)(deviceName) } : {}),
  };
}

function fieldText(family: Family, field: string, v: number | string | undefined): string {
  if (TEXT_FIELDS.has(field)) {
    if (typeof v !== 'string' || v === '') throw new Error(`${family} needs ${field}, got ${v}`);
    return v;
  }
  const ok = typeof v === 'number' && Number.isInteger(v) && (v > 0 || (field === 'group_size' && v === -1));
  if (!ok) throw new Error(`${field} must be a positive integer${field === 'group_size' ? ' or -1' : ''} (${family}), got ${v}`);
  return String(v);
}

/** Fills a template: `{field}` from the values; a `<...>` part only when every field in it has a value. */
function fill(family: Family, template: string, values: Values): string {
  return template
    .replace(/<([^>]*)>/g, (_, part: string) => (templateFields(part).every((f) => values[f] !== undefined) ? part : ''))
    .replace(/\{(\w+)\}/g, (_, field: string) => fieldText(family, field, values[field]));
}

/** The tuned-config file name the family's reader (a server, or kernels/configs.py) looks up for this shape and device. */
export function configFileName(family: Family, shape: WeightShape, deviceName: string): string {
  const values = nameValues(family, shape, deviceName);
  const dev = values.device as string;
  if (!dev || /[,/=]/.test(dev)) throw new Error(`device name ${JSON.stringify(deviceName)} cannot be used in a file name`);
  return `${fill(family, FAMILY_FORMATS[family].fileName, values)}.json`;
}

/**
 * The key a journal and a merge use for one weight shape of a family, e.g. "N=6144,K=2560",
 * "N=4096,K=4096,group_size=128", "E=128,N=768,K=2048,group_size=128". Unlike file names it always carries K.
 */
export function shapeKey(family: Family, shape: WeightShape): string {
  return fill(family, FAMILY_FORMATS[family].shapeKey, shape as unknown as Values);
}

/** The folder (under an output root) of a family's files; server layouts may need the Triton version. */
export function familyDir(family: Family, triton?: string | null): string {
  return fill(family, FAMILY_FORMATS[family].folder, { triton: triton ? triton.replace(/\./g, '_') : undefined });
}

/** Where a family's file for this shape and device goes under an output root. */
export function configPath(out: string, family: Family, shape: WeightShape, deviceName: string, triton?: string | null): string {
  return join(out, familyDir(family, triton), configFileName(family, shape, deviceName));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A grammar template as a regular expression with one named group per field. */
function grammarRegex(family: Family, template: string, whole: boolean): RegExp {
  const { dtype, dtypes } = FAMILY_FORMATS[family] as { dtype: string | null; dtypes?: readonly string[] };
  const parts = template.split(/(\{\w+\}|<|>)/).map((part) => {
    if (part === '<') return '(?:';
    if (part === '>') return ')?';
    const m = /^\{(\w+)\}$/.exec(part);
    if (!m) return escape(part);
    const field = m[1]!;
    if (field === 'device') return '(?<device>[^,/=]+)';
    if (field === 'dtype') return dtype ? escape(dtype) : `(?<dtype>${(dtypes ?? []).map(escape).join('|')})`;
    if (field === 'triton') return '[0-9_]+';
    if (field === 'per_channel_quant') return '(?<per_channel_quant>True)';
    return `(?<${field}>${field === 'group_size' ? '-1|[1-9]\\d*' : '[1-9]\\d*'})`;
  });
  return new RegExp(whole ? `^${parts.join('')}\\.json$` : `(?:^|/)${parts.join('')}$`);
}
const GRAMMARS = FAMILIES.map((family) => ({
  family,
  name: grammarRegex(family, FAMILY_FORMATS[family].fileName, true),
  folder: grammarRegex(family, FAMILY_FORMATS[family].folder, false),
}));

/**
 * Reads family, name fields and device back from a file name; null when it is not a name tritune writes. Where two
 * families share a grammar (vLLM's and SGLang's bf16 names), the folder (`dir`, '/'-separated, relative or absolute)
 * decides; without one the first family in FAMILIES order is taken.
 */
export function parseConfigFileName(name: string, dir?: string): ParsedConfigName | null {
  const matches: ParsedConfigName[] = [];
  for (const g of GRAMMARS) {
    const m = g.name.exec(name);
    if (!m?.groups) continue;
    const { device, ...rest } = m.groups;
    const fields: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) fields[k] = TEXT_FIELDS.has(k) ? v : Number(v);
    const parsed = { family: g.family, fields, device: device! };
    if (dir !== undefined && g.folder.test(dir.split(/[\\/]+/).join('/'))) return parsed;
    matches.push(parsed);
  }
  return matches[0] ?? null;
}

/** The sidecar name for a config file name: `X.json` -> `X.meta.json`. */
export function metaFileName(name: string): string {
  if (!name.endsWith('.json') || name.endsWith('.meta.json')) throw new Error(`not a tuned-config file name: ${name}`);
  return `${name.slice(0, -'.json'.length)}.meta.json`;
}

/** True for sidecar names (so folder scans can skip them). */
export const isMetaFileName = (name: string): boolean => name.endsWith('.meta.json');

export const isFamily = (s: string): s is Family => (FAMILIES as readonly string[]).includes(s);
