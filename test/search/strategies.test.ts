import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createStrategy, plannedEvaluations, strategyName, STRATEGIES, type Ask } from '../../src/search/index.js';
import { ReplayJournal, replay } from '../../src/search/replay.js';
import { configKey } from '../../src/space/index.js';
import { UserError } from '../../src/errors.js';
import { CONFIGS, MS, SHAPE, landscapeJournal, landscapeUs } from './landscape.js';

const journal = new ReplayJournal(landscapeJournal());
const pairs = CONFIGS.length * MS.length;

/** Drives a strategy against the journal, recording every (config, M, effort) it asks. */
function drive(name: string, opts: Record<string, unknown> = {}) {
  const s = createStrategy(name, { configs: CONFIGS, ms: MS, ...opts });
  const asked: string[] = [];
  for (let asks: Ask[] = s.ask(); asks.length; asks = s.ask()) {
    for (const a of asks) for (const M of a.ms) asked.push(`${M}|${a.effort}|${configKey(a.config)}`);
    s.tell(journal.answer(SHAPE, asks));
  }
  return { s, asked };
}

test('exhaustive asks every fitting (config, M) pair exactly once and finds the optimum', () => {
  const fits = (c: { BLOCK_SIZE_M: number }, M: number) => !(M === 1 && c.BLOCK_SIZE_M === 128);
  const { s, asked } = drive('exhaustive', { fits });
  assert.equal(asked.length, pairs - CONFIGS.length / 4);
  assert.equal(new Set(asked).size, asked.length);
  for (const M of MS) assert.equal(s.best().get(M)!.us, journal.optimum(SHAPE, M)!.us);
  assert.equal(s.evaluations(), asked.length);
});

test('exhaustive with a budget samples that many pairs (random search), deterministic in the seed', () => {
  const a = drive('exhaustive', { budget: 40, seed: 7 }).asked;
  assert.equal(a.length, 40);
  assert.deepEqual(drive('exhaustive', { budget: 40, seed: 7 }).asked, a);
  assert.notDeepEqual(drive('exhaustive', { budget: 40, seed: 8 }).asked, a);
});

test('best-first: deterministic, never asks a pair twice, stays within its budget, finds the optimum of a smooth landscape', () => {
  const budget = Math.floor(0.3 * pairs);
  const one = drive('best-first', { budget, seed: 3 });
  const two = drive('best-first', { budget, seed: 3 });
  assert.deepEqual(one.asked, two.asked);
  assert.equal(new Set(one.asked).size, one.asked.length);
  assert.ok(one.s.evaluations() <= budget, `${one.s.evaluations()} > ${budget}`);
  for (const M of MS) assert.ok(one.s.best().get(M)!.us <= journal.optimum(SHAPE, M)!.us * 1.01, `M=${M}`);
  // the final round re-times finalists at full effort, and best() reports those
  for (const M of MS) assert.ok(one.s.finalists().get(M)!.length > 0);
});

test('seeds are evaluated at every M, even where the space filter would skip them', () => {
  const seed = CONFIGS[5]!;
  const { asked } = drive('best-first', { budget: 20, seeds: [seed], fits: () => false });
  for (const M of MS) assert.ok(asked.includes(`${M}|full|${configKey(seed)}`), `M=${M}`);
  assert.ok(drive('exhaustive', { seeds: [seed], fits: () => false }).asked.length === MS.length);
});

test('seeds are skipped only where the kernel cannot run them (a kernel rule refuses them at that M)', () => {
  const seed = CONFIGS[5]!;
  const runs = (_c: unknown, M: number) => M !== MS[0];
  for (const name of ['best-first', 'exhaustive']) {
    const { asked } = drive(name, { budget: 20, seeds: [seed], fits: () => false, runs });
    assert.ok(!asked.some((a) => a.startsWith(`${MS[0]}|`) && a.endsWith(`|${configKey(seed)}`)), name);
    for (const M of MS.slice(1)) assert.ok(asked.some((a) => a.startsWith(`${M}|`) && a.endsWith(`|${configKey(seed)}`)), `${name} M=${M}`);
  }
});

test('best-first spends its budget: the search takes what the final re-time leaves of it, the seeds come on top', () => {
  for (const budget of [40, Math.floor(0.3 * pairs)]) {
    const seeds = [CONFIGS[5]!];
    const { s } = drive('best-first', { budget, seed: 1, seeds });
    const onTop = seeds.length * MS.length;
    assert.ok(s.evaluations() <= budget + onTop, `${s.evaluations()} > ${budget} + ${onTop}`);
    assert.ok(s.evaluations() >= budget + onTop - MS.length, `${s.evaluations()} leaves much of ${budget} + ${onTop} unspent`);
  }
});

test('seeds are timed once, at full effort (never re-timed, failed or not), and are final candidates', () => {
  const broken = CONFIGS.find((c) => landscapeUs(c as Record<string, number>, 1) === null)!;
  const { s, asked } = drive('best-first', { budget: 40, seeds: [broken, CONFIGS[5]!] });
  for (const seed of [broken, CONFIGS[5]!])
    for (const M of MS) {
      assert.ok(!asked.includes(`${M}|quick|${configKey(seed)}`), `M=${M}: a seed is not timed quick`);
      assert.equal(asked.filter((a) => a === `${M}|full|${configKey(seed)}`).length, 1, `M=${M}: a seed is timed once`);
    }
  for (const M of MS) assert.ok(s.finalists().get(M)!.some((t) => configKey(t.config) === configKey(CONFIGS[5]!)), `M=${M}: a seed is a finalist`);
});

test("best-first re-times at full effort only an M's fastest few and neighbouring Ms' winners it has not timed", () => {
  const { s, asked } = drive('best-first', { budget: Math.floor(0.3 * pairs), seed: 2, seeds: [CONFIGS[5]!] });
  for (const M of MS) {
    const top = new Set(s.ledger.ranked(M, 'quick').slice(0, 3).map((t) => configKey(t.config)));
    for (const a of asked.filter((a) => a.startsWith(`${M}|full|`))) {
      const k = a.slice(`${M}|full|`.length);
      if (k === configKey(CONFIGS[5]!)) continue;
      assert.ok(top.has(k) || !asked.includes(`${M}|quick|${k}`), `M=${M}: ${k} re-timed, neither among the fastest nor new at M`);
    }
  }
});

test('failed trials are never winners', () => {
  const { s } = drive('exhaustive');
  for (const [M, b] of s.best()) assert.notEqual(landscapeUs(b.config as Record<string, number>, M), null);
});

test('bad strategy names and options are one-line user errors', () => {
  assert.throws(() => createStrategy('annealing', { configs: CONFIGS, ms: MS }), (e: unknown) => e instanceof UserError && /use one of best-first, exhaustive/.test(e.message));
  assert.throws(() => createStrategy('best-first', { configs: [], ms: MS }), /configs: the space has no configs left after pruning/);
  assert.throws(() => createStrategy('best-first', { configs: CONFIGS, ms: MS, budget: 0 }), /budget/);
  assert.throws(() => createStrategy('best-first', { configs: CONFIGS, ms: [] }), /ms/);
  assert.deepEqual(Object.keys(STRATEGIES), ['best-first', 'exhaustive']);
});

test("'halving', best-first's old name, is an alias: the same strategy, asking and finding the same", () => {
  assert.equal(strategyName('halving'), 'best-first');
  assert.equal(strategyName('best-first'), 'best-first');
  assert.throws(() => strategyName('annealing'), (e: unknown) => e instanceof UserError && /unknown strategy 'annealing'/.test(e.message));
  assert.throws(() => strategyName('constructor'), UserError);
  const opts = { budget: Math.floor(0.3 * pairs), seed: 3, seeds: [CONFIGS[5]!] };
  const old = drive('halving', opts);
  const now = drive('best-first', opts);
  assert.deepEqual(old.asked, now.asked);
  assert.deepEqual(old.s.finalists(), now.s.finalists());
  assert.deepEqual(old.s.best(), now.s.best());
});

test("each strategy plans its own spend: exhaustive's plan is exact, best-first never spends more than its plan", () => {
  const fits = (c: { BLOCK_SIZE_M: number }, M: number) => !(M === 1 && c.BLOCK_SIZE_M === 128);
  const cases: Array<Record<string, unknown>> = [{}, { fits }, { budget: 40, seed: 7 }, { seeds: [CONFIGS[5]!, CONFIGS[9]!], fits }];
  for (const opts of cases) {
    const input = { configs: CONFIGS, ms: MS, ...opts };
    assert.equal(drive('exhaustive', opts).s.evaluations(), plannedEvaluations('exhaustive', input), JSON.stringify(opts));
    const spent = drive('best-first', opts).s.evaluations();
    const planned = plannedEvaluations('best-first', input);
    assert.ok(spent <= planned && planned <= spent * 1.15, `${JSON.stringify(opts)}: spent ${spent}, planned ${planned}`);
  }
  assert.equal(plannedEvaluations('halving', { configs: CONFIGS, ms: MS }), plannedEvaluations('best-first', { configs: CONFIGS, ms: MS }));
});

test('replay reads gzipped journals and refuses pairs it never recorded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  const file = join(dir, 'j.jsonl.gz');
  writeFileSync(file, gzipSync(landscapeJournal().map((r) => JSON.stringify(r)).join('\n') + '\n'));
  const j = ReplayJournal.load(file);
  assert.deepEqual(j.shapes(), [SHAPE]);
  assert.deepEqual(j.ms(SHAPE), MS);
  const s = createStrategy('exhaustive', { configs: CONFIGS, ms: [2] });
  assert.throws(() => replay(s, j, SHAPE), /journal has no trial for N=4096,K=4096 M=2/);
});
