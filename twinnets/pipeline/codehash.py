"""Code-aware reruns: hash exactly the package code that a workflow step runs.

Snakemake notices edits to a rule's ``script:`` file but not to the modules it
imports. Each rule therefore carries, as a param, a hash of the code its job runs,
found by reading the source (nothing is imported or run), so that an edit reruns
exactly the jobs whose code it changes:

* **Code, not text.** Each piece of code is hashed as its syntax tree, with
  docstrings removed (of modules, classes, functions, and any other statement that is
  a lone constant, such as an attribute's docstring), so formatting, comments and
  docstrings change no hash. The tree is written out by this module (fields that are
  empty are left out), not by ``ast.dump``, whose text differs between Python versions
  (3.13 leaves out empty fields): a new Python reruns nothing.
* **What runs, not whole files.** From the script's code, every ``twinnets`` name it
  uses (``import twinnets.x as m`` then ``m.f``; ``from twinnets.x import f``;
  ``from twinnets import x`` then ``x.f``) is followed, definition by definition:
  a module's top-level functions, classes and assignments, each with everything it
  references (decorators, default values, base classes, annotations, the body),
  resolved through its module's own definitions and imports (imports inside a
  function count for that function). Only the reached definitions are hashed.
* **What runs on import.** Every module that the job imports (the closure of the
  top-level imports, from the script and from reached functions, and each package's
  ``__init__``) contributes its top-level statements that are not definitions, e.g.
  ``os.environ.setdefault(...)`` and ``numba.config...`` in ``twinnets.train.kernels``.
* **Conservative where reading cannot tell.** ``from m import *``, a module used as a
  value (``getattr(m, name)``, passed around), an attribute that the module does not
  define at its top level, or ``globals()``/``eval``/``exec`` in reached code: the
  whole module is hashed. Code named only at run time (``importlib.import_module``)
  is invisible to reading: name it as an *entry* (``"twinnets.x.y:function"``),
  which the figure rules do for the figure function that ``plot.py`` looks up.

A class is one definition: reaching it reaches all its methods. Third-party code is
not hashed (the environment pins it); the names a reached definition imports from it
are. Names used by reached code that the module does not bind (locals, builtins) are
taken to be local. Blind spots, by design: a module-level assignment counts as a
definition (a call in its value that acts by side effect alone is missed), and code
that reads a docstring (``__doc__``) at run time is not rerun when it changes; nothing
in the workflow does either.

:func:`covered` lists what a rule's hash covers, to see why it reruns or does not.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

PACKAGE = "twinnets"
#: Version of what is hashed: bump it when the scheme changes, so every rule reruns once.
SCHEME = "codehash-2"
#: Calls that reach a module's names by string: the module's code is hashed whole.
_DYNAMIC = frozenset({"globals", "eval", "exec"})
_SCRIPT = "<script>"


def _canonical(node: object, out: list[str]) -> None:
    """Append a version-independent text of a syntax tree (empty fields left out)."""
    if isinstance(node, ast.AST):
        out.append(type(node).__name__)
        out.append("(")
        for name in node._fields:
            value = getattr(node, name, None)
            if value is None or value == [] or (name == "kind" and isinstance(node, ast.Constant)):
                continue
            out.append(name)
            out.append("=")
            _canonical(value, out)
            out.append(",")
        out.append(")")
    elif isinstance(node, list):
        out.append("[")
        for item in node:
            _canonical(item, out)
            out.append(",")
        out.append("]")
    else:
        out.append(repr(node))


def _strip_docstrings(body: list[ast.stmt]) -> None:
    """Drop statements that are a constant alone: docstrings, attribute docstrings, ``...``."""
    body[:] = [
        stmt
        for stmt in body
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
    ]
    for stmt in body:  # only statements hold statements: no need to visit expressions
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list):
                if name in ("handlers", "cases"):
                    for clause in inner:
                        _strip_docstrings(clause.body)
                else:
                    _strip_docstrings(inner)


@dataclass(frozen=True)
class _Binding:
    """A name bound by an import: module ``module`` itself, or its attribute ``attr``."""

    module: str
    attr: str | None = None

    def __str__(self) -> str:
        return self.module if self.attr is None else f"{self.module}:{self.attr}"


def _walk_outside_scopes(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a top-level statement, without entering functions or classes it defines."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if current is not node and isinstance(
            current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            continue
        todo.extend(ast.iter_child_nodes(current))


def _is_type_checking(stmt: ast.stmt) -> bool:
    test = getattr(stmt, "test", None)
    return isinstance(stmt, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


@dataclass
class _Unit:
    """A top-level statement: a definition of ``names``, or code that runs on import."""

    module: str
    is_package: bool
    node: ast.stmt
    names: tuple[str, ...]
    runs_on_import: bool
    _text: str | None = None
    _scanned: bool = False
    refs: list[tuple[str, ...]] = field(default_factory=list)
    local_imports: dict[str, list[_Binding]] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)
    dynamic: bool = False

    @property
    def key(self) -> str:
        """What the unit is, in the hash: its qualified name(s), or that it runs on import."""
        label = ",".join(self.names) if not self.runs_on_import else "<on import>"
        return f"{self.module}:{label}"

    @property
    def text(self) -> str:
        if self._text is None:
            out: list[str] = []
            _canonical(self.node, out)
            self._text = "".join(out)
        return self._text

    def scan(self) -> None:
        """Find what the unit uses, once it is reached (most units never are).

        ``refs``: the names it reads, as chains (``m.f.x`` is ("m", "f", "x"));
        ``local_imports`` and ``loads``: the imports in its body; ``dynamic``: whether
        it looks names up by string.
        """
        if self._scanned:
            return
        self._scanned = True
        todo: list[ast.AST] = [self.node]
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Attribute):
                parts = []
                base: ast.AST = node
                while isinstance(base, ast.Attribute):
                    parts.append(base.attr)
                    base = base.value
                if isinstance(base, ast.Name):
                    self.refs.append((base.id, *reversed(parts)))
                else:
                    todo.append(base)
                continue
            if isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Store):
                    self.refs.append((node.id,))
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                for bound, binding, loads in _bindings(self.module, self.is_package, node):
                    if bound != "*":  # (a star import is only allowed at the top level)
                        self.local_imports.setdefault(bound, []).append(binding)
                    if not self.runs_on_import:  # (those that run on import are the module's)
                        self.loads.extend(loads)
                continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                self.dynamic |= node.func.id in _DYNAMIC
            todo.extend(ast.iter_child_nodes(node))


@dataclass
class _Module:
    """One parsed source file: its units, the names they define, and its imports."""

    name: str
    is_package: bool
    units: list[_Unit] = field(default_factory=list)
    defs: dict[str, list[int]] = field(default_factory=dict)
    imports: dict[str, list[_Binding]] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)
    stars: list[str] = field(default_factory=list)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name of a (possibly relative) ``from ... import``."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, node.module] if node.module else base)


def _bindings(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom
) -> Iterator[tuple[str, _Binding, list[str]]]:
    """(name bound, what it is bound to, modules the import may load) per imported name."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, _Binding(alias.name), [alias.name]
            else:  # "import a.b.c" binds "a" and loads a.b.c
                yield (
                    alias.name.partition(".")[0],
                    _Binding(alias.name.partition(".")[0]),
                    [alias.name],
                )
        return
    source = _absolute(module, is_package, node)
    for alias in node.names:
        if alias.name == "*":
            yield "*", _Binding(source), [source]
        else:
            binding = _Binding(source, alias.name)
            yield alias.asname or alias.name, binding, [source, f"{source}.{alias.name}"]


def _parse_module(name: str, source: bytes, path: Path, is_package: bool) -> _Module:
    tree = ast.parse(source, filename=str(path))
    _strip_docstrings(tree.body)
    module = _Module(name, is_package)
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            for bound, binding, loads in _bindings(name, is_package, stmt):
                if bound == "*":
                    module.stars.append(binding.module)
                else:
                    module.imports.setdefault(bound, []).append(binding)
                module.loads.extend(loads)
            continue
        names: list[str] = []
        runs = False
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [stmt.name]
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        names.append(node.id)
                    elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(
                        node.ctx, ast.Store
                    ):
                        runs = True  # "x.attr = ..." or "x[i] = ...": an effect, not a name
        else:  # if/try/with/for/expressions...: they run on import; names they bind count too
            runs = True
            for node in _walk_outside_scopes(stmt):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.append(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.append(node.id)
                elif isinstance(node, ast.Import | ast.ImportFrom):
                    for bound, binding, loads in _bindings(name, is_package, node):
                        if bound == "*":
                            module.stars.append(binding.module)
                        else:
                            module.imports.setdefault(bound, []).append(binding)
                        if not _is_type_checking(stmt):
                            module.loads.extend(loads)
        unit = _Unit(name, is_package, stmt, tuple(names), runs)
        for bound in names:
            module.defs.setdefault(bound, []).append(len(module.units))
        module.units.append(unit)
    return module


#: Parsed files by path, with the bytes they were parsed from: a file is parsed once
#: per process however many rules import it, and again only when its bytes change.
_PARSED: dict[tuple[Path, str, bool], tuple[bytes, _Module]] = {}


def _parsed(path: Path, name: str, is_package: bool) -> _Module:
    source = path.read_bytes()
    key = (path, name, is_package)
    cached = _PARSED.get(key)
    if cached is None or cached[0] != source:
        cached = (source, _parse_module(name, source, path, is_package))
        _PARSED[key] = cached
    return cached[1]


def _package_root(package: str) -> Path:
    """The folder that holds ``package`` on the import path (found without importing it)."""
    spec = find_spec(package)
    assert spec is not None and spec.origin is not None, f"package {package} not found"
    return Path(spec.origin).parent.parent


class _Reach:
    """What one job runs: the units reached from a script and entries, found by a worklist."""

    def __init__(self, package: str, root: Path) -> None:
        self.package, self.root = package, root
        self.modules: dict[str, _Module | None] = {}
        self.loaded: set[str] = set()
        self.whole: set[str] = set()
        self.units: dict[tuple[str, int], _Unit] = {}
        self.used_imports: set[str] = set()
        self.attrs: dict[tuple[str, str], list[str]] = {}
        self.todo: list[_Unit] = []

    def module(self, name: str) -> _Module | None:
        """The parsed package module ``name``; None for other packages' and missing ones."""
        if name not in self.modules:
            found = None
            if name == self.package or name.startswith(self.package + "."):
                base = self.root.joinpath(*name.split("."))
                if (base / "__init__.py").is_file():
                    found = _parsed(base / "__init__.py", name, is_package=True)
                elif base.with_suffix(".py").is_file():
                    found = _parsed(base.with_suffix(".py"), name, is_package=False)
            self.modules[name] = found
        return self.modules[name]

    def add_script(self, path: Path) -> None:
        self.modules[_SCRIPT] = _parsed(path, _SCRIPT, is_package=False)
        self.load(_SCRIPT)
        self.reach_whole(_SCRIPT)

    def load(self, name: str) -> None:
        """Import module ``name``: its packages' ``__init__``, its code that runs, its imports."""
        if name in self.loaded:
            return
        module = self.module(name)
        if module is None:
            return
        self.loaded.add(name)
        parent = name.rpartition(".")[0]
        if parent:
            self.load(parent)
        for index, unit in enumerate(module.units):
            if unit.runs_on_import:
                self.reach(name, index)
        for loaded in module.loads:
            self.load(loaded)
        for star in module.stars:
            self.reach_whole(star)

    def reach_whole(self, name: str) -> None:
        """Every definition of module ``name``: for uses that reading cannot follow."""
        module = self.module(name)
        if module is None or name in self.whole:
            return
        self.whole.add(name)
        self.load(name)
        for index in range(len(module.units)):
            self.reach(name, index)

    def reach(self, name: str, index: int) -> None:
        if (name, index) not in self.units:
            unit = self.units[name, index] = self.modules[name].units[index]  # type: ignore[union-attr]
            self.todo.append(unit)

    def attribute(self, name: str, attr: str) -> list[str]:
        """Reach ``name.attr``; the modules it is, when it is a module rather than a value."""
        key = (name, attr)
        if key in self.attrs:
            return self.attrs[key]
        self.attrs[key] = []  # a cycle of re-exports ends here
        module = self.module(name)
        found: list[str] = []
        if module is None:
            pass  # another package's: not hashed
        elif attr in module.defs:
            for index in module.defs[attr]:
                self.reach(name, index)
        elif attr in module.imports:
            found = self.bound(name, attr, module.imports[attr])
        elif self.module(f"{name}.{attr}") is not None:
            self.load(f"{name}.{attr}")
            found = [f"{name}.{attr}"]
        else:  # defined some way that reading cannot see: all of it
            self.reach_whole(name)
        self.attrs[key] = found
        return found

    def bound(self, name: str, bound: str, bindings: Iterable[_Binding]) -> list[str]:
        """Follow the imports that bind ``bound`` in module ``name``; the modules they are."""
        found: list[str] = []
        for binding in bindings:
            self.used_imports.add(f"{name}:{bound}={binding}")
            if binding.attr is None:
                if self.module(binding.module) is not None:
                    self.load(binding.module)
                    found.append(binding.module)
            else:
                self.load(binding.module)
                found.extend(self.attribute(binding.module, binding.attr))
        return found

    def follow(self, unit: _Unit) -> None:
        """Reach what ``unit`` references, through its module's definitions and imports."""
        module = self.modules[unit.module]
        assert module is not None
        unit.scan()
        for loaded in unit.loads:
            self.load(loaded)
        if unit.dynamic:
            self.reach_whole(unit.module)
        for chain in unit.refs:
            head = chain[0]
            values: list[str] = []
            if head in unit.local_imports:
                values += self.bound(unit.module, head, unit.local_imports[head])
            if head in module.defs:
                for index in module.defs[head]:
                    self.reach(unit.module, index)
            elif head in module.imports:
                values += self.bound(unit.module, head, module.imports[head])
            for attr in chain[1:]:
                if not values:
                    break
                values = [m for value in values for m in self.attribute(value, attr)]
            for value in values:  # a module used as a value: anything in it may be used
                self.reach_whole(value)

    def add_entry(self, entry: str) -> None:
        """Reach ``"package.module:name"`` (or the whole module without ``:name``)."""
        name, _, attr = entry.partition(":")
        if self.module(name) is None:
            raise ValueError(
                f"code entry {entry!r}: no module {name!r} in package {self.package!r} "
                f"under {self.root}"
            )
        self.load(name)
        if not attr:
            self.reach_whole(name)
            return
        values = [name]
        for part in attr.split("."):
            values = [m for value in values for m in self.attribute(value, part)]
        for value in values:
            self.reach_whole(value)

    def run(self) -> None:
        while self.todo:
            self.follow(self.todo.pop())

    def texts(self) -> Iterator[str]:
        """What is hashed, in an order that moving definitions around leaves alone."""
        units = sorted(self.units.items(), key=lambda item: item[0])  # source order...
        for _, unit in sorted(units, key=lambda item: item[1].key):  # ...within each name
            yield unit.key
            yield unit.text
        yield from sorted(self.used_imports)


def _reach(
    script: str | os.PathLike,
    entries: tuple[str, ...],
    package: str,
    root: str | os.PathLike | None,
) -> _Reach:
    reach = _Reach(package, Path(root) if root is not None else _package_root(package))
    reach.add_script(Path(script))
    for entry in entries:
        reach.add_entry(entry)
    reach.run()
    return reach


def covered(
    script: str | os.PathLike,
    *entries: str,
    package: str = PACKAGE,
    root: str | os.PathLike | None = None,
) -> list[str]:
    """What the hash of ``script`` covers: ``module:name`` per definition, ``module:<on import>``.

    For seeing why a rule reruns (or does not); ``<script>`` is the script itself.
    """
    reach = _reach(script, entries, package, root)
    return sorted({unit.key for unit in reach.units.values()})


def source_hash(
    script: str | os.PathLike,
    *entries: str,
    package: str = PACKAGE,
    root: str | os.PathLike | None = None,
) -> str:
    """A short hash of the code that ``script`` runs, and that ``entries`` reach.

    It changes when that code changes, and not for comments, docstrings, formatting or
    code that the job never runs. ``entries`` are ``"package.module:function"`` names of
    code the script finds at run time; ``root`` is the folder that holds ``package``
    (default: where it is imported from).
    """
    digest = hashlib.sha256(SCHEME.encode())
    for entry in entries:
        digest.update(f"\0entry\0{entry}".encode())
    for text in _reach(script, entries, package, root).texts():
        digest.update(b"\0")
        digest.update(text.encode())
    return digest.hexdigest()[:16]
