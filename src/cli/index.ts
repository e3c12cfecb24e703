import { Command, CommanderError } from 'commander';
import { asUserError, EXIT, printable } from '../errors.js';
import { COMMANDS } from './commands.js';

/** Builds the `tune` program: a thin table of commands, each in its own module. */
export function buildProgram(): Command {
  const program = new Command('tune')
    .description('Ahead-of-time autotuner for quantized Triton GEMM kernels (W8A8, W4A16, MoE W4A16)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** One top-level handler maps every error to a one-line message and an exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; help and version are successes
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    const user = asUserError(err);
    if (user) {
      console.error(`tune: ${printable(user.message)}`);
      return user.exitCode;
    }
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`tune: internal error: ${printable(msg.split('\n')[0]!)} (set TRITUNE_DEBUG=1 for the stack)`);
    if (process.env.TRITUNE_DEBUG) console.error(err);
    return 70;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
