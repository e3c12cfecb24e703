/** A problem with the user's input or usage: printed as one line, exit code 2. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Exit codes used by every command. */
export const EXIT = { ok: 0, finding: 1, usage: 2, interrupted: 130 } as const;
