import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { keyOrderProblems, parseMeta, parseTunedConfig, readTunedConfig } from '../../src/store/reader.js';
import { topLevelKeys } from '../../src/store/rawkeys.js';
import { formatTunedConfig } from '../../src/store/format.js';
import { FIXTURES, W8A8_FILE, W8A8_META } from '../cli/run-cli.js';
import { readFileSync } from 'node:fs';

const entry = '{"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 3, "SPLIT_K": 1}';

test('topLevelKeys sees the written order and duplicates that JSON.parse hides', () => {
  const text = `{"64": ${entry}, "8": {"a": "}\\"{", "b": [1, {"c": 2}]}, "8": 1, "x\\u0041": null}`;
  assert.deepEqual(Object.keys(JSON.parse(text)), ['8', '64', 'xA']);
  assert.deepEqual(topLevelKeys(text), ['64', '8', '8', 'xA']);
  assert.deepEqual(topLevelKeys(' {} '), []);
  assert.equal(topLevelKeys('[1]'), null);
});

test('keyOrderProblems names unsorted and duplicate M keys', () => {
  assert.deepEqual(keyOrderProblems(`{"1": 0, "2": 0, "16": 0}`), []);
  assert.deepEqual(keyOrderProblems(`{"1": 0, "16": 0, "2": 0}`), ['2: M keys are not sorted ascending (2 comes after 16)']);
  assert.deepEqual(keyOrderProblems(`{"1": 0, "2": 0, "2": 0}`), ['2: duplicate M key (each M may appear once)']);
});

test('parseTunedConfig accepts a good body and reports problems as path: message', () => {
  const ok = parseTunedConfig(`{"1": ${entry}, "16": ${entry}}`, 'w8a8-int8');
  assert.ok(ok.ok);
  const bad = parseTunedConfig(`{"1": ${entry.replace('"BLOCK_SIZE_N": 64', '"BLOCK_SIZE_N": 48')}}`, 'w8a8-int8');
  assert.deepEqual(bad, { ok: false, problems: ['1.BLOCK_SIZE_N: must be a power of two'] });
  const noSplit = parseTunedConfig(`{"1": ${entry.replace(', "SPLIT_K": 1', '')}}`, 'w8a8-int8');
  assert.ok(!noSplit.ok && /^1\.SPLIT_K: required, but missing/.test(noSplit.problems[0]!), JSON.stringify(noSplit));
  const json = parseTunedConfig(`{"1": `, 'w8a8-int8');
  assert.ok(!json.ok && json.problems[0]!.startsWith('(root): not valid JSON'));
  const empty = parseTunedConfig('{}', 'w8a8-int8');
  assert.ok(!empty.ok && empty.problems[0] === '(root): file has no entries');
});

test('the committed fixtures read back, and a sidecar parses', () => {
  const r = readTunedConfig(join(FIXTURES, W8A8_FILE));
  assert.ok(r.ok);
  assert.equal(r.value.family, 'w8a8-int8');
  assert.equal(Object.keys(r.value.entries).length, 18);
  const m = parseMeta(readFileSync(join(FIXTURES, W8A8_META), 'utf8'));
  assert.ok(m.ok && m.value.backend === 'cuda');
  const missing = readTunedConfig(join(FIXTURES, 'tuned-configs', 'N=1,K=1,device_name=X,dtype=int8_w8a8.json'));
  assert.ok(!missing.ok && /no such file/.test(missing.problems[0]!));
});

test("SGLang's SM90 keys: booleans and left out in files, 0 / 1 and always present in configs, written back the same", () => {
  const six = { BLOCK_SIZE_M: 16, BLOCK_SIZE_N: 64, BLOCK_SIZE_K: 128, GROUP_SIZE_M: 1, num_warps: 4, num_stages: 3 };
  const text = formatTunedConfig('sglang-w8a8-block', {
    '1': { ...six, SWAP_AB: 1, SPLIT_K: 8 },
    '8': { ...six, SWAP_AB: 0, SPLIT_K: 4 },
    '64': { ...six, SWAP_AB: 0, SPLIT_K: 1 },
  });
  assert.deepEqual(JSON.parse(text), { '1': { ...six, SWAP_AB: true, SPLIT_K: 8 }, '8': { ...six, SWAP_AB: false, SPLIT_K: 4 }, '64': six });
  const back = parseTunedConfig(text, 'sglang-w8a8-block');
  assert.ok(back.ok, JSON.stringify(back));
  assert.deepEqual(back.value['64'], { ...six, SWAP_AB: 0, SPLIT_K: 1 });
  assert.equal(formatTunedConfig('sglang-w8a8-block', back.value), text);
  // one key alone is SGLang's default for the other (config.get("SWAP_AB", False), config.get("SPLIT_K", 1))
  const alone = parseTunedConfig(`{"1": ${JSON.stringify({ ...six, SPLIT_K: 2 })}}`, 'sglang-w8a8-block');
  assert.ok(alone.ok);
  assert.deepEqual(alone.value['1'], { ...six, SWAP_AB: 0, SPLIT_K: 2 });
  // written, yet selecting the plain kernel, which has neither key: SGLang fails on it, so tritune refuses it
  const plain = parseTunedConfig(`{"1": ${JSON.stringify({ ...six, SWAP_AB: false, SPLIT_K: 1 })}}`, 'sglang-w8a8-block');
  assert.ok(!plain.ok && /^1: SWAP_AB and SPLIT_K as written here are what leaving them out means/.test(plain.problems[0]!), JSON.stringify(plain));
  const numeric = parseTunedConfig(`{"1": ${JSON.stringify({ ...six, SWAP_AB: 1, SPLIT_K: 2 })}}`, 'sglang-w8a8-block');
  assert.ok(!numeric.ok && /^1\.SWAP_AB: /.test(numeric.problems[0]!), JSON.stringify(numeric));
  // vLLM's block GEMM has no such keys
  assert.ok(!parseTunedConfig(`{"1": ${JSON.stringify({ ...six, SPLIT_K: 2 })}}`, 'vllm-w8a8-block').ok);
});
