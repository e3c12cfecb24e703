/**
 * Writes the request plan scripts/record_journal.py measures: for each weight shape, every config of a named
 * space that the kernel accepts, with the M values it fits, plus the family's default configs at every M (the
 * seeds of every strategy). Each shape carries its worker problem fields (the family's problem(), without M), so
 * the recorder only forwards them. Where the kernel leaves shared memory to Triton (W8A8) it is NOT pruned here, so
 * the recorded journal shows where the estimate stands against the GPU's own out-of-resources verdicts; where the
 * kernel refuses by its own estimate (W4A16, MoE) the GPU never gives one, so those configs are left out.
 *
 *   node dist/scripts/journal-plan.js --kernel <family> --space default --ms 1,4,16,... --out plan.json \
 *       (--model qwen3-4b [--tp n] | --shapes 6144x2560,2560x4096 | --shapes 128x768x2048:8) [--group-size 128]
 *
 * Shapes come from the model (or --shapes) as `tune` resolves them, in the model's layer order (which decides what a
 * recording cut by its deadline keeps).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { allReasons, configKey, enumerateSpace } from '../src/space/index.js';
import { kernelFamily, type WeightShape } from '../src/families/index.js';
import { parseShapesOption, resolveModel } from '../src/models/resolve.js';
import { shapeKey } from '../src/store/naming.js';
import { Family, type ConfigEntry, type DeviceInfo } from '../src/schema/index.js';

const H200: DeviceInfo = { name: 'NVIDIA H200', capability: [9, 0], sm_count: 132, shared_mem_per_block: 232448, l2_bytes: 62914560, memory_bytes: 0, hbm_GBps: null };

const { values: o } = parseArgs({
  options: {
    kernel: { type: 'string' },
    space: { type: 'string', default: 'default' },
    ms: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string' },
    shapes: { type: 'string' },
    tp: { type: 'string', default: '1' },
    'group-size': { type: 'string', default: '128' },
  },
});
const usage = 'usage: journal-plan.js --kernel <family> [--space default] --ms 1,4,16 --out plan.json (--model <preset> | --shapes NxK,...) [--group-size 128]';
if (!o.kernel || !o.ms || !o.out || !o.model === !o.shapes) throw new Error(usage);
const family = Family.parse(o.kernel);
const kf = kernelFamily(family);
const ms = o.ms.split(',').map(Number);
const model = o.shapes ? parseShapesOption(o.shapes) : resolveModel(o.model!, Number(o.tp));
const shapes = new Map<string, WeightShape>();
for (const { shape } of kf.shapesOf(model, { groupSize: Number(o['group-size']), quant: 'bf16' })) shapes.set(shapeKey(family, shape), shape);
if (!shapes.size) throw new Error(`${model.model} has no ${kf.layerKind} layers for ${family}`);
/** Shared memory is the GPU's verdict only where the kernel does not refuse by its own estimate. */
const gpuDecides = !kf.kernelRules.includes('shared_memory');

/** A shape's problem fields, as a worker request carries them, without M. */
function problemFields(shape: WeightShape): Record<string, unknown> {
  const { M: _M, ...fields } = kf.problem(shape, 1);
  return fields;
}

const plan = [...shapes].map(([key, shape]) => {
  // a huge shared-memory limit keeps every config the kernel itself accepts
  const s = enumerateSpace(family, o.space!, { shape, ms, device: { ...H200, shared_mem_per_block: 1 << 30 } });
  const measured = (config: ConfigEntry, M: number) => allReasons(family, config, shape, M, H200).every((r) => gpuDecides && r === 'shared_memory');
  const requests = s.configs.map((config) => ({ config, ms: ms.filter((M) => measured(config, M)) })).filter((r) => r.ms.length > 0);
  // the default configs are every strategy's seeds, measured at every M: record them at every M too
  for (const M of ms) {
    const seed = kf.defaultConfig({ ...shape, M });
    const known = requests.find((r) => configKey(r.config) === configKey(seed));
    if (known) known.ms = [...ms];
    else requests.push({ config: seed, ms: [...ms] });
  }
  return { key, problem: problemFields(shape), requests };
});
writeFileSync(o.out, JSON.stringify({ family, space: o.space, ms, shapes: plan }));
console.log(plan.map((p) => `${p.key}: ${p.requests.length} configs, ${p.requests.reduce((n, r) => n + r.ms.length, 0)} pairs`).join('\n'));
