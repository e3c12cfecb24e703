"""Stand-ins for the compiled and JIT-compiled SGLang ops on the fused-MoE launch path (tritune's own code).

SGLang imports these only where its platform check says CUDA (or XPU/MUSA): they are CUDA kernels built at
install time (sgl_kernel) or at first use (sglang.kernels.jit). Here they are one or two Triton kernels each
(fast_align.py, fast_ops.py) where Triton runs (CUDA, or the CPU interpreter), with the same arguments and
arithmetic: fp32 math, scale = amax / type max with SGLang's floor 1e-10, round-half-even for int8. The torch
versions (*_torch) are the reference they are tested against, the path on a CPU without the interpreter, and
the path for the inputs the kernels do not take (the gelu activations, rows over fast_ops.MAX_COLS,
non-contiguous tensors). They are not SGLang's kernels: their time is inside a whole-layer time, the Triton
GEMMs are what is tuned.

- moe_align_block_size (sglang.kernels.ops.moe): SGLang's "+1 offset" bucket convention (kernels/servers/align.py).
- moe_sum_reduce (sgl_kernel): the sum over each token's top_k rows, times routed_scaling_factor.
- silu_and_mul, gelu_and_mul, gelu_tanh_and_mul (sglang.kernels.ops.activation.activation): rows whose expert
  id is -1 are left unwritten, as the JIT kernel skips them.
- per_token_group_quant (JIT), sgl_per_token_quant_fp8, per_tensor_quant_fp8: the activation quantizers.
A call with an option these do not implement (expert maps, UE8M0 scales, fused SiLU, masks, sorted rows) raises.
"""

import torch
import torch.nn.functional as F

from . import align, fast_align, fast_ops, shim

FP8 = torch.float8_e4m3fn
EPS = 1e-10  # SGLang's absmax floor (per_token_group_quant bakes it in)


def _refuse(what: str):
    raise shim.StandInError(f"{what}: tritune's torch stand-in does not implement it (not on the tuned path)")


def moe_align_block_size(topk_ids, num_experts, block_size, sorted_token_ids, experts_ids, num_tokens_post_pad,
                         cumsum_buffer=None, pad_sorted_token_ids=False, ignore_invalid_expert=False):
    """sglang.kernels.ops.moe.moe_align_block_size: num_experts counts the extra bucket for ids -1."""
    if ignore_invalid_expert:
        _refuse("moe_align_block_size with ignore_invalid_expert (expert parallelism)")
    if fast_ops.runs(topk_ids) and fast_align.fits(num_experts):
        fast_align.fill(topk_ids, num_experts, block_size, sorted_token_ids, experts_ids, num_tokens_post_pad,
                        bucket_offset=1)
    else:
        align.fill(topk_ids, num_experts, block_size, sorted_token_ids, experts_ids, num_tokens_post_pad,
                   invalid_bucket=True)


def moe_sum_reduce(input, output, routed_scaling_factor=1.0):
    """sgl_kernel.moe_sum_reduce: output[t] = sum_k input[t, k] * routed_scaling_factor."""
    if fast_ops.runs(input) and input.stride(-1) == 1 and output.stride(-1) == 1:
        fast_ops.moe_sum(input, output, routed_scaling_factor)
    else:
        moe_sum_reduce_torch(input, output, routed_scaling_factor)


def moe_sum_reduce_torch(input, output, routed_scaling_factor=1.0):
    output.copy_((input.float().sum(dim=1) * routed_scaling_factor).to(output.dtype))


def _activation(fn, fast: bool):
    def op(input, out=None, expert_ids=None, expert_step=1, *, sorted_token_ids=None, num_tokens_post_padded=None,
           num_valid_tokens=0):
        if sorted_token_ids is not None:
            _refuse("activation over sorted rows (the TMA down path)")
        d = input.shape[-1] // 2
        if out is None:
            out = input.new_empty(*input.shape[:-1], d)
        if fast and fast_ops.runs(input) and input.is_contiguous() and out.is_contiguous():
            return fast_ops.silu_and_mul(out, input, expert_ids, expert_step)
        x = input.float()
        result = (fn(x[..., :d]) * x[..., d:]).to(out.dtype)
        if expert_ids is None:
            out.copy_(result)
        else:
            rows = torch.arange(input.shape[0], device=input.device)
            keep = expert_ids.long()[rows // expert_step] != -1
            out[keep] = result[keep]
        return out

    return op


silu_and_mul = _activation(F.silu, fast=True)
silu_and_mul_torch = _activation(F.silu, fast=False)
gelu_and_mul = _activation(F.gelu, fast=False)  # not on the tuned path (the tuned layers are SiLU): torch only
gelu_tanh_and_mul = _activation(lambda x: F.gelu(x, approximate="tanh"), fast=False)


def silu_and_mul_with_activation_rounding(*_args, **_kwargs):
    _refuse("silu_and_mul_with_activation_rounding (the silu_rounded activation)")


def _quantize(x, scale, dtype):
    q = x / scale
    if dtype == torch.int8:
        return torch.round(q).clamp(-128, 127).to(dtype)
    fmax = torch.finfo(dtype).max
    return q.clamp(-fmax, fmax).to(dtype)


def per_token_group_quant(input, output_q=None, output_s=None, group_size=128, scale_ue8m0=False,
                          fuse_silu_and_mul=False, masked_m=None, expected_m=None, *, out_dtype=None,
                          column_major_scales=False, sorted_token_ids=None, num_tokens_post_padded=None,
                          num_valid_tokens=0, silu_and_mul_mode="legacy", fast=True):
    """sglang.kernels.ops.quantization.per_token_group_quant, vanilla layout: [T, H] -> q [T, H], scales [T, H/g]."""
    if scale_ue8m0 or fuse_silu_and_mul or masked_m is not None or column_major_scales or sorted_token_ids is not None:
        _refuse("per_token_group_quant with UE8M0 scales, fused SiLU, masks, column-major scales or sorted rows")
    dtype = output_q.dtype if output_q is not None else (out_dtype or FP8)
    T, H = input.shape[0], input.shape[-1]
    if output_q is None:
        output_q = torch.empty_like(input, dtype=dtype)
    if output_s is None:
        output_s = torch.empty(T, H // group_size, dtype=torch.float32, device=input.device)
    qmax = 127.0 if dtype == torch.int8 else torch.finfo(dtype).max
    if (fast and fast_ops.runs(input) and fast_ops.quant_fits(input, group_size) and output_q.is_contiguous()
            and output_s.is_contiguous() and output_s.dtype == torch.float32):
        fast_ops.quantize(input, output_q, output_s, group_size, fast_ops.DYNAMIC, -128.0 if dtype == torch.int8
                          else -qmax, qmax, EPS, (H // group_size, 1))
        return output_q, output_s
    groups = input.reshape(T, H // group_size, group_size).float()
    amax = groups.abs().amax(dim=-1, keepdim=True).clamp(min=EPS)
    scale = fast_ops.div_scalar(amax, qmax)
    output_q.copy_(_quantize(groups, scale, dtype).reshape(input.shape))
    output_s.copy_(scale.reshape(output_s.shape))
    return output_q, output_s


def _per_row_fits(input, output_q, output_s):
    return (fast_ops.runs(input) and fast_ops.quant_fits(input, input.shape[-1]) and output_q.is_contiguous()
            and output_s.is_contiguous() and output_s.dtype == torch.float32)


def sgl_per_token_quant_fp8(input, output_q, output_s, fast=True):
    """sglang.kernels.ops.quantization.sgl_per_token_quant_fp8: one scale per row."""
    fmax = torch.finfo(output_q.dtype).max
    if fast and _per_row_fits(input, output_q, output_s):
        fast_ops.quantize(input, output_q, output_s, input.shape[-1], fast_ops.DYNAMIC, -fmax, fmax, EPS)
        return
    x = input.float()
    scale = fast_ops.div_scalar(x.abs().amax(dim=-1, keepdim=True).clamp(min=EPS), fmax)
    output_q.copy_(_quantize(x, scale, output_q.dtype))
    output_s.copy_(scale.reshape(output_s.shape))


def per_tensor_quant_fp8(input, output_q, output_s, is_static=False, fast=True):
    """per_tensor_quant_fp8 (JIT): dynamic writes amax / fp8 max into output_s; static reads it."""
    fmax = torch.finfo(output_q.dtype).max
    if fast and _per_row_fits(input, output_q, output_s) and output_s.numel() == 1:
        mode = fast_ops.STATIC if is_static else fast_ops.TENSOR
        fast_ops.quantize(input, output_q, output_s, input.shape[-1], mode, -fmax, fmax, EPS)
        return
    x = input.float()
    if not is_static:
        output_s.copy_(fast_ops.div_scalar(x.abs().amax().clamp(min=EPS), fmax).reshape(output_s.shape))
    output_q.copy_(_quantize(x, output_s.float(), output_q.dtype))


def direct_register_custom_op(op_name, op_func, mutates_args, fake_impl=None, target_lib=None):
    """sglang.srt.utils.common.direct_register_custom_op: define torch.ops.sglang.<op_name>; a name already defined
    is left alone."""
    if not hasattr(torch.ops.sglang, op_name):
        shim.register_custom_op("sglang", op_name, op_func, mutates_args, fake_impl, target_lib)


def sgl_kernel_module():
    """The sgl_kernel stand-in: moe_sum_reduce; every other name raises when called."""
    module = shim.stand_in("sgl_kernel", "stand-in (tritune): compiled ops in torch", moe_sum_reduce=moe_sum_reduce)

    def missing(name):
        if name.startswith("__"):
            shim._missing("sgl_kernel", name)
        return lambda *_a, **_k: _refuse(f"sgl_kernel.{name}")

    module.__getattr__ = missing
    return module
