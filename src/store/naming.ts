import { FAMILIES, type Family } from '../schema/index.js';

/**
 * File names as the inference servers look them up:
 *   dense W8A8   N={N},K={K},device_name={dev},dtype={int8|fp8}_w8a8.json
 *   dense W4A16  N={N},K={K},device_name={dev},dtype=int4_w4a16,group_size={g}.json   (g = -1: per-channel)
 *   MoE W4A16    E={E},N={N},device_name={dev},dtype=int4_w4a16.json
 * Files live in <out>/<family>/<name>; the provenance sidecar is <name without .json>.meta.json.
 */

/** A weight shape: W is [N, K]; E (experts) only for MoE; group_size only for W4A16 families. */
export interface WeightShape {
  N: number;
  K: number;
  E?: number;
  group_size?: number;
}

/** What a file name says about its shape: MoE names carry no K (the sidecar has it). */
export interface NamedShape {
  N: number;
  K?: number;
  E?: number;
  group_size?: number;
}

export interface ParsedConfigName {
  family: Family;
  shape: NamedShape;
  /** The device slug as written in the name (spaces already turned into `_`). */
  device: string;
}

const DTYPE: Record<Family, string> = {
  'w8a8-int8': 'int8_w8a8',
  'w8a8-fp8': 'fp8_w8a8',
  w4a16: 'int4_w4a16',
  'moe-w4a16': 'int4_w4a16',
};

/** The CUDA device name as it appears in file names: spaces become `_` (e.g. NVIDIA_H100_80GB_HBM3). */
export const deviceSlug = (deviceName: string): string => deviceName.trim().replace(/\s+/g, '_');

const positive = (what: string, n: number | undefined): number => {
  if (n === undefined || !Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${n}`);
  return n;
};

/** The tuned-config file name a server loads for this family, weight shape and device. */
export function configFileName(family: Family, shape: WeightShape, deviceName: string): string {
  const dev = deviceSlug(deviceName);
  if (!dev || /[,/=]/.test(dev)) throw new Error(`device name ${JSON.stringify(deviceName)} cannot be used in a file name`);
  const N = positive('N', shape.N);
  if (family === 'moe-w4a16') return `E=${positive('E', shape.E)},N=${N},device_name=${dev},dtype=${DTYPE[family]}.json`;
  const K = positive('K', shape.K);
  const base = `N=${N},K=${K},device_name=${dev},dtype=${DTYPE[family]}`;
  if (family === 'w4a16') {
    const g = shape.group_size;
    if (g === undefined || !Number.isInteger(g) || (g <= 0 && g !== -1)) throw new Error(`w4a16 needs group_size (a positive integer or -1), got ${g}`);
    return `${base},group_size=${g}.json`;
  }
  return `${base}.json`;
}

const NAME_RE =
  /^(?:E=(?<E>[1-9]\d*),)?N=(?<N>[1-9]\d*),(?:K=(?<K>[1-9]\d*),)?device_name=(?<dev>[^,/=]+),dtype=(?<dtype>[a-z0-9_]+)(?:,group_size=(?<g>-1|[1-9]\d*))?\.json$/;

/** Reads family, shape and device back from a file name (basename); null when it is not a name we write. */
export function parseConfigFileName(name: string): ParsedConfigName | null {
  const m = NAME_RE.exec(name);
  if (!m?.groups) return null;
  const { E, N, K, dev, dtype, g } = m.groups;
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  let family: Family | undefined;
  if (E !== undefined) family = K === undefined && g === undefined && dtype === 'int4_w4a16' ? 'moe-w4a16' : undefined;
  else if (K === undefined) family = undefined;
  else if (dtype === 'int8_w8a8' && g === undefined) family = 'w8a8-int8';
  else if (dtype === 'fp8_w8a8' && g === undefined) family = 'w8a8-fp8';
  else if (dtype === 'int4_w4a16' && g !== undefined) family = 'w4a16';
  if (!family) return null;
  const shape: NamedShape = { N: Number(N) };
  if (K !== undefined) shape.K = Number(K);
  if (E !== undefined) shape.E = Number(E);
  if (g !== undefined) shape.group_size = num(g);
  return { family, shape, device: dev! };
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
 * "N=4096,K=4096,group_size=128", "E=128,N=1536,K=2048,group_size=128". Unlike file names it always carries K
 * (and group_size for both W4A16 families when given).
 */
export function shapeKey(family: Family, shape: WeightShape): string {
  const parts: string[] = [];
  if (family === 'moe-w4a16') parts.push(`E=${positive('E', shape.E)}`);
  parts.push(`N=${positive('N', shape.N)}`, `K=${positive('K', shape.K)}`);
  if (family !== 'w8a8-int8' && family !== 'w8a8-fp8' && shape.group_size !== undefined) parts.push(`group_size=${shape.group_size}`);
  return parts.join(',');
}

/** The folder (under an output root) that holds a family's files: the family name itself. */
export const familyDir = (family: Family): string => family;

export const isFamily = (s: string): s is Family => (FAMILIES as readonly string[]).includes(s);
