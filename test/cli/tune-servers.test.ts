import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runSync, workdir } from './tune-run.js';
import { tune } from './run-cli.js';
import { defaultPython } from '../../src/runner/worker.js';

/** Qwen3-30B-A3B's MoE layer on a simulated H200 (so the servers' shipped H200 files exist under the names). */
const LAYER = ['--shapes', '128x768x2048:8', '--backend', 'sim', '--batch-sizes', '1,64,4096', '--state', 'st', '--out', 'out'];
const H200 = { TRITUNE_SIM_DEVICE: 'NVIDIA H200' };
const VLLM_FILE = join('out', 'vllm', 'E=128,N=768,device_name=NVIDIA_H200.json');
const SGLANG_FILE = join('out', 'sglang', 'configs', 'triton_3_6_0', 'E=128,N=768,device_name=NVIDIA_H200.json');

test('server families: files in each server layout, measured against the file the release ships (hysteresis, baseline)', () => {
  const dir = workdir('tune-servers-');
  const run = runSync(dir, [...LAYER, '--kernel', 'vllm-moe', 'sglang-moe'], H200);
  assert.equal(run.code, 0, run.stderr);
  for (const file of [VLLM_FILE, SGLANG_FILE]) {
    const meta = JSON.parse(readFileSync(join(dir, file.replace(/\.json$/, '.meta.json')), 'utf8'));
    assert.deepEqual(Object.keys(meta.entries), ['1', '64', '4096']);
    for (const e of Object.values(meta.entries) as Array<{ decision: string; baselines: Record<string, number> }>) {
      assert.ok(e.baselines['shipped file']! > 0, `${file}: the shipped file's entry was timed`);
      assert.notEqual(e.decision, 'new', `${file}: decided against the shipped file`);
    }
    assert.equal(meta.server.version, file === VLLM_FILE ? '0.33.0' : '0.5.23');
    const body = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    assert.equal('SPLIT_K' in body['1'], file === VLLM_FILE, 'vLLM files carry SPLIT_K, SGLang files do not');
  }
  const ok = tune(['validate', 'out', '--json'], { cwd: dir });
  assert.match(ok.stdout + ok.stderr, /sim backend/); // simulated results are refused as tuned configs, nothing else
});

test('SGLang without a file for its Triton: the shipped file it falls back to (newest other triton_* folder) is the incumbent', () => {
  // SGLang 0.5.23 ships this fp8 layer only under configs/triton_3_2_0/; get_moe_configs on Triton 3.6 loads that one
  const dir = workdir('tune-servers-');
  const run = runSync(dir, [...LAYER, '--kernel', 'sglang-moe', '--quant', 'fp8_w8a8_block'], H200);
  assert.equal(run.code, 0, run.stderr);
  const name = 'E=128,N=768,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=[128, 128]';
  const meta = JSON.parse(readFileSync(join(dir, 'out', 'sglang', 'configs', 'triton_3_6_0', `${name}.meta.json`), 'utf8'));
  for (const e of Object.values(meta.entries) as Array<{ decision: string; baselines: Record<string, number> }>) {
    assert.ok(e.baselines['shipped file']! > 0, "the triton_3_2_0 file's entry was timed");
    assert.notEqual(e.decision, 'new', 'decided against the shipped file');
  }
});

test('--dry-run prints the file each server loads; --quant names the quantization, bad --quant is one line', () => {
  const dir = workdir('tune-servers-');
  const run = runSync(dir, [...LAYER, '--kernel', 'vllm-moe', 'sglang-moe', '--quant', 'int4_w4a16', '--dry-run'], H200);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /vllm\/E=128,N=768,device_name=NVIDIA_H200,dtype=int4_w4a16\.json/);
  assert.match(run.stdout, /sglang\/configs\/triton_3_6_0\/E=128,N=384,device_name=NVIDIA_H200,dtype=int4_w4a16\.json/);
  assert.deepEqual(readdirSync(dir).sort(), ['space.json'], 'a dry run writes nothing');
  const bad = runSync(dir, [...LAYER, '--kernel', 'vllm-moe', '--quant', 'fp4'], H200);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /^tune: --quant must be one of bf16, .*; got "fp4"$/);
});

test('tune models lists, per MoE layer, the folder and file each server loads', () => {
  const out = tune(['models', 'qwen3-30b-a3b', '--quant', 'fp8_w8a8_block', '--device', 'NVIDIA H200 NVL']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /vllm-moe +│ vllm +│ E=128,N=768,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=\[128,128\]\.json/);
  assert.match(out.stdout, /sglang-moe +│ sglang\/configs\/triton_3_6_0 +│ E=128,N=768,device_name=NVIDIA_H200_NVL,dtype=fp8_w8a8,block_shape=\[128, 128\]\.json/);
});

test('validate, show, merge and diff read the server layouts: the folder tells vLLM and SGLang files apart', () => {
  const dir = workdir('tune-servers-');
  assert.equal(runSync(dir, [...LAYER, '--kernel', 'vllm-moe', 'sglang-moe'], H200).code, 0);
  const show = tune(['show', SGLANG_FILE, '--m', '3', '--json'], { cwd: dir });
  assert.equal(show.code, 0, show.stderr);
  assert.equal(JSON.parse(show.stdout).family, 'sglang-moe'); // the same name in vllm/ is a vllm-moe file
  assert.equal(JSON.parse(tune(['show', VLLM_FILE, '--m', '3', '--json'], { cwd: dir }).stdout).family, 'vllm-moe');
  const merged = tune(['merge', 'out', '--out', 'merged'], { cwd: dir });
  assert.equal(merged.code, 0, merged.stderr);
  for (const f of [VLLM_FILE, SGLANG_FILE]) assert.equal(readFileSync(join(dir, f.replace(/^out/, 'merged')), 'utf8'), readFileSync(join(dir, f), 'utf8'));
  const diff = tune(['diff', 'out', 'merged'], { cwd: dir });
  assert.equal(diff.code, 0, diff.stderr);
  assert.match(diff.stdout, /0 changed, 0 added, 0 removed, 2 unchanged/);
  const report = tune(['validate', 'merged'], { cwd: dir });
  assert.equal(report.code, 1); // simulated numbers are refused, and nothing else
  assert.equal(report.stdout.match(/error: /g)?.length, 2, report.stdout);
  assert.match(report.stdout, /error: sidecar: results come from the sim backend/);
});

test("SGLang's folder needs the Triton version: a worker Python without triton is one line and exit 2, not an internal error", () => {
  const dir = workdir('tune-servers-');
  const venv = join(dir, 'no-triton');
  execFileSync(defaultPython(), ['-m', 'venv', '--without-pip', venv]); // a Python with nothing installed
  const python = join(venv, 'bin', 'python3');
  for (const extra of [[], ['--dry-run']]) {
    const run = runSync(dir, [...LAYER, '--kernel', 'sglang-moe', ...extra], { ...H200, TRITUNE_PYTHON: python });
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(run.stderr, `tune: sglang-moe: its files go in a folder named after the Triton version, and the worker's Python (${python}) has no triton: install triton there or set TRITUNE_PYTHON to a Python that has it\n`);
  }
  assert.equal(runSync(dir, [...LAYER, '--kernel', 'vllm-moe', '--dry-run'], { ...H200, TRITUNE_PYTHON: python }).code, 0, "vLLM's layout does not need it");
});
