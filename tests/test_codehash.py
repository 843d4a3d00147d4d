"""The code hash of a rule: which edits change it, on a small package written for each test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from twinnets.pipeline.codehash import covered, source_hash

ROOT = Path(__file__).resolve().parents[1]

#: A package "pkg" with every kind of thing that a script can reach, and things it cannot.
FILES = {
    "pkg/__init__.py": '''
        """The package."""
        import os

        os.environ.setdefault("PKG_INIT", "1")


        def unused_in_init():
            return 0
    ''',
    "pkg/helpers.py": '''
        """Helpers."""
        import numpy as np

        FLAG = np.float64(1.0)


        def helper(x):
            """Add one."""
            return x + 1


        class Base:
            kind = "base"


        def not_used():
            return "not used"
    ''',
    "pkg/core.py": '''
        """The core."""
        import os

        from pkg.helpers import Base, helper

        os.environ.setdefault("PKG_FLAG", "1")

        RATE = 2.0
        OTHER = 5


        def deco(f):
            return f


        @deco
        def used(x, scale=RATE):
            """Doc."""
            # a comment
            return helper(x) * scale


        class Thing(Base):
            def method(self):
                return _private()


        def _private():
            return 1


        def unused():
            return 0


        def only_entry():
            return 3
    ''',
    "pkg/stars.py": """
        from pkg.helpers import *


        def g():
            return helper(1)
    """,
    "pkg/dynamic.py": """
        def pick(name):
            return globals()[name]()


        def a():
            return 1


        def b():
            return 2
    """,
    "pkg/sub/__init__.py": """
        SIDE = print("imported")


        def in_init():
            return 0


        print("sub imported")
    """,
    "pkg/sub/leaf.py": """
        from . import sibling
        from .sibling import far


        def leaf():
            return far() + sibling.near()
    """,
    "pkg/sub/sibling.py": """
        def near():
            return 1


        def far():
            return 2


        def neither():
            return 3
    """,
    "script.py": """
        import pkg.core as core
        from pkg import core as same_core

        core.used(1)
        same_core.Thing().method()
    """,
}


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return tmp_path


def hash_of(root: Path, script: str = "script.py", *entries: str) -> str:
    return source_hash(root / script, *entries, package="pkg", root=root)


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new, 1))


def script(root: Path, text: str) -> str:
    (root / "other.py").write_text(textwrap.dedent(text).lstrip())
    return "other.py"


def test_comments_docstrings_and_formatting_change_nothing(pkg):
    before = hash_of(pkg)
    edit(pkg, "pkg/core.py", '"""Doc."""', '"""Another doc, longer."""\n    # and a comment')
    edit(pkg, "pkg/core.py", '"""The core."""', '"""The core, documented again."""')
    edit(
        pkg, "pkg/core.py", "    return helper(x) * scale", "    return (helper(x)\n * scale)  # !"
    )
    edit(pkg, "pkg/core.py", "class Thing(Base):", 'class Thing(Base):\n    """A thing."""\n')
    edit(pkg, "pkg/helpers.py", "def helper(x):", "# new comment\n\n\ndef helper(  x  ):")
    edit(pkg, "pkg/helpers.py", '    kind = "base"', '    kind = "base"\n    """Attribute doc."""')
    edit(pkg, "pkg/__init__.py", '"""The package."""', "# no docstring now")
    edit(pkg, "script.py", "core.used(1)", "core.used(1)  # call it")
    assert hash_of(pkg) == before


def test_moving_definitions_around_changes_nothing(pkg):
    before = hash_of(pkg)
    edit(pkg, "pkg/core.py", "def deco(f):\n    return f\n", "")
    edit(pkg, "pkg/core.py", "def unused():", "def deco(f):\n    return f\n\n\ndef unused():")
    assert hash_of(pkg) == before


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("pkg/core.py", "def unused():\n    return 0", "def unused():\n    return 1"),
        ("pkg/core.py", "def only_entry():\n    return 3", "def only_entry():\n    return 4"),
        ("pkg/core.py", "OTHER = 5", "OTHER = 6"),
        ("pkg/helpers.py", 'return "not used"', 'return "still not used"'),
        ("pkg/__init__.py", "return 0", "return 1"),  # a definition in a package's __init__
        ("pkg/sub/sibling.py", "return 3", "return 4"),  # a module never imported
        ("pkg/helpers.py", "import numpy as np", "import numpy.ma as np"),  # for FLAG only
    ],
    ids=[
        "function", "entry-only", "constant", "other-module", "init", "not-imported",
        "unused-import",
    ],
)  # fmt: skip
def test_editing_code_that_is_not_reached_changes_nothing(pkg, name, old, new):
    before = hash_of(pkg)
    edit(pkg, name, old, new)
    assert hash_of(pkg) == before


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("pkg/core.py", "return helper(x) * scale", "return helper(x) * scale * 1"),
        ("pkg/core.py", "RATE = 2.0", "RATE = 3.0"),  # reached as a default value only
        ("pkg/core.py", "def used(x, scale=RATE):", "def used(x, scale=OTHER):"),
        ("pkg/core.py", "def deco(f):\n    return f", "def deco(f):\n    return None or f"),
        ("pkg/helpers.py", 'kind = "base"', 'kind = "derived"'),  # a base class
        ("pkg/helpers.py", "return x + 1", "return x + 2"),  # through an import
        ("pkg/core.py", "return 1", "return 2"),  # from a method
        ("pkg/core.py", 'setdefault("PKG_FLAG", "1")', 'setdefault("PKG_FLAG", "2")'),
        ("pkg/__init__.py", 'setdefault("PKG_INIT", "1")', 'setdefault("PKG_INIT", "2")'),
        ("pkg/core.py", "import os\n", "import posix as os\n"),  # a name that runs uses
        ("script.py", "core.used(1)", "core.used(2)"),
    ],
    ids=[
        "body", "constant", "default", "decorator", "base-class", "imported", "method",
        "on-import", "package-init", "third-party-import", "script",
    ],
)  # fmt: skip
def test_editing_code_that_runs_changes_the_hash(pkg, name, old, new):
    before = hash_of(pkg)
    edit(pkg, name, old, new)
    assert hash_of(pkg) != before


def test_a_module_imported_without_use_still_runs_its_import_time_code(pkg):
    (pkg / "pkg" / "helpers.py").write_text(
        (pkg / "pkg" / "helpers.py").read_text() + '\nprint("helpers imported")\n'
    )
    before = hash_of(pkg)
    edit(pkg, "pkg/helpers.py", 'print("helpers imported")', 'print("helpers loaded")')
    assert hash_of(pkg) != before


def test_an_entry_adds_what_it_reaches(pkg):
    without = hash_of(pkg)
    before = hash_of(pkg, "script.py", "pkg.core:only_entry")
    assert before != without
    edit(pkg, "pkg/core.py", "def only_entry():\n    return 3", "def only_entry():\n    return 4")
    assert hash_of(pkg, "script.py", "pkg.core:only_entry") != before
    assert hash_of(pkg) == without
    assert "pkg.core:only_entry" in covered(
        pkg / "script.py", "pkg.core:only_entry", package="pkg", root=pkg
    )


def test_an_entry_in_a_missing_module_is_an_error(pkg):
    with pytest.raises(ValueError, match=r"pkg\.nowhere"):
        hash_of(pkg, "script.py", "pkg.nowhere:f")


def test_star_imports_and_dynamic_lookups_take_the_whole_module(pkg):
    stars = script(pkg, "from pkg.stars import g\n\ng()\n")
    before = hash_of(pkg, stars)
    edit(pkg, "pkg/helpers.py", 'return "not used"', 'return "still not used"')
    assert hash_of(pkg, stars) != before

    dynamic = script(pkg, "from pkg.dynamic import pick\n\npick('a')\n")
    before = hash_of(pkg, dynamic)
    edit(pkg, "pkg/dynamic.py", "return 2", "return 3")  # b: reached only by name
    assert hash_of(pkg, dynamic) != before

    as_value = script(pkg, "import pkg.core as core\n\ngetattr(core, 'used')(1)\n")
    before = hash_of(pkg, as_value)
    edit(pkg, "pkg/core.py", "def unused():\n    return 0", "def unused():\n    return 1")
    assert hash_of(pkg, as_value) != before

    missing = script(pkg, "import pkg.core as core\n\ncore.defined_elsewhere()\n")
    assert "pkg.core:unused" in covered(pkg / missing, package="pkg", root=pkg)


def test_relative_imports_and_package_inits(pkg):
    leaf = script(pkg, "from pkg.sub.leaf import leaf\n\nleaf()\n")
    reached = covered(pkg / leaf, package="pkg", root=pkg)
    assert {"pkg.sub.sibling:near", "pkg.sub.sibling:far", "pkg.sub:<on import>"} <= set(reached)
    assert "pkg.sub.sibling:neither" not in reached and "pkg.sub:in_init" not in reached
    assert "pkg.sub:SIDE" not in reached  # an assignment is a definition, even with a call
    before = hash_of(pkg, leaf)
    edit(pkg, "pkg/sub/__init__.py", 'print("sub imported")', 'print("sub loaded")')
    assert hash_of(pkg, leaf) != before


def test_the_hash_is_the_same_on_every_python_version(pkg):
    # ast.dump's text differs between versions (3.13 leaves out empty fields): a version
    # change must not rerun a run. A change here reruns every rule of every run once.
    (pkg / "fixed.py").write_text("from pkg.helpers import helper\n\nhelper(1)\n")
    assert hash_of(pkg, "fixed.py") == "ce3085825c3b47de"


def test_the_workflow_figures_each_reach_their_own_function_only():
    plot = ROOT / "scripts" / "plot.py"
    alone = set(covered(plot))
    assert "twinnets.report.figures.drawing:draw" in alone
    assert not any(name.endswith(":accuracy_grid") for name in alone)
    grid = set(covered(plot, "twinnets.report.figures.convex:accuracy_grid"))
    assert "twinnets.report.figures.convex:accuracy_grid" in grid
    assert "twinnets.report.figures.convex:convex_control" not in grid
    assert not any(name.startswith("twinnets.report.figures.distances") for name in grid)
    # training code is not in the analysis' hash, nor the analysis' in training's
    analysis = set(covered(ROOT / "scripts" / "analyze_group.py"))
    assert "twinnets.train.network:train_block" not in analysis
    assert "twinnets.train.kernels:sgd_epoch" not in analysis
    assert "twinnets.train.kernels:<on import>" in analysis  # it runs on import
    train = set(covered(ROOT / "scripts" / "train.py"))
    assert "twinnets.train.kernels:sgd_epoch" in train
    assert not any(name.startswith("twinnets.compare") for name in train)
