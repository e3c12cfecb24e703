import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, snapshot, tempWithFixtures, tune, W8A8_FILE, W8A8_META, W8A8_NAME } from './run-cli.js';

/**
 * Malformed inputs, each through the real CLI: a non-zero exit, a one-line message without a stack
 * trace, and the good files beside the bad one byte-identical afterwards.
 */
const good = JSON.parse(readFileSync(join(FIXTURES, W8A8_FILE), 'utf8')) as Record<string, Record<string, unknown>>;
const entry = JSON.stringify(good['1']);
const BAD_NAME = W8A8_NAME.replace('N=6144', 'N=1024');
/** Each malformed body gets its own valid name (N=1000+i) beside the good fixtures. */
const badFile = (i: number) => join('tuned-configs', 'w8a8-int8', `${W8A8_NAME.replace('N=6144', `N=${1000 + i}`)}.json`);

/** Malformed tuned-config bodies: what is wrong, the text, the `path: message` expected. */
const bodies: Array<[string, string, RegExp]> = [
  ['unparseable JSON', `{"1": ${entry},`, /\(root\): not valid JSON/],
  ['not an object', `[${entry}]`, /\(root\): Invalid input: expected record, received array/],
  ['no entries', `{}`, /\(root\): file has no entries/],
  ['wrong type (string block size)', `{"1": ${entry.replace('"BLOCK_SIZE_M":16', '"BLOCK_SIZE_M":"16"')}}`, /1\.BLOCK_SIZE_M: Invalid input: expected number, received string/],
  ['zero M', `{"0": ${entry}}`, /0: M must be a positive decimal integer/],
  ['negative M', `{"-8": ${entry}}`, /-8: M must be a positive decimal integer/],
  ['fractional M', `{"1.5": ${entry}}`, /1\.5: M must be a positive decimal integer/],
  ['leading-zero M', `{"016": ${entry}}`, /016: M must be a positive decimal integer/],
  ['unsorted M keys', `{"16": ${entry}, "2": ${entry}}`, /2: M keys are not sorted ascending \(2 comes after 16\)/],
  ['duplicate M keys', `{"2": ${entry}, "2": ${entry}}`, /2: duplicate M key/],
  ['non-power-of-two block', `{"1": ${entry.replace('"BLOCK_SIZE_N":64', '"BLOCK_SIZE_N":96')}}`, /1\.BLOCK_SIZE_N: must be a power of two/],
  ['block too large', `{"1": ${entry.replace('"BLOCK_SIZE_M":16', '"BLOCK_SIZE_M":1024')}}`, /1\.BLOCK_SIZE_M: Too big/],
  ['missing key', `{"1": ${entry.replace(/,"SPLIT_K":\d+/, '')}}`, /1\.SPLIT_K: required, but missing/],
  ['unknown key', `{"1": ${entry.replace('}', ',"BLOCK_SIZE_Q":16}')}}`, /1: Unrecognized key: "BLOCK_SIZE_Q"/],
  ['fractional num_stages', `{"1": ${entry.replace('"num_stages":4', '"num_stages":2.5')}}`, /1\.num_stages: Invalid input: expected int/],
];

/** Runs a case: asserts exit code, a single-line stderr with no stack frames, and untouched good files. */
function expectRejected(dir: string, args: string[], code: number, message: RegExp, env: NodeJS.ProcessEnv = {}) {
  const before = snapshot(join(dir, 'tuned-configs'));
  const r = tune(args, { cwd: dir, env });
  const all = r.stdout + r.stderr;
  assert.equal(r.code, code, `exit code for ${args.join(' ')}\n${all}`);
  assert.doesNotMatch(all, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.doesNotMatch(all, /internal error/);
  if (code === 2) {
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line on stderr: ${r.stderr}`);
    assert.match(r.stderr, /^tune: /);
  }
  assert.match(all, message);
  assert.deepEqual(snapshot(join(dir, 'tuned-configs')), before, 'good files unchanged');
}

test(`${bodies.length} malformed tuned-config files: validate fails exactly those (exit 1), naming path: message`, () => {
  const dir = tempWithFixtures('tritune-bad-');
  const goodBytes = snapshot(join(dir, 'tuned-configs'));
  bodies.forEach(([, body], i) => writeFileSync(join(dir, badFile(i)), body));
  const v = tune(['validate', '--json'], { cwd: dir });
  assert.equal(v.code, 1, v.stdout + v.stderr);
  assert.equal(v.stderr, '');
  const reports = JSON.parse(v.stdout) as Array<{ path: string; findings: string[] }>;
  bodies.forEach(([what, , message], i) => {
    const r = reports.find((x) => x.path === badFile(i));
    assert.ok(r, what);
    assert.match(r.findings.join(' | '), message, what);
  });
  assert.equal(reports.filter((x) => x.findings.length === 0).length, 3, 'the good files pass');
  for (const [rel, text] of goodBytes) assert.equal(readFileSync(join(dir, 'tuned-configs', rel), 'utf8'), text);
});

bodies.forEach(([what, body, message], i) => {
  test(`malformed file (${what}): show exits 2 with one line`, () => {
    const dir = tempWithFixtures('tritune-bad-');
    writeFileSync(join(dir, badFile(i)), body);
    expectRejected(dir, ['show', badFile(i), '--m', '1'], 2, message);
  });
});

test('bad input: unknown kernel family, unknown name, sim sidecar, broken sidecar', () => {
  const dir = tempWithFixtures('tritune-bad-');
  expectRejected(dir, ['show', W8A8_FILE, '--m', '1', '--family', 'w3a7'], 2, /unknown kernel family "w3a7"; known: w8a8-int8, w8a8-fp8, w4a16, moe-w4a16/);
  const odd = join('tuned-configs', 'w8a8-int8', 'N=6144,K=2560,device_name=X,dtype=bf16.json');
  writeFileSync(join(dir, odd), readFileSync(join(dir, W8A8_FILE)));
  expectRejected(dir, ['show', odd, '--m', '1'], 2, /cannot tell the kernel family from the file name; pass --family/);
  expectRejected(dir, ['validate', odd], 1, /name: not a tuned-config file name/);
  const meta = join(dir, W8A8_META);
  writeFileSync(meta, '{"schema_version": 1,');
  expectRejected(dir, ['validate', W8A8_FILE], 1, /sidecar \(root\): not valid JSON/);
  writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(join(FIXTURES, W8A8_META), 'utf8')), backend: 'sim', simulated: true }));
  expectRejected(dir, ['validate', W8A8_FILE], 1, /sim backend/);
});

test('bad input: missing files and folders', () => {
  const dir = tempWithFixtures('tritune-bad-');
  expectRejected(dir, ['show', join('tuned-configs', 'w8a8-int8', `${BAD_NAME}.json`), '--m', '1'], 2, /does not exist/);
  expectRejected(dir, ['validate', 'no-such-folder'], 2, /no-such-folder does not exist/);
  expectRejected(dir, ['merge', 'no-such-folder', '--out', 'out'], 2, /merge input no-such-folder does not exist/);
  expectRejected(dir, ['models', './no-such/config.json'], 2, /cannot read \.\/no-such\/config\.json: no such file/);
});

test('bad input: --m, --tp, unknown model, config.json lacking hidden_size', () => {
  const dir = tempWithFixtures('tritune-bad-');
  expectRejected(dir, ['show', W8A8_FILE, '--m', '-3'], 2, /--m must be a positive whole number, got "-3"/);
  expectRejected(dir, ['show', W8A8_FILE, '--m', 'abc'], 2, /--m must be a positive whole number/);
  expectRejected(dir, ['models', 'qwen3-4b', '--tp', '0'], 2, /--tp must be a positive whole number/);
  expectRejected(dir, ['models', 'qwen3-4b', '--tp', '3'], 2, /num_attention_heads = 32 is not divisible by --tp 3/);
  expectRejected(dir, ['models', 'llama-4-behemoth'], 2, /unknown model "llama-4-behemoth"; presets: Qwen3-4B, .*Mixtral-8x7B/);
  // the tune command names the bad model before it looks for GPUs (this machine has none)
  expectRejected(dir, ['--model', 'llama-4-behemoth'], 2, /unknown model "llama-4-behemoth"; presets: Qwen3-4B/);
  expectRejected(dir, ['models', join(FIXTURES, 'hf', 'no-hidden-size.config.json')], 2, /hidden_size: required, but missing/);
  writeFileSync(join(dir, 'config.json'), '{"hidden_size": 4096, "num_attention_heads": 32,}');
  expectRejected(dir, ['models', 'config.json'], 2, /config\.json: not valid JSON/);
  writeFileSync(join(dir, 'config.json'), '{"hidden_size": -4096, "num_attention_heads": 32}');
  expectRejected(dir, ['models', './config.json'], 2, /hidden_size: Too small/);
});

test('bad input: --shard and shard environment variables', () => {
  const dir = tempWithFixtures('tritune-bad-');
  const run = ['--shapes', '64x64', '--kernel', 'w8a8-int8', '--backend', 'sim', '--out', 'sim-out'];
  expectRejected(dir, ['--shard', '5/4', ...run], 2, /--shard 5\/4: the index i must be in 0\.\.3/);
  expectRejected(dir, ['--shard', 'two/4', ...run], 2, /--shard must look like i\/n/);
  expectRejected(dir, ['--shard', '1/0', ...run], 2, /the shard count n must be at least 1/);
  expectRejected(dir, run, 2, /SLURM_ARRAY_TASK_ID="abc" is not a whole number/, { SLURM_ARRAY_TASK_ID: 'abc' });
});

test('bad input: merge with an invalid input or over an invalid output changes nothing', () => {
  const dir = tempWithFixtures('tritune-bad-');
  const shard = join(dir, 'shard');
  mkdirSync(join(shard, 'w8a8-int8'), { recursive: true });
  writeFileSync(join(shard, 'w8a8-int8', `${W8A8_NAME}.json`), `{"2": ${entry}, "1": ${entry}}`);
  expectRejected(dir, ['merge', 'tuned-configs', 'shard', '--out', 'tuned-configs'], 2, /cannot merge .*shard.*: 1: M keys are not sorted/);
  const out = mkdtempSync(join(tmpdir(), 'tritune-out-'));
  mkdirSync(join(out, 'w8a8-int8'));
  writeFileSync(join(out, 'w8a8-int8', `${W8A8_NAME}.json`), '{"1": {}}');
  expectRejected(dir, ['merge', 'tuned-configs', '--out', out], 2, /refusing to overwrite .*: it fails validation \(1\.BLOCK_SIZE_M: required, but missing.*--force/);
  assert.equal(readFileSync(join(out, 'w8a8-int8', `${W8A8_NAME}.json`), 'utf8'), '{"1": {}}');
  assert.equal(tune(['merge', 'tuned-configs', '--out', out, '--force'], { cwd: dir }).code, 0, '--force replaces it');
});
