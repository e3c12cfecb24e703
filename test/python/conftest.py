"""Shared pytest setup: the repository root on sys.path, and Triton's interpreter made numpy-2.4-safe."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

if os.environ.get("TRITON_INTERPRET") == "1":
    from kernels import interpret_compat

    interpret_compat.apply()


import pytest  # noqa: E402


class _Noting:
    """A Triton kernel that notes its name when launched, then launches."""

    def __init__(self, kernel, name, launched):
        self.kernel, self.name, self.launched = kernel, name, launched

    def __getitem__(self, grid):
        self.launched.append(self.name)
        return self.kernel[grid]


@pytest.fixture
def launches(monkeypatch):
    """note(module, *names) -> the list the named kernels of `module` append their names to when launched."""

    def note(module, *names):
        launched = []
        for name in names:
            monkeypatch.setattr(module, name, _Noting(getattr(module, name), name, launched))
        return launched

    return note
