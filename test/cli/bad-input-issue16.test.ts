import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, snapshot, tempWithFixtures, tune, W8A8_FILE, W8A8_META, W8A8_NAME } from './run-cli.js';

/**
 * Inputs a tester found accepted when they were wrong, or answered with an internal error, and more of the same
 * kind: each through the real CLI, one line on stderr (`tune: ...`) naming the file or option, exit 2 (1 for
 * validate's findings), no stack trace, no raw control bytes, and the good files beside it byte-identical.
 */
function expectRejected(dir: string, args: string[], code: number, message: RegExp): string {
  const before = snapshot(join(dir, 'tuned-configs'));
  const r = tune(args, { cwd: dir });
  const all = r.stdout + r.stderr;
  assert.equal(r.code, code, `exit code for ${args.join(' ')}\n${all}`);
  assert.doesNotMatch(all, /\n\s+at .+:\d+:\d+|internal error/);
  assert.doesNotMatch(all, /\u001b/, 'no raw escape sequence reaches the terminal');
  if (code === 2) assert.match(r.stderr, /^tune: [^\n]*\n$/, `one line on stderr: ${r.stderr}`);
  assert.match(all, message);
  assert.deepEqual(snapshot(join(dir, 'tuned-configs')), before, 'good files unchanged');
  return all;
}

const SIM = ['--backend', 'sim', '--kernel', 'w8a8-int8', '--batch-sizes', '1', '--state', 'st', '--out', 'sim-out'];
const goodText = readFileSync(join(FIXTURES, W8A8_FILE), 'utf8');

test('a "__proto__" key in a tuned-config file or a sidecar is a finding, not ok', () => {
  const dir = tempWithFixtures();
  writeFileSync(join(dir, W8A8_FILE), goodText.replace('{\n', '{\n    "__proto__": {"BLOCK_SIZE_M": 16},\n'));
  expectRejected(dir, ['validate', W8A8_FILE], 1, /error: __proto__: not a valid key \(M must be a positive decimal integer\)/);
  expectRejected(dir, ['show', W8A8_FILE, '--m', '1'], 2, /^tune: tuned-configs\/w8a8-int8\/N=6144.*\.json: __proto__: not a valid key/);
  const other = tempWithFixtures();
  const meta = readFileSync(join(FIXTURES, W8A8_META), 'utf8');
  writeFileSync(join(other, W8A8_META), meta.replace('"entries": {\n', '"entries": {\n        "__proto__": {},\n'));
  expectRejected(other, ['validate', W8A8_FILE], 1, /sidecar entries\.__proto__: not a valid key/);
});

test('tune options the tester found accepted: --gpus \'\', --batch-sizes 1e12, a MoE top_k > E, a shape above 2^53, --kernel \'\'', () => {
  const dir = tempWithFixtures();
  expectRejected(dir, ['--shapes', '64x64', ...SIM, '--gpus', ''], 2, /^tune: --gpus is empty; give 'all' or a comma-separated list/);
  expectRejected(dir, ['--shapes', '64x64', ...SIM.slice(0, 4), '--batch-sizes', '1000000000000'], 2, /^tune: --batch-sizes: M = 1000000000000 is beyond 1048576 \(2\^20\)/);
  expectRejected(dir, ['--shapes', '64x64', ...SIM.slice(0, 4), '--batch-sizes', '99999999999999999999'], 2, /^tune: --batch-sizes: 99999999999999999999 is too large/);
  expectRejected(dir, ['--shapes', '8x64x64:16', ...SIM, '--kernel', 'moe-w4a16'], 2, /^tune: --shapes: 8x64x64:16: top_k = 16 routes each token to more experts than the layer has \(E = 8\)/);
  expectRejected(dir, ['--shapes', '99999999999999999999x2560', ...SIM], 2, /^tune: --shapes: 99999999999999999999x2560: N = 100000000000000000000 is beyond 1048576/);
  expectRejected(dir, ['--shapes', '64x2000000', ...SIM], 2, /K = 2000000 is beyond 1048576/);
  expectRejected(dir, ['--shapes', '64x64', ...SIM.slice(0, 2), ...SIM.slice(4), '--kernel', ''], 2, /^tune: --kernel needs at least one family/);
  expectRejected(dir, ['--shapes', '64x64', ...SIM, '--budget', '99999999999999999999'], 2, /^tune: --budget: 99999999999999999999 is too large/);
  expectRejected(dir, ['--shapes', '64x64', ...SIM, '--timeout', 'Infinity'], 2, /^tune: --timeout must be a positive number/);
  expectRejected(dir, ['--shapes', '128x64x64', ...SIM], 2, /^tune: --shapes: "128x64x64" is not NxK .* or ExNxK:topk/);
  assert.ok(!existsSync(join(dir, 'st')) && !existsSync(join(dir, 'sim-out')), 'nothing was started or written');
});

test('model files: top_k > E in a model-shapes file or a config.json; a MoE config.json without its expert count', () => {
  const dir = tempWithFixtures();
  const shapes = { model: 'm', tp: 1, dense: [], moe: [{ name: 'experts', E: 4, N: 64, K: 64, top_k: 8, gemm: 'layer' }] };
  writeFileSync(join(dir, 'shapes.json'), JSON.stringify(shapes));
  expectRejected(dir, ['--model', 'shapes.json', ...SIM, '--kernel', 'moe-w4a16'], 2, /^tune: shapes\.json: experts: top_k = 8 routes each token to more experts than the layer has \(E = 4\)/);
  const mixtral = JSON.parse(readFileSync(join(FIXTURES, 'hf', 'mixtral-8x7b.config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'topk.json'), JSON.stringify({ ...mixtral, num_experts_per_tok: 9 }));
  expectRejected(dir, ['models', 'topk.json'], 2, /^tune: topk\.json: experts\.gate_up: top_k = 9 routes each token to more experts than the layer has \(E = 8\)/);
  const { num_local_experts: _, ...noExperts } = mixtral;
  writeFileSync(join(dir, 'moe.json'), JSON.stringify(noExperts));
  expectRejected(dir, ['models', 'moe.json'], 2, /^tune: moe: config\.json has num_experts_per_tok \(a mixture-of-experts field\) but neither num_experts, num_local_experts nor n_routed_experts/);
  writeFileSync(join(dir, 'huge.json'), JSON.stringify({ ...mixtral, hidden_size: 2 ** 24 }));
  expectRejected(dir, ['models', 'huge.json'], 2, /^tune: huge\.json: qkv_proj: N = 25165824 is beyond 1048576/);
});

test('tune merge refuses an input whose sidecar names another device than its file, and writes nothing', () => {
  const dir = tempWithFixtures();
  const out = join(dir, 'merged');
  cpSync(join(dir, 'tuned-configs'), out, { recursive: true });
  const shard = join(dir, 'shard', 'w8a8-int8');
  mkdirSync(shard, { recursive: true });
  writeFileSync(join(shard, `${W8A8_NAME}.json`), goodText);
  const meta = JSON.parse(readFileSync(join(FIXTURES, W8A8_META), 'utf8')) as { device: { name: string } };
  meta.device.name = 'NVIDIA A100-SXM4-80GB';
  writeFileSync(join(shard, `${W8A8_NAME}.meta.json`), JSON.stringify(meta, null, 4) + '\n');
  const before = snapshot(out);
  expectRejected(dir, ['merge', 'shard', '--out', 'merged'], 2, /^tune: cannot merge shard\/w8a8-int8\/N=6144.*\.json: sidecar: its family, shape and device\.name make the file name N=6144,K=2560,device_name=NVIDIA_A100-SXM4-80GB,dtype=int8_w8a8\.json, not/);
  assert.deepEqual(snapshot(out), before, 'the good output files are untouched');
  writeFileSync(join(dir, 'afile'), '');
  expectRejected(dir, ['merge', 'tuned-configs', '--out', 'afile'], 2, /^tune: --out afile is a file, not a folder/);
});

test('show of a folder, and a FIFO named like a tuned-config file, are named as such (and nothing hangs)', () => {
  const dir = tempWithFixtures();
  expectRejected(dir, ['show', 'tuned-configs/w8a8-int8', '--m', '1'], 2, /^tune: tuned-configs\/w8a8-int8 is a folder; give one tuned-config file in it/);
  // not under tuned-configs/: the good-files snapshot would block reading it
  const fifo = join('pipes', 'w8a8-int8', `${W8A8_NAME.replace('N=6144', 'N=64')}.json`);
  mkdirSync(join(dir, 'pipes', 'w8a8-int8'), { recursive: true });
  assert.equal(spawnSync('mkfifo', [join(dir, fifo)]).status, 0);
  expectRejected(dir, ['validate', 'pipes'], 1, /FAIL .*N=64,K=2560.*\n {2}error: \(file\): not a regular file \(a folder, FIFO or device\)/);
  expectRejected(dir, ['show', fifo, '--m', '1'], 2, /^tune: .*N=64,K=2560.*: \(file\): not a regular file/);
});

test('escape sequences in a bad file or a config.json are shown escaped, never sent to the terminal', () => {
  const dir = tempWithFixtures();
  const bad = join('tuned-configs', 'w8a8-int8', `${W8A8_NAME.replace('N=6144', 'N=64')}.json`);
  writeFileSync(join(dir, bad), '{"1": \u001b[2J\u001b]0;owned\u0007}');
  expectRejected(dir, ['show', bad, '--m', '1'], 2, /not valid JSON \(Unexpected token '\\u001b', .*\\u001b\[2J\\u001b\]0;ow/);
  expectRejected(dir, ['validate', bad], 1, /not valid JSON \(Unexpected token '\\u001b'/);
  writeFileSync(join(dir, bad), '{"1": {"\\u001b[2JBLOCK_SIZE_M": 16}}'); // valid JSON whose key holds an escape once parsed
  expectRejected(dir, ['validate', bad], 1, /1: Unrecognized keys?: "\\u001b\[2JBLOCK_SIZE_M"/);
  writeFileSync(join(dir, 'config.json'), '{"hidden_size": 4096, "\u001b[2J": }');
  expectRejected(dir, ['models', 'config.json'], 2, /^tune: config\.json: not valid JSON/);
  writeFileSync(join(dir, 'binary.json'), Buffer.from([0x7b, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x00]));
  expectRejected(dir, ['models', 'binary.json'], 2, /^tune: binary\.json: not valid JSON/);
});

test('an M key above 2^20 in a tuned-config file or its sidecar is a finding naming the file, as --batch-sizes refuses it', () => {
  const dir = tempWithFixtures();
  const withKey = (text: string, M: string, after: string) => text.replace(/\n\}\n$/, `,\n    "${M}": ${after}\n}\n`);
  const entry = JSON.stringify(Object.values(JSON.parse(goodText) as Record<string, unknown>)[0]);
  writeFileSync(join(dir, W8A8_FILE), withKey(goodText, '1048577', entry));
  expectRejected(dir, ['validate', W8A8_FILE], 1, /FAIL tuned-configs\/w8a8-int8\/N=6144,K=2560[^\n]*\.json\n {2}error: 1048577: M is beyond 1048576 \(2\^20\)/);
  expectRejected(dir, ['validate', 'tuned-configs'], 1, /FAIL tuned-configs\/w8a8-int8\/N=6144,K=2560[^\n]*\n {2}error: 1048577: M is beyond 1048576/);
  expectRejected(dir, ['show', W8A8_FILE, '--m', '1'], 2, /^tune: tuned-configs\/w8a8-int8\/N=6144,K=2560[^\n]*\.json: 1048577: M is beyond 1048576 \(2\^20\)/);
  // 2^20 itself is a valid key (the sidecar lacking its measurement is a warning only)
  writeFileSync(join(dir, W8A8_FILE), withKey(goodText, '1048576', entry));
  const edge = tune(['validate', W8A8_FILE], { cwd: dir });
  assert.equal(edge.code, 0, edge.stdout + edge.stderr);
  writeFileSync(join(dir, W8A8_FILE), goodText);
  const meta = readFileSync(join(FIXTURES, W8A8_META), 'utf8');
  writeFileSync(join(dir, W8A8_META), meta.replace('"entries": {\n', '"entries": {\n        "2000000": {},\n'));
  expectRejected(dir, ['validate', W8A8_FILE], 1, /FAIL tuned-configs\/w8a8-int8\/N=6144[^\n]*\n[^]*sidecar entries\.2000000: M is beyond 1048576/);
});
