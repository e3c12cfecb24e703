import { FAMILIES, type ConfigEntry, type Family } from '../schema/index.js';
import { configKey } from '../space/key.js';
import { moeW4a16 } from './moe-w4a16.js';
import { sglangW8a8Block, vllmW8a8Block } from './server-block.js';
import { sglangMoe, vllmMoe } from './server-moe.js';
import type { KernelFamily, WeightShape } from './types.js';
import { w4a16 } from './w4a16.js';
import { w8a8Fp8, w8a8Int8 } from './w8a8.js';

export * from './types.js';
export { nextPow2 } from './rules.js';

/**
 * The registry of kernel families, the TypeScript twin of kernels/family.py: one module per family, one line here.
 * Adding a family: docs/FAMILIES.md.
 */
const REGISTRY: Record<Family, KernelFamily> = {
  'w8a8-int8': w8a8Int8,
  'w8a8-fp8': w8a8Fp8,
  w4a16,
  'moe-w4a16': moeW4a16,
  'vllm-moe': vllmMoe,
  'sglang-moe': sglangMoe,
  'vllm-w8a8-block': vllmW8a8Block,
  'sglang-w8a8-block': sglangW8a8Block,
};

/** The family module of a family name. */
export const kernelFamily = (name: Family): KernelFamily => REGISTRY[name];

/** The configs every search of a shape evaluates at each of its Ms (where they run): the family's default config of
 * each M (what the kernel runs without a file, so measured even off the space) and its path seeds where the space
 * holds them (`inSpace`: on this shape and device, so never one that cannot run), each once. */
export function seedConfigs(family: Family, shape: WeightShape, ms: number[], inSpace: (c: ConfigEntry) => boolean): ConfigEntry[] {
  const kf = REGISTRY[family];
  const seeds = ms.flatMap((M) => [kf.defaultConfig({ ...shape, M }), ...(kf.pathSeeds?.({ ...shape, M }) ?? []).filter(inSpace)]);
  return [...new Map(seeds.map((c) => [configKey(c), c])).values()];
}

/** Every registered family, in FAMILIES order. */
export const allFamilies = (): KernelFamily[] => FAMILIES.map((f) => REGISTRY[f]);
