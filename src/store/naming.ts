import { FAMILIES, FAMILY_FORMATS, templateFields, type Family } from '../schema/index.js';
import type { WeightShape } from '../families/index.js';

/**
 * File names and shape keys, from each family's grammar in src/schema/formats.ts (kernels/configs.py reads the same
 * grammar from schemas/families.json). Files live in <out>/<family>/<name>; the sidecar is <name without .json>.meta.json.
 */

export interface ParsedConfigName {
  family: Family;
  /** What the name says of the shape (a MoE name carries no K: the sidecar has it). */
  shape: Partial<Pick<WeightShape, 'N' | 'K' | 'E' | 'group_size'>>;
  /** The device slug as written in the name (spaces already turned into `_`). */
  device: string;
}

/** The CUDA device name as it appears in file names: spaces become `_` (e.g. NVIDIA_H100_80GB_HBM3). */
export const deviceSlug = (deviceName: string): string => deviceName.trim().replace(/\s+/g, '_');

/** A grammar's field value: a positive integer (group_size may be -1: per-channel). */
function fieldValue(family: Family, field: string, shape: WeightShape): number {
  const n = (shape as unknown as Record<string, number | undefined>)[field];
  const ok = n !== undefined && Number.isInteger(n) && (n > 0 || (field === 'group_size' && n === -1));
  if (!ok) throw new Error(`${field} must be a positive integer${field === 'group_size' ? ' or -1' : ''} (${family}), got ${n}`);
  return n;
}

/**
 * Fills a grammar template: `{field}` from the shape (`{device}`, `{dtype}` as named); a `<...>` segment only when
 * the shape has every field in it.
 */
function fill(family: Family, template: string, shape: WeightShape, device?: string): string {
  const has = (field: string) => (shape as unknown as Record<string, unknown>)[field] !== undefined;
  const value = (field: string) => (field === 'device' ? device! : field === 'dtype' ? FAMILY_FORMATS[family].dtype : String(fieldValue(family, field, shape)));
  return template
    .replace(/<([^>]*)>/g, (_, part: string) => (templateFields(part).every((f) => f === 'device' || f === 'dtype' || has(f)) ? part : ''))
    .replace(/\{(\w+)\}/g, (_, field: string) => value(field));
}

/** The tuned-config file name a server loads for this family, weight shape and device. */
export function configFileName(family: Family, shape: WeightShape, deviceName: string): string {
  const dev = deviceSlug(deviceName);
  if (!dev || /[,/=]/.test(dev)) throw new Error(`device name ${JSON.stringify(deviceName)} cannot be used in a file name`);
  return `${fill(family, FAMILY_FORMATS[family].fileName, shape, dev)}.json`;
}

/** A file-name grammar as a regular expression with one named group per field. */
function grammarRegex(family: Family): RegExp {
  const { fileName, dtype } = FAMILY_FORMATS[family];
  const parts = fileName.split(/(\{\w+\}|<|>)/).map((part) => {
    if (part === '<') return '(?:';
    if (part === '>') return ')?';
    const m = /^\{(\w+)\}$/.exec(part);
    if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (m[1] === 'device') return '(?<device>[^,/=]+)';
    if (m[1] === 'dtype') return dtype;
    return `(?<${m[1]}>${m[1] === 'group_size' ? '-1|[1-9]\\d*' : '[1-9]\\d*'})`;
  });
  return new RegExp(`^${parts.join('')}\\.json$`);
}
const GRAMMARS = FAMILIES.map((family) => ({ family, re: grammarRegex(family) }));

/** Reads family, shape and device back from a file name (basename); null when it is not a name we write. */
export function parseConfigFileName(name: string): ParsedConfigName | null {
  for (const { family, re } of GRAMMARS) {
    const m = re.exec(name);
    if (!m?.groups) continue;
    const { device, ...fields } = m.groups;
    const shape = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Number(v)]));
    return { family, shape, device: device! };
  }
  return null;
}

/** The sidecar name for a config file name: `X.json` -> `X.meta.json`. */
export function metaFileName(name: string): string {
  if (!name.endsWith('.json') || name.endsWith('.meta.json')) throw new Error(`not a tuned-config file name: ${name}`);
  return `${name.slice(0, -'.json'.length)}.meta.json`;
}

/** True for sidecar names (so folder scans can skip them). */
export const isMetaFileName = (name: string): boolean => name.endsWith('.meta.json');

/**
 * The key a journal and a merge use for one weight shape of a family, e.g. "N=6144,K=2560",
 * "N=4096,K=4096,group_size=128", "E=128,N=768,K=2048,group_size=128". Unlike file names it always carries K.
 */
export function shapeKey(family: Family, shape: WeightShape): string {
  return fill(family, FAMILY_FORMATS[family].shapeKey, shape);
}

/** The shape fields a family's file name and shape key name (what a sidecar's shape holds). */
export const namedFields = (family: Family): string[] =>
  [...new Set([...templateFields(FAMILY_FORMATS[family].fileName), ...templateFields(FAMILY_FORMATS[family].shapeKey)])].filter((f) => f !== 'device' && f !== 'dtype');

/** The folder (under an output root) that holds a family's files: the family name itself. */
export const familyDir = (family: Family): string => family;

export const isFamily = (s: string): s is Family => (FAMILIES as readonly string[]).includes(s);
