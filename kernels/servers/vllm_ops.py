"""Stand-ins for the compiled vLLM ops on the fused-MoE launch path (tritune's own code).

vLLM reaches its compiled extension two ways, and both are met here:
- through the Python module vllm._custom_ops (custom_ops_module): moe_align_block_size, moe_sum,
  scaled_fp8_quant, scaled_int8_quant;
- through torch.ops._C by name (register_torch_ops): silu_and_mul, per_token_group_fp8_quant,
  per_token_group_quant_int8 (the last two only on CUDA: on a CPU vLLM runs its own Triton fallbacks).
Each runs as one or two Triton kernels (fast_align.py, fast_ops.py) where Triton runs (CUDA, or the CPU
interpreter), so a timed whole-layer launch pays about what vLLM's compiled kernels cost, not a chain of small
torch ops. The torch versions here (*_torch) are the reference they are tested against and the path on a CPU
without the interpreter, and for the few inputs the kernels do not take (UE8M0 scales, rows over
fast_ops.MAX_COLS, non-contiguous tensors, over fast_align.MAX_BUCKETS experts). The arithmetic is the compiled
ops': fp32 math, round-half-even for int8, scales = amax / type max. They are not vLLM's kernels: their time is
inside a whole-layer time, the Triton GEMMs are what is tuned.
"""

import torch
import torch.nn.functional as F

from . import align, fast_align, fast_ops, shim



def _not_here(name):
    def op(*_args, **_kwargs):
        raise shim.StandInError(f"vllm._custom_ops.{name} is vLLM's compiled op; tritune has no stand-in for it")

    return op


def custom_ops_module(platform):
    """The vllm._custom_ops stand-in: the four ops above, every other name raises when called."""
    fp8 = platform.fp8_dtype()

    def moe_align_block_size(topk_ids, num_experts, block_size, sorted_token_ids, experts_ids, num_tokens_post_pad,
                             expert_map=None, scatter_idx=None):
        if expert_map is not None or scatter_idx is not None:
            raise shim.StandInError("moe_align_block_size with an expert map: expert parallelism is not tuned")
        fill = fast_align.fill if fast_ops.runs(topk_ids) and fast_align.fits(num_experts) else align.fill
        fill(topk_ids, num_experts, block_size, sorted_token_ids, experts_ids, num_tokens_post_pad)

    def moe_sum(input, output, topk_ids=None, expert_map=None):
        if expert_map is not None:
            raise shim.StandInError("moe_sum with an expert map: expert parallelism is not tuned")
        if fast_ops.runs(input) and input.stride(-1) == 1 and output.stride(-1) == 1:
            fast_ops.moe_sum(input, output)
        else:
            moe_sum_torch(input, output)

    def scaled_fp8_quant(input, scale=None, num_token_padding=None, scale_ub=None, use_per_token_if_dynamic=False,
                         output=None, group_shape=None):
        if num_token_padding or scale_ub is not None or group_shape is not None:
            raise shim.StandInError("scaled_fp8_quant: padding, scale_ub and group shapes have no stand-in")
        fmax = torch.finfo(fp8).max
        if not _quant_fits(input, scale, output):
            return scaled_fp8_quant_torch(input, scale, use_per_token_if_dynamic, output, fp8)
        q = output if output is not None else torch.empty(input.shape, dtype=fp8, device=input.device)
        if scale is not None:
            fast_ops.quantize(input, q, scale, input.shape[-1], fast_ops.STATIC, -fmax, fmax)
        elif use_per_token_if_dynamic:
            scale = torch.empty(*input.shape[:-1], 1, dtype=torch.float32, device=input.device)
            fast_ops.quantize(input, q, scale, input.shape[-1], fast_ops.DYNAMIC, -fmax, fmax, floor=1.0 / 512)
        else:
            scale = torch.empty(1, dtype=torch.float32, device=input.device)
            fast_ops.quantize(input, q, scale, input.shape[-1], fast_ops.TENSOR, -fmax, fmax)
        return q, scale

    def scaled_int8_quant(input, scale=None, azp=None, symmetric=True):
        if azp is not None or not symmetric:
            raise shim.StandInError("scaled_int8_quant: asymmetric quantization has no stand-in")
        if not _quant_fits(input, scale, None):
            return scaled_int8_quant_torch(input, scale)
        q = torch.empty(input.shape, dtype=torch.int8, device=input.device)
        mode = fast_ops.STATIC
        if scale is None:  # dynamic, per token
            scale, mode = torch.empty(*input.shape[:-1], 1, dtype=torch.float32, device=input.device), fast_ops.DYNAMIC
        fast_ops.quantize(input, q, scale, input.shape[-1], mode, -128.0, 127.0)
        return q, scale, None

    module = shim.stand_in(
        "vllm._custom_ops",
        "stand-in (tritune): compiled ops as Triton kernels (torch where Triton cannot run)",
        moe_align_block_size=moe_align_block_size,
        moe_sum=moe_sum,
        scaled_fp8_quant=scaled_fp8_quant,
        scaled_int8_quant=scaled_int8_quant,
    )
    module.__getattr__ = lambda name: _not_here(name) if not name.startswith("__") else shim._missing(module.__name__, name)
    return module


def _quant_fits(input, scale, output) -> bool:
    """Whether the Triton quantizer takes these: contiguous rows that fit a tile, a static scale that is one fp32
    value or one per row."""
    rows = input.numel() // max(input.shape[-1], 1)
    return (fast_ops.runs(input) and fast_ops.quant_fits(input, input.shape[-1])
            and (output is None or output.is_contiguous())
            and (scale is None or (scale.dtype == torch.float32 and scale.is_contiguous() and scale.numel() in (1, rows))))


def moe_sum_torch(input, output):
    output.copy_(input.float().sum(dim=1).to(output.dtype))


def scaled_fp8_quant_torch(input, scale, use_per_token_if_dynamic, output, fp8):
    fmax = torch.finfo(fp8).max
    x = input.float()
    if scale is None:
        amax = x.abs().amax(dim=-1, keepdim=True) if use_per_token_if_dynamic else x.abs().amax().reshape(1)
        if use_per_token_if_dynamic:
            amax = amax.clamp(min=1.0 / 512)  # vLLM's floor: scale >= 1 / (512 * fp8 max)
        scale = fast_ops.div_scalar(amax, fmax).float()
    q = (x / scale).clamp(-fmax, fmax).to(fp8)
    if output is not None:
        output.copy_(q)
        q = output
    return q, scale


def scaled_int8_quant_torch(input, scale):
    x = input.float()
    if scale is None:  # dynamic, per token
        scale = fast_ops.div_scalar(x.abs().amax(dim=-1, keepdim=True), 127.0).float()
    q = torch.round(x / scale).clamp(-128, 127).to(torch.int8)
    return q, scale, None


def direct_register_custom_op(op_name, op_func, mutates_args=None, fake_impl=None, target_lib=None,
                              dispatch_key=None, tags=()):
    """vllm.utils.torch_utils.direct_register_custom_op: define and implement torch.ops.vllm.<op_name>."""
    shim.register_custom_op("vllm", op_name, op_func, mutates_args, fake_impl, target_lib, tags)


def silu_and_mul_torch(out: torch.Tensor, input: torch.Tensor) -> None:
    d = input.shape[-1] // 2
    out.copy_((F.silu(input[..., :d].float()) * input[..., d:].float()).to(out.dtype))


def per_token_group_fp8_quant_torch(x, x_q, x_s, group_size, eps, fp8_min, fp8_max, use_ue8m0, column_major,
                                    tma_aligned):
    groups = x.reshape(-1, group_size).float()
    scale = fast_ops.div_scalar(groups.abs().amax(dim=-1, keepdim=True).clamp(min=eps), fp8_max)
    if use_ue8m0:
        scale = torch.exp2(torch.ceil(torch.log2(scale)))
    x_q.copy_((groups / scale).clamp(fp8_min, fp8_max).to(x_q.dtype).reshape(x_q.shape))
    x_s.copy_(scale.reshape(x_s.shape))


def per_token_group_quant_int8_torch(x, x_q, x_s, group_size, eps, int8_min, int8_max):
    groups = x.reshape(-1, group_size).float()
    scale = fast_ops.div_scalar(groups.abs().amax(dim=-1, keepdim=True).clamp(min=eps), int8_max)
    x_q.copy_(torch.round(groups / scale).clamp(int8_min, int8_max).to(x_q.dtype).reshape(x_q.shape))
    x_s.copy_(scale.reshape(x_s.shape))


def silu_and_mul(out: torch.Tensor, input: torch.Tensor) -> None:
    if fast_ops.runs(input) and input.is_contiguous() and out.is_contiguous():
        fast_ops.silu_and_mul(out, input)
    else:
        silu_and_mul_torch(out, input)


def group_quant_fits(x, x_q, x_s, group_size) -> bool:
    """Whether the Triton quantizer takes a per-group call: 2-D contiguous input and output, 2-D scales (row- or
    column-major), groups that fit a tile."""
    return (fast_ops.runs(x) and x.dim() == 2 and x_s.dim() == 2 and x_s.dtype == torch.float32 and x_q.is_contiguous()
            and fast_ops.quant_fits(x, group_size))


def per_token_group_fp8_quant(x, x_q, x_s, group_size, eps, fp8_min, fp8_max, use_ue8m0, column_major, tma_aligned):
    if use_ue8m0 or not group_quant_fits(x, x_q, x_s, group_size):  # UE8M0 scales are off the tuned path
        return per_token_group_fp8_quant_torch(x, x_q, x_s, group_size, eps, fp8_min, fp8_max, use_ue8m0,
                                               column_major, tma_aligned)
    fast_ops.quantize(x, x_q, x_s, group_size, fast_ops.DYNAMIC, fp8_min, fp8_max, eps, x_s.stride())


def per_token_group_quant_int8(x, x_q, x_s, group_size, eps, int8_min, int8_max):
    if not group_quant_fits(x, x_q, x_s, group_size):
        return per_token_group_quant_int8_torch(x, x_q, x_s, group_size, eps, int8_min, int8_max)
    fast_ops.quantize(x, x_q, x_s, group_size, fast_ops.DYNAMIC, int8_min, int8_max, eps, x_s.stride())


_TORCH_OPS = {
    "silu_and_mul(Tensor(a!) out, Tensor input) -> ()": silu_and_mul,
    "per_token_group_fp8_quant(Tensor input, Tensor(a!) output_q, Tensor(b!) output_s, int group_size, float eps, "
    "float fp8_min, float fp8_max, bool scale_ue8m0, bool column_major, bool tma_aligned) -> ()": per_token_group_fp8_quant,
    "per_token_group_quant_int8(Tensor input, Tensor(a!) output_q, Tensor(b!) output_s, int group_size, float eps, "
    "float int8_min, float int8_max) -> ()": per_token_group_quant_int8,
}


def register_torch_ops() -> None:
    """Register the torch.ops._C stand-ins (once per process; skipped where vLLM's extension defined them)."""
    lib = None
    for schema, fn in _TORCH_OPS.items():
        name = schema.split("(", 1)[0]
        if hasattr(torch.ops._C, name):
            continue
        lib = lib or shim.library("_C")
        lib.define(schema)
        lib.impl(name, fn, "CompositeExplicitAutograd")
