"""The Snakemake workflow end to end on the smoke config, and what each change reruns."""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import twinnets
from twinnets.dumps.storage import read_dump
from twinnets.pipeline import grid

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "config", "envs")
#: The jobs that draw the figures and the report's tables: they read the gathered tables.
FIGURES = {
    rule: 1
    for rule in (
        "figure_question", "figure_receptive_fields", "figure_distance_matrices",
        "figure_over_training", "figure_barriers", "figure_similarity_vs_distance",
        "figure_convex_control", "figure_accuracy_grid", "report_tables",
    )
}  # fmt: skip


def make_copy(dest: Path, mnist_dir: Path) -> Path:
    """A private copy of the workflow and of the twinnets package, on the smoke config."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / part)
    # a private package copy, so tests can edit its code without touching the real one
    shutil.copytree(
        Path(twinnets.__file__).parent,
        dest / "twinnets",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    config = yaml.safe_load((dest / "config" / "smoke.yaml").read_text())
    config["mnist"] = {"mirrors": [str(mnist_dir)]}  # never the network
    (dest / "config" / "test.yaml").write_text(yaml.safe_dump(config))
    return dest


def snakemake(
    workdir: Path, *args: str, check: bool = True, targets: tuple[str, ...] = (), **kwargs
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    env.pop(twinnets.data.mnist.MIRROR_ENV, None)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,  # before --configfile, which takes every argument after it
        "--cores",
        "2",
        "--configfile",
        "config/test.yaml",
        *args,
    ]
    result = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


def planned_rules(
    workdir: Path, config_file: str = "config/test.yaml", targets: tuple[str, ...] = ()
) -> dict[str, int]:
    """Jobs per rule that a dry run (of the default target, or of ``targets``) schedules
    ({} when nothing is to be done)."""
    out = snakemake(workdir, "-n", "--configfile", config_file, targets=targets)
    text = out.stdout + out.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def planned(
    workdir: Path, config_file: str = "config/test.yaml", targets: tuple[str, ...] = ()
) -> dict[str, int]:
    """Jobs per rule, the train rules of every setting and block (train_mlp_784_30_10_eta3_0_i0o0_to_i0o1, ...) as "train"."""
    plan: dict[str, int] = {}
    for rule, n in planned_rules(workdir, config_file, targets).items():
        key = "train" if rule.startswith("train_") else rule
        plan[key] = plan.get(key, 0) + n
    return plan


def set_config(workdir: Path, name: str, **overrides) -> str:
    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    for key, value in overrides.items():
        section, field = key.split("__")
        config.setdefault(section, {})[field] = value
    (workdir / "config" / name).write_text(yaml.safe_dump(config))
    return f"config/{name}"


@pytest.fixture(scope="module")
def completed(smoke_run) -> Path:
    """The smoke workflow, run once to the end (conftest.py's session-wide run)."""
    return smoke_run


def weights(workdir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(workdir)): read_dump(p).params.weights[0].tobytes()
        for p in sorted((workdir / "results" / "weights").rglob("weights.parquet"))
    }


def test_smoke_run_produces_the_grid_and_tables(completed):
    import pandas as pd

    dumps = sorted((completed / "results" / "weights").rglob("weights.parquet"))
    assert len(dumps) == 2 * 4 * 3  # mlp and linear, crossed 2 x 2 seeds, checkpoints 0, 1, 2
    for dump in dumps:  # each network in its own file, whichever block trained it
        config = read_dump(dump).config
        assert f"/init_seed={config.init_seed}/order_seed={config.order_seed}/" in dump.as_posix()
    # trained in blocks (one per init seed) of 2 networks: 2 models x 2 blocks x 3 checkpoints
    trained = sorted((completed / "logs" / "train").rglob("*.log"))
    assert len(trained) == 2 * 2 * 3 and all("/block=i" in p.as_posix() for p in trained)
    assert (
        completed
        / "results/weights/model=mlp/sizes=784-30-10/eta=3.0/init_seed=1/order_seed=0/epochs=2/weights.parquet"
    ).exists()
    tables = completed / "results" / "tables"
    pairs = pd.read_parquet(tables / "pairs.parquet")
    assert len(pairs) == 2 * 3 * 6  # 6 pairs per model and checkpoint
    assert set(pairs.model) == {"mlp", "linear"}
    assert pairs.equals(pd.read_csv(tables / "pairs.csv").astype(pairs.dtypes))
    assert set(pairs.pair_kind) == {"same_init", "same_order", "both_differ"}
    at0 = pairs[pairs.epochs == 0]
    # at the init, pairs that share the init seed are identical, the rest random
    assert (at0[at0.pair_kind == "same_init"].distance_all == 0).all()
    assert (abs(at0[at0.pair_kind != "same_init"].relative_weight1 - 2**0.5) < 0.02).all()
    assert (pairs.relative_signed <= pairs.relative_all + 1e-12).all()
    linear = pairs[pairs.model == "linear"]
    assert (linear.distance_signed == linear.distance_all).all()  # nothing to align
    assert linear.cka_linear.isna().all()
    assert linear[linear.distance_all > 0].gauge_sq.notna().all()
    assert pairs.barrier_computed.all()  # 6 pairs per group, within the budget of 6
    networks = pd.read_parquet(tables / "networks.parquet")
    assert len(networks) == 24
    assert (networks[networks.epochs == 0].distance_from_init == 0).all()
    curves = pd.read_parquet(tables / "curves.parquet")
    assert len(curves) == 36 * 2 * 25  # every pair, raw and aligned, 25 points
    summary = pd.read_csv(tables / "summary.csv")
    rel = summary[summary.statistic == "relative_all"]
    assert len(rel) == 2 * 3 * 3 and (rel.n == 2).all()  # 2 models x 3 epochs x 3 kinds
    assert set(summary.pair_kind) == {"both_differ", "same_order", "same_init", "networks"}
    answer = (completed / "results" / "answer.md").read_text()
    mlp2 = pairs[(pairs.epochs == 2) & (pairs.model == "mlp")]
    assert f"{(mlp2.pair_kind == 'both_differ').sum()} pairs of this kind" in answer
    for rule in ("download_mnist", "gather_tables", "answer"):
        assert (completed / "logs" / f"{rule}.log").exists()
        assert (completed / "benchmarks" / f"{rule}.tsv").exists()
    log = (
        completed / "logs/train/model=mlp/sizes=784-30-10/eta=3.0/block=i0o0-i0o1/epochs=2.log"
    ).read_text()
    assert "epoch   2" in log and "epoch   1" not in log  # resumed from checkpoint 1
    for order_seed in (0, 1):  # both networks of the block
        assert f"init_seed=0 order_seed={order_seed}  epoch   2" in log


def test_a_complete_run_has_nothing_left_to_do(completed):
    assert planned(completed) == {}


def test_b_a_new_eta_trains_only_the_new_networks(completed):
    config = set_config(completed, "more-etas.yaml", grid__etas=[3.0, 0.5])
    assert planned(completed, config) == {
        "train": 2 * 3,  # 2 blocks of 2 networks, 3 checkpoints
        "analyze_plan": 3,  # each group's pair plan, then its one shard (tiles of 64)
        "analyze_shard": 3,
        "analyze": 3,
        "gather_tables": 1,
        "answer": 1,
        "all": 1,
        **FIGURES,
    }


def test_c_a_larger_checkpoint_trains_only_the_extension(completed):
    config = set_config(completed, "more-epochs.yaml", grid__epochs=[0, 1, 2, 4])
    assert planned(completed, config) == {
        "train": 2 * 2,  # 2 models x 2 blocks
        "analyze_plan": 2,
        "analyze_shard": 2,
        "analyze": 2,
        "gather_tables": 1,
        "answer": 1,
        "all": 1,
        **FIGURES,
    }


@pytest.fixture
def editable(completed, tmp_path):
    """A completed run whose package copy a test may edit."""
    workdir = tmp_path / "run"
    shutil.copytree(completed, workdir, symlinks=True)
    return workdir


def edit_function(path: Path, name: str, line: str = "_edit = 0") -> None:
    """Add ``line`` at the top of function ``name``'s body: a real edit of its code."""
    source = path.read_text()
    (function,) = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
    ]
    first = function.body[0]
    lines = source.splitlines(keepends=True)
    lines.insert(first.lineno - 1, " " * first.col_offset + line + "\n")
    path.write_text("".join(lines))


def edit_words(path: Path) -> None:
    """Change every docstring (and lone string) of a module and add comments: no code."""
    source = path.read_bytes()  # ast's column offsets count UTF-8 bytes
    strings = [
        stmt
        for stmt in ast.walk(ast.parse(source))
        if isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    ]
    lines = source.splitlines(keepends=True)
    for stmt in sorted(strings, key=lambda s: (s.lineno, s.col_offset), reverse=True):
        start, end = stmt.lineno - 1, stmt.end_lineno - 1
        head, tail = lines[start][: stmt.col_offset], lines[end][stmt.end_col_offset :]
        edited = repr(stmt.value.value + " (Edited.)").encode()
        lines[start : end + 1] = [head + edited + tail]
    path.write_bytes(b"# an edit\n" + b"".join(lines) + b"\n# another edit\n")


def test_d_editing_the_trainer_reruns_training(editable):
    edit_function(editable / "twinnets" / "train" / "network.py", "init_params")
    plan = planned(editable)
    assert plan["train"] == 2 * 2 * 3 and plan["analyze"] == 6
    assert "download_mnist" not in plan


def test_d_editing_the_trainers_kernel_reruns_training(editable):
    edit_function(editable / "twinnets" / "train" / "kernels.py", "exp_")
    plan = planned(editable)
    assert plan["train"] == 2 * 2 * 3 and plan["analyze"] == 6


def test_d_editing_the_analysis_reruns_only_the_analysis(editable):
    edit_function(editable / "twinnets" / "compare" / "distances.py", "raw_distances")
    assert planned(editable) == {
        "analyze_shard": 6, "analyze": 6, "gather_tables": 1, "answer": 1, "all": 1, **FIGURES,
    }  # fmt: skip


def test_d_editing_the_answer_reruns_only_the_answer(editable):
    edit_function(editable / "twinnets" / "report" / "answer.py", "answer_markdown")
    assert planned(editable) == {"answer": 1, "report_tables": 1, "all": 1}


def test_d_editing_one_figure_reruns_only_that_figure(editable):
    edit_function(editable / "twinnets" / "report" / "figures" / "convex.py", "accuracy_grid")
    assert planned(editable) == {"figure_accuracy_grid": 1, "all": 1}


def test_d_a_docstring_of_code_that_the_analysis_runs_reruns_nothing(editable):
    network = editable / "twinnets" / "train" / "network.py"
    text = network.read_text()
    head, body = text.split("def output_probabilities(")
    doc = body.index('"""') + 3
    network.write_text(f"{head}def output_probabilities({body[:doc]}Edited. {body[doc:]}")
    assert planned(editable) == {}


def test_d_comments_and_docstrings_rerun_nothing(editable):
    modules = sorted((editable / "twinnets").rglob("*.py"))
    before = {path: path.read_bytes() for path in modules}
    for path in modules:
        edit_words(path)
    assert all(path.read_bytes() != before[path] for path in modules)
    network = (editable / "twinnets" / "train" / "network.py").read_text()
    assert "(Edited.)" in network.split("def output_probabilities(")[1].split("def ")[0]
    assert planned(editable) == {}


def test_d_code_that_no_rule_runs_reruns_nothing(editable):
    edit_function(editable / "twinnets" / "train" / "network.py", "train")  # one network
    edit_function(editable / "twinnets" / "cli.py", "main")
    assert planned(editable) == {}


def test_same_config_same_bits_however_blocked(completed, tmp_path, mnist_dir):
    """Every dump, trained again in a fresh copy (its own processes and kernel cache) one
    network per job, has the bits of the reference run's blocks of 2. These are the only
    two blockings of the smoke grid: blocks are cut within an init seed, of its 2 order
    seeds, so any block_size >= 2 gives the reference's blocks (test_f: block_size 3 plans
    nothing new). A fresh run in the same blocks has the same bits too: it is this run
    with one difference less, and test_slurm.py's local and SLURM runs are such a pair."""
    again = make_copy(tmp_path / "again", mnist_dir)
    set_config(again, "test.yaml", grid__block_size=1)
    snakemake(again, targets=tuple(weights(completed)))  # the dumps only
    assert weights(again) == weights(completed)


def test_f_appended_seeds_leave_complete_blocks_alone(completed):
    # with blocks of 2 (the same blocks as the run's 8, with 2 order seeds) the blocks are
    # complete: a third order seed forms new blocks, one per init seed
    config = set_config(
        completed, "more-orders.yaml", grid__block_size=2, grid__order_seeds=[0, 1, 2]
    )
    assert train_rules(completed, config) == {"i0o2": 2 * 3, "i1o2": 2 * 3}  # 2 models x 3 ckpts
    config = set_config(
        completed, "more-inits.yaml", grid__block_size=2, grid__init_seeds=[0, 1, 2]
    )
    assert train_rules(completed, config) == {"i2o0_to_i2o1": 2 * 3}
    # a partial block that gains a member is trained again, all of it (same bits)
    config = set_config(completed, "partial.yaml", grid__block_size=3, grid__order_seeds=[0, 1])
    assert planned(completed, config) == {}
    config = set_config(completed, "grown.yaml", grid__block_size=3, grid__order_seeds=[0, 1, 2])
    assert train_rules(completed, config) == {"i0o0_to_i0o2": 2 * 3, "i1o0_to_i1o2": 2 * 3}


def test_g_forked_children_train_only_past_the_fork(editable, mnist_workdir):
    import pandas as pd
    import pyarrow.dataset as ds

    from twinnets.data.mnist import load_mnist
    from twinnets.train.network import train

    config = set_config(editable, "forks.yaml", grid__fork_epochs=[1], grid__fork_seeds=[0, 1])
    settings = ("mlp_784_30_10_eta3_0", "linear_784_10_eta0_01")
    blocks = ("i0o0_to_i0o1", "i1o0_to_i1o1")
    # each parent block's children per fork seed, one checkpoint (2) past the fork: the
    # parents and the shared epoch are not trained again
    assert {rule: n for rule, n in planned_rules(editable, config).items() if "train_" in rule} == {
        f"train_{s}_{b}_fork1_seed{f}": 1 for s in settings for b in blocks for f in (0, 1)
    }
    assert planned(editable, config) == {
        "train": 8, "analyze_forks_plan": 2, "analyze_forks_shard": 2, "analyze_forks": 2,
        "gather_tables": 1,
        "answer": 1, "all": 1, **FIGURES, "figure_converge_fork": 1,  # forks: the fork curve
    }  # fmt: skip
    parents = {p: p.stat().st_mtime_ns for p in (editable / "results/weights").rglob("*.parquet")}
    # the tables, the answer and the summary page; the figures (which draw the parents only,
    # tests/test_figures.py) are left out to keep the test short
    snakemake(
        editable, "--configfile", config, targets=("gather_tables", "answer", "report_tables")
    )
    assert {p: p.stat().st_mtime_ns for p in parents} == parents  # no parent rewritten
    children = sorted(set((editable / "results/weights").rglob("*.parquet")) - set(parents))
    assert len(children) == 2 * 4 * 2  # 2 models x 4 parents x 2 fork seeds, at epochs 2 only
    assert all("/fork_epoch=1/fork_seed=" in p.as_posix() for p in children)
    assert all(p.as_posix().endswith("/epochs=2/weights.parquet") for p in children)
    log = (
        editable / "logs/train/model=mlp/sizes=784-30-10/eta=3.0/block=i0o0-i0o1-fork1-seed1"
        "/epochs=2.log"
    ).read_text()
    assert "init_seed=0 order_seed=1 fork_epoch=1 fork_seed=1  epoch   2" in log
    assert "epoch   1" not in log  # resumed from the parent's dump at the fork
    child = read_dump(children[0])
    straight = train(child.config, load_mnist(mnist_workdir, n_train=child.config.n_train))
    for got, want in zip(child.params.weights + child.params.biases,
                         straight.params.weights + straight.params.biases, strict=True):  # fmt: skip
        assert got.tobytes() == want.tobytes()  # bitwise the child trained straight

    tables = editable / "results" / "tables"
    pairs = pd.read_parquet(tables / "pairs.parquet")
    assert set(pairs[pairs.fork_epoch.isna()].pair_kind) == {
        "same_init",
        "same_order",
        "both_differ",
    }
    siblings = pairs[pairs.pair_kind == "siblings"]
    assert (
        len(siblings) == 2 * 4 and (siblings.fork_epoch == 1).all() and (siblings.epochs == 2).all()
    )
    assert (siblings.a_init_seed == siblings.b_init_seed).all()
    assert (siblings.a_order_seed == siblings.b_order_seed).all()
    assert (siblings.a_fork_seed != siblings.b_fork_seed).all()
    assert len(pairs) == 2 * 3 * 6 + 2 * 28  # the parents' pairs, and 8 children's per model
    summary = pd.read_csv(tables / "summary.csv")
    assert set(summary[summary.pair_kind == "siblings"].fork_epoch) == {1}
    dumps = ds.dataset(editable / "results/weights", format="parquet", partitioning="hive")
    keys = dumps.to_table(columns=["fork_epoch", "fork_seed", "epochs"]).to_pandas()
    assert keys.drop_duplicates().fork_seed.isna().sum() == 3  # the parents at 0, 1, 2
    assert set(keys[keys.fork_epoch == 1].epochs) == {2}
    assert "## Forked twins" in (editable / "results" / "answer.md").read_text()
    assert "siblings (one parent" in (editable / "results/report/summary.html").read_text()
    figures = {rule: n for rule, n in FIGURES.items() if rule != "report_tables"}
    figures["figure_converge_fork"] = 1  # a run with forks draws the siblings' curve too
    assert planned(editable, config) == {"all": 1, **figures}  # nothing else left to do


def train_rules(workdir: Path, config_file: str) -> dict[str, int]:
    """Train jobs planned per block, over the smoke grid's two settings (whose rules are
    train_mlp_784_30_10_eta3_0_<block> and train_linear_784_10_eta0_01_<block>)."""
    settings = ("train_mlp_784_30_10_eta3_0_", "train_linear_784_10_eta0_01_")
    jobs: dict[str, int] = {}
    for rule, n in planned_rules(workdir, config_file).items():
        if rule.startswith("train_"):
            prefix = next(p for p in settings if rule.startswith(p))
            block = rule.removeprefix(prefix)
            jobs[block] = jobs.get(block, 0) + n
    return jobs


def test_e_a_killed_job_leaves_nothing_trusted(tmp_path, mnist_dir):
    # a job slow enough to be caught mid-way: the full training set, 3 epochs in one job;
    # one block (init seed 0), so that it is the second train job
    workdir = make_copy(tmp_path, mnist_dir)
    set_config(
        workdir,
        "test.yaml",
        data__n_train=50000,
        grid__epochs=[0, 3],
        grid__init_seeds=[0],
        grid__models=[{"name": "mlp"}],
    )
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", "config/test.yaml"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    log = workdir / "logs/train/model=mlp/sizes=784-30-10/eta=3.0/block=i0o0-i0o1/epochs=3.log"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "epoch   1" not in (
        log.read_text() if log.exists() else ""
    ):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # like a power cut: no chance to clean up
    proc.wait()
    assert "epoch   1" in log.read_text(), "the job was not caught mid-way"
    block = grid.Block(((0, 0), (0, 1)))
    killed = block.weights(model="mlp", sizes="784-30-10", eta="3.0", epochs=3)
    assert not any((workdir / path).exists() for path in killed)
    for dump in (workdir / "results" / "weights").rglob("weights.parquet"):
        read_dump(dump)  # every file under its final name is complete
    snakemake(workdir, "--unlock")  # the killed Snakemake left its lock, as after a power cut
    # every dump of the grid (the killed job's and the checkpoint before it): the analysis
    # downstream of them has nothing to do with the kill
    dumps = tuple(
        path for epochs in (0, 3) for path in block.weights(
            model="mlp", sizes="784-30-10", eta="3.0", epochs=epochs)
    )  # fmt: skip
    assert planned(workdir, targets=dumps) == {"train": 1}  # only the killed job
    snakemake(workdir, targets=dumps)  # no --rerun-incomplete needed: no half-written output
    assert planned(workdir, targets=dumps) == {}


def test_a_tanh_variant_runs_end_to_end(tmp_path, mnist_dir):
    """A grid of tanh networks of two widths (and the linear control) through every rule:
    trained with tanh, aligned by tanh's symmetries, compared per width, described as such
    in the answer and the figures (the width figure included)."""
    import pandas as pd

    workdir = make_copy(tmp_path, mnist_dir)
    tanh = {"name": "mlp-tanh", "activation": "tanh", "init": "scaled", "etas": [0.5]}
    linear = {"name": "linear", "model": "linear", "etas": [0.01]}
    set_config(
        workdir, "test.yaml", grid__models=[tanh, linear], grid__epochs=[0, 1],
        grid__sizes=[[784, 30, 10], [784, 12, 10]],
    )  # fmt: skip
    snakemake(workdir)
    dumps = sorted((workdir / "results/weights/model=mlp-tanh").rglob("weights.parquet"))
    assert len(dumps) == 2 * 4 * 2 and {read_dump(d).config.activation for d in dumps} == {"tanh"}
    assert {read_dump(d).config.sizes for d in dumps} == {(784, 30, 10), (784, 12, 10)}
    pairs = pd.read_parquet(workdir / "results/tables/pairs.parquet")
    assert dict(pairs.groupby("model").activation.unique().map(list)) == {
        "linear": ["sigmoid"], "mlp-tanh": ["tanh"],
    }  # fmt: skip
    widths = pairs[pairs.model == "mlp-tanh"].groupby("sizes").size().to_dict()
    assert widths == {"784-12-10": 2 * 6, "784-30-10": 2 * 6}  # 4 networks, 2 checkpoints
    assert (workdir / "results/figures/9-converge-width.png").exists()
    trained = pairs[(pairs.model == "mlp-tanh") & (pairs.epochs == 1)]
    assert (trained.relative_signed <= trained.relative_all + 1e-12).all()
    differ = trained[trained.pair_kind != "same_init"]
    assert (differ.relative_signed < differ.relative_all - 0.1).all()
    assert (trained.flips_signed > 0).any()  # tanh's sign flips are used
    answer = (workdir / "results/answer.md").read_text()
    assert "the `mlp-tanh` model" in answer and "(tanh(-z) = -tanh(z))" in answer
    assert (workdir / "results/figures/1-question.png").exists()
    assert planned(workdir) == {}


#: Bad configs, and the key that the error must name.
BAD_CONFIGS = {
    "neg-eta.yaml": ({"grid__etas": [-1.0]}, "etas"),
    "frac-epochs.yaml": ({"grid__epochs": [0, 1.5]}, "epochs"),
    "dup-seeds.yaml": ({"grid__init_seeds": [1, 1]}, "init_seeds"),
    "empty.yaml": ({"grid__etas": []}, "etas"),
    "first.yaml": ({"grid__sizes": [[785, 30, 10]]}, "sizes"),
    "last.yaml": ({"grid__sizes": [[784, 30, 9]]}, "grid.sizes[0]"),
    "unknown.yaml": ({"train__learning_rate": 3.0}, "learning_rate"),
    "activation.yaml": ({"train__activation": "gelu"}, "activation"),
    "convex-tanh.yaml": (
        {"grid__models": [{"name": "lin", "model": "linear", "activation": "tanh"}]},
        "grid.models.lin",
    ),
}


def check_config(workdir: Path, config_file: str) -> None:
    """What workflow/rules/common.smk does with the config before any job, in-process:
    config/config.yaml updated by ``config_file`` (as --configfile does), the schema
    with its defaults, then the package's checks. Raises what the workflow would."""
    from snakemake.utils import update_config, validate

    from twinnets.pipeline import imported

    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    update_config(config, yaml.safe_load((workdir / config_file).read_text()))
    validate(config, schema=str(workdir / "workflow/schemas/config.schema.yaml"), set_default=True)
    grid.check_config(config)
    imported.check_config(config)


def test_bad_config_is_rejected_with_the_key_named(tmp_path, mnist_dir):
    from snakemake.exceptions import WorkflowError

    workdir = make_copy(tmp_path, mnist_dir)
    check_config(workdir, "config/test.yaml")  # the good config passes
    for name, (overrides, key) in BAD_CONFIGS.items():
        config = set_config(workdir, name, **overrides)
        with pytest.raises((WorkflowError, grid.ConfigError)) as error:
            check_config(workdir, config)
        assert key in str(error.value), (name, str(error.value)[-2000:])


def test_bad_config_is_rejected_before_any_job_with_the_key_named(tmp_path, mnist_dir):
    """The workflow runs those checks before any job: one bad config that the schema
    rejects and one that the package rejects, through a real dry run each."""
    workdir = make_copy(tmp_path, mnist_dir)
    for name in ("unknown.yaml", "last.yaml"):
        overrides, key = BAD_CONFIGS[name]
        config = set_config(workdir, name, **overrides)
        result = snakemake(workdir, "-n", "--configfile", config, check=False)
        assert result.returncode != 0, name
        assert key in result.stdout + result.stderr, (name, result.stderr[-2000:])
    assert not (workdir / "results").exists()
