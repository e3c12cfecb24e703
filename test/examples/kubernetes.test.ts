import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tune } from '../cli/run-cli.js';
import { EXAMPLES, kubernetesValidate, merged, recordingClient, runScript, runTask, simSetup, unshardedRun, yamlDocs } from './run-example.js';

const K8S = join(EXAMPLES, 'kubernetes');
const manifest = (name: string) => {
  const docs = yamlDocs(join(K8S, name));
  assert.equal(docs.length, 1, `${name}: one resource`);
  return docs[0]!;
};
const container = (job: Record<string, any>) => job.spec.template.spec.containers[0] as Record<string, any>;
/** The container's env entries that have a value, as the pod gets them. */
const envOf = (c: Record<string, any>): Record<string, string> =>
  Object.fromEntries((c.env as Array<{ name: string; value?: string }>).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

test('kubernetes: every manifest passes the Kubernetes schema (strict), and a broken one fails', () => {
  const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml')).map((f) => join(K8S, f));
  assert.equal(files.length, 4);
  // 1.29: the oldest release whose Job has backoffLimitPerIndex (beta there, on by default)
  for (const version of ['1.29.0', '1.37.0']) {
    const r = kubernetesValidate(files, version);
    assert.equal(r.code, 0, r.out);
    assert.equal((r.out.match(/ passed for resource /g) ?? []).length, 4, r.out);
  }
  const broken = join(mkdtempSync(join(tmpdir(), 'tritune-k8s-')), 'tune-job.yaml');
  const text = readFileSync(join(K8S, 'tune-job.yaml'), 'utf8');
  writeFileSync(broken, text.replace('parallelism: 4', 'paralelism: 4'));
  const typo = kubernetesValidate([broken], '1.37.0');
  assert.notEqual(typo.code, 0, typo.out);
  assert.match(typo.out, /paralelism/);
  writeFileSync(broken, text.replace('completionMode: Indexed', 'completionMode: [Indexed]'));
  assert.notEqual(kubernetesValidate([broken], '1.37.0').code, 0);
});

test('kubernetes: one GPU per pod, shard count = completions = parallelism, one volume for all', () => {
  const job = manifest('tune-job.yaml');
  const merge = manifest('merge-job.yaml');
  const pvc = manifest('results-pvc.yaml');
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.equal(job.spec.parallelism, job.spec.completions);
  const tuneEnv = envOf(container(job));
  assert.equal(Number(tuneEnv.TRITUNE_SHARD_COUNT), job.spec.completions);
  assert.equal(Number(envOf(container(merge)).TRITUNE_SHARD_COUNT), job.spec.completions);
  assert.equal(String(container(job).resources.limits['nvidia.com/gpu']), '1');
  assert.ok(pvc.spec.accessModes.includes('ReadWriteMany'));
  for (const m of [job, merge, manifest('results-pod.yaml')]) {
    const spec = m.kind === 'Job' ? m.spec.template.spec : m.spec;
    assert.equal(spec.volumes[0].persistentVolumeClaim.claimName, pvc.metadata.name);
    assert.equal(spec.containers[0].volumeMounts[0].mountPath, '/results');
  }
  assert.equal(tuneEnv.RESULTS, '/results');
  // the default TUNE_ARGS is a command the CLI takes (on sim, as a plan only)
  const plan = tune([...tuneEnv.TUNE_ARGS!.split(' '), '--backend', 'sim', '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
});

test('kubernetes: the Jobs\' own commands, one pod per index, then the merge Job: the unsharded run\'s files', async () => {
  const { dir, env } = simSetup();
  const job = manifest('tune-job.yaml');
  const tunePod = container(job);
  const mergePod = container(manifest('merge-job.yaml'));
  // a pod runs command + args with the manifest's env; Kubernetes adds JOB_COMPLETION_INDEX; parallelism: all at once
  const indices = [...Array(job.spec.completions as number).keys()];
  const pods = await Promise.all(
    indices.map((i) => runTask([...tunePod.command, ...tunePod.args], { ...envOf(tunePod), ...env, JOB_COMPLETION_INDEX: String(i) })),
  );
  pods.forEach((p, i) => assert.equal(p.code, 0, `pod ${i}: ${p.out}`));
  for (const i of indices) {
    const files = readdirSync(join(env.RESULTS!, 'shards', String(i), 'out', 'w8a8-int8'));
    assert.ok(files.length >= 2, `shard ${i} wrote its own shape(s): ${files.join(' ')}`);
  }
  const m = await runTask([...mergePod.command, ...mergePod.args], { ...envOf(mergePod), ...env });
  assert.equal(m.code, 0, m.out);
  assert.match(m.out, /5 file\(s\): 5 ok, 0 with errors/);
  const whole = unshardedRun(dir, env.TUNE_ARGS!);
  assert.equal(whole.size, 10, 'five config files and their sidecars');
  assert.deepEqual(merged(dir), whole);

  // the merge refuses to run with a shard missing
  const { dir: dir2, env: env2 } = simSetup();
  await runTask([...tunePod.command, ...tunePod.args], { ...envOf(tunePod), ...env2, JOB_COMPLETION_INDEX: '0' });
  const short = await runTask([...mergePod.command, ...mergePod.args], { ...envOf(mergePod), ...env2 });
  assert.equal(short.code, 1, short.out);
  assert.match(short.out, /merge: 1 shard folders in .*, expected 4/);
  assert.deepEqual(readdirSync(join(dir2, 'results')), ['shards']);
});

test('kubernetes: run.sh starts the merge only after the tuning Job completed, then copies the files out', () => {
  const kubectl = recordingClient('kubectl', 'Complete');
  const cwd = mkdtempSync(join(tmpdir(), 'tritune-k8s-run-'));
  const r = runScript(cwd, join(K8S, 'run.sh'), {}, kubectl.bin);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /merged files in \.\/merged/);
  const calls = kubectl.calls().map((c) => c.replace(`${K8S}/`, ''));
  const at = (pattern: RegExp) => {
    const i = calls.findIndex((c) => pattern.test(c));
    assert.ok(i >= 0, `no kubectl call like ${pattern}: ${calls.join(' | ')}`);
    return i;
  };
  const names = ['tune-job.yaml', 'merge-job.yaml'].map((f) => manifest(f).metadata.name as string);
  assert.ok(at(/^apply -f results-pvc\.yaml$/) < at(/^apply -f tune-job\.yaml$/));
  assert.ok(at(/^apply -f tune-job\.yaml$/) < at(new RegExp(`^get job/${names[0]} `)));
  assert.ok(at(new RegExp(`^get job/${names[0]} `)) < at(/^apply -f merge-job\.yaml$/));
  assert.ok(at(/^apply -f merge-job\.yaml$/) < at(new RegExp(`^get job/${names[1]} `)));
  assert.ok(at(new RegExp(`^get job/${names[1]} `)) < at(/^cp tritune-results:\/results\/merged \.\/merged$/));
  assert.equal(manifest('results-pod.yaml').metadata.name, 'tritune-results');

  // a tuning Job that failed stops run.sh before the merge
  const failing = recordingClient('kubectl', 'Failed');
  const stopped = runScript(cwd, join(K8S, 'run.sh'), {}, failing.bin);
  assert.equal(stopped.code, 1, stopped.out);
  assert.match(stopped.out, /job tritune-tune failed; see: kubectl describe job\/tritune-tune/);
  assert.ok(!failing.calls().some((c) => c.includes('merge-job.yaml')), 'no merge after a failed tuning Job');
});
