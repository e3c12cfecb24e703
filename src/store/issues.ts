import type { z } from 'zod';

/** One zod issue as `path: message` (the path dotted, `(root)` when empty). */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  const missing = issue.code === 'invalid_type' && / received undefined$/.test(issue.message);
  return `${path}: ${missing ? `required, but missing (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})` : issue.message}`;
}

/** All issues of a failed parse, one `path: message` each. */
export const formatIssues = (error: z.ZodError): string[] => error.issues.map(formatIssue);
