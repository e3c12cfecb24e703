/**
 * Prints rows of docs/BENCHMARKS.md's "Search" table: a strategy replayed offline over an exhaustive journal
 * (src/search/proof.ts, as test/search/proof.test.ts does) at several budgets, over PRNG seeds 0-9; no GPU.
 *
 *   node dist/scripts/search-score.js [--units] [--seeds A-B] [journal.jsonl.gz] [strategy] [budget,budget,...]
 *
 * A budget is a fraction of the exhaustive (config, M) pairs, or `default` (the strategy decides). With --units,
 * each shape's Ms are split into units as `tune` splits them (one strategy instance per unit, seeded with its
 * own Ms' default configs) instead of one instance per shape. --seeds picks another range of PRNG seeds (0-9 when
 * absent; 0-99 shows whether a result holds with margin or by a seed's luck).
 */
import { scoreStrategy } from '../src/search/proof.js';
import { chunkMs } from '../src/runner/units.js';
import { loadJournal, seedRange } from './replay-args.js';

const args = process.argv.slice(2);
const units = args.includes('--units');
const seedsAt = args.indexOf('--seeds');
const seeds = seedRange('search-score', seedsAt >= 0 ? args[seedsAt + 1] : '0-9');
const positional = args.filter((a, i) => a !== '--units' && (seedsAt < 0 || (i !== seedsAt && i !== seedsAt + 1)));
const [file = 'test/data/journals/w8a8-int8-default-h200.jsonl.gz', strategy = 'best-first', budgets = 'default,0.15,0.10,0.09,0.05'] = positional;
const journal = loadJournal('search-score', file);
const { family, space } = journal.header!.fingerprint;
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

console.log(`${file}, seeds ${seeds[0]}-${seeds.at(-1)}, one strategy instance per ${units ? 'unit (as tune)' : 'shape'}`);
console.log('| strategy | budget | evaluations vs exhaustive | within 1 % of the optimum | mean ratio | worst |');
for (const b of budgets.split(',')) {
  const fraction = b === 'default' ? undefined : Number(b);
  const score = scoreStrategy(journal, family, space, strategy, seeds, {
    ...(fraction === undefined ? {} : { budget: (pairs: number) => Math.round(fraction * pairs) }),
    ...(units ? { units: chunkMs } : {}),
  });
  const ratios = score.entries.map((e) => e.ratio);
  const within = ratios.filter((r) => r <= 1.01).length / ratios.length;
  const mean = ratios.reduce((s, r) => s + r, 0) / ratios.length;
  const label = fraction === undefined ? 'default' : pct(fraction).replace('.0 ', ' ');
  console.log(`| ${strategy} | ${label} | ${(100 * score.evaluations / score.exhaustiveEvaluations).toFixed(2)} % | ${pct(within)} | ${mean.toFixed(4)} | ${Math.max(...ratios).toFixed(3)} |`);
}
