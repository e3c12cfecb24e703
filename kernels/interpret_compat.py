"""Make Triton 3.6's CPU interpreter work with numpy >= 2.4.

The interpreter keeps kernel scalars as 1-element numpy arrays and converts them with int(array), which
numpy 2.4 refuses for arrays of ndim > 0; so `for k in range(0, tl.cdiv(K, BLOCK))` fails with
"only 0-dimensional arrays can be converted to Python scalars". apply() wraps the interpreter's tensor
patching so that __index__ reads the single element. It is a no-op when nothing needs fixing.
Used by the interpret backend (kernels/triton_backend.py) and by test/python/conftest.py.
"""


def apply() -> None:
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
