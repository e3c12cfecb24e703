import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { writeFilesAtomically } from '../store/atomic.js';
import { diskTree, loadSide, mustExist } from '../store/diff-load.js';
import { buildSection, renderReportHtml } from '../report/html.js';

interface ReportOptions {
  out: string;
}

/** A file-system-safe name for a section's SVG files, from its path. */
const svgBase = (path: string): string => path.replace(/\.json$/, '').replace(/[^A-Za-z0-9_.=,-]+/g, '_');

/** `tune report`: an HTML page (and SVG files) plotting tuned vs default vs baselines against the roofline. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write an HTML report with TFLOP/s and GB/s vs M plots (tuned, default, baselines, roofline)')
    .argument('[paths...]', 'tuned-config files or folders (default: tuned-configs)')
    .option('--out <dir>', 'where to write index.html and the SVG files', 'tritune-report')
    .action(async (paths: string[], opts: ReportOptions) => {
      const sources = paths.length ? paths : ['tuned-configs'];
      const sections = [];
      for (const p of sources) {
        mustExist(p);
        const tree = diskTree(p);
        for (const [key, doc] of await loadSide(tree, tree.single ? dirname(p) : p)) sections.push(buildSection(key, doc));
      }
      if (!sections.length) throw new UserError(`no tuned-config files under ${sources.join(', ')}`);
      sections.sort((a, b) => a.path.localeCompare(b.path));
      mkdirSync(opts.out, { recursive: true });
      const files: Array<{ path: string; text: string }> = [];
      const used = new Set<string>();
      for (const s of sections) {
        if (!s.svgs) continue;
        let name = svgBase(basename(s.path));
        for (let i = 2; used.has(name); i++) name = `${svgBase(basename(s.path))}-${i}`;
        used.add(name);
        files.push({ path: join(opts.out, `${name}.tflops.svg`), text: s.svgs.tflops });
        files.push({ path: join(opts.out, `${name}.gbps.svg`), text: s.svgs.gbps });
      }
      const html = join(opts.out, 'index.html');
      files.push({ path: html, text: renderReportHtml(sections, { sources, generated: new Date().toISOString() }) });
      writeFilesAtomically(files);
      console.log(`wrote ${html} (${sections.length} file(s), ${files.length - 1} SVG charts)`);
    });
}
