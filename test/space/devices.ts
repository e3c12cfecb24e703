import type { DeviceInfo } from '../../src/schema/index.js';

/** What a worker on one H200 says in its hello (227 KiB opt-in shared memory, 132 SMs). */
export const H200: DeviceInfo = {
  name: 'NVIDIA H200',
  capability: [9, 0],
  sm_count: 132,
  shared_mem_per_block: 232448,
  l2_bytes: 62914560,
  memory_bytes: 150754820096,
  hbm_GBps: 4800,
};
