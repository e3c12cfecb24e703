"""What a trial's result depends on in kernels/: the source files, hashed, so a journal never answers a trial
from the trials of another kernel (the conductor's journal fingerprint holds the digest).

A family's sources under a backend are the closure over kernels/ imports (found in the code, function bodies
included) of the worker, the backend's module and the family's module, plus schemas/families.json (problem
defaults). The sim backend's results depend on kernels/sim.py, not on the kernels, so its closure starts there.
"""

import ast
import hashlib
import os

KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(KERNELS_DIR)
_DATA = ("schemas/families.json",)
# backend -> (its module, the other backend's module, which worker.py imports too but this backend never runs)
_BACKEND = {"sim": ("sim.py", "triton_backend.py"), "cuda": ("triton_backend.py", "sim.py"),
            "interpret": ("triton_backend.py", "sim.py")}


def _local_imports(path: str) -> set[str]:
    """The kernels/ modules a file imports: `from . import x`, `from .x import y`, `from kernels.x import y`,
    `import kernels.x`, and the bare `import x` / `from x import y` of modules run with kernels/ on sys.path."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = (node.module or "").split(".")
            if node.level == 1 and not node.module:
                names.update(a.name for a in node.names)
            elif node.level == 1 or base[0] != "kernels":
                names.add(base[0])
            else:
                names.add(base[1] if len(base) > 1 else "")
                if len(base) == 1:
                    names.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                names.add(parts[1] if parts[0] == "kernels" and len(parts) > 1 else parts[0])
    return {n for n in names if n and os.path.isfile(os.path.join(KERNELS_DIR, n + ".py"))}


def closure(entries: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    """Every kernels/ file the entry files (names in kernels/) reach through imports, sorted; `exclude` is not
    followed."""
    seen, todo = set(exclude), list(entries)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(m + ".py" for m in _local_imports(os.path.join(KERNELS_DIR, name)))
    return sorted(seen - set(exclude))


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def family_sources(family: str, backend: str) -> dict:
    """{"digest": sha256 over the files, "files": {repository path: sha256}} for a family under a backend."""
    from .family import FAMILY_MODULES

    module, other = _BACKEND[backend]
    entries = ["worker.py", module] + ([] if backend == "sim" else [FAMILY_MODULES[family] + ".py"])
    files = {f"kernels/{name}": _sha256(os.path.join(KERNELS_DIR, name)) for name in closure(entries, (other,))}
    files.update({path: _sha256(os.path.join(ROOT, path)) for path in _DATA})
    digest = hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in sorted(files.items())).encode()).hexdigest()
    return {"digest": digest, "files": dict(sorted(files.items()))}


def all_family_sources(backend: str) -> dict:
    """family_sources of every family (what a worker's hello carries)."""
    from .protocol import FAMILIES

    return {family: family_sources(family, backend) for family in FAMILIES}
