import { join } from 'node:path';
import type { Family } from '../schema/index.js';
import { PRUNE_REASONS } from '../families/index.js';
import { configPath } from '../store/naming.js';
import type { ShapeJob, Unit } from './units.js';
import { plannedTrials, type SearchChoice } from './unit-search.js';
import { describeEstimate, estimateRun, type Estimate } from './estimate.js';

/** What a run will do, before it does it: printed by --dry-run, and as the first --json event. */
export interface Plan {
  shapes: Array<{
    family: Family;
    shape: string;
    layers: string[];
    file: string;
    space_total: number;
    space_after_pruning: number;
    pruned: Record<string, number>;
    /** (config, M) pairs ruled out by the per-M rules, by reason. */
    pruned_pairs: Record<string, number>;
    pairs: number;
    trials: number;
  }>;
  units: number;
  gpus: number;
  trials: number;
  /** The estimate's seconds (null: none for this backend), and the estimate with what it assumed. */
  estimated_s: number | null;
  estimate: Estimate;
}

export function makePlan(
  jobs: ShapeJob[],
  units: Unit[],
  opts: SearchChoice & { out: string; device: string; triton: string | null; gpus: number; compileWorkers: number; backend: string },
): Plan {
  const shapes = jobs.map((job) => {
    const trials = units.filter((u) => u.job === job).reduce((n, u) => n + plannedTrials(u, opts), 0);
    const prunedPairs: Record<string, number> = {};
    for (const counts of Object.values(job.space.prunedByM)) {
      for (const [r, n] of Object.entries(counts)) prunedPairs[r] = (prunedPairs[r] ?? 0) + (n ?? 0);
    }
    return {
      family: job.family,
      shape: job.key,
      layers: job.layers,
      file: configPath(opts.out, job.family, job.shape, opts.device, opts.triton),
      space_total: job.space.total,
      space_after_pruning: job.space.configs.length,
      pruned: { ...(job.space.pruned as Record<string, number>) },
      pruned_pairs: prunedPairs,
      pairs: job.space.pairs,
      trials,
    };
  });
  const trials = shapes.reduce((n, s) => n + s.trials, 0);
  const estimate = estimateRun(shapes, { device: opts.device, backend: opts.backend, gpus: opts.gpus, compileWorkers: opts.compileWorkers, units: units.length });
  return {
    shapes,
    units: units.length,
    gpus: opts.gpus,
    trials,
    estimated_s: estimate.seconds === null ? null : Math.round(estimate.seconds),
    estimate,
  };
}

/** The plan as text for --dry-run. */
export function renderPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const s of plan.shapes) {
    lines.push(`${s.family} ${s.shape}  (${s.layers.join(', ')})`);
    lines.push(`  file: ${s.file}`);
    const reasons = Object.entries(s.pruned)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r} ${n}`);
    lines.push(`  space: ${s.space_total} configs, ${s.space_after_pruning} after pruning${reasons.length ? ` (pruned: ${reasons.join(', ')})` : ''}`);
    const perM = Object.entries(s.pruned_pairs).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`);
    lines.push(`  (config, M) pairs: ${s.pairs}${perM.length ? ` (per-M pruning: ${perM.join(', ')})` : ''}; trials planned: ${s.trials}`);
  }
  const used = new Set(plan.shapes.flatMap((s) => [...Object.entries(s.pruned), ...Object.entries(s.pruned_pairs)].filter(([, n]) => n > 0).map(([r]) => r)));
  for (const r of used) lines.push(`  ${r}: ${PRUNE_REASONS[r as keyof typeof PRUNE_REASONS] ?? r}`);
  lines.push(
    `${plan.shapes.length} shape(s), ${plan.units} unit(s) on ${plan.gpus} GPU(s), ${plan.trials} trials, ${describeEstimate(plan.estimate)}`,
  );
  return lines.join('\n');
}
