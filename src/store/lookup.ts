/**
 * The M key a server uses for a batch of M rows: the nearest key, ties to the smaller
 * (vLLM: `min(keys, key=lambda x: abs(x - M))` over ascending keys).
 */
export function nearestM(keys: readonly number[], M: number): number {
  if (keys.length === 0) throw new Error('no M keys to choose from');
  let best = keys[0]!;
  for (const k of keys) {
    const d = Math.abs(k - M);
    const bd = Math.abs(best - M);
    if (d < bd || (d === bd && k < best)) best = k;
  }
  return best;
}
