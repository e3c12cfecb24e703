import { execaSync } from 'execa';
import { UserError } from '../errors.js';

/**
 * The GPUs to use, as CUDA_VISIBLE_DEVICES values (one bench worker each).
 * `--gpus 0,1` as given; `all` (the default on cuda): CUDA_VISIBLE_DEVICES when set, else nvidia-smi's list.
 * The sim backend has no GPUs: by default one simulated GPU, and `--gpus 0,1,2` gives three sim workers.
 */
export function resolveGpus(option: string | undefined, backend: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const text = option?.trim();
  if (text === '') throw new UserError(`--gpus is empty; give 'all' or a comma-separated list of GPU indices like 0,1`);
  if (text && text !== 'all') {
    const ids = text.split(',').map((s) => s.trim());
    if (ids.some((s) => !/^(\d+|GPU-[\w-]+|MIG-[\w/-]+)$/.test(s))) {
      throw new UserError(`--gpus must be 'all' or a comma-separated list of GPU indices like 0,1; got ${JSON.stringify(option)}`);
    }
    if (new Set(ids).size !== ids.length) throw new UserError(`--gpus ${option} names a GPU twice`);
    return ids;
  }
  if (backend === 'sim') return ['0'];
  const visible = env.CUDA_VISIBLE_DEVICES?.trim();
  if (visible) return visible.split(',').map((s) => s.trim()).filter(Boolean);
  if (visible === '') throw new UserError('CUDA_VISIBLE_DEVICES is set but empty: no GPU is visible; unset it or pass --gpus');
  try {
    const r = execaSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { timeout: 20000 });
    const ids = r.stdout.split('\n').map((s) => s.trim()).filter((s) => /^\d+$/.test(s));
    if (ids.length) return ids;
  } catch {
    // fall through to the message below
  }
  throw new UserError('no GPU found (nvidia-smi lists none); pass --gpus 0,1 to name them, or --backend sim to test without a GPU');
}
