import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReplayJournal } from '../../src/search/replay.js';
import { scoreStrategy } from '../../src/search/proof.js';
import { journalShape } from '../../src/search/journal-shape.js';
import { configKey } from '../../src/space/index.js';
import { kernelFamily } from '../../src/families/index.js';
import { chunkMs } from '../../src/runner/units.js';
import type { Family } from '../../src/schema/index.js';

/**
 * The proof without a GPU: exhaustive journals recorded on an H200 (scripts/record_journal.py driving the real
 * worker, see docs/BENCHMARKS.md) are replayed offline, every journal found here, per family. The default strategy
 * must land within 1 % of the exhaustive optimum on >= 95 % of (shape, M) entries while spending <= 25 % of the
 * exhaustive evaluations at its default budget, and (issue 14's bar) <= 10 % at its family's budget below (the seeds
 * come on top of a budget, so that budget sits under 10 %), on >= its family's `within` of entries (95 %, the issue's
 * bar, where reached; a family below it is named so). The same bar is checked as `tune` runs the search (`units`:
 * a shape's Ms split into units of up to 5, src/runner/units.ts, each with its own strategy instance and budget).
 */
const DIR = join(process.cwd(), 'test', 'data', 'journals');
const journals = readdirSync(DIR).filter((f) => f.endsWith('.jsonl.gz'));
const loaded = new Map<string, ReplayJournal>();
/** Each journal is read once for every test here (reading and validating one takes a while). */
const load = (f: string) => loaded.get(f) ?? loaded.set(f, ReplayJournal.load(join(DIR, f))).get(f)!;
const familyOf = (f: string): Family => load(f).header!.fingerprint.family;

/**
 * Per family: the fewest shapes a journal must cover (W8A8: Qwen3-4B's 4, in one run; W4A16 and MoE may come in
 * several journals of a shape or more, recorded in separate runs), and the budget (a fraction of the exhaustive
 * pairs) the <= 10 % bar is proved at. The budget holds the final re-time (best-first spends all of it); the seeds
 * come on top, more for W8A8 and MoE (a default config per range of M, resp. M*top_k/E, each timed once at full effort
 * at every M where the kernel runs it): on the H200 journals (PRNG seeds 0-4) 8 % spends 8.68 % for W8A8 and 8.77 %
 * for MoE, 9 % spends 9.19 % for W4A16 and, MoE --units, 9.68 %.
 */
interface Bar {
  budget: number;
  within: number;
}
const BARS: Partial<Record<Family, { minShapes: number; units: Bar } & Bar>> = {
  // 98.1 % within 1 % at 8 % (8.68 %; seeds 0-99: 97.7 %)
  // --units at 8 %: 99.4 % at 8.34 % (seeds 0-99: 98.0 %)
  'w8a8-int8': { minShapes: 4, budget: 0.08, within: 0.95, units: { budget: 0.08, within: 0.95 } },
  // on the journal re-recorded with REG_A in the space (docs/BENCHMARKS.md, "MoE W4A16: the packed words through
  // TMA", its last part): 96.9 % within 1 % at 9.23 %, --units 95.0 % at 9.25 % (the journal it replaced: the same)
  w4a16: { minShapes: 4, budget: 0.09, within: 0.95, units: { budget: 0.09, within: 0.95 } },
  // on the journal of the space with TMA (docs/BENCHMARKS.md, "MoE W4A16: the packed words through TMA"), seeded with
  // the TMA path's tiles (src/families/moe-w4a16.ts pathSeeds): 100 % within 1 % at 8 % (9.52 %), --units 100 % at
  // 9.38 %. Without those seeds: 90.0 % and, --units at 9 %, 78.8 %.
  'moe-w4a16': { minShapes: 1, budget: 0.08, within: 0.95, units: { budget: 0.08, within: 0.95 } },
};

test('committed GPU journals exist and are real measurements', () => {
  assert.ok(journals.length > 0, `no *.jsonl.gz under ${DIR}`);
  assert.ok(journals.some((f) => familyOf(f) === 'w8a8-int8'), 'the W8A8 journal is missing');
  for (const family of Object.keys(BARS)) {
    const mine = journals.filter((f) => familyOf(f) === family);
    console.log(`${family}: ${mine.length ? mine.join(', ') : 'no journal here yet, so no proof for it'}`);
  }
  for (const f of journals) {
    const j = load(f);
    const bar = BARS[familyOf(f)];
    assert.ok(bar, `${f}: no bar for family ${familyOf(f)} in this test`);
    assert.equal(j.header?.fingerprint.backend, 'cuda', `${f} is not a cuda journal`);
    assert.ok(j.shapes().length >= bar.minShapes, `${f}: ${j.shapes().length} shapes, fewer than ${bar.minShapes}`);
    for (const s of j.shapes()) assert.ok(j.ms(s).length >= 8, `${f} ${s}: ${j.ms(s).length} Ms`);
  }
});

/**
 * Replays best-first over a journal at a budget (a fraction of the pairs; the default when absent), one strategy
 * instance per shape or (units) per unit as tune runs it, and checks the bar.
 */
function prove(f: string, bar: { budget?: number; maxSpent: number; within: number; units?: boolean }): void {
  const j = load(f);
  const budget = bar.budget;
  const score = scoreStrategy(j, familyOf(f), j.header!.fingerprint.space, 'best-first', [0, 1, 2, 3, 4], {
    ...(budget === undefined ? {} : { budget: (pairs: number) => Math.round(budget * pairs) }),
    ...(bar.units ? { units: chunkMs } : {}),
  });
  assert.equal(score.missing, 0, 'the journal does not cover the whole space');
  const within = score.entries.filter((e) => e.ratio <= 1.01).length / score.entries.length;
  const spent = score.evaluations / score.exhaustiveEvaluations;
  const worst = score.entries.reduce((w, e) => (e.ratio > w.ratio ? e : w));
  console.log(`${f}, budget ${budget ?? 'default'}${bar.units ? ', --units' : ''}: within 1 %: ${(within * 100).toFixed(1)} % of ${score.entries.length} entries; evaluations ${(spent * 100).toFixed(2)} %; worst ${worst.shape} M=${worst.M} x${worst.ratio.toFixed(3)}`);
  assert.ok(within >= bar.within, `within 1 % on only ${(within * 100).toFixed(1)} %`);
  assert.ok(spent <= bar.maxSpent, `spent ${(spent * 100).toFixed(2)} % of the exhaustive evaluations`);
}

for (const f of journals) {
  const budget = BARS[familyOf(f)]?.budget;
  test(`${f}: the default strategy is within 1 % of the exhaustive optimum on >= 95 % of entries, on <= 25 % of the evaluations`, () => {
    prove(f, { maxSpent: 0.25, within: 0.95 });
  });
  const within = BARS[familyOf(f)]?.within ?? 0.95;
  const pct = (x: number) => `${+(x * 100).toFixed(1)} %`;
  test(`${f}: at a ${budget === undefined ? '(no bar)' : pct(budget)} budget, within 1 % of the exhaustive optimum on >= ${pct(within)} of entries, on <= 10 % of the evaluations${within < 0.95 ? " (BELOW issue 14's bar of 95 %)" : ''}`, () => {
    assert.ok(budget !== undefined, `no bar for family ${familyOf(f)} in this test`);
    prove(f, { budget, maxSpent: 0.1, within });
  });
  const units = BARS[familyOf(f)]?.units;
  test(`${f}: as tune splits the Ms (--units), at a ${units === undefined ? '(no bar)' : pct(units.budget)} budget, within 1 % of the exhaustive optimum on >= ${pct(units?.within ?? 0.95)} of entries, on <= 10 % of the evaluations${(units?.within ?? 0.95) < 0.95 ? " (BELOW issue 14's bar of 95 %)" : ''}`, () => {
    assert.ok(units !== undefined, `no bar for family ${familyOf(f)} in this test`);
    prove(f, { ...units, maxSpent: 0.1, units: true });
  });
  test(`${f}: the shared-memory estimate prunes every config the GPU refused for shared memory, and nothing that ran${familyOf(f).startsWith('w8a8') ? ' (W8A8: exactly the size Triton reports)' : ''}`, () => {
    const j = load(f);
    const family = familyOf(f);
    const limit = j.header!.device!.shared_mem_per_block;
    const shapes = new Map(j.shapes().map((s) => [s, journalShape(j, family, s)]));
    let refused = 0;
    for (const t of j.trials()) {
      const est = kernelFamily(family).sharedMemoryBytes(t.config, shapes.get(t.shape)!);
      const required = /out of resource: shared memory, Required: (\d+)/.exec(t.message ?? '')?.[1];
      if (required) {
        assert.ok(est > limit, `${t.shape} ${configKey(t.config)}: the GPU needs ${required} B, the estimate ${est} B lets it through`);
        if (family.startsWith('w8a8')) assert.equal(est, Number(required), `${configKey(t.config)}`);
        refused++;
      }
      if (t.status === 'ok') assert.ok(est <= limit, `${configKey(t.config)} ran but the estimate ${est} > ${limit}`);
    }
    console.log(`${f}: ${refused} trials refused by the GPU for shared memory`);
    // W8A8 leaves shared memory to Triton, so its journal must hold refusals; W4A16 and MoE refuse by the estimate first
    if (family.startsWith('w8a8')) assert.ok(refused > 0);
  });
}
