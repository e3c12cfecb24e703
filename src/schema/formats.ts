import { FAMILIES, type Family } from './family.js';
import { z } from 'zod';
import { MoEW4A16Entry, SGLangBlockEntry, SGLangMoEEntry, ServerBlockEntry, VllmMoEEntry, W4A16Entry, W8A8Entry, tunedConfigBody } from './config.js';
import { MoEProblem, ServerBlockProblem, ServerMoEProblem, W4A16Problem, W8A8Problem } from './problem.js';

/**
 * What each kernel family's files and messages look like: the problem a worker request carries, the config entry a
 * tuned file holds, the dtype tag of its file names, and two name grammars, templates whose `{field}` is a shape
 * field (`{device}` the device slug, `{dtype}` the tag) and a `<...>` part is left out when the shape lacks one of its
 * fields: `fileName` (without `.json`) and `shapeKey`, the key a
 * journal and a merge use for one weight shape. Exported to schemas/families.json for the Python side
 * (kernels/protocol.py, kernels/configs.py), so neither language keeps a copy.
 */
export interface FamilyFormat {
  problem: z.ZodObject;
  entry: z.ZodObject;
  /** The dtype tag of the file names; null where it follows the shape's quantization (the family module names it,
   * one of `dtypes`, or none). */
  dtype: string | null;
  dtypes?: readonly string[];
  fileName: string;
  shapeKey: string;
  /** Where the files go under an output root: the family's name, or the server's own layout (`{triton}`: the
   * Triton version with `_` for `.`, as SGLang names its folders). */
  folder: string;
  /**
   * Keys a file leaves out where the reader's default stands for them: all of them are written, or none where every
   * one holds its `absent` value (a reader fills that in); a `boolean` key is 0 / 1 in a config, false / true in a file.
   */
  optionalKeys?: Readonly<Record<string, { absent: number; boolean?: true }>>;
}

/**
 * SGLang's SM90 keys (fp8_kernel.w8a8_block_fp8_matmul_triton): its launcher reads config.get("SWAP_AB", False) and
 * config.get("SPLIT_K", 1) and passes the entry on as **config, so an entry that holds them without selecting the SM90
 * kernel (SWAP_AB false and SPLIT_K 1) reaches the other kernel with keys it lacks, and fails.
 */
const SGLANG_BLOCK_OPTIONAL_KEYS = { SWAP_AB: { absent: 0, boolean: true }, SPLIT_K: { absent: 1 } } as const;

/** vLLM's and SGLang's fused-MoE file names (their get_config_file_name): N is the server's, dtype and block shape only
 * where the quantization has them; SGLang writes the block shape with a space and marks per-channel int8. */
const VLLM_MOE_NAME = 'E={E},N={N},device_name={device}<,dtype={dtype}><,block_shape=[{block_n},{block_k}]>';
const SGLANG_MOE_NAME = 'E={E},N={N},device_name={device}<,dtype={dtype}><,block_shape=[{block_n}, {block_k}]><,per_channel_quant={per_channel_quant}>';
const SERVER_MOE_KEY = 'E={E},N={N},K={K},top_k={top_k},quant={quant}<,group_size={group_size}>';
/** vLLM's and SGLang's block-quantized W8A8 GEMM file names (their get_w8a8_block_*_configs); SGLang with a space. */
const VLLM_BLOCK_NAME = 'N={N},K={K},device_name={device},dtype={dtype},block_shape=[{block_n},{block_k}]';
const SGLANG_BLOCK_NAME = 'N={N},K={K},device_name={device},dtype={dtype},block_shape=[{block_n}, {block_k}]';
const SERVER_BLOCK_KEY = 'N={N},K={K},quant={quant},block_n={block_n},block_k={block_k}';

export const FAMILY_FORMATS = {
  'w8a8-int8': { problem: W8A8Problem, entry: W8A8Entry, dtype: 'int8_w8a8', fileName: 'N={N},K={K},device_name={device},dtype={dtype}', shapeKey: 'N={N},K={K}', folder: 'w8a8-int8' },
  'w8a8-fp8': { problem: W8A8Problem, entry: W8A8Entry, dtype: 'fp8_w8a8', fileName: 'N={N},K={K},device_name={device},dtype={dtype}', shapeKey: 'N={N},K={K}', folder: 'w8a8-fp8' },
  w4a16: {
    problem: W4A16Problem,
    entry: W4A16Entry,
    dtype: 'int4_w4a16',
    fileName: 'N={N},K={K},device_name={device},dtype={dtype},group_size={group_size}',
    shapeKey: 'N={N},K={K},group_size={group_size}',
    folder: 'w4a16',
    optionalKeys: { DEQUANT_GEMM: { absent: 0 }, TMA: { absent: 0 }, REG_A: { absent: 0 } },
  },
  'moe-w4a16': {
    problem: MoEProblem,
    entry: MoEW4A16Entry,
    dtype: 'int4_w4a16',
    fileName: 'E={E},N={N},device_name={device},dtype={dtype}',
    shapeKey: 'E={E},N={N},K={K}<,group_size={group_size}>',
    folder: 'moe-w4a16',
    optionalKeys: { TMA: { absent: 0 } },
  },
  'vllm-moe': {
    problem: ServerMoEProblem,
    entry: VllmMoEEntry,
    dtype: null,
    dtypes: ['fp8_w8a8', 'int8_w8a16', 'int4_w4a16'],
    fileName: VLLM_MOE_NAME,
    shapeKey: SERVER_MOE_KEY,
    folder: 'vllm',
  },
  'sglang-moe': {
    problem: ServerMoEProblem,
    entry: SGLangMoEEntry,
    dtype: null,
    dtypes: ['fp8_w8a8', 'int8_w8a8', 'int8_w8a16', 'int4_w4a16'],
    fileName: SGLANG_MOE_NAME,
    shapeKey: SERVER_MOE_KEY,
    folder: 'sglang/configs/triton_{triton}',
  },
  // each server reads only its own module's configs/ folder: the files go where that folder is inside the package
  'vllm-w8a8-block': {
    problem: ServerBlockProblem,
    entry: ServerBlockEntry,
    dtype: null,
    dtypes: ['fp8_w8a8'],
    fileName: VLLM_BLOCK_NAME,
    shapeKey: SERVER_BLOCK_KEY,
    folder: 'vllm/model_executor/layers/quantization/utils/configs',
  },
  'sglang-w8a8-block': {
    problem: ServerBlockProblem,
    entry: SGLangBlockEntry,
    optionalKeys: SGLANG_BLOCK_OPTIONAL_KEYS,
    dtype: null,
    dtypes: ['fp8_w8a8', 'int8_w8a8'],
    fileName: SGLANG_BLOCK_NAME,
    shapeKey: SERVER_BLOCK_KEY,
    folder: 'sglang/kernels/ops/gemm/configs',
  },
} as const satisfies Record<Family, FamilyFormat>;

/** The family's config entry schema. */
export const entrySchema = (family: Family): z.ZodObject => FAMILY_FORMATS[family].entry;

/** The family's config keys in the order they are written. */
export const entryKeys = (family: Family): string[] => Object.keys(entrySchema(family).shape);

/** The family's keys that a file may leave out (FamilyFormat.optionalKeys), or none. */
export const optionalKeys = (family: Family): NonNullable<FamilyFormat['optionalKeys']> =>
  (FAMILY_FORMATS[family] as FamilyFormat).optionalKeys ?? {};

/** One entry as a file holds it: the config's schema, optional keys optional and booleans as such, and the rule that
 * keys present are not all at their absent values. */
export function fileEntrySchema(family: Family): z.ZodType {
  const optional = optionalKeys(family);
  const names = Object.keys(optional);
  if (!names.length) return entrySchema(family);
  const shape = Object.fromEntries(
    Object.entries(entrySchema(family).shape).map(([k, v]) => [k, k in optional ? (optional[k]!.boolean ? z.boolean() : (v as z.ZodType)).optional() : v]),
  );
  return z.strictObject(shape).refine((e) => !names.some((k) => k in e) || !isAbsent(family, configOfFileEntry(family, e)), {
    message: `${names.join(' and ')} as written here are what leaving them out means, and the reader passes them to a kernel that lacks them: leave them out`,
  });
}

const isAbsent = (family: Family, config: Record<string, number>): boolean =>
  Object.entries(optionalKeys(family)).every(([k, o]) => config[k] === o.absent);

/** A config as its family's file holds it: optional keys left out where all are absent, booleans as true / false. */
export function fileEntryOf(family: Family, config: Record<string, number>): Record<string, number | boolean> {
  const optional = optionalKeys(family);
  const out: Record<string, number | boolean> = {};
  const absent = isAbsent(family, config);
  for (const [k, v] of Object.entries(config)) {
    const o = optional[k];
    if (o && absent) continue;
    out[k] = o?.boolean ? v !== 0 : v;
  }
  return out;
}

/** The config a file entry stands for: the reader's value for every optional key left out, booleans as 0 / 1. */
export function configOfFileEntry(family: Family, entry: Record<string, unknown>): Record<string, number> {
  const optional = optionalKeys(family);
  const out: Record<string, number> = {};
  for (const k of entryKeys(family)) {
    const v = entry[k];
    if (v === undefined && optional[k]) out[k] = optional[k]!.absent;
    else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
    else if (v !== undefined) out[k] = v as number;
  }
  return out;
}

/** A tuned-config body of this family as configs (what a reader gives and a writer takes; see tunedConfigBody). */
export const tunedConfigs = (family: Family) => tunedConfigBody(entrySchema(family));

/** A tuned-config file body of this family (see tunedConfigBody), entries as the file holds them. */
export const tunedConfigFile = (family: Family) => tunedConfigBody(fileEntrySchema(family));

/** The `{field}` names of a grammar template, in order. */
export const templateFields = (template: string): string[] => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

export { FAMILIES };
