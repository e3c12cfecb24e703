import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/key.js';
import type { Ask, Evaluation, Strategy, StrategyOptions, TimedConfig } from './types.js';
import { Ledger } from './ledger.js';
import { Neighbourhood } from './neighbours.js';
import { prng, shuffled } from './prng.js';

/** Tuning knobs of the budgeted search (fixed: they were chosen on the committed exhaustive journals). */
export const KNOBS = {
  /** Default budget when none is given: this fraction of the (config, M) pairs an exhaustive run measures. */
  budgetFraction: 0.2,
  /** Share of an M's budget spent on the random screen before the local search. */
  screenFraction: 0.1,
  /** Neighbours measured per M and round, the most promising first (the rest wait for a later round). */
  perExpansion: 3,
  /**
   * The config an M expands next is the one with the lowest time x (1 + this x neighbours already measured from
   * it): a config whose most promising neighbours did not beat it yields to a close runner-up.
   */
  expandDecay: 0.005,
  /** Winners of each neighbouring M tried at this M (neighbour seeding). */
  neighbourTop: 3,
  /** Score of a neighbour never measured at any M (1 = as good as a best config elsewhere). */
  unknownScore: 1.15,
  /**
   * Less from that score per axis value a never-measured neighbour shares with another M's winner (weighted 1 for
   * the same M, 1/2 an octave away, ...): small, so it only orders the unknown neighbours among themselves.
   */
  agreement: 0.001,
  /** Finalists per M re-timed together at full effort. */
  finalists: 3,
};

type Pair = { config: ConfigEntry; M: number; effort: 'quick' | 'full' };

/**
 * Per M, the quick evaluations the screen and the local search may spend: the budget (`--budget`, else
 * KNOBS.budgetFraction of the pairs) less a reserve for the final re-time, split among the Ms in proportion to
 * the configs each fits.
 */
function searchShares(opts: StrategyOptions): Map<number, number> {
  const fits = opts.fits ?? (() => true);
  const eligible = new Map(opts.ms.map((M) => [M, opts.configs.filter((c) => fits(c, M)).length]));
  const totalPairs = [...eligible.values()].reduce((s, n) => s + n, 0);
  const reserve = (KNOBS.finalists + 2) * opts.ms.length;
  const budget = Math.max(0, (opts.budget ?? Math.ceil(KNOBS.budgetFraction * totalPairs)) - reserve);
  return new Map(opts.ms.map((M) => [M, Math.floor((budget * eligible.get(M)!) / Math.max(1, totalPairs))]));
}

/**
 * Most evaluations bestFirst spends on these options (what --dry-run plans): the search shares, every seed at
 * every M twice (screen and final), and per M the finalists and the winners of its neighbouring Ms. A run
 * spends a little less where those finalists coincide, which only the measured times decide.
 */
export function bestFirstPlan(opts: StrategyOptions): number {
  const seeds = new Set(opts.seeds.map(configKey)).size;
  const neighbourMs = 2 * Math.max(0, opts.ms.length - 1);
  const search = [...searchShares(opts).values()].reduce((s, n) => s + n, 0);
  return search + 2 * seeds * opts.ms.length + KNOBS.finalists * opts.ms.length + neighbourMs;
}

/**
 * The default strategy, `best-first`: per M, a seeded random screen at quick effort, then rounds of best-first
 * local search (one-axis moves from the best configs) seeded with the winners of the neighbouring Ms, all Ms
 * drawing on one pool (the unit's budget), so an M that converged early leaves its share to the ones still
 * climbing; finally the top few per M (and every seed) are re-timed together at full effort.
 */
export function bestFirst(opts: StrategyOptions): Strategy {
  const ledger = new Ledger(opts.ms);
  const fits = opts.fits ?? (() => true);
  const ms = [...opts.ms].sort((a, b) => a - b);
  const space = new Neighbourhood(opts.configs);
  const key = (c: ConfigEntry) => space.key(c);
  const share = searchShares(opts);
  let pool = [...share.values()].reduce((s, n) => s + n, 0);
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
    return true;
  };

  function screen(): Pair[] {
    const pairs: Pair[] = opts.seeds.flatMap((config) => ms.map((M) => ({ config, M, effort: 'quick' as const })));
    for (const M of ms) {
      const n = Math.ceil(KNOBS.screenFraction * share.get(M)!);
      let taken = 0;
      for (const c of order) {
        if (taken >= n) break;
        if (take(pairs, c, M)) taken++;
      }
    }
    return pairs;
  }

  function localSearch(): Pair[] {
    const pairs: Pair[] = [];
    const ranked = new Map(ms.map((M) => [M, ledger.ranked(M, 'quick')]));
    ms.forEach((M, i) => {
      for (const other of [ms[i - 1], ms[i + 1]])
        if (other !== undefined) for (const m of ranked.get(other)!.slice(0, KNOBS.neighbourTop)) take(pairs, m.config, M);
    });
    const promising = ranker(ranked);
    for (const M of ms) {
      // best-first: the config with the best priority that still has unmeasured neighbours
      for (const { config } of byPriority(ranked.get(M)!, expanded.get(M)!)) {
        if (pool <= 0) break;
        const fresh = space.of(config).filter((nb) => unmeasured(nb, M));
        if (!fresh.length) continue;
        let n = 0;
        for (const nb of promising(fresh, M).slice(0, KNOBS.perExpansion)) if (take(pairs, nb, M)) n++;
        expanded.get(M)!.set(key(config), (expanded.get(M)!.get(key(config)) ?? 0) + n);
        break;
      }
    }
    return pairs;
  }

  /** Configs in the order an M expands them: time x (1 + expandDecay x neighbours already measured from it). */
  function byPriority(ranked: TimedConfig[], counts: Map<string, number>): TimedConfig[] {
    return ranked
      .map((m, i) => ({ m, i, p: m.us * (1 + KNOBS.expandDecay * (counts.get(key(m.config)) ?? 0)) }))
      .sort((a, b) => a.p - b.p || a.i - b.i)
      .map((x) => x.m);
  }

  /**
   * Orders candidates by how they did at the other Ms (time over that M's best, the nearest M first counts
   * most); the ones never measured come after them, those sharing the most axis values with the other Ms'
   * winners first (a move towards what won nearby). The best-looking go first while the budget lasts.
   */
  function ranker(ranked: Map<number, TimedConfig[]>) {
    const timesAt = new Map(ms.map((M) => [M, { top: ranked.get(M)![0]?.us, times: new Map(ranked.get(M)!.map((m) => [key(m.config), m.us])) }]));
    return (candidates: ConfigEntry[], M: number): ConfigEntry[] => {
      const elsewhere = ms.filter((other) => other !== M).map((other) => ({ ...timesAt.get(other)!, weight: 1 + 0.05 * Math.abs(Math.log2(other / M)) }));
      const winners = ms.filter((other) => other !== M).flatMap((other) => {
        const top = ranked.get(other)![0];
        return top ? [{ config: top.config as Record<string, number>, weight: 1 / (1 + Math.abs(Math.log2(other / M))) }] : [];
      });
      const score = (c: ConfigEntry): number => {
        const k = key(c);
        let best = Infinity;
        for (const { top, times, weight } of elsewhere) {
          const mine = times.get(k);
          if (top !== undefined && mine !== undefined) best = Math.min(best, (mine / top) * weight);
        }
        if (best !== Infinity) return best;
        let agreeing = 0;
        for (const { config, weight } of winners) for (const [axis, v] of Object.entries(c)) if (config[axis] === v) agreeing += weight;
        return KNOBS.unknownScore - KNOBS.agreement * agreeing;
      };
      return candidates.map((c, i) => ({ c, i, s: score(c) })).sort((a, b) => a.s - b.s || a.i - b.i).map((x) => x.c);
    };
  }

  /**
   * The local search's likely next round: per M, neighbours of the configs it will likely expand (the ledger's
   * and this round's untold quick times together), not yet measured or asked, the most promising first; Ms
   * interleaved so every M gets its first candidates early. Reads state only.
   */
  function likelyNext(partial: Evaluation[], limit: number): ConfigEntry[] {
    if (pool <= 0) return [];
    const ranked = new Map(ms.map((M) => [M, ledger.ranked(M, 'quick')]));
    const promising = ranker(ranked);
    const perM = ms.map((M) => {
      const mine = partial.filter((e) => e.M === M && e.effort === 'quick' && e.us !== null).map((e) => ({ config: e.config, us: e.us! }));
      const top = byPriority([...ranked.get(M)!, ...mine].sort((a, b) => a.us - b.us), expanded.get(M)!).slice(0, 2);
      const asked = new Set(partial.filter((e) => e.M === M).map((e) => key(e.config)));
      const fresh = new Map<string, ConfigEntry>();
      for (const { config } of top) for (const nb of space.of(config)) if (!asked.has(key(nb)) && unmeasured(nb, M)) fresh.set(key(nb), nb);
      return promising([...fresh.values()], M).slice(0, KNOBS.perExpansion);
    });
    const out = new Map<string, ConfigEntry>();
    for (let i = 0; out.size < limit && perM.some((l) => i < l.length); i++)
      for (const l of perM) if (l[i] && out.size < limit) out.set(key(l[i]!), l[i]!);
    return [...out.values()];
  }

  /** Finalists per M: its own fastest, the winners of the neighbouring Ms (cross-checked here) and the seeds. */
  function final(): Pair[] {
    const pairs: Pair[] = [];
    ms.forEach((M, i) => {
      const top = ledger.ranked(M, 'quick').slice(0, KNOBS.finalists).map((m) => m.config);
      const across = [ms[i - 1], ms[i + 1]].flatMap((other) => (other === undefined ? [] : ledger.ranked(other, 'quick').slice(0, 1).map((m) => m.config)));
      for (const config of [...top, ...across.filter((c) => fits(c, M)), ...opts.seeds]) pairs.push({ config, M, effort: 'full' });
    });
    return pairs;
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
