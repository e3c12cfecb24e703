import type { Command } from 'commander';
import { registerDiff } from './diff.js';
import { registerMerge } from './merge.js';
import { registerModels } from './models.js';
import { registerReport } from './report.js';
import { registerShow } from './show.js';
import { registerTune } from './tune.js';
import { registerValidate } from './validate.js';

/** The command table: each entry registers one command from its own module (src/cli/<name>.ts). */
export const COMMANDS: Array<(program: Command) => void> = [registerValidate, registerShow, registerMerge, registerModels, registerDiff, registerReport, registerTune];
