import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReplayJournal } from '../../src/search/replay.js';
import { scoreStrategy } from '../../src/search/proof.js';
import { configKey } from '../../src/space/index.js';
import { kernelFamily } from '../../src/families/index.js';

/**
 * The proof without a GPU: exhaustive journals recorded on an H200 (scripts/record_journal.py driving the real
 * worker, see docs/BENCHMARKS.md) are replayed offline. The default strategy must land within 1 % of the
 * exhaustive optimum on >= 95 % of (shape, M) entries while spending <= 25 % of the exhaustive evaluations at its
 * default budget, and <= 10 % at a 9 % budget (the seeds and the final re-time come on top of a budget).
 */
const DIR = join(process.cwd(), 'test', 'data', 'journals');
const journals = readdirSync(DIR).filter((f) => f.endsWith('.jsonl.gz'));
const loaded = new Map<string, ReplayJournal>();
/** Each journal is read once for every test here (reading and validating one takes a while). */
const load = (f: string) => loaded.get(f) ?? loaded.set(f, ReplayJournal.load(join(DIR, f))).get(f)!;

test('committed GPU journals exist and are real measurements', () => {
  assert.ok(journals.length > 0, `no *.jsonl.gz under ${DIR}`);
  for (const f of journals) {
    const j = load(f);
    assert.equal(j.header?.fingerprint.backend, 'cuda', `${f} is not a cuda journal`);
    assert.ok(j.shapes().length >= 4, `${f}: ${j.shapes().length} shapes`);
    for (const s of j.shapes()) assert.ok(j.ms(s).length >= 8, `${f} ${s}: ${j.ms(s).length} Ms`);
  }
});

/** Replays best-first over a journal at a budget (a fraction of the pairs; the default when absent) and checks the bar. */
function prove(f: string, bar: { budget?: number; maxSpent: number }): void {
  const j = load(f);
  const budget = bar.budget;
  const score = scoreStrategy(j, j.header!.fingerprint.family, j.header!.fingerprint.space, 'best-first', [0, 1, 2, 3, 4], budget === undefined ? {} : { budget: (pairs) => Math.round(budget * pairs) });
  assert.equal(score.missing, 0, 'the journal does not cover the whole space');
  const within = score.entries.filter((e) => e.ratio <= 1.01).length / score.entries.length;
  const spent = score.evaluations / score.exhaustiveEvaluations;
  const worst = score.entries.reduce((w, e) => (e.ratio > w.ratio ? e : w));
  console.log(`${f}, budget ${budget ?? 'default'}: within 1 %: ${(within * 100).toFixed(1)} % of ${score.entries.length} entries; evaluations ${(spent * 100).toFixed(2)} %; worst ${worst.shape} M=${worst.M} x${worst.ratio.toFixed(3)}`);
  assert.ok(within >= 0.95, `within 1 % on only ${(within * 100).toFixed(1)} %`);
  assert.ok(spent <= bar.maxSpent, `spent ${(spent * 100).toFixed(2)} % of the exhaustive evaluations`);
}

for (const f of journals) {
  test(`${f}: the default strategy is within 1 % of the exhaustive optimum on >= 95 % of entries, on <= 25 % of the evaluations`, () => {
    prove(f, { maxSpent: 0.25 });
  });
  test(`${f}: at a 9 % budget, within 1 % of the exhaustive optimum on >= 95 % of entries, on <= 10 % of the evaluations`, () => {
    prove(f, { budget: 0.09, maxSpent: 0.1 });
  });
}

test('the W8A8 shared-memory estimate is exact against the GPU: every out-of-resources size, and nothing that ran is pruned', () => {
  for (const f of journals) {
    const j = load(f);
    const family = j.header!.fingerprint.family;
    const limit = j.header!.device!.shared_mem_per_block;
    let checked = 0;
    for (const t of j.trials()) {
      const est = kernelFamily(family).sharedMemoryBytes(t.config, { N: 1, K: 1 });
      const required = /out of resource: shared memory, Required: (\d+)/.exec(t.message ?? '')?.[1];
      if (required) {
        assert.equal(est, Number(required), `${configKey(t.config)}`);
        checked++;
      }
      if (t.status === 'ok') assert.ok(est <= limit, `${configKey(t.config)} ran but the estimate ${est} > ${limit}`);
    }
    assert.ok(checked > 0);
  }
});
