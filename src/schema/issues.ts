import type { z } from 'zod';

/** One zod issue as `path: message` (the path dotted, `(root)` when empty). */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  // a bad record key (an M that is not a positive integer): the key's own problem says more
  if (issue.code === 'invalid_key' && issue.issues[0]) return `${path}: ${issue.issues[0].message}`;
  const missing = issue.code === 'invalid_type' && / received undefined$/.test(issue.message);
  return `${path}: ${missing ? `required, but missing (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})` : issue.message}`;
}
