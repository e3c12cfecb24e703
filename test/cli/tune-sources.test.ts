import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run-cli.js';
import { BASE_ARGS, runSync, workdir } from './tune-run.js';

/** A copy of kernels/ and schemas/ to edit, and the env that makes the CLI run its worker from that copy. */
function kernelsCopy(dir: string): { env: Record<string, string>; kernels: string } {
  const repo = join(dir, 'repo');
  cpSync(join(ROOT, 'kernels'), join(repo, 'kernels'), { recursive: true, filter: (p) => !p.includes('__pycache__') });
  cpSync(join(ROOT, 'schemas'), join(repo, 'schemas'), { recursive: true });
  return { env: { TRITUNE_KERNELS: join(repo, 'kernels') }, kernels: join(repo, 'kernels') };
}

/** The one journal of a run's state folder. */
function journalPath(dir: string): string {
  const [name, ...more] = readdirSync(join(dir, 'st', 'journals'));
  assert.ok(name && more.length === 0, 'one journal');
  return join(dir, 'st', 'journals', name, 'journal.ndjson');
}
const trials = (dir: string): number => readFileSync(journalPath(dir), 'utf8').split('\n').filter((l) => l.includes('"type":"trial"')).length;

test('after an edit to a kernels/ file the trials depend on, tune refuses to resume, names the file, and --no-resume starts afresh', () => {
  const dir = workdir('tune-sources-');
  const { env, kernels } = kernelsCopy(dir);
  const first = runSync(dir, [...BASE_ARGS, '--json'], env);
  assert.equal(first.code, 0, first.stderr);
  const again = runSync(dir, [...BASE_ARGS, '--json'], env);
  assert.equal(again.code, 0, again.stderr); // unchanged sources: the journal answers
  const header = JSON.parse(readFileSync(journalPath(dir), 'utf8').split('\n')[0]!);
  assert.match(header.fingerprint.sources, /^[0-9a-f]{64}$/);
  assert.ok('kernels/sim.py' in header.source_files, JSON.stringify(header.source_files));

  appendFileSync(join(kernels, 'sim.py'), '\n# an edit\n');
  const refused = runSync(dir, [...BASE_ARGS, '--json'], env);
  assert.equal(refused.code, 2, refused.stderr);
  const lines = refused.stderr.trim().split('\n');
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0]!, /sources changed: kernels\/sim\.py\b/);
  assert.match(lines[0]!, /--no-resume/);

  const fresh = runSync(dir, [...BASE_ARGS, '--json', '--no-resume'], env);
  assert.equal(fresh.code, 0, fresh.stderr);
  const done = JSON.parse(fresh.stdout.trim().split('\n').at(-1)!) as { event: string; trials: number };
  assert.equal(done.event, 'done');
  assert.ok(done.trials > 0 && done.trials === trials(dir), `every trial of the new journal was measured afresh (${done.trials} vs ${trials(dir)})`);
  const newHeader = JSON.parse(readFileSync(journalPath(dir), 'utf8').split('\n')[0]!);
  assert.notEqual(newHeader.fingerprint.sources, header.fingerprint.sources);
});

test('an edit to a file the family does not depend on keeps the journal', () => {
  const dir = workdir('tune-sources-');
  const { env, kernels } = kernelsCopy(dir);
  assert.equal(runSync(dir, BASE_ARGS, env).code, 0);
  appendFileSync(join(kernels, 'moe_w4a16.py'), '\n# not used by the sim backend\n');
  const again = runSync(dir, BASE_ARGS, env);
  assert.equal(again.code, 0, again.stderr);
});

test('--no-resume reads the incumbents afresh: a second run sees the files the first one wrote', () => {
  const dir = workdir('tune-noresume-');
  assert.equal(runSync(dir, BASE_ARGS).code, 0);
  const again = runSync(dir, [...BASE_ARGS, '--no-resume']);
  assert.equal(again.code, 0, again.stderr);
  const folder = join(dir, 'out', 'w8a8-int8');
  const metas = readdirSync(folder).filter((f) => f.endsWith('.meta.json'));
  assert.equal(metas.length, 2);
  for (const f of metas) {
    const decisions = Object.values(JSON.parse(readFileSync(join(folder, f), 'utf8')).entries as Record<string, { decision: string }>).map((e) => e.decision);
    assert.ok(decisions.length > 0 && !decisions.includes('new'), `${f}: ${decisions.join(',')}`);
  }
  assert.equal(readdirSync(join(dir, 'st', 'journals', readdirSync(join(dir, 'st', 'journals'))[0]!)).filter((f) => f.startsWith('incumbents.')).length, 2);
});
