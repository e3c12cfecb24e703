import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tune } from './run-cli.js';

const files = (stdout: string) => [...stdout.matchAll(/file: (\S+)/g)].map((m) => m[1]!.split('/').at(-1));

test('MoE plans one file per layer, named E={E},N={intermediate} as vLLM loads it (both GEMMs, one config)', () => {
  const qwen = tune(['--model', 'qwen3-30b-a3b', '--kernel', 'moe-w4a16', '--backend', 'sim', '--dry-run']);
  assert.equal(qwen.code, 0, qwen.stderr);
  assert.deepEqual(files(qwen.stdout), ['E=128,N=768,device_name=NVIDIA_SIM-H200,dtype=int4_w4a16.json']);
  assert.match(qwen.stdout, /moe-w4a16 E=128,N=768,K=2048,group_size=128 {2}\(experts\)/);
  const tp4 = tune(['--model', 'qwen3-30b-a3b', '--tp', '4', '--kernel', 'moe-w4a16', '--backend', 'sim', '--dry-run']);
  assert.deepEqual(files(tp4.stdout), ['E=128,N=192,device_name=NVIDIA_SIM-H200,dtype=int4_w4a16.json']);
  const mixtral = tune(['--model', 'mixtral-8x7b', '--kernel', 'moe-w4a16', '--backend', 'sim', '--dry-run']);
  assert.deepEqual(files(mixtral.stdout), ['E=8,N=14336,device_name=NVIDIA_SIM-H200,dtype=int4_w4a16.json']);
  const shapes = tune(['--shapes', '128x768x2048:8', '--kernel', 'moe-w4a16', '--backend', 'sim', '--dry-run']);
  assert.deepEqual(files(shapes.stdout), files(qwen.stdout), '--shapes ExNxK:topk is the layer');
});

test('a sim run tunes the layer end to end and writes its one file to .tritune/sim-out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tune-moe-'));
  const r = tune(['--model', 'qwen3-30b-a3b', '--kernel', 'moe-w4a16', '--backend', 'sim', '--batch-sizes', '1,16,256', '--json'], {
    cwd: dir,
    env: { SOURCE_DATE_EPOCH: '1700000000', TRITUNE_SIM_DELAY_MS: '0' },
  });
  assert.equal(r.code, 0, r.stderr);
  const out = join(dir, '.tritune', 'sim-out', 'moe-w4a16');
  const name = 'E=128,N=768,device_name=NVIDIA_SIM-H200,dtype=int4_w4a16';
  assert.deepEqual(readdirSync(out).sort(), [`${name}.json`, `${name}.meta.json`]);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as object), ['1', '16', '256']);
  // the layer's numbers count both GEMMs: 2 x M*top_k x (2I x hidden + hidden x I) flops
  const meta = JSON.parse(readFileSync(join(out, `${name}.meta.json`), 'utf8')) as { entries: Record<string, { flops: number }> };
  assert.equal(meta.entries['16']!.flops, 6 * 16 * 8 * 768 * 2048);
  const journals = join(dir, '.tritune', 'journals');
  const shapes = readdirSync(journals).flatMap((d) => [...readFileSync(join(journals, d, 'journal.ndjson'), 'utf8').matchAll(/"shape":"([^"]+)"/g)].map((m) => m[1]));
  assert.deepEqual([...new Set(shapes)], ['E=128,N=768,K=2048,group_size=128'], 'one unit of work per layer');
});
