import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/key.js';
import type { Ask, Evaluation, Strategy, StrategyOptions, TimedConfig } from './types.js';
import { Ledger } from './ledger.js';
import { Neighbourhood } from './neighbours.js';
import { Landscape } from './estimate.js';
import { prng, shuffled } from './prng.js';

/** Tuning knobs of the budgeted search (fixed: they were chosen on the committed exhaustive journals). */
export const KNOBS = {
  /** Default budget when none is given: this fraction of the (config, M) pairs an exhaustive run measures. */
  budgetFraction: 0.2,
  /** Share of an M's budget spent on the random screen before the local search. */
  screenFraction: 0.05,
  /** Neighbours measured per M and round, the most promising first (the rest wait for a later round). */
  perExpansion: 3,
  /**
   * The config an M expands next is the one with the lowest time x (1 + this x neighbours already measured from
   * it): a config whose most promising neighbours did not beat it yields to a close runner-up.
   */
  expandDecay: 0.005,
  /** Winners of each neighbouring M tried at this M (neighbour seeding). */
  neighbourTop: 1,
  /** Finalists per M re-timed together at full effort. */
  finalists: 3,
  /** A step along flat axes only (src/search/estimate.ts) from a config this much behind its M's best is tried last. */
  twinMargin: 0.02,
  /**
   * A config another M asks this round goes last at M only if that M is at most this many octaves away: nearer, its
   * time tells M too; farther (MoE's 1 and 64, or 16 and 64 of a `--units` unit), the best configs differ.
   */
  spreadOctaves: 2,
};

type Pair = { config: ConfigEntry; M: number; effort: 'quick' | 'full' };
/** A final pair and what it is to its M: its n-th fastest (0, 1, ...), another M's winner. */
type Finalist = Pair & { rank: number };

/** The (config, M) evaluations the search and the final re-time may spend, seeds excluded: `--budget`, else KNOBS.budgetFraction of the pairs. */
function budgetOf(opts: StrategyOptions): number {
  const fits = opts.fits ?? (() => true);
  const pairs = opts.ms.reduce((n, M) => n + opts.configs.filter((c) => fits(c, M)).length, 0);
  return opts.budget ?? Math.ceil(KNOBS.budgetFraction * pairs);
}

/**
 * Most evaluations bestFirst spends on these options (what --dry-run plans): the budget (at least each M's fastest
 * re-timed) and every seed once at every M (at full effort, in the screen). A run spends a little less where the
 * kernel cannot run a seed at some M or the search ran out of neighbours.
 */
export function bestFirstPlan(opts: StrategyOptions): number {
  const seeds = new Set(opts.seeds.map(configKey)).size;
  return Math.max(budgetOf(opts), opts.ms.length) + seeds * opts.ms.length;
}

/**
 * The default strategy, `best-first`: per M, the seeds at full effort and a seeded random screen at quick effort,
 * then rounds of best-first local search (one-axis moves from the best configs, the neighbours that the times
 * measured so far make likely tried first) seeded with the winners of the neighbouring Ms, all Ms drawing on one
 * pool (the unit's budget less what the final re-time will take), so an M that converged early leaves its share to
 * the ones still climbing; finally the top few per M are re-timed together at full effort.
 */
export function bestFirst(opts: StrategyOptions): Strategy {
  const ledger = new Ledger(opts.ms);
  const fits = opts.fits ?? (() => true);
  const runs = opts.runs ?? (() => true);
  const ms = [...opts.ms].sort((a, b) => a - b);
  const space = new Neighbourhood(opts.configs);
  const key = (c: ConfigEntry) => space.key(c);
  const seedKeys = new Set(opts.seeds.map(key));
  const budget = budgetOf(opts);
  /** Non-seed evaluations asked so far, and what this round may still ask. */
  let spent = 0;
  let pool = budget;
  /** Per M, how many neighbours were measured from each config it expanded. */
  const expanded = new Map(ms.map((M) => [M, new Map<string, number>()]));
  const order = shuffled(opts.configs, prng(opts.seed));
  let round = 0;
  let phase: 'search' | 'final' | 'done' = 'search';

  const unmeasured = (config: ConfigEntry, M: number) => !ledger.seen(config, M) && !ledger.wasAsked(config, M, 'quick') && fits(config, M);
  const take = (pairs: Pair[], config: ConfigEntry, M: number): boolean => {
    if (pool <= 0 || !unmeasured(config, M)) return false;
    if (pairs.some((p) => p.M === M && key(p.config) === key(config))) return false;
    pairs.push({ config, M, effort: 'quick' });
    pool--;
    spent++;
    return true;
  };

  /**
   * Seeds at every M, at full effort: they are final candidates whatever the search finds, and timing them once
   * instead of quick now and full at the end leaves that much more of the evaluations to the search. Per M also a
   * seeded random screenFraction of its share of the budget (shares in proportion to the configs each M fits).
   */
  function screen(): Pair[] {
    const pairs: Pair[] = opts.seeds.flatMap((config) => ms.filter((M) => runs(config, M)).map((M) => ({ config, M, effort: 'full' as const })));
    const eligible = new Map(ms.map((M) => [M, opts.configs.filter((c) => fits(c, M)).length]));
    const total = Math.max(1, [...eligible.values()].reduce((s, n) => s + n, 0));
    for (const M of ms) {
      const n = Math.ceil((KNOBS.screenFraction * budget * eligible.get(M)!) / total);
      let taken = 0;
      for (const c of order) {
        if (taken >= n) break;
        if (take(pairs, c, M)) taken++;
      }
    }
    return pairs;
  }

  /**
   * One round of the local search over these rankings (per M, its configs fastest first), at most `limit` pairs, each
   * one `open` allows: every M's neighbouring Ms' winners (neighbour seeding), then per M the most promising
   * neighbours of the config it expands next. Also says, per M, which config it expanded and how many of its
   * neighbours it took. Reads state only: localSearch applies it, likelyNext previews it.
   */
  function searchRound(ranked: Map<number, TimedConfig[]>, limit: number, open: (config: ConfigEntry, M: number) => boolean) {
    const pairs: Pair[] = [];
    const grown: Array<{ M: number; from: string; n: number }> = [];
    const add = (config: ConfigEntry, M: number): boolean => {
      if (pairs.length >= limit || !open(config, M)) return false;
      if (pairs.some((p) => p.M === M && key(p.config) === key(config))) return false;
      pairs.push({ config, M, effort: 'quick' });
      return true;
    };
    const land = new Landscape(space.axes, ranked);
    const behind = new Map(ms.map((M) => [M, behindTwins(land, ranked.get(M)!)]));
    ms.forEach((M, i) => {
      for (const other of [ms[i - 1], ms[i + 1]])
        if (other !== undefined)
          for (const m of ranked.get(other)!.slice(0, KNOBS.neighbourTop)) if (!behind.get(M)!.has(land.twinKey(m.config))) add(m.config, M);
    });
    for (const M of ms) {
      // best-first: the config with the best priority that still has unmeasured neighbours
      for (const { config } of byPriority(ranked.get(M)!, expanded.get(M)!)) {
        if (pairs.length >= limit) break;
        const fresh = space.of(config).filter((nb) => open(nb, M));
        if (!fresh.length) continue;
        let n = 0;
        for (const nb of promising(land, behind.get(M)!, pairs, fresh, M).slice(0, KNOBS.perExpansion)) if (add(nb, M)) n++;
        grown.push({ M, from: key(config), n });
        break;
      }
    }
    return { pairs, grown };
  }

  function localSearch(): Pair[] {
    pool = budget - spent - finalCost();
    const { pairs, grown } = searchRound(new Map(ms.map((M) => [M, ledger.searchTimes(M)])), pool, unmeasured);
    for (const { M, from, n } of grown) expanded.get(M)!.set(from, (expanded.get(M)!.get(from) ?? 0) + n);
    pool -= pairs.length;
    spent += pairs.length;
    return pairs;
  }

  /** Configs in the order an M expands them: time x (1 + expandDecay x neighbours already measured from it). */
  function byPriority(ranked: TimedConfig[], counts: Map<string, number>): TimedConfig[] {
    return ranked
      .map((m, i) => ({ m, i, p: m.us * (1 + KNOBS.expandDecay * (counts.get(key(m.config)) ?? 0)) }))
      .sort((a, b) => a.p - b.p || a.i - b.i)
      .map((x) => x.m);
  }

  /** Twin keys (src/search/estimate.ts) of the configs measured at an M more than twinMargin behind its best: a step along flat axes only from one of them would measure about the same time again. */
  function behindTwins(land: Landscape, ranked: TimedConfig[]): Set<string> {
    if (!land.flat.length || !ranked.length) return new Set();
    const bar = ranked[0]!.us * (1 + KNOBS.twinMargin);
    return new Set(ranked.filter((t) => t.us > bar).map((t) => land.twinKey(t.config)));
  }

  /**
   * Candidates at M in the order they are tried: by the landscape's estimate, except that a config an M within
   * spreadOctaves asks this round goes last (its time there tells this M too, so the Ms of a unit spread a round over
   * different configs) and, before those, a twin of a config measured well behind M's best (`behind`) or asked at M
   * this round.
   */
  function promising(land: Landscape, behind: Set<string>, pairs: Pair[], candidates: ConfigEntry[], M: number): ConfigEntry[] {
    const twins = new Set(behind);
    if (land.flat.length) for (const p of pairs) if (p.M === M) twins.add(land.twinKey(p.config));
    const near = (other: number) => other !== M && Math.abs(Math.log2(other / M)) <= KNOBS.spreadOctaves;
    const elsewhere = new Set(pairs.filter((p) => near(p.M)).map((p) => key(p.config)));
    const later = (c: ConfigEntry) => (elsewhere.has(key(c)) ? 2 : 0) + (twins.has(land.twinKey(c)) ? 1 : 0);
    return land
      .order(candidates, M)
      .map((c, i) => ({ c, i, l: later(c) }))
      .sort((a, b) => a.l - b.l || a.i - b.i)
      .map((x) => x.c);
  }

  /**
   * The local search's likely next round: the round searchRound would take if this round's times so far (`partial`)
   * were all there is, its configs in the order it takes them, less those this unit has already built (timed or
   * asked at some M: one binary serves every M). Reads state only.
   */
  function likelyNext(partial: Evaluation[], limit: number): ConfigEntry[] {
    const left = budget - spent - finalCost();
    if (left <= 0) return [];
    const ranked = new Map(
      ms.map((M) => {
        const mine = partial.filter((e) => e.M === M && e.us !== null).map((e) => ({ config: e.config, us: e.us! }));
        const told = new Set(mine.map((m) => key(m.config)));
        return [M, [...ledger.searchTimes(M).filter((m) => !told.has(key(m.config))), ...mine].sort((a, b) => a.us - b.us || (key(a.config) < key(b.config) ? -1 : 1))];
      }),
    );
    const built = (config: ConfigEntry) => ms.some((M) => ledger.seen(config, M) || ledger.wasAsked(config, M, 'quick') || ledger.wasAsked(config, M, 'full'));
    const out = new Map<string, ConfigEntry>();
    for (const { config } of searchRound(ranked, left, unmeasured).pairs) if (out.size < limit && !built(config)) out.set(key(config), config);
    return [...out.values()];
  }

  /**
   * What the final re-time would ask now, each pair once: per M its fastest few and the winners of its neighbouring
   * Ms not yet timed at M (cross-checked here; one timed there already competes by that time, and is re-timed only
   * as one of M's fastest), less the seeds (timed at full effort in the screen) and any pair that failed (it would
   * again).
   */
  function finalPairs(): Finalist[] {
    const out = new Map<string, Finalist>();
    ms.forEach((M, i) => {
      const top = ledger.searchTimes(M).slice(0, KNOBS.finalists).map((m, rank) => ({ config: m.config, rank }));
      const across = [ms[i - 1], ms[i + 1]].flatMap((other) => (other === undefined ? [] : ledger.searchTimes(other).slice(0, 1)));
      const unseen = across.filter((m) => fits(m.config, M) && !ledger.seen(m.config, M)).map((m) => ({ config: m.config, rank: KNOBS.finalists }));
      for (const { config, rank } of [...top, ...unseen]) {
        const k = `${M}|${key(config)}`;
        if (out.has(k) || seedKeys.has(key(config)) || ledger.timingOf(config, M)?.us === null) continue;
        out.set(k, { config, M, effort: 'full', rank });
      }
    });
    return [...out.values()];
  }

  /**
   * Evaluations the final re-time would take from the budget now, and at least one per M: its fastest may be a seed
   * now and a config of the search after the next round.
   */
  function finalCost(): number {
    const perM = new Map(ms.map((M) => [M, 0]));
    for (const f of finalPairs()) perM.set(f.M, perM.get(f.M)! + 1);
    return [...perM.values()].reduce((s, n) => s + Math.max(1, n), 0);
  }

  /** The final re-time, within what is left of the budget: if the finalists grew in the last round, the least likely go first (never an M's fastest). */
  function final(): Pair[] {
    const all = finalPairs();
    const kept = all.filter((f) => f.rank === 0);
    let left = budget - spent - kept.length;
    for (const f of all.filter((f) => f.rank > 0).sort((a, b) => a.rank - b.rank)) if (left-- > 0) kept.push(f);
    return kept.map(({ config, M, effort }) => ({ config, M, effort }));
  }

  return {
    ask(): Ask[] {
      while (phase === 'search') {
        const asks = ledger.toAsks(round++ === 0 ? screen() : localSearch());
        if (asks.length) return asks;
        phase = 'final';
      }
      if (phase === 'final') {
        phase = 'done';
        return ledger.toAsks(final());
      }
      return [];
    },
    tell: (evals: Evaluation[]) => ledger.record(evals),
    upcoming: (partial: Evaluation[], limit: number) => (phase === 'search' ? likelyNext(partial, limit) : []),
    ledger,
    best: () => ledger.best(),
    finalists: () => ledger.finalists(),
    evaluations: () => ledger.evaluations(),
  };
}
