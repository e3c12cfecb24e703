"""Shared pytest setup: the repository root on sys.path, and Triton's interpreter made numpy-2.4-safe."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

if os.environ.get("TRITON_INTERPRET") == "1":
    from kernels import interpret_compat

    interpret_compat.apply()
