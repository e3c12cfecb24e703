"""Make Triton 3.6's CPU interpreter work with numpy >= 2.4.

The interpreter keeps kernel scalars as 1-element numpy arrays and converts them with int(array), which
numpy 2.4 refuses for arrays of ndim > 0; so `for k in range(0, tl.cdiv(K, BLOCK))` fails with
"only 0-dimensional arrays can be converted to Python scalars". apply() wraps the interpreter's tensor
patching so that __index__ reads the single element. It is a no-op when nothing needs fixing.

The interpreter also keeps bfloat16 values as their raw uint16 bits and hands those to np.matmul in
tl.dot, so a bf16 dot multiplies bit patterns (kernels that upcast before the dot never see it; the
servers' kernels, which are not ours to change, do). apply() makes its dot read bf16 operands as fp32
first, which is exact. Its conversions have gaps too: a cast between an integer and bf16 (int8 -> bf16 in
the servers' int8_w8a16 kernel) reinterprets the integer as bits; fp32 -> bf16 truncates where a GPU
rounds to nearest even (a bias that three roundings in a row in a fused MoE layer turn into ~1 % errors);
and fp32 -> fp8 e4m3 loses the carry when rounding up crosses a power of two (126.3 -> 64 instead of
128). apply() converts every cast to or from bf16 and fp8 through torch, as a GPU rounds.
Used by the interpret backend (kernels/triton_backend.py) and by test/python/conftest.py.
"""


def apply() -> None:
    _apply_index()
    _apply_bf16_dot()


def _apply_bf16_dot() -> None:
    import numpy as np
    import torch
    import triton.language as tl
    from triton.runtime import interpreter

    builder = interpreter.InterpreterBuilder
    original = builder.create_dot
    if getattr(original, "_tritune_compat", False):
        return

    # float types the interpreter stores as raw bits (numpy has no such dtype), with their torch twins
    packed = {tl.bfloat16: (torch.bfloat16, torch.uint16), tl.float8e4nv: (torch.float8_e4m3fn, torch.uint8),
              tl.float8e5: (torch.float8_e5m2, torch.uint8)}
    floats = {tl.float32: torch.float32, tl.float16: torch.float16, tl.float64: torch.float64}

    def to_torch(handle):
        data = torch.from_numpy(np.ascontiguousarray(handle.data))
        ty = handle.dtype.scalar
        return data.view(packed[ty][0]) if ty in packed else data

    def from_torch(t, ty):
        if ty in packed:
            return interpreter.TensorHandle(t.to(packed[ty][0]).view(packed[ty][1]).numpy(), ty)
        return interpreter.TensorHandle(t.to(floats[ty]).numpy(), ty)

    def convert(src, dst_ty):
        """float -> float as a GPU does it: round to nearest even, fp8 e4m3 saturating (the kernels clamp anyway)."""
        value = to_torch(src).float()
        if dst_ty == tl.float8e4nv:
            value = value.clamp(-448.0, 448.0)
        return from_torch(value, dst_ty)

    def as_fp32(handle):
        return convert(handle, tl.float32) if handle.dtype.scalar == tl.bfloat16 else handle

    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        return original(self, as_fp32(a), as_fp32(b), d, input_precision, max_num_imprecise_acc)

    create_dot._tritune_compat = True
    builder.create_dot = create_dot

    original_cast = builder.cast_impl

    def is_float(ty):
        return ty in packed or ty in floats

    def cast_impl(self, src, dst_type):
        src_ty, dst_ty = src.dtype.scalar, dst_type.scalar
        if (src_ty in packed or dst_ty in packed) and src_ty != dst_ty:
            if is_float(src_ty) and is_float(dst_ty):
                return convert(src, dst_ty)
            if dst_ty in packed:  # int -> bf16 / fp8: through fp32
                return convert(original_cast(self, src, tl.float32), dst_ty)
            return original_cast(self, convert(src, tl.float32), dst_type)  # bf16 / fp8 -> int
        return original_cast(self, src, dst_type)

    def create_fp_to_fp(self, src, dst_type, rounding_mode):
        return convert(src, dst_type.scalar)

    builder.cast_impl = cast_impl
    builder.create_fp_to_fp = create_fp_to_fp


def _apply_index() -> None:
    import numpy as np

    try:
        int(np.zeros(1, dtype=np.int32))
        return  # this numpy still converts 1-element arrays
    except TypeError:
        pass
    from triton.runtime import interpreter

    original = interpreter._patch_lang_tensor
    if getattr(original, "_tritune_compat", False):
        return

    def patched(tensor, scope):
        original(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    patched._tritune_compat = True
    interpreter._patch_lang_tensor = patched
