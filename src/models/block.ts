import type { BlockQuantization, HFConfig, ModelShapes, ServerQuant } from '../schema/index.js';
import { UserError } from '../errors.js';

/**
 * The block quantization of a checkpoint, from its config.json quantization_config: quant_method `fp8` (vLLM and
 * SGLang: fp8 e4m3) or `blockwise_int8` (SGLang: int8) with weight_block_size [block_n, block_k]. Undefined for
 * anything else (per-tensor or per-channel fp8 runs on CUTLASS and reads no file).
 */
export function blockQuantization(model: string, config: HFConfig): BlockQuantization | undefined {
  const q = config.quantization_config;
  const size = q?.weight_block_size;
  if (!q || !size) return undefined;
  const quant = q.quant_method === 'fp8' ? 'fp8' : q.quant_method === 'blockwise_int8' ? 'int8' : undefined;
  if (!quant) return undefined;
  if (size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) {
    throw new UserError(`${model}: quantization_config.weight_block_size must be two positive integers, got ${JSON.stringify(size)}`);
  }
  return { quant, block_n: size[0]!, block_k: size[1]! };
}

/** How a linear layer is split over tensor-parallel ranks (vLLM's classes), and its per-rank output partitions. */
export interface Linear {
  name: string;
  N: number;
  K: number;
  kind: 'column' | 'row' | 'replicated';
  /** Per-rank output widths of the weights fused into it (q, k, v; gate, up); one entry when not fused. */
  parts: number[];
}

/**
 * vLLM's validate_fp8_block_shape, which refuses a checkpoint it cannot split into whole blocks: with tp > 1, a
 * row-parallel layer's K per rank a multiple of block_k, and each per-rank output partition of a column-parallel
 * layer a multiple of block_n; a fused layer's partitions (all but the last when it is not split) a multiple of
 * block_n. Every layer's K a multiple of block_k (the activation quantizer takes whole groups).
 */
export function checkBlockSplits(model: string, layers: Linear[], q: BlockQuantization, tp: number): void {
  const fail = (l: Linear, what: string, n: number, b: string, v: number) => {
    throw new UserError(`${model}: ${l.name} ${what} ${n} is not a multiple of the weight block's ${b} ${v} at --tp ${tp}; pick another --tp`);
  };
  for (const l of layers) {
    if (l.K % q.block_k) fail(l, 'K', l.K, 'block_k', q.block_k);
    const split = tp > 1 && l.kind === 'column';
    const parts = split ? l.parts : l.parts.length > 1 ? l.parts.slice(0, -1) : [];
    for (const p of parts) if (p % q.block_n) fail(l, 'output partition', p, 'block_n', q.block_n);
  }
}

/** The server families' quantization when --quant is not given: a block-fp8 checkpoint's MoE layers are fp8 [128, 128]
 * blocks too (their block GEMMs follow block_quant itself); anything else bf16. */
export const checkpointQuant = (model: ModelShapes): ServerQuant => (model.block_quant?.quant === 'fp8' ? 'fp8_w8a8_block' : 'bf16');

/**
 * The block quantization a model's dense layers run with: the checkpoint's; else what --quant declares
 * (fp8_w8a8_block: fp8 [128, 128]; int8_w8a8: SGLang's blockwise int8 [128, 128]); else none.
 */
export function blockQuantOf(model: ModelShapes, quant: ServerQuant): BlockQuantization | undefined {
  if (model.block_quant) return model.block_quant;
  if (quant === 'fp8_w8a8_block') return { quant: 'fp8', block_n: 128, block_k: 128 };
  if (quant === 'int8_w8a8') return { quant: 'int8', block_n: 128, block_k: 128 };
  return undefined;
}
