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


def _module_file(parts: list[str]) -> str | None:
    """The kernels/ file (relative path) of a module path under kernels/, e.g. ['servers', 'moe'] -> servers/moe.py."""
    if not parts:
        return None
    rel = os.path.join(*parts)
    if os.path.isfile(os.path.join(KERNELS_DIR, rel + ".py")):
        return rel + ".py"
    if os.path.isfile(os.path.join(KERNELS_DIR, rel, "__init__.py")):
        return os.path.join(rel, "__init__.py")
    return None


def _local_imports(rel: str) -> set[str]:
    """The kernels/ files a kernels/ file (relative path) imports: relative imports, `kernels.x` imports, and the
    bare `import x` / `from x import y` of modules run with kernels/ on sys.path (function bodies included)."""
    path = os.path.join(KERNELS_DIR, rel)
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = os.path.dirname(rel).split(os.sep) if os.path.dirname(rel) else []
    candidates: list[list[str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module.split(".") if node.module else []
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                candidates.append(base + mod)
                candidates.extend(base + mod + [a.name] for a in node.names)
            elif mod and mod[0] == "kernels":
                candidates.append(mod[1:])
                candidates.extend(mod[1:] + [a.name] for a in node.names)
            else:
                candidates.append(mod)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                candidates.append(parts[1:] if parts[0] == "kernels" else parts)
    return {f for f in (_module_file(c) for c in candidates) if f}


def closure(entries: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    """Every kernels/ file the entry files (paths relative to kernels/) reach through imports, sorted; `exclude` is
    not followed."""
    seen, todo = set(exclude), list(entries)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_local_imports(name))
    return sorted(seen - set(exclude))


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def family_sources(family: str, backend: str) -> dict:
    """{"digest": sha256 over the files, "files": {path: sha256}} for a family under a backend; for a family whose
    kernel is a server's (kernels/server_family.py), also "server": its name, version, origin and timed sources; every
    Python source of the server tritune loads counts as a file `<name> <version>:<path>` (absent when the server's
    code is not there: the family cannot run)."""
    from .family import FAMILY_MODULES
    from .server_family import IMPORTED_AT_RUN_TIME, SERVER_FAMILIES, server_provenance  # neither torch nor a server

    module, other = _BACKEND[backend]
    entries = ["worker.py", module] + ([] if backend == "sim" else [FAMILY_MODULES[family] + ".py"])
    if backend != "sim" and family in SERVER_FAMILIES:
        entries += list(IMPORTED_AT_RUN_TIME[family])
    files = {f"kernels/{name}": _sha256(os.path.join(KERNELS_DIR, name)) for name in closure(entries, (other,))}
    files.update({path: _sha256(os.path.join(ROOT, path)) for path in _DATA})
    out = {}
    if family in SERVER_FAMILIES:
        try:
            server = server_provenance(family)
        except FileNotFoundError:
            server = None
        if server:
            members = server.pop("members")  # hashed into the digest, not carried in hello or sidecars
            out["server"] = server  # the sim reports it too (its shipped files are incumbents there as well)
            if backend != "sim":  # the sim's numbers do not depend on the server's code
                files.update({f"{server['name']} {server['version']}:{p}": h for p, h in {**members, **server["sources"]}.items()})
            # the release's shipped files are hysteresis incumbents, not a source of results: not hashed
    digest = hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in sorted(files.items())).encode()).hexdigest()
    return {"digest": digest, "files": dict(sorted(files.items())), **out}


def all_family_sources(backend: str) -> dict:
    """family_sources of every family (what a worker's hello carries)."""
    from .protocol import FAMILIES

    return {family: family_sources(family, backend) for family in FAMILIES}
