import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../cli/run-cli.js';
import { ReplayJournal } from '../../src/search/replay.js';
import { scoreStrategy } from '../../src/search/proof.js';
import { journalShape } from '../../src/search/journal-shape.js';
import { kernelFamily } from '../../src/families/index.js';

/**
 * scripts/journal-plan.ts and scripts/record_journal.py end to end on the sim backend (kernels/worker.py for real,
 * its numbers simulated): the plan carries each shape's problem fields, the journal names them in its header, the
 * replay rebuilds the shapes from it (a MoE key leaves out top_k and gemm), and a deadline leaves whole shapes.
 */
const python = process.env.TRITUNE_PYTHON || 'python3';
const dir = mkdtempSync(join(tmpdir(), 'tritune-record-'));

function plan(name: string, args: string[]): { family: string; shapes: Array<{ key: string; problem: Record<string, unknown>; requests: unknown[] }> } {
  const out = join(dir, `${name}.json`);
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'scripts', 'journal-plan.js'), ...args, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8'));
}

function record(planName: string, out: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(python, [join(ROOT, 'scripts', 'record_journal.py'), join(dir, `${planName}.json`), join(dir, out), '--backend', 'sim', '--compile-workers', '1', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test('a MoE plan forwards the family problem fields, and the replay of its journal uses them', () => {
  const p = plan('moe', ['--kernel', 'moe-w4a16', '--ms', '1,16,128,1024', '--shapes', '128x768x2048:8,128x384x2048:8']);
  assert.deepEqual(
    p.shapes.map((s) => [s.key, s.problem]),
    [
      ['E=128,N=768,K=2048,group_size=128', { N: 768, K: 2048, E: 128, top_k: 8, gemm: 'layer', group_size: 128 }],
      ['E=128,N=384,K=2048,group_size=128', { N: 384, K: 2048, E: 128, top_k: 8, gemm: 'layer', group_size: 128 }],
    ],
  );
  const r = record('moe', 'moe.jsonl.gz', ['--deadline-s', '120']);
  assert.equal(r.status, 0, r.stderr);
  const j = ReplayJournal.load(join(dir, 'moe.jsonl.gz'));
  assert.deepEqual(j.header?.shapes?.['E=128,N=768,K=2048,group_size=128'], p.shapes[0]!.problem);
  assert.deepEqual(journalShape(j, 'moe-w4a16', 'E=128,N=384,K=2048,group_size=128'), { N: 384, K: 2048, E: 128, top_k: 8, gemm: 'layer', group_size: 128 });
  const score = scoreStrategy(j, 'moe-w4a16', 'default', 'best-first', [0]);
  assert.equal(score.missing, 0);
  assert.equal(score.entries.length, 2 * 4);
  // the seeds are the MoE defaults by pairs per expert M*top_k/E (64 at M=1024; read with top_k 1 it would be 8),
  // recorded at every M
  const seed = kernelFamily('moe-w4a16').defaultConfig({ ...journalShape(j, 'moe-w4a16', p.shapes[0]!.key), M: 1024 });
  assert.deepEqual(seed, { BLOCK_SIZE_M: 32, BLOCK_SIZE_N: 128, BLOCK_SIZE_K: 64, GROUP_SIZE_M: 16, num_warps: 4, num_stages: 4, TMA: 0 });
  assert.ok(j.trial(p.shapes[0]!.key, seed, 1, 'full'), 'the M=1024 seed is recorded at M=1 too');
});

test('a W4A16 plan from a model preset records and replays; a W8A8 plan keeps its N,K problems', () => {
  const p = plan('w4a16', ['--kernel', 'w4a16', '--ms', '1,128', '--model', 'qwen3-4b', '--group-size', '64']);
  assert.deepEqual(p.shapes[0]!.problem, { N: 6144, K: 2560, group_size: 64 });
  const r = record('w4a16', 'w4a16.jsonl', ['--deadline-s', '120', '--shape', 'N=2560,K=4096,group_size=64']);
  assert.equal(r.status, 0, r.stderr);
  const j = ReplayJournal.load(join(dir, 'w4a16.jsonl'));
  assert.deepEqual(j.shapes(), ['N=2560,K=4096,group_size=64']);
  assert.equal(scoreStrategy(j, 'w4a16', 'default', 'best-first', [0]).missing, 0);
  const w8 = plan('w8a8', ['--kernel', 'w8a8-int8', '--ms', '1', '--shapes', '6144x2560']);
  assert.deepEqual(w8.shapes[0]!.problem, { N: 6144, K: 2560 });
});

test('a deadline inside a shape leaves the shapes before it whole and that one out; no whole shape leaves no journal', () => {
  plan('slow', ['--kernel', 'moe-w4a16', '--ms', '1', '--shapes', '128x768x2048:8,128x384x2048:8']);
  // 96 configs at M=1 per shape at 75 ms each: about 7 s a shape, the deadline 12 s in (5 s of slack for the
  // workers' own start and work on a loaded machine; the second shape cannot end before about 14 s)
  const r = record('slow', 'slow.jsonl', ['--deadline-s', '12'], { TRITUNE_SIM_DELAY_MS: '75' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /E=128,N=384,K=2048,group_size=128 full: \d+\/96 pairs \(cut by the deadline: left out\)/);
  const j = ReplayJournal.load(join(dir, 'slow.jsonl'));
  assert.deepEqual(j.shapes(), ['E=128,N=768,K=2048,group_size=128']);
  assert.equal(scoreStrategy(j, 'moe-w4a16', 'default', 'best-first', [0]).missing, 0);
  const none = record('slow', 'none.jsonl', ['--deadline-s', '0']);
  assert.equal(none.status, 3, none.stderr);
  assert.equal(existsSync(join(dir, 'none.jsonl')), false);
});

test('a journal without header shapes replays W8A8 and W4A16 keys, and refuses a MoE key that lacks top_k', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const header = { type: 'header', journal_version: 1, fingerprint: { family: 'moe-w4a16', space: 'default', device: 'x', triton: null, worker_version: 't', backend: 'sim' }, command: 't', created: at } as const;
  const j = new ReplayJournal([header]);
  assert.throws(() => journalShape(j, 'moe-w4a16', 'E=128,N=768,K=2048,group_size=128'), /lacks top_k, gemm/);
  assert.deepEqual(journalShape(j, 'w4a16', 'N=6144,K=2560,group_size=128'), { N: 6144, K: 2560, group_size: 128 });
  assert.deepEqual(journalShape(j, 'w8a8-int8', 'N=6144,K=2560'), { N: 6144, K: 2560 });
  const wrong = new ReplayJournal([{ ...header, shapes: { 'E=128,N=768,K=2048,group_size=128': { N: 384, K: 2048, E: 128, top_k: 8, gemm: 'layer', group_size: 128 } } }]);
  assert.throws(() => journalShape(wrong, 'moe-w4a16', 'E=128,N=768,K=2048,group_size=128'), /give the key E=128,N=384/);
});
