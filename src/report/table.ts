import Table from 'cli-table3';

/** One row of the final results table: the winner of one (weight shape, M) entry. */
export interface ResultRow {
  shape: string;
  M: number;
  config: Record<string, number> | null;
  us: number | null;
  flops: number;
  defaultUs: number | null;
  decision: string;
}

/** A config in a few characters: BMxBNxBK, then group, warps, stages and the family's extras (W4A16's prefill paths
 * as `dequant` and `reg_a`, its TMA loads as `tma`, nothing where DEQUANT_GEMM, REG_A or TMA is 0). */
const FLAGS: Record<string, string> = { DEQUANT_GEMM: 'dequant', TMA: 'tma', REG_A: 'reg_a' };
export function compactConfig(c: Record<string, number>): string {
  const extra = Object.entries(c)
    .filter(([k, v]) => !['BLOCK_SIZE_M', 'BLOCK_SIZE_N', 'BLOCK_SIZE_K', 'GROUP_SIZE_M', 'num_warps', 'num_stages'].includes(k) && !(k in FLAGS && !v))
    .map(([k, v]) => FLAGS[k] ?? `${k === 'SPLIT_K' ? 'sk' : k === 'K_UNROLL' ? 'ku' : k}${v}`);
  return [`${c.BLOCK_SIZE_M}x${c.BLOCK_SIZE_N}x${c.BLOCK_SIZE_K}`, `g${c.GROUP_SIZE_M}`, `w${c.num_warps}`, `s${c.num_stages}`, ...extra].join(' ');
}

const fmt = (n: number | null, digits: number): string => (n === null || !Number.isFinite(n) ? '-' : n.toFixed(digits));

/**
 * The table printed at the end of a run: per shape and M, the chosen config, its time, TFLOP/s and the
 * speedup over the family's default config measured on the same GPU. `simulated` labels every number.
 */
export function renderResultsTable(rows: ResultRow[], opts: { simulated: boolean; color?: boolean }): string {
  const sim = opts.simulated ? ' (simulated)' : '';
  const table = new Table({
    head: ['shape', 'M', 'config', `us${sim}`, `TFLOP/s${sim}`, `vs default${sim}`, 'decision'],
    style: { head: opts.color ? ['cyan'] : [], border: opts.color ? ['grey'] : [] },
    colAligns: ['left', 'right', 'left', 'right', 'right', 'right', 'left'],
  });
  let last = '';
  for (const r of rows) {
    const tflops = r.us ? r.flops / (r.us * 1e-6) / 1e12 : null;
    const speedup = r.us && r.defaultUs ? r.defaultUs / r.us : null;
    table.push([
      r.shape === last ? '' : r.shape,
      String(r.M),
      r.config ? compactConfig(r.config) : 'no config ran',
      fmt(r.us, 2),
      fmt(tflops, 1),
      speedup === null ? '-' : `${speedup.toFixed(2)}x`,
      r.decision,
    ]);
    last = r.shape;
  }
  return table.toString();
}
