"""The command line, end to end on a small slice of the real data."""

from __future__ import annotations

import subprocess
import sys

import pytest

from twinnets.cli import build_parser, main
from twinnets.dumps.storage import read_dump


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.fixture
def common(mnist_workdir):
    return ["train", "--mnist", str(mnist_workdir), "--n-train", "300", "--init-seed", "4"]


def test_train_writes_a_dump_and_reports_each_epoch(tmp_path, capsys, common):
    out = tmp_path / "w.parquet"
    code, err = run(capsys, *common, "--epochs", "2", "--eta", "0.5", "--out", str(out))
    assert code == 0
    assert err.count("epoch ") == 3  # epochs 0, 1, 2
    assert "validation" in err and "test" in err
    dump = read_dump(out)
    assert dump.config.eta == 0.5 and dump.config.epochs == 2 and dump.config.init_seed == 4


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_train_takes_the_hidden_activation(tmp_path, capsys, common, activation):
    out = tmp_path / f"{activation}.parquet"
    argv = [*common, "--epochs", "2", "--eta", "0.1", "--init", "scaled", "--cost", "cross-entropy"]
    code, err = run(capsys, *argv, "--activation", activation, "--out", str(out))
    assert code == 0, err
    dump = read_dump(out)
    assert dump.config.activation == activation and dump.metadata["activation"] == activation
    assert dump.network.metrics[-1].test_accuracy > 0.5  # it learns (from 0.1 at its init)
    sigmoid = tmp_path / "sigmoid.parquet"
    assert run(capsys, *argv, "--out", str(sigmoid))[0] == 0
    assert read_dump(sigmoid).config.activation == "sigmoid"  # the default
    assert read_dump(sigmoid).params.weights[0].tobytes() != dump.params.weights[0].tobytes()


def test_train_refuses_an_unknown_activation_or_one_without_hidden_layers(tmp_path, capsys, common):
    with pytest.raises(SystemExit):
        main([*common, "--activation", "gelu", "--out", str(tmp_path / "x.parquet")])
    assert "invalid choice: 'gelu'" in capsys.readouterr().err
    code, err = run(
        capsys, *common, "--sizes", "784,10", "--activation", "tanh", "--out", str(tmp_path / "y")
    )
    assert code == 2 and "no hidden layer, so activation 'tanh'" in err


def test_resume_continues_and_refuses_other_settings(tmp_path, capsys, common):
    one, two, straight = tmp_path / "1.parquet", tmp_path / "2.parquet", tmp_path / "s.parquet"
    assert run(capsys, *common, "--epochs", "1", "--out", str(one))[0] == 0
    code, err = run(capsys, *common, "--epochs", "2", "--resume", str(one), "--out", str(two))
    assert code == 0
    assert err.count("epoch ") == 1  # only the new epoch is trained
    assert run(capsys, *common, "--epochs", "2", "--out", str(straight))[0] == 0
    assert (
        read_dump(two).params.weights[0].tobytes()
        == read_dump(straight).params.weights[0].tobytes()
    )

    bad = tmp_path / "bad.parquet"
    code, err = run(
        capsys, *common, "--epochs", "2", "--eta", "1.0", "--resume", str(one), "--out", str(bad)
    )
    assert code == 2
    assert "cannot resume" in err and "eta=1.0" in err
    assert not bad.exists()


def test_a_child_resumes_its_parents_dump_at_the_fork(tmp_path, capsys, common):
    parent, child, straight = (tmp_path / f"{n}.parquet" for n in ("parent1", "child", "straight"))
    fork = ["--fork-epoch", "1", "--fork-seed", "3"]
    assert run(capsys, *common, "--epochs", "1", "--out", str(parent))[0] == 0
    code, err = run(capsys, *common, "--epochs", "2", *fork, "--resume", str(parent),
                    "--out", str(child))  # fmt: skip
    assert code == 0 and err.count("epoch ") == 1  # only the epoch past the fork
    assert run(capsys, *common, "--epochs", "2", *fork, "--out", str(straight))[0] == 0
    dump = read_dump(child)
    assert dump.params.weights[0].tobytes() == read_dump(straight).params.weights[0].tobytes()
    assert (dump.config.fork_epoch, dump.config.fork_seed) == (1, 3) and not dump.unknown
    assert "fork_epoch" not in read_dump(parent).metadata  # a parent's dump is as before

    other = tmp_path / "other.parquet"
    code, err = run(capsys, *common, "--epochs", "3", "--fork-epoch", "1", "--fork-seed", "4",
                    "--resume", str(child), "--out", str(other))  # fmt: skip
    assert code == 2 and "another child" in err
    assert "fork_seed=3" in err and "fork_seed=4" in err  # both named
    assert not other.exists()


def test_a_fork_needs_both_options(tmp_path, capsys, common):
    out = tmp_path / "w.parquet"
    code, err = run(capsys, *common, "--epochs", "1", "--fork-epoch", "1", "--out", str(out))
    assert code == 2 and "--fork-epoch and --fork-seed go together" in err
    assert not out.exists()


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    code, err = run(capsys, "train", "--mnist", str(tmp_path), "--out", str(tmp_path / "w.parquet"))
    assert code == 2
    assert "train-images-idx3-ubyte.gz is missing" in err and "fetch-mnist" in err


def test_help_documents_every_option():
    train_help = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for option in (
        "--mnist",
        "--sizes",
        "--eta",
        "--batch-size",
        "--epochs",
        "--init-seed",
        "--order-seed",
        "--cost",
        "--lmbda",
        "--init",
        "--dtype",
        "--activation",
        "--n-train",
        "--resume",
        "--fork-epoch",
        "--fork-seed",
        "--out",
    ):
        assert option in train_help


def test_bad_sizes_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--mnist", ".", "--out", "x", "--sizes", "784,thirty,10"])
    assert "comma-separated integers" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run(
        [sys.executable, "-m", "twinnets.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("twinnets ")
