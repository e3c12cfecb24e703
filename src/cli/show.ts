import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { Family } from '../schema/index.js';
import { nearestM } from '../store/lookup.js';
import { metaFileName, parseConfigFileName } from '../store/naming.js';
import { mKeys, readMeta, readTunedConfig } from '../store/reader.js';
import { UserError } from '../errors.js';

const parseM = (text: string): number => {
  if (!/^[1-9]\d*$/.test(text.trim())) throw new UserError(`--m must be a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
};

/** `tune show <file> --m <M>`: the entry a server would use for M (nearest key, ties to the smaller). */
export function registerShow(program: Command): void {
  program
    .command('show')
    .description('print the config a server would use for M from a tuned-config file (nearest M key, ties to the smaller)')
    .argument('<file>', 'a tuned-config file')
    .requiredOption('--m <M>', 'number of rows (tokens) of the GEMM')
    .option('--family <family>', 'kernel family, when the file name does not say it')
    .option('--json', 'print JSON instead of a table')
    .action((file: string, opts: { m: string; family?: string; json?: boolean }) => {
      const M = parseM(opts.m);
      if (!existsSync(file)) throw new UserError(`${file} does not exist`);
      if (statSync(file).isDirectory()) throw new UserError(`${file} is a folder; give one tuned-config file in it (tune validate ${file} lists them)`);
      let family: Family | undefined;
      if (opts.family !== undefined) {
        const f = Family.safeParse(opts.family);
        if (!f.success) throw new UserError(`unknown kernel family ${JSON.stringify(opts.family)}; known: ${Family.options.join(', ')}`);
        family = f.data;
      } else family = parseConfigFileName(basename(file), dirname(resolve(file)))?.family;
      if (!family) throw new UserError(`${file}: cannot tell the kernel family from the file name; pass --family`);
      const r = readTunedConfig(file, family);
      if (!r.ok) throw new UserError(`${file}: ${r.problems[0]}`);
      const key = nearestM(mKeys(r.value.entries), M);
      const config = r.value.entries[String(key)]!;
      const metaPath = join(dirname(file), metaFileName(basename(file)));
      const meta = existsSync(metaPath) ? readMeta(metaPath) : undefined;
      const measured = meta?.ok ? (meta.value.entries[String(key)] ?? null) : null;
      const simulated = meta?.ok ? meta.value.simulated : null;
      if (opts.json) {
        console.log(JSON.stringify({ file, family, M, key, config, measured, simulated }, null, 2));
        return;
      }
      const table = new Table({ head: ['key', 'value'], style: { head: [], border: [] } });
      table.push(['M asked', M], ['M key used', key]);
      for (const [k, v] of Object.entries(config)) table.push([k, v]);
      if (measured) {
        const label = simulated ? ' (simulated)' : '';
        table.push([`time µs${label}`, measured.us.toFixed(2)]);
        if (measured.default_us) table.push([`default µs${label}`, `${measured.default_us.toFixed(2)} (${(measured.default_us / measured.us).toFixed(2)}x)`]);
      }
      console.log(table.toString());
    });
}
