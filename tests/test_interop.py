"""Bring your own networks: import from and export to network2.py JSON, safetensors, npz."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile

import numpy as np
import pytest

from twinnets.cli import main
from twinnets.data.mnist import FILES
from twinnets.dumps import formats as interop
from twinnets.dumps.storage import read_dump, read_metadata, write_dump
from twinnets.train.network import (
    Params,
    TrainConfig,
    TrainedNetwork,
    feedforward,
    init_params,
    train,
)

SUFFIX = {"nielsen-json": ".json", "safetensors": ".safetensors", "npz": ".npz"}


@pytest.fixture(scope="module")
def networks(mnist_workdir):
    from twinnets.data.mnist import load_mnist

    data = load_mnist(mnist_workdir, n_train=300)
    return {
        dtype: train(TrainConfig(n_train=300, epochs=1, dtype=dtype, init_seed=3), data)
        for dtype in ("float64", "float32")
    }


@pytest.fixture
def dump_path(tmp_path, networks):
    path = tmp_path / "net.parquet"
    write_dump(path, networks["float64"], FILES)
    return path


def same_bits(a: Params, b: Params) -> bool:
    pairs = zip(a.weights + a.biases, b.weights + b.biases, strict=True)
    return all(x.dtype == y.dtype and x.tobytes() == y.tobytes() for x, y in pairs)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", interop.FORMATS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_dump_format_dump_is_bitwise(tmp_path, networks, fmt, dtype, capsys):
    net = networks[dtype]
    dump = tmp_path / "net.parquet"
    write_dump(dump, net, FILES)
    exported = tmp_path / f"net{SUFFIX[fmt]}"
    assert run(capsys, "export", dump, "--out", exported, "--format", fmt)[0] == 0
    back_path = tmp_path / "back.parquet"
    assert run(capsys, "import", exported, "--out", back_path)[0] == 0
    back = read_dump(back_path)
    # JSON has no dtype: a float32 network comes back with the same values as float64
    expected = net.params if fmt != "nielsen-json" else net.params.astype(np.float64)
    assert same_bits(back.params, expected)
    assert back.source["format"] == fmt and back.source["file"] == exported.name
    assert back.source["sha256"] == hashlib.sha256(exported.read_bytes()).hexdigest()
    # and back again: the second export is byte for byte the first
    again = tmp_path / f"again{SUFFIX[fmt]}"
    interop.export_network(back, again, fmt)
    if fmt != "npz":  # npz archives carry zip timestamps
        assert again.read_bytes() == exported.read_bytes()
    assert same_bits(interop.as_dump(again).params, expected)


def test_nielsen_json_is_what_network2_saves_and_loads(tmp_path, dump_path, networks):
    out = tmp_path / "net.json"
    interop.export_network(dump_path, out, "nielsen-json")
    data = json.loads(out.read_text())
    assert set(data) == {"sizes", "weights", "biases", "cost"}
    assert data["sizes"] == [784, 30, 10] and data["cost"] == "QuadraticCost"
    # network2.load: net.weights = [np.array(w) ...], biases column vectors (n, 1)
    params = networks["float64"].params
    for w, b, w0, b0 in zip(data["weights"], data["biases"], params.weights, params.biases):
        assert np.array(w).tobytes() == w0.tobytes()
        assert np.array(b).shape == (len(b0), 1)
        assert np.array(b)[:, 0].tobytes() == b0.tobytes()


def test_cost_and_unknown_settings_are_recorded_never_invented(tmp_path, dump_path, capsys):
    src = tmp_path / "net.json"
    interop.export_network(dump_path, src, "nielsen-json")
    data = json.loads(src.read_text())
    data["cost"] = "CrossEntropyCost"
    src.write_text(json.dumps(data))
    out = tmp_path / "imported.parquet"
    code, _, err = run(capsys, "import", src, "--out", out)
    assert code == 0 and "unknown: batch_size, epochs, eta, init" in err
    meta = read_metadata(out)
    assert meta["cost"] == "cross-entropy" and meta["activation"] == "sigmoid"
    assert meta["sizes"] == [784, 30, 10] and meta["model"] == "mlp"
    for key in ("eta", "epochs", "batch_size", "init", "init_seed", "order_seed", "n_train"):
        assert meta[key] is None, key
    assert meta["metrics"] == []
    assert meta["source"] == {
        "format": "nielsen-json",
        "sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "file": "net.json",
    }
    dump = read_dump(out)
    assert not dump.init_known and dump.setting("cost") == "cross-entropy"
    # safetensors carries no cost: unknown too
    st = tmp_path / "net.safetensors"
    interop.export_network(dump_path, st, "safetensors")
    assert read_metadata(interop.import_to_dump(st, tmp_path / "st.parquet").path)["cost"] is None


def test_import_with_mnist_records_measured_accuracy(tmp_path, dump_path, mnist_workdir, capsys):
    src = tmp_path / "net.npz"
    interop.export_network(dump_path, src, "npz")
    out = tmp_path / "imported.parquet"
    code, _, err = run(capsys, "import", src, "--out", out, "--mnist", mnist_workdir)
    assert code == 0 and "evaluated: test accuracy" in err
    dump = read_dump(out)
    (m,) = dump.network.metrics
    assert m.epoch is None and m.seconds is None  # nothing trained here
    assert m.test_accuracy == read_dump(dump_path).network.metrics[-1].test_accuracy
    assert dump.metadata["evaluation"]["n_train"] == 50_000
    assert dump.metadata["data_sha256"]


def test_safetensors_loads_under_sequential_names(tmp_path, dump_path, networks):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    out = tmp_path / "net.safetensors"
    interop.export_network(dump_path, out, "safetensors")
    tensors = load_file(out)
    assert set(tensors) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    params = networks["float64"].params
    assert tensors["0.weight"].shape == (30, 784) and tensors["2.bias"].shape == (10,)
    assert tensors["0.weight"].tobytes() == params.weights[0].tobytes()
    with safe_open(out, framework="numpy") as fh:
        assert json.loads(fh.metadata()["twinnets"])["activation"] == "sigmoid"


def test_pytorch_loads_the_export_and_computes_the_same(tmp_path, dump_path, networks):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    out = tmp_path / "net.safetensors"
    interop.export_network(dump_path, out, "safetensors")
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 30), torch.nn.Sigmoid(), torch.nn.Linear(30, 10), torch.nn.Sigmoid()
    ).double()
    model.load_state_dict(load_file(out))
    x = np.random.default_rng(0).random((50, 784))
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, feedforward(networks["float64"].params, x), rtol=0, atol=1e-12)
    # and the other way: a PyTorch state dict saved as documented imports
    src = tmp_path / "torch.safetensors"
    save_file(model.state_dict(), src)
    assert same_bits(interop.as_dump(src).params, networks["float64"].params)


# --------------------------------------------------------------------------- compare


def permuted_flipped_copy(data: dict, seed: int = 1) -> dict:
    """The same function: hidden units renumbered, some flipped (sigmoid(-z) = 1 - sigmoid(z))."""
    w1, w2 = np.array(data["weights"][0]), np.array(data["weights"][1])
    b1, b2 = np.array(data["biases"][0])[:, 0], np.array(data["biases"][1])[:, 0]
    rng = np.random.default_rng(seed)
    perm, flip = rng.permutation(len(b1)), rng.random(len(b1)) < 0.5
    assert 0 < flip.sum() < len(b1)
    b2 = b2 + w2[:, flip].sum(axis=1)  # the flipped unit's output is 1 - a
    w1[flip], b1[flip], w2[:, flip] = -w1[flip], -b1[flip], -w2[:, flip]
    w1, b1, w2 = w1[perm], b1[perm], w2[:, perm]
    return {
        **data,
        "weights": [w1.tolist(), w2.tolist()],
        "biases": [b1[:, None].tolist(), b2[:, None].tolist()],
    }


def test_permuted_flipped_network2_files_compare_as_the_same_function(
    tmp_path, dump_path, mnist_workdir, capsys
):
    a = tmp_path / "a.json"
    interop.export_network(dump_path, a, "nielsen-json")
    b = tmp_path / "b.json"
    b.write_text(json.dumps(permuted_flipped_copy(json.loads(a.read_text()))))
    code, out, err = run(capsys, "compare", a, b, "--mnist", mnist_workdir, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["raw_relative_distance"] > 0.5  # far apart as parameters ...
    assert result["aligned_distance"] < 1e-9  # ... the same up to symmetry
    assert result["agreement"] == 1.0 and result["tv_distance"] < 1e-12
    assert result["a_init_known"] is False and result["b_init_known"] is False
    assert (
        result["a"]["format"] == "nielsen-json" and "init_seed" in result["a"]["unknown_settings"]
    )
    assert result["a_test_accuracy"] == result["b_test_accuracy"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json", "net.parquet"]

    code, out, _ = run(capsys, "compare", dump_path, b, "--mnist", mnist_workdir)
    assert code == 0
    assert "(dump; init known (nielsen, init_seed 3); test accuracy" in out
    assert (
        "(nielsen-json; init unknown (not in the file): its nulls use a fresh N(0, 1) init of its sizes; test accuracy"
        in out
    )


def test_compare_refuses_networks_of_different_sizes(tmp_path, mnist_workdir, capsys):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for path, hidden in ((a, 30), (b, 20)):
        p = init_params(TrainConfig(sizes=(784, hidden, 10)))
        np.savez(path, w1=p.weights[0], b1=p.biases[0], w2=p.weights[1], b2=p.biases[1])
    code, out, err = run(capsys, "compare", a, b, "--mnist", mnist_workdir)
    assert code == 2 and out == ""
    assert f"{b}: key 'sizes': has sizes [784, 20, 10] but {a} has [784, 30, 10]" in err


# --------------------------------------------------------------------------- bad input


def _sequential(params: Params) -> dict[str, np.ndarray]:
    return {
        "0.weight": params.weights[0],
        "0.bias": params.biases[0],
        "2.weight": params.weights[1],
        "2.bias": params.biases[1],
    }


def _npz(params: Params) -> dict[str, np.ndarray]:
    return {"w1": params.weights[0], "b1": params.biases[0], "w2": params.weights[1],
            "b2": params.biases[1]}  # fmt: skip


def _json(params: Params) -> dict:
    return {
        "sizes": list(params.sizes),
        "weights": [w.tolist() for w in params.weights],
        "biases": [b[:, None].tolist() for b in params.biases],
        "cost": "QuadraticCost",
    }


def bad_files(tmp_path) -> dict[str, tuple]:
    """name -> (path, key the error must name or None, words the error must say)."""
    from safetensors.numpy import save_file

    p = init_params(TrainConfig(sizes=(784, 30, 10)))
    cases: dict[str, tuple] = {}

    def st(name, tensors, key, words):
        path = tmp_path / f"{name}.safetensors"
        save_file(tensors, path)
        cases[name] = (path, key, words)

    def npz(name, arrays, key, words, **kwargs):
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays, **kwargs)
        cases[name] = (path, key, words)

    def js(name, data, key, words):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        cases[name] = (path, key, words)

    pkl = tmp_path / "net.pkl"
    pkl.write_bytes(pickle.dumps(_npz(p)))
    cases["pickle"] = (pkl, None, "pickle")
    renamed = tmp_path / "net.weights"  # a pickle under a neutral name: found by its bytes
    renamed.write_bytes(pickle.dumps([1, 2]))
    cases["pickle-bytes"] = (renamed, None, "pickle")
    disguised = tmp_path / "disguised.npz"  # a pickle under a network suffix
    disguised.write_bytes(pickle.dumps(_npz(p)))
    cases["pickle-as-npz"] = (disguised, None, "arbitrary code")
    torch_zip = tmp_path / "model.zip"  # torch.save's format: a zip holding data.pkl
    with zipfile.ZipFile(torch_zip, "w") as archive:
        archive.writestr("model/data.pkl", pickle.dumps({}))
    cases["torch-zip"] = (torch_zip, None, "safetensors.torch.save_file")
    for suffix in (".pt", ".pth"):
        path = tmp_path / f"model{suffix}"
        path.write_bytes(b"PK\x03\x04 anything")
        cases[f"torch{suffix}"] = (path, None, "safetensors.torch.save_file(model.state_dict()")
    npy = tmp_path / "layer.npy"
    np.save(npy, p.weights[0])
    cases["npy"] = (npy, None, "numpy.savez")
    npz("object-array", {**_npz(p), "b2": np.array([None, 1.0], dtype=object)}, "b2", "pickle")

    st(
        "st-unknown-key",
        {**_sequential(p), "fc.weight": p.weights[0]},
        "fc.weight",
        "nn.Sequential",
    )
    st(
        "st-missing-key",
        {k: v for k, v in _sequential(p).items() if k != "2.bias"},
        "2.bias",
        "missing",
    )
    st(
        "st-shape",
        {**_sequential(p), "2.weight": p.weights[1][:, :20].copy()},
        "2.weight",
        "(n_out, n_in)",
    )
    st(
        "st-bias-shape",
        {**_sequential(p), "0.bias": p.biases[0][:29].copy()},
        "0.bias",
        "expected (30,)",
    )
    nan = p.weights[0].copy()
    nan[3, 7] = np.nan
    st("st-nan", {**_sequential(p), "0.weight": nan}, "0.weight", "non-finite")
    st("st-int", {**_sequential(p), "0.bias": np.zeros(30, np.int64)}, "0.bias", "dtype int64")

    npz("npz-unknown-key", {**_npz(p), "W3": p.weights[1]}, "W3", "w1, b1")
    npz("npz-missing-key", {k: v for k, v in _npz(p).items() if k != "b2"}, "b2", "missing")
    inf = p.biases[1].copy()
    inf[0] = np.inf
    npz("npz-inf", {**_npz(p), "b2": inf}, "b2", "non-finite")
    npz("npz-shape", {**_npz(p), "b1": p.biases[0][:, None]}, "b1", "expected 1 dimensions")

    good = _json(p)
    js("json-unknown-key", {**good, "eta": 3.0}, "eta", "not a key")
    js("json-missing-key", {k: v for k, v in good.items() if k != "biases"}, "biases", "missing")
    js(
        "json-bias-vector",
        {**good, "biases": [b.tolist() for b in p.biases]},
        "biases[0]",
        "expected 2",
    )
    wrong = json.loads(json.dumps(good))
    wrong["weights"][1] = wrong["weights"][1][:9]
    js("json-shape", wrong, "weights[1]", "sizes say (10, 30)")
    js("json-sizes", {**good, "sizes": [784, 30]}, "weights", "one array per layer")
    js("json-cost", {**good, "cost": "LogLikelihoodCost"}, "cost", "CrossEntropyCost")
    js("json-cost-list", {**good, "cost": ["QuadraticCost"]}, "cost", "expected one of")
    js(
        "json-ragged",
        {**good, "weights": [[[1.0], [1.0, 2.0]], good["weights"][1]]},
        "weights[0]",
        "rectangular",
    )
    nan_json = json.loads(json.dumps(good))
    nan_json["weights"][0][2][5] = float("nan")
    js("json-nan", nan_json, "weights[0]", "non-finite")
    return cases


def test_bad_inputs_name_the_file_and_key_and_write_nothing(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    out_dir = tmp_path / "out"
    for name, (path, key, words) in bad_files(src).items():
        out = out_dir / f"{name}.parquet"
        code, _, err = run(capsys, "import", path, "--out", out)
        assert code == 2, name
        where = f"{path}: key {key!r}: " if key else f"{path}: "
        assert where in err, (name, err)
        assert words in err, (name, err)
        assert not out_dir.exists() or not any(out_dir.iterdir()), name
        with pytest.raises(interop.FormatError) as info:
            interop.read_network(path)
        assert info.value.key == key and info.value.path == path


def test_pickles_are_refused_whatever_the_format_says(tmp_path):
    path = tmp_path / "net.pth"
    path.write_bytes(pickle.dumps({"0.weight": 1}))
    for fmt in ("auto", "safetensors", "npz", "nielsen-json"):
        with pytest.raises(interop.FormatError, match="arbitrary code"):
            interop.read_network(path, fmt)


def test_unknown_activations_are_refused_clearly(tmp_path, dump_path, capsys):
    src = tmp_path / "net.npz"
    interop.export_network(dump_path, src, "npz")
    code, _, err = run(
        capsys, "import", src, "--out", tmp_path / "x.parquet", "--activation", "gelu"
    )
    assert code == 2 and "'gelu' is not supported" in err and "sigmoid, tanh or relu" in err
    assert not (tmp_path / "x.parquet").exists()


def test_an_activation_needs_a_hidden_layer(tmp_path, capsys):
    src = tmp_path / "single.npz"
    p = init_params(TrainConfig(sizes=(784, 10)))
    np.savez(src, w1=p.weights[0], b1=p.biases[0])
    code, _, err = run(
        capsys, "import", src, "--out", tmp_path / "x.parquet", "--activation", "tanh"
    )
    assert code == 2 and "key 'sizes'" in err and "no hidden layer" in err
    assert not (tmp_path / "x.parquet").exists()


@pytest.fixture(scope="module")
def other_networks(mnist_workdir):
    """A tanh and a ReLU network trained here (sensible settings), by activation."""
    from twinnets.data.mnist import load_mnist

    data = load_mnist(mnist_workdir, n_train=300)
    base = TrainConfig(n_train=300, epochs=1, init="scaled", cost="cross-entropy", eta=0.1)
    return {
        activation: train(TrainConfig(**{**base.to_dict(), "activation": activation}), data)
        for activation in ("tanh", "relu")
    }


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_tanh_and_relu_networks_round_trip_with_their_activation(
    tmp_path, other_networks, activation, fmt, capsys
):
    network = other_networks[activation]
    dump = tmp_path / "net.parquet"
    write_dump(dump, network, FILES)
    out = tmp_path / f"net{SUFFIX[fmt]}"
    interop.export_network(dump, out, fmt)
    back = tmp_path / "back.parquet"
    code, _, err = run(capsys, "import", out, "--out", back, "--activation", activation)
    assert code == 0 and f"sizes [784, 30, 10], {activation}; unknown:" in err
    assert read_dump(back).config.activation == activation
    assert same_bits(read_dump(back).params, network.params)
    if fmt == "safetensors":
        from safetensors import safe_open

        with safe_open(out, framework="numpy") as fh:
            note = json.loads(fh.metadata()["twinnets"])
        module = {"tanh": "Tanh", "relu": "ReLU"}[activation]
        assert note["activation"] == activation
        assert note["layout"] == f"nn.Sequential(Linear, {module}, ..., Linear, Sigmoid)"


def test_network2_json_holds_sigmoid_networks_only(tmp_path, other_networks):
    dump = tmp_path / "tanh.parquet"
    write_dump(dump, other_networks["tanh"], FILES)
    with pytest.raises(ValueError, match=r"tanh network; network2\.py computes a sigmoid"):
        interop.export_network(dump, tmp_path / "x.json", "nielsen-json")
    assert not (tmp_path / "x.json").exists()


def test_compare_refuses_networks_of_different_activations(
    tmp_path, other_networks, mnist_workdir, capsys
):
    a, b = tmp_path / "tanh.parquet", tmp_path / "relu.parquet"
    write_dump(a, other_networks["tanh"], FILES)
    write_dump(b, other_networks["relu"], FILES)
    code, out, err = run(capsys, "compare", a, b, "--mnist", mnist_workdir)
    assert code == 2 and out == ""
    assert f"{b}: key 'activation': is a relu network but {a} is tanh" in err


def test_a_moved_relu_file_compares_as_the_same_function(
    tmp_path, other_networks, mnist_workdir, capsys
):
    from twinnets.compare.alignment import apply_transforms, random_transforms

    params = other_networks["relu"].params
    moved = apply_transforms(
        params, random_transforms(params.sizes, np.random.default_rng(5), "relu"), "relu"
    )
    files = []
    for name, p in (("a", params), ("b", moved)):
        files.append(tmp_path / f"{name}.npz")
        np.savez(files[-1], w1=p.weights[0], b1=p.biases[0], w2=p.weights[1], b2=p.biases[1])
    argv = ["compare", *files, "--mnist", mnist_workdir, "--activation", "relu"]
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["raw_relative_distance"] > 0.3 and result["aligned_distance"] < 1e-9
    assert result["agreement"] == 1.0 and result["tv_distance"] < 1e-12
    # read as sigmoid networks the same files are other functions, not the same one
    code, out, _ = run(capsys, *argv[:-2], "--json")
    assert code == 0 and json.loads(out)["agreement"] < 1.0


def test_imported_networks_cannot_be_resumed(tmp_path, dump_path, mnist_workdir, capsys):
    src = tmp_path / "net.npz"
    interop.export_network(dump_path, src, "npz")
    imported = tmp_path / "imported.parquet"
    interop.import_to_dump(src, imported)
    out = tmp_path / "more.parquet"
    code, _, err = run(capsys, "train", "--mnist", mnist_workdir, "--n-train", "300",
                       "--resume", imported, "--out", out)  # fmt: skip
    assert code == 2 and "cannot resume" in err and not out.exists()


def test_convex_models_do_not_export(tmp_path, mnist_workdir):
    config = TrainConfig(sizes=(784, 10), model="linear", cost="quadratic", epochs=0)
    path = tmp_path / "linear.parquet"
    write_dump(path, TrainedNetwork(config, init_params(config), []), FILES)
    with pytest.raises(ValueError, match="not a sigmoid network"):
        interop.export_network(path, tmp_path / "x.npz", "npz")
    assert not (tmp_path / "x.npz").exists()


# --------------------------------------------------------------------------- workflow


def test_workflow_analyses_an_imported_group(tmp_path, dump_path, mnist_dir):
    import pandas as pd
    import yaml
    from safetensors.numpy import save_file
    from test_workflow import make_copy, snakemake

    workdir = make_copy(tmp_path / "wf", mnist_dir)
    nets = workdir / "nets"
    nets.mkdir()
    interop.export_network(dump_path, nets / "first.json", "nielsen-json")
    data = json.loads((nets / "first.json").read_text())
    twin = permuted_flipped_copy(data, seed=2)  # the same function, other weights
    (nets / "twin.json").write_text(json.dumps(twin))
    other = init_params(TrainConfig(init_seed=9))  # an unrelated network, as safetensors
    save_file(_sequential(other), nets / "other.safetensors")
    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    config["imported"] = [{"name": "mine", "files": ["nets/*.json", "nets/*.safetensors"]}]
    (workdir / "config" / "test.yaml").write_text(yaml.safe_dump(config))

    targets = ("all_imported",)  # the imported groups only: the grid is not trained
    snakemake(workdir, targets=targets)
    root = workdir / "results" / "imported" / "mine"
    pairs = pd.read_parquet(root / "tables" / "pairs.parquet")
    networks_table = pd.read_parquet(root / "tables" / "networks.parquet")
    assert list(networks_table.network) == ["first.json", "twin.json", "other.safetensors"]
    assert list(networks_table.source_format) == ["nielsen-json", "nielsen-json", "safetensors"]
    assert not networks_table.init_known.any() and networks_table.eta.isna().all()
    assert networks_table.init_seed.isna().all()
    assert set(pairs.pair_kind) == {"unknown_seeds"} and pairs.epochs.isna().all()
    twins = pairs[(pairs.a_network == "first.json") & (pairs.b_network == "twin.json")].iloc[0]
    assert twins.distance_signed < 1e-9 and twins.agreement == 1.0
    assert twins.relative_all > 0.5
    assert (pairs[pairs.b_network == "other.safetensors"].relative_signed > 0.5).all()
    curves = pd.read_parquet(root / "tables" / "curves.parquet")
    assert set(curves.a_network) <= {"first.json", "twin.json"} and len(curves)
    # nulls from fresh inits of the same sizes (the files do not say how they started)
    assert pairs.null_relative_all.between(1.3, 1.5).all()
    assert pairs.init_part_signed.isna().all()  # no own init: no split by it
    summary = pd.read_csv(root / "tables" / "summary.csv")
    assert set(summary.pair_kind) == {"unknown_seeds", "networks"}
    rel = summary[summary.statistic == "relative_all"].iloc[0]
    assert rel.n == 3 and rel.value_low <= rel.value <= rel.value_high  # networks resampled
    assert rel.null == pytest.approx(pairs.null_relative_all.mean())
    answer = (root / "answer.md").read_text()
    assert "`first.json` | `twin.json` | " in answer and "unknown initialisations" in answer
    assert f"**{rel.value:.3f} [{rel.value_low:.3f}, {rel.value_high:.3f}]** (untrained" in answer
    assert (root / "figures" / "distances.svg").stat().st_size > 0
    assert (root / "figures" / "distances.png").stat().st_size > 0
    for log in ("import/first.log", "analyze.log", "answer.log"):
        assert (workdir / "logs" / "imported" / "mine" / log).exists()
    # the grid was not trained for it, and the default run is unchanged by the key
    assert not (workdir / "results" / "weights").exists()
    out = snakemake(workdir, "-n", targets=targets)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_workflow_config_errors_name_the_group(tmp_path, mnist_dir):
    import yaml
    from test_workflow import make_copy, snakemake

    workdir = make_copy(tmp_path / "wf", mnist_dir)
    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    config["imported"] = [{"name": "mine", "files": "nets/*.json"}]
    (workdir / "config" / "test.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(workdir, "-n", check=False)
    assert out.returncode != 0
    assert "imported[0] (mine): files 'nets/*.json' match 0 file(s)" in out.stdout + out.stderr
