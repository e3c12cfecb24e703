import type { Command } from 'commander';

/** The command table: each entry registers one command from its own module (src/cli/<name>.ts). */
export const COMMANDS: Array<(program: Command) => void> = [];
