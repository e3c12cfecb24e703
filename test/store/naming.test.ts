import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFileName, deviceSlug, metaFileName, parseConfigFileName, shapeKey } from '../../src/store/naming.js';

test("configFileName spells the names of tritune's own families", () => {
  assert.equal(configFileName('w8a8-int8', { N: 6144, K: 2560 }, 'NVIDIA H100 80GB HBM3'), 'N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.json');
  assert.equal(configFileName('w8a8-fp8', { N: 2560, K: 4096 }, 'NVIDIA H200'), 'N=2560,K=4096,device_name=NVIDIA_H200,dtype=fp8_w8a8.json');
  assert.equal(configFileName('w4a16', { N: 4096, K: 4096, group_size: 128 }, 'NVIDIA H200'), 'N=4096,K=4096,device_name=NVIDIA_H200,dtype=int4_w4a16,group_size=128.json');
  assert.equal(configFileName('w4a16', { N: 4096, K: 4096, group_size: -1 }, 'NVIDIA H200'), 'N=4096,K=4096,device_name=NVIDIA_H200,dtype=int4_w4a16,group_size=-1.json');
  assert.equal(configFileName('moe-w4a16', { E: 128, N: 1536, K: 2048 }, 'NVIDIA H100 80GB HBM3'), 'E=128,N=1536,device_name=NVIDIA_H100_80GB_HBM3,dtype=int4_w4a16.json');
});

test('configFileName refuses shapes it cannot name', () => {
  assert.throws(() => configFileName('w4a16', { N: 4096, K: 4096 }, 'NVIDIA H200'), /group_size/);
  assert.throws(() => configFileName('moe-w4a16', { N: 1536, K: 2048 }, 'NVIDIA H200'), /E must be/);
  assert.throws(() => configFileName('w8a8-int8', { N: 0, K: 2560 }, 'NVIDIA H200'), /N must be/);
  assert.throws(() => configFileName('w8a8-int8', { N: 1, K: 1 }, 'a/b'), /cannot be used/);
});

test('parseConfigFileName inverts configFileName for every family', () => {
  const cases = [
    ['w8a8-int8', { N: 6144, K: 2560 }],
    ['w8a8-fp8', { N: 6144, K: 2560 }],
    ['w4a16', { N: 4096, K: 11008, group_size: 64 }],
    ['w4a16', { N: 4096, K: 11008, group_size: -1 }],
    ['moe-w4a16', { E: 8, N: 28672 }],
  ] as const;
  for (const [family, shape] of cases) {
    const name = configFileName(family, { K: 1, ...shape }, 'NVIDIA H100 80GB HBM3');
    const parsed = parseConfigFileName(name);
    assert.deepEqual(parsed, { family, fields: shape, device: 'NVIDIA_H100_80GB_HBM3' }, name);
  }
});

test('vllm-moe names: vLLM\'s grammar per quantization, every H200 as NVIDIA_H200, and the folder tells it from moe-w4a16', () => {
  const layer = { N: 768, K: 2048, E: 128, top_k: 8 };
  const names = (['bf16', 'fp8_w8a8_block', 'fp8_w8a8', 'int8_w8a8', 'int8_w8a16', 'int4_w4a16'] as const).map((quant) =>
    configFileName('vllm-moe', { ...layer, quant, group_size: 128 }, 'NVIDIA H200 NVL'),
  );
  assert.deepEqual(names, [
    'E=128,N=768,device_name=NVIDIA_H200.json',
    'E=128,N=768,device_name=NVIDIA_H200,dtype=fp8_w8a8,block_shape=[128,128].json',
    'E=128,N=768,device_name=NVIDIA_H200,dtype=fp8_w8a8.json',
    'E=128,N=768,device_name=NVIDIA_H200.json',
    'E=128,N=768,device_name=NVIDIA_H200,dtype=int8_w8a16.json',
    'E=128,N=768,device_name=NVIDIA_H200,dtype=int4_w4a16.json',
  ]);
  assert.equal(parseConfigFileName(names[1]!, 'out/vllm')?.family, 'vllm-moe');
  assert.deepEqual(parseConfigFileName(names[1]!)?.fields, { E: 128, N: 768, dtype: 'fp8_w8a8', block_n: 128, block_k: 128 });
  assert.equal(parseConfigFileName(names[5]!)?.family, 'moe-w4a16'); // the same grammar: without a folder, the first family
  assert.equal(parseConfigFileName(names[5]!, 'tuned-configs/vllm')?.family, 'vllm-moe');
  assert.equal(parseConfigFileName(names[5]!, 'tuned-configs/moe-w4a16')?.family, 'moe-w4a16');
});

test('parseConfigFileName rejects names we do not write', () => {
  for (const bad of [
    'N=6144,K=2560,device_name=X,dtype=int8_w8a8', // no .json
    'N=6144,K=2560,device_name=X,dtype=bf16.json', // unknown dtype
    'N=6144,K=2560,device_name=X,dtype=int4_w4a16.json', // dense w4a16 without group size
    'E=8,N=6144,K=2560,device_name=X,dtype=int4_w4a16.json', // MoE names carry no K
    'E=8,N=6144,device_name=X,dtype=int2_w2a16.json', // a dtype no MoE family has
    'N=06144,K=2560,device_name=X,dtype=int8_w8a8.json', // leading zero
    'N=6144,K=2560,device_name=X,dtype=int8_w8a8.meta.json',
    'config.json',
  ]) {
    assert.equal(parseConfigFileName(bad), null, bad);
  }
});

test('metaFileName, deviceSlug and shapeKey', () => {
  assert.equal(metaFileName('N=1,K=2,device_name=X,dtype=int8_w8a8.json'), 'N=1,K=2,device_name=X,dtype=int8_w8a8.meta.json');
  assert.throws(() => metaFileName('x.meta.json'));
  assert.equal(deviceSlug(' NVIDIA  H100 80GB HBM3 '), 'NVIDIA_H100_80GB_HBM3');
  assert.equal(shapeKey('w8a8-int8', { N: 6144, K: 2560 }), 'N=6144,K=2560');
  assert.equal(shapeKey('w8a8-fp8', { N: 6144, K: 2560, group_size: 128 }), 'N=6144,K=2560');
  assert.equal(shapeKey('w4a16', { N: 4096, K: 4096, group_size: 128 }), 'N=4096,K=4096,group_size=128');
  assert.equal(shapeKey('moe-w4a16', { E: 128, N: 1536, K: 2048 }), 'E=128,N=1536,K=2048');
});
