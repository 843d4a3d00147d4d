"""Code-aware reruns: hash exactly the package modules that a workflow step runs.

Snakemake notices edits to a rule's ``script:`` file but not to the modules it
imports. Each rule therefore carries, as a param, the hash of its script and of
the transitive closure of the ``twinnets`` modules it imports (found by reading
import statements, not by running anything), so an edit to the trainer reruns
training and an edit to the analysis reruns only the analysis.
"""

from __future__ import annotations

import ast
import hashlib
import os
from importlib.util import find_spec
from pathlib import Path

PACKAGE = "twinnets"


def _imported_modules(path: Path) -> set[str]:
    """Names of the twinnets modules that ``path`` imports, at any depth in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from twinnets import dumps" imports the submodule twinnets.dumps.storage too
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n == PACKAGE or n.startswith(PACKAGE + "."))
    return found


def _package_dir() -> Path:
    spec = find_spec(PACKAGE)  # locates the package without running it
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def _module_file(name: str) -> Path | None:
    """The file of module ``name``, or None when the name is an attribute, not a module."""
    parts = name.split(".")[1:]
    base = _package_dir().joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and candidate.is_file():
            return candidate
    return _package_dir() / "__init__.py" if not parts else None


def source_files(script: str | os.PathLike) -> list[Path]:
    """``script`` and every twinnets module it imports, directly or indirectly."""
    script = Path(script)
    seen: dict[str, Path] = {}
    todo = sorted(_imported_modules(script))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = path
        parent = name.rpartition(".")[0]
        if parent:
            todo.append(parent)  # importing a submodule runs its package's __init__
        todo.extend(sorted(_imported_modules(path) - seen.keys()))
    return [script, *(seen[name] for name in sorted(seen))]


def source_hash(script: str | os.PathLike) -> str:
    """A short hash of the code that ``script`` runs; changes when any of it changes."""
    digest = hashlib.sha256()
    for path in source_files(script):
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
