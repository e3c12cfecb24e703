import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** The repository root (tests run from it: `node --test dist/test/`). */
export const ROOT = process.cwd();
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (`node bin/tune ...`) in `cwd`, as a user would. */
export function tune(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tune'), ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, TRITUNE_DEBUG: '', NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temp folder holding a copy of test/fixtures/tuned-configs under `<tmp>/tuned-configs`. */
export function tempWithFixtures(prefix = 'tritune-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(FIXTURES, 'tuned-configs'), join(dir, 'tuned-configs'), { recursive: true });
  return dir;
}

/** Every file under `dir` with its bytes, to prove that nothing changed. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

export const W8A8_NAME = 'N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8';
export const W8A8_FILE = join('tuned-configs', 'w8a8-int8', `${W8A8_NAME}.json`);
export const W8A8_META = join('tuned-configs', 'w8a8-int8', `${W8A8_NAME}.meta.json`);
