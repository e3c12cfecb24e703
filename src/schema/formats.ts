import type { z } from 'zod';
import { FAMILIES, type Family } from './family.js';
import { MoEW4A16Entry, SGLangMoEEntry, ServerBlockEntry, VllmMoEEntry, W4A16Entry, W8A8Entry, tunedConfigBody } from './config.js';
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
}

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
  },
  'moe-w4a16': {
    problem: MoEProblem,
    entry: MoEW4A16Entry,
    dtype: 'int4_w4a16',
    fileName: 'E={E},N={N},device_name={device},dtype={dtype}',
    shapeKey: 'E={E},N={N},K={K}<,group_size={group_size}>',
    folder: 'moe-w4a16',
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
    entry: ServerBlockEntry,
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

/** A tuned-config file body of this family (see tunedConfigBody). */
export const tunedConfigFile = (family: Family) => tunedConfigBody(entrySchema(family));

/** The `{field}` names of a grammar template, in order. */
export const templateFields = (template: string): string[] => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

export { FAMILIES };
