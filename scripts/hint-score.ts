/**
 * How well the default strategy's compile hint (Strategy.upcoming, what the runner compiles ahead) names the configs
 * its next round asks, replayed offline over an exhaustive journal as `tune` splits the Ms into units; no GPU.
 *
 *   node dist/scripts/hint-score.js [journal.jsonl.gz] [--limit N] [--at F,F,...] [--seeds A-B]
 *
 * --limit: configs per hint (8 when absent); --at: how much of a round's evaluations the hint is given, as shares
 * (0 = none yet, 1 = all; 0,0.5,1 when absent); --seeds: PRNG seeds (0-4 when absent).
 */
import { hintScore } from '../src/search/proof.js';
import { chunkMs } from '../src/runner/units.js';
import { fail, loadJournal, seedRange } from './replay-args.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? '') : fallback;
};
const limit = Number(option('--limit', '8'));
const at = option('--at', '0,0.5,1').split(',').map(Number);
if (!Number.isInteger(limit) || limit < 1) fail('hint-score', `--limit ${option('--limit', '')}: give a whole number of configs, 1 or more`);
if (at.some((f) => !(f >= 0 && f <= 1))) fail('hint-score', `--at ${option('--at', '')}: give shares of a round between 0 and 1, comma-separated`);
const seeds = seedRange('hint-score', option('--seeds', '0-4'));
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 'test/data/journals/w8a8-int8-default-h200.jsonl.gz';
const journal = loadJournal('hint-score', file);
const { family, space } = journal.header!.fingerprint;
const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(1)} %`;

console.log(`${file}, seeds ${seeds[0]}-${seeds.at(-1)}, units as tune splits them, ${limit} configs a hint`);
console.log('| hint given | new configs asked after a hint | of them named by it | of the named, asked | ms a hint |');
for (const f of at) {
  let s;
  try {
    s = hintScore(journal, family, space, seeds, { units: chunkMs, limit, at: f });
  } catch (err) {
    fail('hint-score', `${file}: ${(err as Error).message.split('\n')[0]}`); // a journal that is not exhaustive
  }
  console.log(`| ${f === 0 ? 'no time of the round' : f === 1 ? 'the whole round' : `${100 * f} % of the round`} | ${s.fresh} | ${pct(s.named, s.fresh)} | ${pct(s.used, s.hinted)} | ${(s.ms / Math.max(1, s.calls)).toFixed(1)} |`);
}
