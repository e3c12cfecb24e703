import { FAMILY_FORMATS, type Family } from '../schema/index.js';
import { formatIssue } from '../schema/issues.js';
import { kernelFamily, type WeightShape } from '../families/index.js';
import { shapeKey } from '../store/naming.js';
import type { ReplayJournal } from './replay.js';

/** The problem fields that make up a weight shape (src/families/types.ts WeightShape); the rest are options. */
const SHAPE_FIELDS = ['N', 'K', 'E', 'top_k', 'group_size', 'zero_points', 'gemm', 'quant', 'block_n', 'block_k'] as const;

/**
 * The weight shape behind one of a journal's shape keys, as a replay needs it for the space, the per-M rules and
 * the default configs: the header's problem fields (scripts/record_journal.py writes them; checked here by the
 * family's problem schema), else the key's own values where they are all the family's problem takes (a W8A8 or
 * W4A16 key; a MoE key leaves out top_k and gemm, so such a journal must name its shapes). The shape must give
 * back its key.
 */
export function journalShape(journal: ReplayJournal, family: Family, key: string): WeightShape {
  const fields = journal.header?.shapes?.[key];
  let shape: Record<string, unknown>;
  if (fields) {
    const parsed = FAMILY_FORMATS[family].problem.safeParse({ ...fields, M: 1 });
    if (!parsed.success) throw new Error(`journal shape ${key}: ${formatIssue(parsed.error.issues[0]!)}`);
    shape = Object.fromEntries(SHAPE_FIELDS.filter((f) => fields[f] !== undefined).map((f) => [f, fields[f]]));
  } else {
    shape = Object.fromEntries(key.split(',').map((part) => part.split('=')).map(([k, v]) => [k!, /^-?\d+$/.test(v!) ? Number(v) : v]));
    const { M: _M, ...needed } = kernelFamily(family).problem(shape as unknown as WeightShape, 1);
    const missing = Object.keys(needed).filter((f) => !(f in shape));
    if (missing.length) throw new Error(`journal header names no fields for shape ${key}, and the key lacks ${missing.join(', ')}: record it with scripts/record_journal.py`);
  }
  const rebuilt = shapeKey(family, shape as unknown as WeightShape);
  if (rebuilt !== key) throw new Error(`journal shape ${key}: its fields give the key ${rebuilt}`);
  return shape as unknown as WeightShape;
}
