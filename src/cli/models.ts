import type { Command } from 'commander';
import { join } from 'node:path';
import Table from 'cli-table3';
import { ServerQuant, type ModelShapes } from '../schema/index.js';
import { allFamilies } from '../families/index.js';
import { configFileName, familyDir } from '../store/naming.js';
import { moeLayers } from '../models/layers.js';
import { blockQuantOf, checkpointQuant } from '../models/block.js';
import { PRESETS } from '../models/presets.js';
import { resolveModel } from '../models/resolve.js';
import { UserError } from '../errors.js';

/** No colours: the output is read by people and by CI logs alike. */
const PLAIN = { head: [], border: [] };

const parseTp = (text: string): number => {
  if (!/^[1-9]\d*$/.test(text.trim())) throw new UserError(`--tp must be a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
};

/**
 * Per layer a server reads a tuned file for (MoE layers; block-quantized linear layers), the folder tritune writes it
 * to under --out and the file the server loads; empty when the model has none. The block GEMMs' files are read from
 * the server package's own folder (no environment variable): the folder under --out is that folder's path inside the
 * package, to copy it into.
 */
function serverFiles(shapes: ModelShapes, o: { device: string; quant?: ServerQuant; groupSize: number; triton: string }): string {
  const quant = o.quant ?? checkpointQuant(shapes);
  const t = new Table({ head: ['layer', 'server', 'folder (under --out)', 'file the server loads'], style: PLAIN });
  const how = new Map<string, string>();
  for (const kf of allFamilies().filter((f) => f.shippedPath)) { // the families a server reads
    for (const { shape, layer } of kf.shapesOf(shapes, { groupSize: o.groupSize, quant })) {
      t.push([layer, kf.name, familyDir(kf.name, o.triton), configFileName(kf.name, shape, o.device)]);
      how.set(kf.name, `${kf.name}: ${kf.readFrom?.(join('<out>', familyDir(kf.name, o.triton))) ?? ''}`);
    }
  }
  if (t.length === 0) return '';
  const block = blockQuantOf(shapes, quant);
  const blocks = block ? `, linear layers ${block.quant} [${block.block_n}, ${block.block_k}]` : '';
  return `\nserver files (${quant}${blocks} on ${o.device}, Triton ${o.triton})\n${t.toString()}\nhow each server reads them:\n  ${[...how.values()].join('\n  ')}`;
}

function table(shapes: ModelShapes): string {
  const t = new Table({ head: ['layer', 'kind', 'E', 'N', 'K', 'top_k'], style: PLAIN, colAligns: ['left', 'left', 'right', 'right', 'right', 'right'] });
  for (const d of shapes.dense) t.push([d.name, 'dense', '', d.N, d.K, '']);
  for (const m of shapes.moe) t.push([m.name, `moe ${m.gemm}`, m.E, m.N, m.K, m.top_k]);
  // what `tune --kernel moe-w4a16` tunes and names its file after (E={E},N={intermediate}): one unit per layer
  for (const l of moeLayers(shapes)) t.push([l.name, 'moe layer (tuned)', l.E, l.N, l.K, l.top_k]);
  return `${shapes.model} (tp ${shapes.tp})\n${t.toString()}`;
}

/** `tune models [model] [--tp N] [--json]`: the presets (or one model / config.json) and the GEMM shapes each yields. */
export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list the model presets and the GEMM weight shapes each yields (or one model: a preset name or a config.json path)')
    .argument('[model]', 'a preset name, a Hugging Face config.json (or its folder), or a model-shapes file')
    .option('--tp <N>', 'tensor-parallel degree: split the shapes as each of N ranks sees them', '1')
    .option('--json', 'print model-shapes JSON (one object for one model, an array for all presets)')
    .option('--quant <q>', `server files: the quantization (${ServerQuant.options.join(', ')}; default: the checkpoint's, else bf16)`)
    .option('--device <name>', 'server files: the GPU as CUDA names it', 'NVIDIA H200')
    .option('--triton <version>', "server MoE files: the Triton version SGLang's folder names", '3.6.0')
    .option('--group-size <g>', 'server MoE files: the int4 group size', '128')
    .action((model: string | undefined, opts: { tp: string; json?: boolean; quant?: string; device: string; triton: string; groupSize: string }) => {
      const quant = ServerQuant.safeParse(opts.quant ?? 'bf16');
      if (!quant.success) throw new UserError(`--quant must be one of ${ServerQuant.options.join(', ')}; got ${JSON.stringify(opts.quant)}`);
      if (!/^\d+\.\d+\.\d+$/.test(opts.triton)) throw new UserError(`--triton must be a version like 3.6.0; got ${JSON.stringify(opts.triton)}`);
      if (!/^(32|64|128)$/.test(opts.groupSize)) throw new UserError(`--group-size must be 32, 64 or 128; got ${JSON.stringify(opts.groupSize)}`);
      const files = { device: opts.device, ...(opts.quant !== undefined ? { quant: quant.data } : {}), groupSize: Number(opts.groupSize), triton: opts.triton };
      const tp = parseTp(opts.tp);
      const all: ModelShapes[] = [];
      if (model !== undefined) all.push(resolveModel(model, tp));
      else {
        for (const p of PRESETS) {
          try {
            all.push(resolveModel(p.name, tp));
          } catch (err) {
            if (!(err instanceof UserError)) throw err;
            console.error(`note: ${err.message} (left out)`);
          }
        }
      }
      if (opts.json) {
        console.log(JSON.stringify(model === undefined ? all : all[0], null, 2));
        return;
      }
      console.log(all.map((s) => table(s) + serverFiles(s, files)).join('\n\n'));
    });
}
