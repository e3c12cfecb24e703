"""W4A16 mixture-of-experts grouped GEMM: the two expert GEMMs of a MoE layer, int4 weights, bf16/fp16 activations.

Layouts (per expert e; weights are logically W[e] of shape [N, K], the output is act[M*top_k, K] . W[e]^T):
    qweight  int32 [E, N, K//8]   each expert as the dense W4A16 kernel's qweight (kernels/w4a16.py): 8 int4 values
                                  per int32 along K in the AWQ order (nibbles j and j+4 hold k = 8*kw + 2j, 2j + 1)
    scales   act   [E, K//G, N]   one scale per (group of G consecutive k, n); G = K when group_size is -1
    zeros    uint8 [E, K//G, N]   optional zero points (unpacked); without them the zero point is 8 (symmetric)
    w[k, n] = (q[k, n] - zero) * scale
An AWQ or GPTQ MoE checkpoint: convert each expert with kernels/w4a16_pack.py (awq_to_kernel_layout,
gptq_to_kernel_layout), then stack them with experts_from_kernel_layout.
Rows are (token, slot) pairs, pair = token * top_k + slot, in that order in the output [M*top_k, N] (as vLLM).
gemm 'up' reads activation row pair // top_k of x [M, K]; 'down' reads row pair of [M*top_k, K] and multiplies
the output by the pair's router weight (the sum over the top_k slots is a separate reduction, as in vLLM).

gemm 'layer' is what a server's tuned file is for: vLLM names the file E={E},N={intermediate} and uses ONE config
for both expert GEMMs, and its tuner (benchmark_moe.py) times the whole fused_experts. Its problem has N = the
per-rank intermediate size I and K = hidden; a launch runs, all with the same config,
    up GEMM   x [M, hidden] . w13[e] ([2I, hidden])         -> h   [M*top_k, 2I]   (gate | up, as vLLM's w13)
    SiLU-and-mul  silu(h[:, :I]) * h[:, I:]                  -> act [M*top_k, I]    (_silu_and_mul_kernel, one launch)
    down GEMM act . w2[e] ([hidden, I]), x router weight     -> o   [M*top_k, hidden]
    top-k sum     o.view(M, top_k, hidden).sum(1)            -> out [M, hidden]     (torch; vLLM's tuner times moe_sum too)
so a trial times the layer's expert work end to end (the glue is the same for every config: it shifts all times
alike). The reference chains the per-expert fp32 references the same way.

The GEMM kernel is the dense W4A16 kernel's transposed product (kernels/w4a16_mma.py) per expert block: C^T[BN, BM]
= W_e[BN, K] . A[rows, K]^T, the weight tile on the MMA's wide side (on Hopper the wgmma A operand, dequantized in
registers by _weights: q - z exact in the activation dtype) and the block's rows, gathered by pair, on its narrow
one, so at decode (a row or two per expert) a 16-row token tile is all the padding there is; each K block lies inside
one quantization group and the accumulator takes the block's exact product times the group's scale row.

With TMA (a config key) each expert's packed weight tile arrives by one bulk copy from a descriptor over the stacked
words [E*N, K/8] instead of per-thread loads; at decode on an H200 up to 1.16x faster (docs/BENCHMARKS.md).

Two ways to map CTAs to rows, both over the same expert-sorted pair order:
- grouped (launch): a per-block table (expert, row start, row count) -- blocks never hold padding rows of another
  expert and the grid's upper bound is min(P, P//BLOCK_M + min(E, P)) for P pairs, so no empty blocks to speak of;
- padded (launch_padded): vLLM's moe_align_block_size layout -- each expert's pairs padded to a multiple of
  BLOCK_M with a sentinel, one expert id per block, grid bound as vLLM's fused_moe launches it.
Routing prep (sort + tables) happens in make_inputs, for every BLOCK_SIZE_M, so a trial times only the GEMM,
as vLLM's benchmark_moe tunes the fused kernel over a precomputed alignment.
"""

import functools
import math
import os
from dataclasses import dataclass

import torch
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

try:  # imported as kernels.moe_w4a16 or, by the worker, with kernels/ on sys.path
    from . import protocol
    from .compile_only import placeholder
    from .moe_routing import BLOCK_MS, BlockTable, active_experts, grouped_bound, make_routing, prepare_tables
    from .tiles import grouped_tile
    from .w4a16 import MAX_ACC_PER_THREAD
    from .w4a16_mma import _weights
    from .w4a16_pack import unpack_int4
except ImportError:
    import protocol
    from compile_only import placeholder
    from moe_routing import BLOCK_MS, BlockTable, active_experts, grouped_bound, make_routing, prepare_tables
    from tiles import grouped_tile
    from w4a16 import MAX_ACC_PER_THREAD
    from w4a16_mma import _weights
    from w4a16_pack import unpack_int4

FAMILIES = ("moe-w4a16",)
# A config's shared memory is the same at every M (M enters only integer arguments): a compile worker that finds a
# binary over the device's limit answers for every M (kernels/triton_backend.py compile).
SHARED_MEMORY_BY_CONFIG = True
CONFIG_KEYS = ("BLOCK_SIZE_M", "BLOCK_SIZE_N", "BLOCK_SIZE_K", "GROUP_SIZE_M", "num_warps", "num_stages")
# TMA (optional, absent = 0): 1 loads each expert's packed weight tile through a TMA tensor descriptor over the
# stacked words [E*N, K/8] (one bulk copy a tile and stage, pipelined by num_stages) instead of per-thread loads, as
# the dense kernel's TMA key (kernels/w4a16.py); the rest of the kernel is the same. Hopper (sm_90) and later. A row
# of K/8 words must be a whole number of 16 bytes: each GEMM's K % TMA_K_MULTIPLE == 0.
OPTIONAL_CONFIG_KEYS = ("TMA",)
TMA_K_MULTIPLE = 32

# Correctness gate: max |out - ref| / max |ref|. One GEMM rounds each dequantized weight and the output to the
# activation dtype (half an ulp: 2^-8 for bf16, 2^-11 for fp16) and accumulates in fp32: measured <= 0.0065 (bf16).
# A 'layer' chains four roundings, and silu(gate) * up multiplies two rounded values: measured 0.012-0.018 (bf16),
# <= 0.0011 (fp16) on the interpreter over seeds and shapes up to Qwen3-30B-A3B's; the gate keeps >= 2x over that.
# A wrong expert or a skipped block errs by O(0.1-1).
_TOLERANCE = {"bf16": 4e-2, "fp16": 5e-3}
_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
_SMEM_LIMIT = 232448  # H100/H200 opt-in shared memory per block (227 KiB), as Triton reports it


# the ints M enters: one binary for every M; GROUP_SIZE_M an int argument too: one binary for both its values
@triton.jit(do_not_specialize=["num_pairs", "num_pid_m", "GROUP_SIZE_M"])
def _moe_w4a16_kernel(
    # pointers
    a_ptr, qw_ptr, scale_ptr, zero_ptr, out_ptr, router_weight_ptr,
    sorted_pairs_ptr, block_expert_ptr, block_start_ptr, block_count_ptr, num_blocks_ptr,
    # dimensions
    N, num_pairs, num_pid_m,
    # strides (qweight rows are K/8 words, scales and zeros rows N values, out rows N values apart)
    stride_am, stride_qe, stride_se, stride_sg, stride_ze, stride_zg, stride_om,
    # meta-parameters
    K: tl.constexpr,  # one weight shape per compile anyway; the K loop then has a static trip count
    GROUP_SIZE: tl.constexpr, A_ROW_DIV: tl.constexpr, PADDED: tl.constexpr,
    HAS_ZP: tl.constexpr, MUL_ROUTED_WEIGHT: tl.constexpr, FP16: tl.constexpr, INTERPRET: tl.constexpr,
    BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr, GROUP_SIZE_M,
    TMA: tl.constexpr,  # qw_ptr is a TMA descriptor of the stacked words [E*N, K/8] in [BLOCK_SIZE_N, BKW] tiles
):
    OFFSET: tl.constexpr = 1024.0 if FP16 else 128.0
    KW: tl.constexpr = K // 8
    BKW: tl.constexpr = BLOCK_SIZE_K // 8
    # pid -> (row block, column block), grouped along M so blocks of one expert share weight tiles in L2
    pid = tl.program_id(axis=0)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    pid_m, pid_n = grouped_tile(pid, num_pid_m, num_pid_n, GROUP_SIZE_M)
    if pid_m >= tl.load(num_blocks_ptr):
        return  # the grid is an upper bound known on the host; the real block count lives on the device

    # this block's expert and rows (pair ids)
    offs_m = tl.arange(0, BLOCK_SIZE_M)
    expert = tl.load(block_expert_ptr + pid_m).to(tl.int64)
    if PADDED:
        pairs = tl.load(sorted_pairs_ptr + pid_m * BLOCK_SIZE_M + offs_m)
        row_mask = pairs < num_pairs  # the sentinel num_pairs marks padding
    else:
        row_start = tl.load(block_start_ptr + pid_m)
        row_mask = offs_m < tl.load(block_count_ptr + pid_m)
        pairs = tl.load(sorted_pairs_ptr + row_start + offs_m, mask=row_mask, other=0)
    a_rows = (pairs // A_ROW_DIV).to(tl.int64)

    offs_n = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    offs_bn = tl.max_contiguous(tl.multiple_of(offs_n % N, BLOCK_SIZE_N), BLOCK_SIZE_N)  # wrap; the store is masked
    rows = offs_bn[:, None]  # per weight row quantities (scales, zero points) are [BN, 1]
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    offs_kw = tl.arange(0, BKW)
    a_base = a_ptr + a_rows[:, None] * stride_am
    if not TMA:
        q_base = qw_ptr + expert * stride_qe + rows * KW
    s_base = scale_ptr + expert * stride_se + rows
    z_base = zero_ptr + expert * stride_ze + rows

    # C^T[BN, BM] = W_e[BN, K] . A[rows, K]^T, a K block at a time inside one group (BLOCK_SIZE_K divides it): the MMA
    # gives (Q - Z) . A^T exactly in fp32, the accumulator takes it times the group's scale row (loaded a block ahead)
    acc = tl.zeros((BLOCK_SIZE_N, BLOCK_SIZE_M), dtype=tl.float32)
    s_next = tl.load(s_base)
    z_next = tl.load(z_base) if HAS_ZP else 0
    for k0 in range(0, K, BLOCK_SIZE_K):
        a = tl.load(a_base + (k0 + offs_k)[None, :], mask=row_mask[:, None], other=0.0)
        if TMA:  # one bulk copy of the tile; rows past the expert's N (the next expert's, or zeros) are never stored
            qt = qw_ptr.load([(expert * N).to(tl.int32) + pid_n * BLOCK_SIZE_N, k0 // 8])
        else:
            qt = tl.load(q_base + (k0 // 8 + offs_kw)[None, :])
        s_blk = s_next.to(tl.float32)
        if HAS_ZP:
            zf_blk = z_next.to(tl.float32) + OFFSET
        else:
            zf_blk = tl.full(rows.shape, OFFSET + 8.0, tl.float32)
        g_next = tl.minimum((k0 + BLOCK_SIZE_K) // GROUP_SIZE, K // GROUP_SIZE - 1)
        s_next = tl.load(s_base + g_next * stride_sg)
        z_next = tl.load(z_base + g_next * stride_zg) if HAS_ZP else 0
        part = tl.dot(_weights(qt, zf_blk, BLOCK_SIZE_N, BLOCK_SIZE_K, FP16, INTERPRET), tl.trans(a))
        acc += part * s_blk

    if MUL_ROUTED_WEIGHT:
        acc *= tl.load(router_weight_ptr + pairs, mask=row_mask, other=0.0).to(tl.float32)[None, :]
    out_ptrs = out_ptr + pairs.to(tl.int64)[:, None] * stride_om + offs_n[None, :]
    tl.store(out_ptrs, tl.trans(acc).to(out_ptr.dtype.element_ty), mask=row_mask[:, None] & (offs_n[None, :] < N))


@triton.jit
def _silu_and_mul_kernel(h_ptr, out_ptr, I, stride_h, stride_o, BLOCK: tl.constexpr):
    # one row of h = [gate | up] per program along axis 0: out = silu(gate) * up, computed in fp32 (as vLLM)
    row = tl.program_id(axis=0).to(tl.int64)
    offs = tl.program_id(axis=1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < I
    gate = tl.load(h_ptr + row * stride_h + offs, mask=mask, other=0.0).to(tl.float32)
    up = tl.load(h_ptr + row * stride_h + I + offs, mask=mask, other=0.0).to(tl.float32)
    act = gate / (1.0 + tl.exp(-gate)) * up
    tl.store(out_ptr + row * stride_o + offs, act.to(out_ptr.dtype.element_ty), mask=mask)


_TORCH_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class MoEInputs:
    """One expert GEMM's inputs ('up' or 'down')."""

    problem: dict
    a: torch.Tensor  # up: x [M, K]; down: [M*top_k, K] (in a layer's down GEMM: unused, act comes from the up GEMM)
    qweight: torch.Tensor
    scales: torch.Tensor
    zeros: torch.Tensor | None
    topk_ids: torch.Tensor  # int64 [M, top_k] (on the device)
    router_weights: torch.Tensor  # fp32 [M*top_k]
    grouped: dict[int, BlockTable]
    padded: dict[int, BlockTable]


@dataclass
class LayerInputs:
    """A 'layer' problem's inputs: the two GEMMs' inputs over one routing (tables and router weights shared)."""

    problem: dict
    up: MoEInputs
    down: MoEInputs


def _group(p: dict) -> int:
    return p["K"] if p["group_size"] == -1 else p["group_size"]


def gemm_problems(p: dict) -> list[dict]:
    """The GEMMs a normalized problem launches: itself, or for 'layer' (N = I, K = hidden) up [2I, hidden] and
    down [hidden, I]; every rule and cost of a layer is the rule or cost of these two."""
    if p["gemm"] != "layer":
        return [p]
    return [{**p, "gemm": "up", "N": 2 * p["N"]}, {**p, "gemm": "down", "N": p["K"], "K": p["N"]}]


def normalize_problem(family: str, problem: dict) -> dict:
    """Defaults and field checks of src/schema/problem.ts MoEProblem (kernels/protocol.py), then what the kernel
    needs (one-line ValueError)."""
    p = protocol.normalize_problem(family, problem)
    if p["top_k"] > p["E"]:
        raise ValueError(f"{family} problem: top_k {p['top_k']} exceeds the number of experts E {p['E']}")
    for q in gemm_problems(p):  # a layer's N (= I) is its down GEMM's K
        if q["K"] % 8 or q["K"] % _group(q):
            what = "N (the intermediate size)" if q["gemm"] == "down" and p["gemm"] == "layer" else "K"
            raise ValueError(f"{family} problem: {what} {q['K']} must be a multiple of 8 and of group_size {p['group_size']}")
    return p


def invalid_reason(family: str, problem: dict, config: dict) -> str | None:
    """Static pruning: K tiling, group alignment, shared memory, and tiles larger than anything the problem has.
    A 'layer' config must hold for both of its GEMMs (the first reason, named by GEMM, is returned)."""
    p = normalize_problem(family, problem)
    gemms = gemm_problems(p)
    for q in gemms:
        reason = _gemm_invalid_reason(q, config)
        if reason:
            return f"{q['gemm']} GEMM: {reason}" if len(gemms) > 1 else reason
    return None


def _gemm_invalid_reason(p: dict, config: dict) -> str | None:
    bm, bn, bk = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"]
    g = _group(p)
    if bm not in BLOCK_MS:
        return f"BLOCK_SIZE_M {bm} not in {BLOCK_MS}"
    if min(bn, bk) < 16:
        return "BLOCK_SIZE_N and BLOCK_SIZE_K must be at least 16 (tl.dot)"
    if p["K"] % bk:
        return f"BLOCK_SIZE_K {bk} does not divide K {p['K']}"
    if g % bk:  # each K block takes one scale row
        return f"BLOCK_SIZE_K {bk} does not divide the group size {g}"
    if bm > max(16, triton.next_power_of_2(p["M"])):
        return f"BLOCK_SIZE_M {bm} exceeds the most pairs one expert can get (M={p['M']})"
    if bn > max(16, triton.next_power_of_2(p["N"])):
        return f"BLOCK_SIZE_N {bn} wider than N {p['N']}"
    tma = config.get("TMA", 0)
    if tma not in (0, 1):
        return f"TMA={tma!r} must be 0 or 1"
    if tma and p["K"] % TMA_K_MULTIPLE:
        return f"TMA needs K % {TMA_K_MULTIPLE} == 0 (rows of packed words in whole 16 bytes), K={p['K']}"
    if bm * bn // (32 * config["num_warps"]) > MAX_ACC_PER_THREAD:
        return f"fp32 accumulator of {bm * bn // (32 * config['num_warps'])} registers per thread over {MAX_ACC_PER_THREAD}"
    smem = smem_bytes(config)
    if smem > _SMEM_LIMIT:
        return f"shared memory estimate {smem} B exceeds {_SMEM_LIMIT} B"
    return None


def smem_bytes(config: dict) -> int:
    """Shared memory Triton 3.6 allocates for this kernel on sm_90: num_stages buffers of the activation tile, one
    fewer of the packed weight tile, and a row of BLOCK_SIZE_N fp32 (the scale row's layout change). Fitted to the
    compiled kernels over the default space at BLOCK_SIZE_K 32-128 (the Qwen3-30B-A3B layer's two GEMMs): exact or at
    most 512 B over, never under. With TMA the same buffers and an 8-byte mbarrier for each weight tile's."""
    bm, bn, bk, stages = config["BLOCK_SIZE_M"], config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"], config["num_stages"]
    tma_barriers = 8 * (stages - 1) if config.get("TMA", 0) else 0  # an mbarrier per weight tile's buffer
    return stages * bm * bk * 2 + (stages - 1) * bk * bn // 2 + bn * 4 + tma_barriers


def shared_memory_bytes(family: str, problem: dict, config: dict) -> int:
    """smem_bytes (what invalid_reason holds against the limit): the same for both GEMMs of a layer, as the kernel's
    shared memory depends on the config alone (the problem is only validated)."""
    normalize_problem(family, problem)
    return smem_bytes(config)


def default_config(family: str, problem: dict) -> dict:
    """Untuned rule on the mean pairs per expert t = M*top_k/E: the configs nearest the best over each regime's Ms in
    the H200 journal of the Qwen3-30B-A3B layer (test/data/journals): t <= 8 16x64 tiles, t <= 64 32x128, above
    that 64x128; BLOCK_SIZE_N clipped to the narrowest GEMM, BLOCK_SIZE_K halved until valid (for a 'layer': for
    both GEMMs)."""
    p = normalize_problem(family, problem)
    t = p["M"] * p["top_k"] / p["E"]
    if t <= 8:
        c = {"BLOCK_SIZE_M": 16, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 128, "GROUP_SIZE_M": 1, "num_warps": 4, "num_stages": 4}
    elif t <= 64:
        c = {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 16, "num_warps": 4, "num_stages": 4}
    else:
        c = {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 128, "BLOCK_SIZE_K": 64, "GROUP_SIZE_M": 16, "num_warps": 4, "num_stages": 4}
    c["BLOCK_SIZE_M"] = min(c["BLOCK_SIZE_M"], max(16, triton.next_power_of_2(p["M"])))
    c["BLOCK_SIZE_N"] = min(c["BLOCK_SIZE_N"], max(16, triton.next_power_of_2(min(q["N"] for q in gemm_problems(p)))))
    while c["BLOCK_SIZE_K"] > 16 and invalid_reason(family, p, c):  # K and the group size are multiples of 8
        c["BLOCK_SIZE_K"] //= 2
    return {**c, "TMA": 0}  # spelled out, as the space's configs are; 0: the default runs without Hopper too


def _seed(problem_seed: int, seed: int) -> int:
    return (problem_seed * 1_000_003 + seed) % (2**63)


def make_inputs(family: str, problem: dict, device: str, seed: int = 0) -> MoEInputs | LayerInputs:
    """Routing from problem['seed'] (same for every copy); tensor values from (problem seed, `seed`)."""
    p = normalize_problem(family, problem)
    topk_ids, weights = make_routing(p["M"], p["E"], p["top_k"], p["routing"], p["seed"])
    return build_inputs(p, topk_ids, weights, device, seed)


def _expert_weights(p: dict, gen: torch.Generator, device: str):
    """(qweight, scales, zeros) of E experts for one GEMM problem."""
    N, K, E, g = p["N"], p["K"], p["E"], _group(p)
    qweight = torch.randint(-(2**31), 2**31 - 1, (E, N, K // 8), generator=gen, device=device, dtype=torch.int32)
    # |q - zero| is about 4.6 on average: scales keep outputs near unit size
    scales = ((0.5 + torch.rand(E, K // g, N, generator=gen, device=device)) / (4.6 * math.sqrt(K)))
    zeros = None
    if p["zero_points"]:
        zeros = torch.randint(0, 16, (E, K // g, N), generator=gen, device=device, dtype=torch.uint8)
    return qweight, scales.to(_TORCH_DTYPE[p["act_dtype"]]), zeros


def build_inputs(p: dict, topk_ids: torch.Tensor, weights: torch.Tensor, device: str,
                 seed: int = 0) -> MoEInputs | LayerInputs:
    """Inputs for a given routing (tests use it to force uneven loads and empty experts)."""
    M, K, top_k = p["M"], p["K"], p["top_k"]
    dt = _TORCH_DTYPE[p["act_dtype"]]
    gen = torch.Generator(device=device).manual_seed(_seed(p["seed"], seed))
    rows = M * top_k if p["gemm"] == "down" else M
    a = torch.randn(rows, K, generator=gen, device=device).to(dt)
    grouped, padded = prepare_tables(topk_ids, p["E"], device)
    routed = (topk_ids.to(device), weights.flatten().to(device=device, dtype=torch.float32), grouped, padded)
    if p["gemm"] != "layer":
        return MoEInputs(p, a, *_expert_weights(p, gen, device), *routed)
    up_p, down_p = gemm_problems(p)
    up = MoEInputs(up_p, a, *_expert_weights(up_p, gen, device), *routed)
    down = MoEInputs(down_p, a.new_empty(0, down_p["K"]), *_expert_weights(down_p, gen, device), *routed)
    return LayerInputs(p, up, down)


def experts_from_kernel_layout(qweights: list, scales: list, qzeros: list | None = None):
    """Each expert in the dense W4A16 kernel's layout (kernels/w4a16_pack.py: what awq_to_kernel_layout and
    gptq_to_kernel_layout return: qweight int32 [N, K/8], scales [G, N], packed qzeros int32 [G, ceil(N/8)] in the AWQ
    order) -> this kernel's (qweight [E, N, K/8], scales [E, G, N], zeros uint8 [E, G, N] or None). A one-line
    ValueError names the first expert whose tensors do not match the first one's."""
    if not qweights or len(scales) != len(qweights) or (qzeros is not None and len(qzeros) != len(qweights)):
        raise ValueError(f"experts: {len(qweights)} qweights, {len(scales)} scales"
                         + (f", {len(qzeros)} qzeros" if qzeros is not None else "") + ": need one of each per expert")
    n, kw = qweights[0].shape
    g = scales[0].shape[0]
    for e, (q, sc) in enumerate(zip(qweights, scales)):
        if q.dtype != torch.int32 or q.shape != (n, kw) or sc.shape != (g, n):
            raise ValueError(f"expert {e}: qweight {q.dtype} {tuple(q.shape)}, scales {tuple(sc.shape)}; expected int32 "
                             f"{(n, kw)} and {(g, n)} like expert 0")
        if qzeros is not None and (qzeros[e].dtype != torch.int32 or qzeros[e].shape != (g, -(-n // 8))):
            raise ValueError(f"expert {e}: qzeros {qzeros[e].dtype} {tuple(qzeros[e].shape)}; expected int32 "
                             f"{(g, -(-n // 8))}")
    zeros = None
    if qzeros is not None:
        zeros = torch.stack([unpack_int4(z, awq=True)[:, :n] for z in qzeros]).to(torch.uint8)
    return torch.stack(qweights).contiguous(), torch.stack(scales).contiguous(), zeros


def dequantize(inputs: MoEInputs, e: int) -> torch.Tensor:
    """Expert e's weight as fp32 [K, N]."""
    p = inputs.problem
    q = unpack_int4(inputs.qweight[e], awq=True).T  # [N, K/8] words -> [K, N] values
    g = _group(p)
    s = inputs.scales[e].float().repeat_interleave(g, dim=0)
    z = inputs.zeros[e].to(torch.int32).repeat_interleave(g, dim=0) if inputs.zeros is not None else 8
    return (q - z).float() * s


def _gemm_reference(inputs: MoEInputs, a: torch.Tensor) -> torch.Tensor:
    p = inputs.problem
    flat = inputs.topk_ids.flatten()
    out = torch.zeros(flat.numel(), p["N"], dtype=torch.float32, device=a.device)
    for e in torch.unique(flat).tolist():
        pairs = torch.nonzero(flat == e).flatten()
        rows = pairs // p["top_k"] if p["gemm"] == "up" else pairs
        out[pairs] = a[rows].float() @ dequantize(inputs, e)
    if p["gemm"] == "down":
        out *= inputs.router_weights[:, None]
    return out


def reference(family: str, inputs: MoEInputs | LayerInputs) -> torch.Tensor:
    """Per-expert loop: dequantize, matmul in fp32, scatter to pair order; down: times the router weight.
    'layer': up, silu(gate) * up, down, then the sum over each token's top_k pairs -> [M, hidden], in fp32, with h
    and act rounded to the activation dtype as the launch stores them (else silu(gate) * up, a product of two
    rounded GEMM outputs, would double the up GEMM's error before the down GEMM adds its own)."""
    if isinstance(inputs, MoEInputs):
        return _gemm_reference(inputs, inputs.a)
    dt, I = inputs.up.a.dtype, inputs.problem["N"]
    h = _gemm_reference(inputs.up, inputs.up.a).to(dt).float()
    act = (torch.nn.functional.silu(h[:, :I]) * h[:, I:]).to(dt)
    return _topk_sum(inputs.problem, _gemm_reference(inputs.down, act))


def _topk_sum(p: dict, o: torch.Tensor) -> torch.Tensor:
    return o.view(p["M"], p["top_k"], o.shape[-1]).sum(dim=1)


def _launch(inputs: MoEInputs, config: dict, padded: bool, a: torch.Tensor | None = None) -> torch.Tensor:
    p, a = inputs.problem, inputs.a if a is None else a
    t = (inputs.padded if padded else inputs.grouped)[config["BLOCK_SIZE_M"]]
    out = torch.empty(p["M"] * p["top_k"], p["N"], dtype=a.dtype, device=a.device)
    _run(lambda grid: _moe_w4a16_kernel[grid], inputs, a, t, out, config, padded)
    return out


def _run(kernel_fn, inputs: MoEInputs, a, t: BlockTable, out, config: dict, padded: bool) -> None:
    """The one place the GEMM kernel's arguments are spelled out: _launch() runs it, compile_only() warms it up with
    placeholders, so both meet the same specialization (Triton's cache key) by construction."""
    p = inputs.problem
    P, N, g = p["M"] * p["top_k"], p["N"], _group(p)
    if g % config["BLOCK_SIZE_K"]:  # the one rule whose breach gives wrong numbers rather than an error
        raise ValueError(f"moe-w4a16: BLOCK_SIZE_K {config['BLOCK_SIZE_K']} does not divide the group size {g} (each "
                         "K block takes one scale row); a file tuned for the earlier kernel may hold such entries: "
                         "re-tune it")
    zeros = inputs.zeros if inputs.zeros is not None else inputs.scales  # a placeholder pointer when unused
    for name, t_ in (("activations", a), ("qweight", inputs.qweight), ("scales", inputs.scales), ("zeros", zeros)):
        if t_.stride(-1) != 1:  # the kernel takes one stride per dimension but the last
            raise ValueError(f"moe-w4a16: {name} {tuple(t_.shape)} has a last-dimension stride {t_.stride(-1)}, "
                             "not 1: pass it .contiguous()")
    tma, qw, K = bool(config.get("TMA", 0)), inputs.qweight, p["K"]
    if tma:  # the stacked words [E*N, K/8] (contiguous) in tiles of [BLOCK_SIZE_N, BLOCK_SIZE_K/8]
        if K % TMA_K_MULTIPLE:  # the descriptor would refuse it with a bare assertion
            raise ValueError(f"moe-w4a16: TMA needs K % {TMA_K_MULTIPLE} == 0 (rows of packed words in whole 16 bytes), "
                             f"K={K}")
        if qw.stride(0) != N * (K // 8) or qw.stride(1) != K // 8:
            raise ValueError(f"moe-w4a16: TMA needs a contiguous qweight, got strides {tuple(qw.stride())}")
        qw = TensorDescriptor(qw, [qw.shape[0] * N, K // 8], [K // 8, 1], [config["BLOCK_SIZE_N"], config["BLOCK_SIZE_K"] // 8])
    grid = (t.grid_m * triton.cdiv(N, config["BLOCK_SIZE_N"]),)
    kernel_fn(grid)(
        a, qw, inputs.scales, zeros, out, inputs.router_weights,
        t.sorted_pairs, t.block_expert, t.block_start, t.block_count, t.num_blocks,
        N, P, t.grid_m,
        a.stride(0), inputs.qweight.stride(0), *inputs.scales.stride()[:2], *zeros.stride()[:2], out.stride(0),
        K=p["K"], GROUP_SIZE=g, A_ROW_DIV=p["top_k"] if p["gemm"] == "up" else 1, PADDED=padded,
        HAS_ZP=inputs.zeros is not None, MUL_ROUTED_WEIGHT=p["gemm"] == "down",
        FP16=a.dtype == torch.float16, INTERPRET=_INTERPRET,
        BLOCK_SIZE_M=config["BLOCK_SIZE_M"], BLOCK_SIZE_N=config["BLOCK_SIZE_N"], BLOCK_SIZE_K=config["BLOCK_SIZE_K"],
        GROUP_SIZE_M=config["GROUP_SIZE_M"], TMA=tma, num_warps=config["num_warps"], num_stages=config["num_stages"],
    )


def silu_and_mul(h: torch.Tensor) -> torch.Tensor:
    """[P, 2I] (gate | up) -> [P, I] silu(gate) * up in h's dtype, one launch (vLLM's SiluAndMul)."""
    out = torch.empty(h.shape[0], h.shape[1] // 2, dtype=h.dtype, device=h.device)
    if h.shape[0]:
        _silu_run(lambda grid: _silu_and_mul_kernel[grid], h, out)
    return out


def _silu_run(kernel_fn, h, out) -> None:
    """The SiLU-and-mul launch's arguments, spelled once (as _run)."""
    P, I = h.shape[0], h.shape[1] // 2
    block = min(1024, triton.next_power_of_2(I))
    kernel_fn((P, triton.cdiv(I, block)))(h, out, I, h.stride(0), out.stride(0), BLOCK=block)


def _launch_any(inputs: MoEInputs | LayerInputs, config: dict, padded: bool) -> torch.Tensor:
    if isinstance(inputs, MoEInputs):
        return _launch(inputs, config, padded)
    act = silu_and_mul(_launch(inputs.up, config, padded))
    return _topk_sum(inputs.problem, _launch(inputs.down, config, padded, a=act))


def launch(family: str, inputs: MoEInputs | LayerInputs, config: dict) -> torch.Tensor:
    """The grouped kernel (what is tuned): out [M*top_k, N] in pair order; 'layer': out [M, hidden]."""
    return _launch_any(inputs, config, padded=False)


def launch_padded(inputs: MoEInputs | LayerInputs, config: dict) -> torch.Tensor:
    """Baseline: the same kernel over vLLM's padded, block-aligned sort and grid."""
    return _launch_any(inputs, config, padded=True)


def compile_only(family: str, problem: dict, config: dict) -> None:
    """Compile (or find in Triton's cache) every binary launch() runs for this problem, without a GPU: Triton's
    warmup with placeholder tensors of the real shapes (so the strides are the real ones; aligned, as fresh
    allocations are) and the real ints; a 'layer' warms up both GEMMs and the SiLU-and-mul kernel."""
    p = normalize_problem(family, problem)
    dt, i32 = _TORCH_DTYPE[p["act_dtype"]], placeholder(torch.int32)
    P = p["M"] * p["top_k"]
    table = BlockTable(i32, i32, i32, i32, i32, grouped_bound(P, p["E"], config["BLOCK_SIZE_M"]))
    warmup = lambda kernel: lambda grid: functools.partial(kernel.warmup, grid=grid)  # noqa: E731
    for q in gemm_problems(p):
        N, K, E, g = q["N"], q["K"], q["E"], _group(q)
        zeros = placeholder(torch.uint8, (E, K // g, N)) if q["zero_points"] else None
        inputs = MoEInputs(q, None, placeholder(torch.int32, (E, N, K // 8)), placeholder(dt, (E, K // g, N)), zeros,
                           None, placeholder(torch.float32), {}, {})
        a = placeholder(dt, (P if q["gemm"] == "down" else p["M"], K))
        _run(warmup(_moe_w4a16_kernel), inputs, a, table, placeholder(dt, (P, N)), config, padded=False)
    if p["gemm"] == "layer":
        _silu_run(warmup(_silu_and_mul_kernel), placeholder(dt, (P, 2 * p["N"])), placeholder(dt, (P, p["N"])))


def compile_variant(family: str, problem: dict) -> dict:
    """What decides the binaries: the problem without M (the pair count and the grid bound, the ints M enters, are
    not specialized)."""
    return {k: v for k, v in normalize_problem(family, problem).items() if k != "M"}


def check(family: str, out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]:
    """max |out - ref| / max |ref|, against a tolerance per activation dtype (see _TOLERANCE)."""
    err = float((out.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-6))
    tol = _TOLERANCE["fp16" if out.dtype == torch.float16 else "bf16"]
    return (err <= tol, err)  # a NaN error compares false


def flops(problem: dict) -> float:
    """2 x multiply-adds of every routed pair through its expert; a 'layer' counts both GEMMs (6*M*top_k*I*hidden)."""
    return sum(2.0 * q["M"] * q["top_k"] * q["N"] * q["K"] for q in gemm_problems(normalize_problem("moe-w4a16", problem)))


def min_bytes(problem: dict, active: float | None = None) -> float:
    """Weights (int4 + scales + zeros) of the `active` experts (default: those the seeded routing uses), the
    activations (M rows into the up GEMM, M*top_k into the down GEMM), the M*top_k output rows and their router data.
    A 'layer' is the sum of its two GEMMs' (the intermediate activations make a round trip through memory).
    src/families/moe-w4a16.ts has the same formula with the expected active count (test/families/mirror.test.ts)."""
    p = normalize_problem("moe-w4a16", problem)
    if active is None:
        topk_ids, _ = make_routing(p["M"], p["E"], p["top_k"], p["routing"], p["seed"])
        active = active_experts(topk_ids)
    total = 0.0
    for q in gemm_problems(p):
        M, N, K, top_k, g = q["M"], q["N"], q["K"], q["top_k"], _group(q)
        per_expert = K * N / 2 + (K // g) * N * (2 + (1 if q["zero_points"] else 0))
        rows = M * top_k if q["gemm"] == "down" else M
        total += active * per_expert + rows * K * 2 + M * top_k * (N * 2 + 8)
    return total


def input_bytes(problem: dict) -> float:
    """Bytes one launch touches, not allocates: at small M a launch reads only a few experts' weights, and it is
    the touched bytes that must exceed the L2 for rotation to keep weights out of it."""
    return min_bytes(problem)
