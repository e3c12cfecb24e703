import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { HFConfig, ModelShapes } from '../schema/index.js';
import { UserError } from '../errors.js';
import { formatIssue } from '../schema/issues.js';
import { deriveShapes } from './hf.js';
import { checkShapes } from './limits.js';
import { findPreset, presetNames } from './presets.js';

const looksLikePath = (s: string): boolean => /[/\\]/.test(s) || s.endsWith('.json') || s.startsWith('.');

/** Parses JSON text, turning a syntax error into a one-line UserError naming the file. */
export function parseJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
}

/**
 * The GEMM shapes of a model: a preset name (`qwen3-4b`, `Qwen/Qwen3-4B`), a Hugging Face config.json (or a
 * folder holding one), or a model-shapes file as `tune models --json` writes it (already split for its tp).
 * An existing path wins over a preset of the same name.
 */
export function resolveModel(nameOrPath: string, tp = 1): ModelShapes {
  return checkShapes(resolveUnchecked(nameOrPath, tp), nameOrPath);
}

function resolveUnchecked(nameOrPath: string, tp: number): ModelShapes {
  const preset = findPreset(nameOrPath);
  if (!existsSync(nameOrPath)) {
    if (preset) return deriveShapes(preset.name, preset.config, tp);
    if (!looksLikePath(nameOrPath)) {
      throw new UserError(`unknown model ${JSON.stringify(nameOrPath)}; presets: ${presetNames().join(', ')} (or pass a path to a config.json)`);
    }
  }
  let path = nameOrPath;
  const isDir = existsSync(path) && statSync(path).isDirectory();
  if (isDir) path = join(path, 'config.json');
  const raw = parseJsonFile(path);
  if (raw && typeof raw === 'object' && 'dense' in raw && 'moe' in raw) return fromShapesFile(path, raw, tp);
  return fromHFConfig(path, raw, tp);
}

function fromShapesFile(path: string, raw: unknown, tp: number): ModelShapes {
  const r = ModelShapes.safeParse(raw);
  if (!r.success) throw new UserError(`${path}: not a valid model-shapes file: ${formatIssue(r.error.issues[0]!)}`);
  if (tp !== 1 && tp !== r.data.tp) {
    throw new UserError(`${path} holds shapes already split for tp ${r.data.tp}; drop --tp ${tp} or regenerate with tune models --tp ${tp} --json`);
  }
  return r.data;
}

function fromHFConfig(path: string, raw: unknown, tp: number): ModelShapes {
  // multimodal checkpoints keep the language model's fields under text_config
  let body = raw;
  if (body && typeof body === 'object' && !('hidden_size' in body) && 'text_config' in body) body = (body as { text_config: unknown }).text_config;
  const r = HFConfig.safeParse(body);
  if (!r.success) throw new UserError(`${path}: not a usable Hugging Face config.json: ${formatIssue(r.error.issues[0]!)}`);
  return deriveShapes(modelName(path, raw), r.data, tp);
}

/** A model's name for reports: `_name_or_path` when the config has one, else its folder or file name. */
function modelName(path: string, raw: unknown): string {
  const named = (raw as { _name_or_path?: unknown })._name_or_path;
  if (typeof named === 'string' && named) return named;
  const file = basename(path);
  if (file === 'config.json') return basename(dirname(resolvePath(path)));
  return file.replace(/(\.config)?\.json$/, '');
}

/**
 * `--shapes NxK,NxK,...` (dense weight shapes given directly, e.g. "6144x2560,2560x4096"), and MoE layers as
 * `ExNxK:topk` with N = the per-rank intermediate size and K = hidden, as the tuned file E={E},N={N} is named
 * (e.g. "128x768x2048:8" for Qwen3-30B-A3B: up GEMM [1536, 2048], down [2048, 768]); returned as a model-shapes
 * value named "shapes".
 */
export function parseShapesOption(text: string): ModelShapes {
  const out: ModelShapes = { model: 'shapes', tp: 1, dense: [], moe: [] };
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) throw new UserError(`--shapes must be a comma-separated list like 6144x2560,2560x4096; got ${JSON.stringify(text)}`);
  for (const item of items) {
    const dense = /^([1-9]\d*)x([1-9]\d*)$/.exec(item);
    const moe = /^([1-9]\d*)x([1-9]\d*)x([1-9]\d*):([1-9]\d*)$/.exec(item);
    if (dense) out.dense.push({ name: item, N: Number(dense[1]), K: Number(dense[2]) });
    else if (moe) {
      const [E, N, K, top_k] = moe.slice(1).map(Number) as [number, number, number, number];
      out.moe.push({ name: item, E, N, K, top_k, gemm: 'layer' });
    } else {
      throw new UserError(`--shapes: ${JSON.stringify(item)} is not NxK (dense, e.g. 6144x2560) or ExNxK:topk (MoE layer, N = intermediate, K = hidden, e.g. 128x768x2048:8)`);
    }
  }
  return checkShapes(out, '--shapes');
}
