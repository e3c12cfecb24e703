import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrategy, type Ask } from '../../src/search/index.js';
import { ReplayJournal } from '../../src/search/replay.js';
import { configKey } from '../../src/space/index.js';
import { CONFIGS, MS, SHAPE, landscapeJournal } from './landscape.js';

const journal = new ReplayJournal(landscapeJournal());

/** Drives best-first; with `hint`, asks for its upcoming() hint after every answered ask, as the conductor does. */
function drive(hint: boolean) {
  const s = createStrategy('best-first', { configs: CONFIGS, ms: MS, seed: 3 });
  const asked: string[] = [];
  const hits = { hinted: 0, used: 0 };
  let lastHint = new Set<string>();
  for (let asks: Ask[] = s.ask(); asks.length; asks = s.ask()) {
    for (const a of asks) {
      asked.push(`${a.effort}|${a.ms.join(',')}|${configKey(a.config)}`);
      if (lastHint.has(configKey(a.config))) hits.used++;
    }
    const evals = journal.answer(SHAPE, asks);
    if (hint) {
      for (let i = 1; i <= evals.length; i++) s.upcoming!(evals.slice(0, i), 12);
      const next = s.upcoming!(evals, 12);
      assert.ok(next.length <= 12);
      hits.hinted += next.length;
      lastHint = new Set(next.map(configKey));
    }
    s.tell(evals);
  }
  return { asked, hits, best: s.best() };
}

test('best-first: the upcoming() hint changes nothing it asks, and names configs the next round does ask', () => {
  const plain = drive(false);
  const hinted = drive(true);
  assert.deepEqual(hinted.asked, plain.asked);
  assert.deepEqual([...hinted.best], [...plain.best]);
  assert.ok(hinted.hits.hinted > 0, 'the local search phase gives hints');
  assert.ok(hinted.hits.used > 0, `some hinted configs are asked in the next round (${hinted.hits.used} of ${hinted.hits.hinted})`);
});

test('best-first: told a whole round, the hint is the next round: the configs it asks that the unit has not built yet', () => {
  const s = createStrategy('best-first', { configs: CONFIGS, ms: MS, seed: 3 });
  const built = new Set<string>();
  let hint: Set<string> | null = null;
  let asked = 0;
  let named = 0;
  for (let asks: Ask[] = s.ask(); asks.length; asks = s.ask()) {
    const fresh = new Set(asks.map((a) => configKey(a.config)).filter((k) => !built.has(k)));
    if (hint) {
      asked += fresh.size;
      for (const k of fresh) if (hint.has(k)) named++;
      for (const k of hint) assert.ok(fresh.has(k), `hinted ${k}, which the next round does not ask as a new config`);
    }
    for (const a of asks) built.add(configKey(a.config));
    const evals = journal.answer(SHAPE, asks);
    hint = new Set(s.upcoming!(evals, 1000).map(configKey));
    s.tell(evals);
  }
  assert.ok(asked > 0);
  assert.ok(named >= 0.9 * asked, `the hints named ${named} of the ${asked} new configs the rounds after them asked`);
});
