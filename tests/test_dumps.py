"""Parquet weight dumps: exact round trip, provenance, clear errors, hive trees."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from twinnets import __version__
from twinnets.data.mnist import FILES
from twinnets.dumps import storage as dumps
from twinnets.dumps.storage import DumpError, read_dump, read_metadata, write_dump
from twinnets.train.network import TrainConfig, TrainedNetwork, init_params, train

SIZES = (784, 30, 10)


@pytest.fixture(scope="module")
def trained(mnist_workdir):
    from twinnets.data.mnist import load_mnist

    data = load_mnist(mnist_workdir, n_train=500)
    return {
        dtype: train(TrainConfig(n_train=500, epochs=2, dtype=dtype), data)
        for dtype in ("float64", "float32")
    }


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_is_bitwise(tmp_path, trained, dtype):
    net = trained[dtype]
    path = tmp_path / "w.parquet"
    write_dump(path, net, FILES)
    back = read_dump(path)
    assert back.config == net.config
    for a, b in zip(
        back.params.weights + back.params.biases, net.params.weights + net.params.biases
    ):
        assert a.dtype == np.dtype(dtype)
        assert a.tobytes() == b.tobytes()
    assert back.network.metrics == net.metrics


def test_long_format_columns_and_nielsens_convention(tmp_path, trained):
    net = trained["float64"]
    path = tmp_path / "w.parquet"
    write_dump(path, net, FILES)
    table = pq.read_table(path)
    assert table.schema.names == ["layer", "param", "row", "col", "value"]
    assert [f.type for f in table.schema] == [
        pa.int16(),
        pa.string(),
        pa.int32(),
        pa.int32(),
        pa.float64(),
    ]
    assert table.num_rows == 784 * 30 + 30 + 30 * 10 + 10
    df = table.to_pandas()
    # weight[row j, col k] connects neuron k of the previous layer to neuron j
    w = df[(df.layer == 2) & (df.param == "weight") & (df.row == 7) & (df.col == 21)].value
    assert w.item() == net.params.weights[1][7, 21]
    biases = df[df.param == "bias"]
    assert (biases.col == 0).all()
    assert biases[biases.layer == 1].value.to_numpy().tobytes() == net.params.biases[0].tobytes()


def test_metadata_holds_the_provenance(tmp_path, trained):
    net = trained["float64"]
    path = tmp_path / "w.parquet"
    write_dump(path, net, FILES)
    meta = read_metadata(path)
    for key, value in net.config.to_dict().items():
        assert meta[key] == value
    assert meta["data_sha256"] == FILES
    assert [m["epoch"] for m in meta["metrics"]] == [0, 1, 2]
    assert set(meta["metrics"][0]) == {
        "epoch",
        "train_cost",
        "validation_accuracy",
        "test_accuracy",
        "seconds",
    }
    assert meta["twinnets_version"] == __version__
    assert meta["numpy_version"] == np.__version__
    assert "git_commit" in meta


def test_write_is_atomic(tmp_path, trained, monkeypatch):
    path = tmp_path / "w.parquet"
    write_dump(path, trained["float64"], FILES)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(dumps.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_dump(path, trained["float32"], FILES)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.parquet"]


def test_corrupt_truncated_and_foreign_files_name_the_path(tmp_path, trained):
    good = tmp_path / "good.parquet"
    write_dump(good, trained["float64"], FILES)
    data = good.read_bytes()

    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all" * 10)
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), foreign)
    for path in (truncated, garbage, foreign):
        with pytest.raises(DumpError, match=str(path)):
            read_dump(path)
    with pytest.raises(DumpError, match="not a twinnets dump"):
        read_dump(foreign)

    # right metadata, wrong rows: an entry missing
    table = pq.read_table(good)
    short = tmp_path / "short.parquet"
    pq.write_table(table.slice(1), short)
    with pytest.raises(DumpError, match=f"{short}.*do not fit"):
        read_dump(short)


def test_hive_tree_reads_as_one_table(tmp_path, mnist_workdir):
    import duckdb

    from twinnets.data.mnist import load_mnist

    data = load_mnist(mnist_workdir, n_train=200)
    for eta in (0.5, 3.0):
        for seed in (0, 1):
            config = TrainConfig(eta=eta, init_seed=seed, order_seed=seed, n_train=200, epochs=1)
            path = (
                tmp_path
                / "sizes=784-30-10"
                / f"eta={eta}"
                / f"init_seed={seed}"
                / f"order_seed={seed}"
                / "epochs=1"
                / "weights.parquet"
            )
            write_dump(path, train(config, data), FILES)
    rows_per_net = 784 * 30 + 30 + 300 + 10

    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 4 * rows_per_net
    assert set(table.schema.names) >= {"layer", "param", "row", "col", "value", "eta", "init_seed"}
    counts = table.group_by(["eta", "init_seed"]).aggregate([("value", "count")])
    assert sorted(counts["value_count"].to_pylist()) == [rows_per_net] * 4

    con = duckdb.connect()
    got = con.execute(
        "SELECT eta, init_seed, count(*) FROM read_parquet(?, hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL",
        [str(tmp_path / "**" / "*.parquet")],
    ).fetchall()
    assert [(float(e), int(s), n) for e, s, n in got] == [
        (0.5, 0, rows_per_net),
        (0.5, 1, rows_per_net),
        (3.0, 0, rows_per_net),
        (3.0, 1, rows_per_net),
    ]
    # one weight read through DuckDB equals the one in the dump, bit for bit
    expected = read_dump(path).params.weights[0][3, 400]
    value = con.execute(
        "SELECT value FROM read_parquet(?, hive_partitioning = true) WHERE eta = 3.0 AND init_seed = 1 "
        "AND layer = 1 AND param = 'weight' AND row = 3 AND col = 400",
        [str(tmp_path / "**" / "*.parquet")],
    ).fetchone()[0]
    assert value == expected


def test_epoch_zero_dump_is_the_init(tmp_path):
    config = TrainConfig(epochs=0)
    net = TrainedNetwork(config, init_params(config), [])
    write_dump(tmp_path / "w.parquet", net, FILES)
    back = read_dump(tmp_path / "w.parquet")
    assert back.params.weights[0].tobytes() == init_params(config).weights[0].tobytes()
    assert json.loads(json.dumps(back.metadata))["epochs"] == 0
    assert dataclasses.replace(back.config, epochs=5).same_network(back.config)


def _rewrite(path, out, **columns):
    """``path``'s table rewritten by pyarrow with the given columns' new types, all nullable."""
    table = pq.read_table(path)
    fields = [pa.field(f.name, columns.get(f.name, f.type), nullable=True) for f in table.schema]
    arrays = [table[f.name].cast(f.type) for f in fields]
    pq.write_table(
        pa.Table.from_arrays(arrays, schema=pa.schema(fields, table.schema.metadata)), out
    )
    return out


def test_schema_equivalent_rewrites_read_the_same(tmp_path, trained):
    net = trained["float64"]
    good = tmp_path / "good.parquet"
    write_dump(good, net, FILES)
    # nullable flags and int64 columns: what pandas or a pyarrow round trip produces
    wide = _rewrite(
        good, tmp_path / "wide.parquet", layer=pa.int64(), row=pa.int64(), col=pa.uint32()
    )
    assert all(f.nullable for f in pq.read_schema(wide))
    # columns in another order, param as large_string
    table = pq.read_table(wide)
    shuffled = tmp_path / "shuffled.parquet"
    order = ["value", "col", "param", "row", "layer"]
    pq.write_table(
        table.select(order).set_column(2, "param", table["param"].cast(pa.large_string())), shuffled
    )
    for path in (wide, shuffled):
        back = read_dump(path)
        assert back.config == net.config
        for a, b in zip(
            back.params.weights + back.params.biases, net.params.weights + net.params.biases
        ):
            assert a.tobytes() == b.tobytes()


def test_schema_refusals_name_the_column_and_the_difference(tmp_path, trained):
    good = tmp_path / "good.parquet"
    write_dump(good, trained["float64"], FILES)
    cases = {
        "string": ({"row": pa.string()}, "column 'row' has type string, expected int32"),
        "single": (
            {"value": pa.float32()},
            "column 'value' has type float, expected double for a float64",
        ),
        "float": ({"layer": pa.float64()}, "column 'layer' has type double, expected int16"),
    }
    for name, (columns, message) in cases.items():
        path = _rewrite(good, tmp_path / f"{name}.parquet", **columns)
        with pytest.raises(DumpError, match=f"{path}: {message}"):
            read_dump(path)
    # values that do not fit the canonical width
    table = pq.read_table(good)
    big = table.set_column(2, pa.field("row", pa.int64()), pa.array(np.full(table.num_rows, 2**40)))
    path = tmp_path / "big.parquet"
    pq.write_table(big, path)
    with pytest.raises(DumpError, match=r"column 'row' \(int64\) has values .* outside int32"):
        read_dump(path)
    # a missing and an extra column, both named
    path = tmp_path / "renamed.parquet"
    pq.write_table(
        table.rename_columns(["layer", "param", "row", "column", "value"]).replace_schema_metadata(
            table.schema.metadata
        ),
        path,
    )
    with pytest.raises(DumpError, match="missing column 'col'; unexpected column 'column'"):
        read_dump(path)
    # nulls in a nullable column
    path = tmp_path / "nulls.parquet"
    values = pa.array([None, *table["value"].to_pylist()[1:]], pa.float64())
    pq.write_table(table.set_column(4, pa.field("value", pa.float64()), values), path)
    with pytest.raises(DumpError, match="column 'value' has 1 null values"):
        read_dump(path)


def test_float32_values_are_accepted_for_a_float32_network(tmp_path, trained):
    net = trained["float32"]
    good = tmp_path / "good.parquet"
    write_dump(good, net, FILES)
    narrow = _rewrite(good, tmp_path / "narrow.parquet", value=pa.float32())
    back = read_dump(narrow)
    assert back.params.weights[0].dtype == np.float32
    assert back.params.weights[0].tobytes() == net.params.weights[0].tobytes()


def test_null_settings_are_unknown_and_the_network_still_usable(tmp_path, trained):
    net = trained["float64"]
    meta = dumps.provenance(net, FILES)
    meta.update(init_seed=None, init=None, eta=None)
    path = tmp_path / "w.parquet"
    dumps.write_params(path, net.params, meta)
    back = read_dump(path)
    assert back.unknown == {"init_seed", "init", "eta"}
    assert not back.init_known and back.init_config() is None
    assert back.setting("eta") is None and back.setting("epochs") == net.config.epochs
    assert back.config.eta == TrainConfig().eta  # a default, for code that needs a value
    assert read_metadata(path)["eta"] is None  # the file keeps the null
    fresh = back.null_init_config(fresh_seed=7)  # unknown init: a fresh one of the same sizes
    assert (fresh.sizes, fresh.init, fresh.init_seed, fresh.epochs) == (
        net.config.sizes,
        "nielsen",
        7,
        0,
    )
    write_dump(tmp_path / "t.parquet", net, FILES)
    known = read_dump(tmp_path / "t.parquet")
    assert known.init_known and known.unknown == frozenset() and known.source is None
    assert known.init_config() == dataclasses.replace(net.config, epochs=0)
    assert known.null_init_config(fresh_seed=7) == known.init_config()  # its own init


def test_the_activation_is_recorded_and_old_dumps_read_as_sigmoid(tmp_path, trained):
    net = trained["float64"]
    relu = dataclasses.replace(net, config=dataclasses.replace(net.config, activation="relu"))
    write_dump(tmp_path / "relu.parquet", relu, FILES)
    assert read_metadata(tmp_path / "relu.parquet")["activation"] == "relu"
    back = read_dump(tmp_path / "relu.parquet")
    assert back.config.activation == "relu" and "activation" not in back.unknown
    assert back.null_init_config(fresh_seed=7).activation == "relu"
    old = dumps.provenance(net, FILES)
    del old["activation"]  # a dump written before the setting existed
    dumps.write_params(tmp_path / "old.parquet", net.params, old)
    assert read_dump(tmp_path / "old.parquet").config.activation == "sigmoid"
