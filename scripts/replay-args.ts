/**
 * What the offline replay scripts (search-score, hint-score) read from their command lines: a range of PRNG seeds and
 * a journal, each refused in one line that names it, exit 2.
 */
import { ReplayJournal } from '../src/search/replay.js';

export function fail(tool: string, line: string): never {
  console.error(`${tool}: ${line}`);
  process.exit(2);
}

/** `A-B` (A <= B) or `A` -> the seeds A..B. */
export function seedRange(tool: string, text: string | undefined): number[] {
  const [from, to = from] = (text ?? '').split('-').map(Number) as [number, number?];
  if (text === undefined || !/^\d+(-\d+)?$/.test(text) || to! < from) fail(tool, `--seeds ${text ?? ''}: give a range of PRNG seeds, A-B (A <= B) or one seed`);
  return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
}

/** The journal at `file`, or one line saying why it cannot be read (missing, or a line that is no journal record). */
export function loadJournal(tool: string, file: string): ReplayJournal {
  try {
    return ReplayJournal.load(file);
  } catch (err) {
    return fail(tool, `${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}
