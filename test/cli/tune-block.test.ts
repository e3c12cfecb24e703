import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runSync, workdir } from './tune-run.js';
import { tune } from './run-cli.js';

/** The block-quantized GEMM families on a simulated H200, so the servers' shipped H200 files exist under the names. */
const H200 = { TRITUNE_SIM_DEVICE: 'NVIDIA H200' };
const SIM = ['--backend', 'sim', '--batch-sizes', '1,64,4096', '--state', 'st', '--out', 'out'];
const VLLM_DIR = join('out', 'vllm', 'model_executor', 'layers', 'quantization', 'utils', 'configs');
const SGLANG_DIR = join('out', 'sglang', 'kernels', 'ops', 'gemm', 'configs');
const name = (N: number, K: number, space: boolean) => `N=${N},K=${K},device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=[128,${space ? ' ' : ''}128].json`;

test('block GEMM files go to each package folder, measured against the file the release ships', () => {
  const dir = workdir('tune-block-');
  // DeepSeek-V3's kv_b_proj at tp 8: both releases ship an H200 file for N=4096, K=512
  const run = runSync(dir, ['--shapes', '4096x512', '--quant', 'fp8_w8a8_block', '--kernel', 'vllm-w8a8-block', 'sglang-w8a8-block', ...SIM], H200);
  assert.equal(run.code, 0, run.stderr);
  for (const [file, version] of [[join(VLLM_DIR, name(4096, 512, false)), '0.33.0'], [join(SGLANG_DIR, name(4096, 512, true)), '0.5.23']] as const) {
    const meta = JSON.parse(readFileSync(join(dir, file.replace(/\.json$/, '.meta.json')), 'utf8'));
    assert.deepEqual(meta.shape, { N: 4096, K: 512, quant: 'fp8', block_n: 128, block_k: 128 });
    assert.equal(meta.server.version, version);
    for (const e of Object.values(meta.entries) as Array<{ decision: string; baselines: Record<string, number> }>) {
      assert.ok(e.baselines['shipped file']! > 0, `${file}: the shipped file's entry was timed`);
      assert.notEqual(e.decision, 'new', `${file}: decided against the shipped file`);
    }
    const six = ['BLOCK_SIZE_M', 'BLOCK_SIZE_N', 'BLOCK_SIZE_K', 'GROUP_SIZE_M', 'num_warps', 'num_stages'];
    const body = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, Record<string, number | boolean>>;
    for (const [M, e] of Object.entries(body)) {
      // SGLang's SM90 keys only where they select its SM90 kernel (src/schema/formats.ts optionalKeys); vLLM has none
      const sm90 = version === '0.5.23' && 'SWAP_AB' in e;
      assert.deepEqual(Object.keys(e), sm90 ? [...six, 'SWAP_AB', 'SPLIT_K'] : six, `${file} M=${M}`);
      if (sm90) assert.ok(e.SWAP_AB === true || (e.SPLIT_K as number) > 1, `${file} M=${M}: ${JSON.stringify(e)}`);
    }
  }
  const show = tune(['show', join(SGLANG_DIR, name(4096, 512, true)), '--m', '3', '--json'], { cwd: dir });
  assert.equal(show.code, 0, show.stderr);
  assert.equal(JSON.parse(show.stdout).family, 'sglang-w8a8-block');
  const ok = tune(['validate', 'out', '--json'], { cwd: dir });
  assert.match(ok.stdout + ok.stderr, /sim backend/); // simulated results are refused as tuned configs, nothing else
});

test('--dry-run prints, per layer of a block-fp8 checkpoint, the file each server loads; vLLM has no block int8', () => {
  const dir = workdir('tune-block-');
  const run = runSync(dir, ['--model', 'qwen3-8b-fp8', '--kernel', 'vllm-w8a8-block', 'sglang-w8a8-block', ...SIM, '--dry-run'], H200);
  assert.equal(run.code, 0, run.stderr);
  for (const [N, K] of [[6144, 4096], [4096, 4096], [24576, 4096], [4096, 12288]] as const) {
    assert.ok(run.stdout.includes(join(VLLM_DIR, name(N, K, false)).slice('out/'.length)), `vLLM ${N}x${K}`);
    assert.ok(run.stdout.includes(join(SGLANG_DIR, name(N, K, true)).slice('out/'.length)), `SGLang ${N}x${K}`);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['space.json'], 'a dry run writes nothing');
  const int8 = runSync(dir, ['--shapes', '4096x4096', '--quant', 'int8_w8a8', '--kernel', 'vllm-w8a8-block', ...SIM, '--dry-run'], H200);
  assert.equal(int8.code, 2);
  assert.match(int8.stderr.trim(), /^tune: .* has no block-quantized fp8 linear \(.*\) layers for --kernel vllm-w8a8-block/);
  const bf16 = runSync(dir, ['--model', 'qwen3-8b', '--kernel', 'sglang-w8a8-block', ...SIM, '--dry-run'], H200);
  assert.equal(bf16.code, 2, 'a bf16 checkpoint has no block-quantized layers unless --quant says so');
});

test('tune models lists the block GEMM files of DeepSeek-V3 at tp 8 under the names vLLM ships for them', () => {
  const out = tune(['models', 'deepseek-v3', '--tp', '8']);
  assert.equal(out.code, 0, out.stderr);
  // vLLM 0.33.0 ships H200 files for exactly these eight shapes (its DeepSeek-V3 tuning at tp 8)
  for (const [N, K] of [[2112, 7168], [3072, 1536], [4096, 512], [7168, 2048], [4608, 7168], [7168, 2304], [512, 7168], [7168, 256]] as const) {
    assert.match(out.stdout, new RegExp(`vllm-w8a8-block +│ vllm/model_executor/layers/quantization/utils/configs +│ ${name(N, K, false).replace(/[[\]]/g, '\\$&')}`));
    assert.match(out.stdout, new RegExp(`sglang-w8a8-block +│ sglang/kernels/ops/gemm/configs +│ ${name(N, K, true).replace(/[[\]]/g, '\\$&')}`));
  }
  assert.match(out.stdout, /vllm-w8a8-block: copy <out>\/vllm\/model_executor\/layers\/quantization\/utils\/configs\/\*\.json into the installed package's/);
  assert.match(out.stdout, /experts +│ vllm-moe +│ vllm +│ E=256,N=256,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=\[128,128\]\.json/);
});
