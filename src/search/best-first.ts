import type { ConfigEntry } from '../schema/index.js';
import { configKey } from '../space/key.js';
import type { Ask, Evaluation, Strategy, StrategyOptions } from './types.js';
import { Ledger } from './ledger.js';
import { prng, shuffled } from './prng.js';

/** Tuning knobs of the budgeted search (fixed: they were chosen on the committed exhaustive journals). */
export const KNOBS = {
  /** Default budget when none is given: this fraction of the (config, M) pairs an exhaustive run measures. */
  budgetFraction: 0.2,
  /** Share of an M's budget spent on the random screen before the local search. */
  screenFraction: 0.1,
  /** Configs expanded per M and round (their one-axis neighbours are measured). */
  expandPerRound: 1,
  /** Neighbours measured per expansion, the most promising first (the rest wait for a later expansion). */
  perExpansion: 6,
  /** A config slower than the M's best by more than this is not worth expanding. */
  expandWithin: 0.05,
  /** Winners of each neighbouring M tried at this M (neighbour seeding). */
  neighbourTop: 3,
  /** Score of a neighbour never measured at any M (1 = as good as a best config elsewhere). */
  unknownScore: 1.15,
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
 * local search (one-axis moves from the best configs) seeded with the winners of the neighbouring Ms, each M
 * within its share of the budget; finally the top few per M (and every seed) are re-timed together at full effort.
 */
export function bestFirst(opts: StrategyOptions): Strategy {
  const ledger = new Ledger(opts.ms);
  const fits = opts.fits ?? (() => true);
  const ms = [...opts.ms].sort((a, b) => a - b);
  const byKey = new Map(opts.configs.map((c) => [configKey(c), c]));
  const axes = axisValues(opts.configs);
  const share = searchShares(opts);
  const spent = new Map(ms.map((M) => [M, 0]));
  const order = shuffled(opts.configs, prng(opts.seed));
  let round = 0;
  let phase: 'search' | 'final' | 'done' = 'search';

  const room = (M: number) => share.get(M)! - spent.get(M)!;
  const take = (pairs: Pair[], config: ConfigEntry, M: number): boolean => {
    if (room(M) <= 0 || ledger.seen(config, M) || ledger.wasAsked(config, M, 'quick') || !fits(config, M)) return false;
    if (pairs.some((p) => p.M === M && configKey(p.config) === configKey(config))) return false;
    pairs.push({ config, M, effort: 'quick' });
    spent.set(M, spent.get(M)! + 1);
    return true;
  };

  function screen(): Pair[] {
    const pairs: Pair[] = opts.seeds.flatMap((config) => ms.map((M) => ({ config, M, effort: 'quick' as const })));
    for (const M of ms) {
      const n = Math.ceil(KNOBS.screenFraction * share.get(M)!);
      for (const c of order) {
        if (spent.get(M)! >= n) break;
        if (fits(c, M)) take(pairs, c, M);
      }
    }
    return pairs;
  }

  function localSearch(): Pair[] {
    const pairs: Pair[] = [];
    ms.forEach((M, i) => {
      const ranked = ledger.ranked(M, 'quick');
      const bestUs = ranked[0]?.us;
      if (bestUs === undefined) return;
      for (const j of [i - 1, i + 1]) {
        const other = ms[j];
        if (other !== undefined) for (const m of ledger.ranked(other, 'quick').slice(0, KNOBS.neighbourTop)) take(pairs, m.config, M);
      }
      // best-first: expand the fastest configs that still have unmeasured neighbours; past expandWithin of
      // the best only while nothing better is left, so the budget is spent where it can still pay
      let n = 0;
      for (const { config, us } of ranked) {
        if (n >= KNOBS.expandPerRound || room(M) <= 0) break;
        if (n > 0 && us > bestUs * (1 + KNOBS.expandWithin)) break;
        const fresh = neighbours(config, axes, byKey).filter((nb) => !ledger.seen(nb, M) && !ledger.wasAsked(nb, M, 'quick') && fits(nb, M));
        if (!fresh.length) continue;
        n++;
        for (const nb of promising(fresh, M).slice(0, KNOBS.perExpansion)) take(pairs, nb, M);
      }
    });
    return pairs;
  }

  /**
   * Candidates ordered by how they did at the other Ms (time over that M's best, the nearest M first counts
   * most); unmeasured ones keep their place after them. The best-looking go first while the budget lasts.
   */
  function promising(candidates: ConfigEntry[], M: number): ConfigEntry[] {
    const elsewhere = ms
      .filter((other) => other !== M)
      .map((other) => {
        const ranked = ledger.ranked(other, 'quick');
        return { top: ranked[0]?.us, times: new Map(ranked.map((m) => [configKey(m.config), m.us])), weight: 1 + 0.05 * Math.abs(Math.log2(other / M)) };
      });
    const score = (c: ConfigEntry): number => {
      const key = configKey(c);
      let best = Infinity;
      for (const { top, times, weight } of elsewhere) {
        const mine = times.get(key);
        if (top !== undefined && mine !== undefined) best = Math.min(best, (mine / top) * weight);
      }
      return best === Infinity ? KNOBS.unknownScore : best;
    };
    return candidates.map((c, i) => ({ c, i, s: score(c) })).sort((a, b) => a.s - b.s || a.i - b.i).map((x) => x.c);
  }

  /**
   * The local search's likely next round: per M, neighbours of its fastest configs so far (the ledger's and
   * this round's untold quick times together), not yet measured or asked, the most promising first; Ms
   * interleaved so every M gets its first candidates early. Reads state only.
   */
  function likelyNext(partial: Evaluation[], limit: number): ConfigEntry[] {
    const perM = ms.map((M) => {
      const mine = partial.filter((e) => e.M === M && e.effort === 'quick' && e.us !== null).map((e) => ({ config: e.config, us: e.us! }));
      const top = [...ledger.ranked(M, 'quick'), ...mine].sort((a, b) => a.us - b.us).slice(0, 2);
      const asked = new Set(partial.filter((e) => e.M === M).map((e) => configKey(e.config)));
      const fresh = new Map<string, ConfigEntry>();
      for (const { config } of top)
        for (const nb of neighbours(config, axes, byKey)) {
          const k = configKey(nb);
          if (!asked.has(k) && !ledger.seen(nb, M) && !ledger.wasAsked(nb, M, 'quick') && fits(nb, M)) fresh.set(k, nb);
        }
      return room(M) > 0 ? promising([...fresh.values()], M).slice(0, KNOBS.perExpansion) : [];
    });
    const out = new Map<string, ConfigEntry>();
    for (let i = 0; out.size < limit && perM.some((l) => i < l.length); i++)
      for (const l of perM) if (l[i] && out.size < limit) out.set(configKey(l[i]!), l[i]!);
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

/** The sorted values each axis takes across the configs. */
function axisValues(configs: readonly ConfigEntry[]): Map<string, number[]> {
  const out = new Map<string, Set<number>>();
  for (const c of configs) for (const [k, v] of Object.entries(c)) (out.get(k) ?? out.set(k, new Set()).get(k)!).add(v);
  return new Map([...out].map(([k, s]) => [k, [...s].sort((a, b) => a - b)]));
}

/** Axis pairs that move together: warps with the tile they cover, stages with the K step they pipeline. */
const COUPLED: Array<[string, string]> = [
  ['num_warps', 'BLOCK_SIZE_M'],
  ['num_warps', 'BLOCK_SIZE_N'],
  ['num_warps', 'BLOCK_SIZE_K'],
  ['num_stages', 'BLOCK_SIZE_K'],
  ['BLOCK_SIZE_M', 'BLOCK_SIZE_K'],
  ['BLOCK_SIZE_N', 'BLOCK_SIZE_K'],
  ['SPLIT_K', 'BLOCK_SIZE_M'],
  ['SPLIT_K', 'BLOCK_SIZE_N'],
];

/**
 * Configs of the space one step away along one axis, or along two coupled axes at once (a bigger tile often
 * needs more warps, so neither single move improves); pruned configs are not in the space, so never proposed.
 */
function neighbours(config: ConfigEntry, axes: Map<string, number[]>, byKey: Map<string, ConfigEntry>): ConfigEntry[] {
  const c = config as Record<string, number>;
  const steps = (axis: string): number[] => {
    const values = axes.get(axis);
    if (!values || c[axis] === undefined) return [];
    const i = values.indexOf(c[axis]!);
    return [values[i - 1], values[i + 1]].filter((v): v is number => v !== undefined);
  };
  const moves: Array<Record<string, number>> = [];
  for (const axis of axes.keys()) for (const v of steps(axis)) moves.push({ [axis]: v });
  for (const [a, b] of COUPLED) for (const va of steps(a)) for (const vb of steps(b)) moves.push({ [a]: va, [b]: vb });
  const out: ConfigEntry[] = [];
  for (const m of moves) {
    const nb = byKey.get(configKey({ ...c, ...m }));
    if (nb) out.push(nb);
  }
  return out;
}
