/**
 * Writes the request plan scripts/record_journal.py measures: for each weight shape, every config of a named
 * space that the kernel accepts, with the M values it fits, plus the family's default configs at every M
 * (the seeds of every strategy). Shared memory is NOT pruned here, so the
 * recorded journal shows where the estimate stands against the GPU's own out-of-resources verdicts).
 *
 *   node dist/scripts/journal-plan.js <family> <space> <out.json> <M,M,...> <N:K> [<N:K> ...]
 */
import { writeFileSync } from 'node:fs';
import { allReasons, configKey, enumerateSpace } from '../src/space/index.js';
import { kernelFamily } from '../src/families/index.js';
import { shapeKey } from '../src/store/naming.js';
import { Family, type DeviceInfo } from '../src/schema/index.js';

const H200: DeviceInfo = { name: 'NVIDIA H200', capability: [9, 0], sm_count: 132, shared_mem_per_block: 1 << 30, l2_bytes: 62914560, memory_bytes: 0, hbm_GBps: null };

const [familyArg, space, out, msArg, ...shapeArgs] = process.argv.slice(2);
const family = Family.parse(familyArg);
const ms = msArg!.split(',').map(Number);
const shapes = shapeArgs.map((s) => {
  const [N, K] = s.split(':').map(Number);
  return { N: N!, K: K! };
});
const plan = shapes.map((shape) => {
  // a huge shared-memory limit keeps every config the kernel itself accepts
  const s = enumerateSpace(family, space!, { shape, ms, device: H200 });
  const requests = s.configs
    .map((config) => ({ config, ms: ms.filter((M) => allReasons(family, config, shape, M, { ...H200, shared_mem_per_block: 232448 }).every((r) => r === 'shared_memory')) }))
    .filter((r) => r.ms.length > 0);
  // the default configs are every strategy's seeds, measured at every M: record them at every M too
  for (const M of ms) {
    const seed = kernelFamily(family).defaultConfig({ ...shape, M });
    const known = requests.find((r) => configKey(r.config) === configKey(seed));
    if (known) known.ms = [...ms];
    else requests.push({ config: seed, ms: [...ms] });
  }
  return { key: shapeKey(family, shape), ...shape, requests };
});
writeFileSync(out!, JSON.stringify({ family, space, ms, shapes: plan }));
console.log(plan.map((p) => `${p.key}: ${p.requests.length} configs, ${p.requests.reduce((n, r) => n + r.ms.length, 0)} pairs`).join('\n'));
