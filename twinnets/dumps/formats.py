"""Bring your own networks: import from, and export to, Nielsen's code, PyTorch and NumPy.

Formats (weights are (n_out, n_in) and layer k maps layer k-1 to layer k, as in the book):

* ``nielsen-json``: what ``network2.py``'s ``Network.save`` writes: ``sizes``, ``weights``
  (list of n_out x n_in lists), ``biases`` (list of n_out x 1 column vectors) and ``cost``
  (``QuadraticCost`` or ``CrossEntropyCost``; may be absent). ``network2.load`` reads it back.
* ``safetensors``: PyTorch ``nn.Sequential`` names, ``{i}.weight`` (n_out, n_in) and
  ``{i}.bias`` (n_out,) of its Linear modules, in increasing ``i`` (``0``, ``2``, ... for
  ``Sequential(Linear, Sigmoid, Linear, Sigmoid)``, which is what export writes; ``Tanh``
  or ``ReLU`` between the Linear modules of a tanh or ReLU network).
* ``npz``: NumPy ``savez`` with ``w1``, ``b1``, ``w2``, ``b2``, ... (``w{k}`` (n_out, n_in),
  ``b{k}`` (n_out,); layer 1 maps the input to the first hidden layer, as in dumps).

Imports are strict, because a silently misread network would be compared as if it were
someone's model: every key must be known, every shape must chain, every value must be
finite; an error (``FormatError``) names the file and the key, and nothing is written.
Pickles (``.pkl``, torch ``.pt``/``.pth``, object arrays in ``.npy``/``.npz``) are refused,
because loading one runs arbitrary code; the message says how to convert instead.

An imported dump records its ``source`` ({format, sha256, file}), ``activation`` (the hidden
layers', given by the user: no format records it; the output layer is read as a sigmoid, as
in the book) and sizes; every training setting the file does not carry is ``null`` (see
``twinnets.dumps.storage``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twinnets import __version__
from twinnets._io import atomic_write, atomic_write_bytes, atomic_write_text
from twinnets.dumps.storage import (
    FORMAT_VERSION,
    Dump,
    DumpError,
    config_from_metadata,
    git_commit,
    read_dump,
    write_params,
)
from twinnets.train.network import ACTIVATIONS, EpochMetrics, Params, TrainConfig, TrainedNetwork

if TYPE_CHECKING:
    from twinnets.data.mnist import Mnist

FORMATS = ("nielsen-json", "safetensors", "npz")
#: What ``compare`` and ``--format auto`` recognise: the three formats and twinnets dumps.
INPUT_FORMATS = ("auto", "dump", *FORMATS)
SUFFIXES = {".json": "nielsen-json", ".safetensors": "safetensors", ".npz": "npz",
            ".parquet": "dump"}  # fmt: skip
NIELSEN_COSTS = {"QuadraticCost": "quadratic", "CrossEntropyCost": "cross-entropy"}
#: The torch.nn module of each hidden activation, for the layout an export describes.
TORCH_MODULES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib")
#: Settings a file of another tool may carry; every other TrainConfig field is unknown.
CARRIED = ("sizes", "model", "dtype", "cost", "activation")

HOW_TO_CONVERT = (
    "convert it where it was made instead: from PyTorch, "
    'safetensors.torch.save_file(model.state_dict(), "net.safetensors") (an nn.Sequential '
    'of Linear and Sigmoid modules); from NumPy, numpy.savez("net.npz", w1=..., b1=..., '
    'w2=..., b2=...); from Nielsen\'s network2.py, net.save("net.json")'
)


class FormatError(ValueError):
    """A network file that cannot be imported; the message names the file and the key."""

    def __init__(self, path: str | os.PathLike, message: str, key: str | None = None) -> None:
        self.path, self.key = Path(path), key
        where = f"{path}: key {key!r}: " if key is not None else f"{path}: "
        super().__init__(where + message)


@dataclass
class ReadNetwork:
    """What a network file holds: its parameters and the few settings it carries."""

    params: Params
    format: str
    cost: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.params.sizes


# --------------------------------------------------------------------------- detection


def detect_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its suffix, else its first bytes; refuses pickles."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "is not a file" if path.exists() else "no such file")
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(16)
    # pickle protocols 2+ start with 0x80; a safetensors header length may too, but its
    # JSON header starts at byte 8
    looks_pickled = head[:1] == b"\x80" and head[8:9] != b"{"
    if suffix in PICKLE_SUFFIXES or looks_pickled or _is_torch_zip(path, head):
        refuse_pickle(path)
    if suffix == ".npy":
        raise FormatError(
            path, "holds a single array; save every layer with numpy.savez(w1=..., b1=..., ...)"
        )
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if head[:4] == b"PAR1":
        return "dump"
    if len(head) >= 9 and head[8:9] == b"{":  # 8-byte header length, then the JSON header
        return "safetensors"
    if head.lstrip()[:1] == b"{":
        return "nielsen-json"
    if head[:2] == b"PK":
        return "npz"
    raise FormatError(
        path, f"cannot tell the format; give --format, one of {', '.join(INPUT_FORMATS[1:])}"
    )


def _is_torch_zip(path: Path, head: bytes) -> bool:
    """torch.save's zip archives hold a pickle (``data.pkl``); npz archives hold .npy only."""
    if head[:2] != b"PK":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith(".pkl") for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def refuse_pickle(path: str | os.PathLike, key: str | None = None) -> None:
    """Raise: a pickle can run arbitrary code when loaded, so twinnets never loads one."""
    raise FormatError(
        path,
        "is a pickle (or holds pickled objects); loading one runs arbitrary code, so "
        f"twinnets refuses it. {HOW_TO_CONVERT[0].upper()}{HOW_TO_CONVERT[1:]}",
        key,
    )


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes: the source's identity in an imported dump."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- readers


def _array(path: Path, key: str, value: Any, ndim: int) -> np.ndarray:
    """``value`` as a finite float array of ``ndim`` dimensions, or a FormatError on ``key``."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            refuse_pickle(path, key)
        if value.dtype not in (np.float32, np.float64):
            raise FormatError(path, f"has dtype {value.dtype}; expected float32 or float64", key)
        array = value
    else:
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise FormatError(path, f"is not a rectangular array of numbers ({exc})", key) from None
    if array.ndim != ndim:
        raise FormatError(path, f"has shape {array.shape}; expected {ndim} dimensions", key)
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise FormatError(
            path, f"has {int(bad.sum())} non-finite values (NaN or infinite), first at {where}", key
        )
    return array


def _check_chain(path: Path, weights: list[np.ndarray], biases: list[np.ndarray], names) -> None:
    """Each layer's weights (n_out, n_in) follow the previous layer and match its bias."""
    if not weights:
        raise FormatError(path, "holds no layers")
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w_key, b_key = names[k]
        if k and w.shape[1] != weights[k - 1].shape[0]:
            raise FormatError(
                path,
                f"has shape {w.shape}; expected ({w.shape[0]}, {weights[k - 1].shape[0]}) "
                f"(n_out, n_in) after {names[k - 1][0]} with {weights[k - 1].shape[0]} outputs",
                w_key,
            )
        if b.shape != (w.shape[0],):
            raise FormatError(path, f"has shape {b.shape}; expected ({w.shape[0]},)", b_key)


def _dtype_of(path: Path, arrays: list[np.ndarray]) -> str:
    dtypes = {a.dtype.name for a in arrays}
    if len(dtypes) > 1:
        raise FormatError(path, f"mixes dtypes {sorted(dtypes)}; save every array in one dtype")
    return dtypes.pop()


def read_nielsen_json(path: str | os.PathLike) -> ReadNetwork:
    """``network2.Network.save``'s JSON: sizes, weights, biases (column vectors), cost."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise FormatError(path, "is not a JSON object with sizes, weights, biases and cost")
    known = {"sizes", "weights", "biases", "cost"}
    for key in data:
        if key not in known:
            raise FormatError(path, f"is not a key of network2.py's format {sorted(known)}", key)
    for key in ("sizes", "weights", "biases"):
        if key not in data:
            raise FormatError(path, "is missing (network2.py's Network.save writes it)", key)
    sizes = data["sizes"]
    if not (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)
    ):
        raise FormatError(
            path, f"must list at least two positive layer sizes, got {sizes!r}", "sizes"
        )
    for key in ("weights", "biases"):
        if not isinstance(data[key], list) or len(data[key]) != len(sizes) - 1:
            raise FormatError(path, f"must list one array per layer ({len(sizes) - 1})", key)
    weights, biases = [], []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w_key, b_key = f"weights[{k}]", f"biases[{k}]"
        w = _array(path, w_key, data["weights"][k], 2)
        b = _array(path, b_key, data["biases"][k], 2)
        if w.shape != (n_out, n_in):
            raise FormatError(path, f"has shape {w.shape}; sizes say ({n_out}, {n_in})", w_key)
        if b.shape != (n_out, 1):
            raise FormatError(path, f"has shape {b.shape}; sizes say ({n_out}, 1)", b_key)
        weights.append(w)
        biases.append(b[:, 0].copy())
    cost = None
    if "cost" in data:
        if not isinstance(data["cost"], str) or data["cost"] not in NIELSEN_COSTS:
            raise FormatError(
                path, f"is {data['cost']!r}; expected one of {sorted(NIELSEN_COSTS)}", "cost"
            )
        cost = NIELSEN_COSTS[data["cost"]]
    return ReadNetwork(Params(weights, biases), "nielsen-json", cost)


_SEQUENTIAL_KEY = re.compile(r"(\d+)\.(weight|bias)")


def read_safetensors(path: str | os.PathLike) -> ReadNetwork:
    """A safetensors state dict of ``nn.Sequential`` Linear modules: ``{i}.weight``/``{i}.bias``."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise FormatError(path, f"is not a readable safetensors file ({exc})") from None
    modules: dict[int, dict[str, str]] = {}
    for key in tensors:
        match = _SEQUENTIAL_KEY.fullmatch(key)
        if match is None:
            raise FormatError(
                path,
                "is not an nn.Sequential Linear name ('{i}.weight' or '{i}.bias'); save the "
                "state_dict of nn.Sequential(Linear, Sigmoid, Linear, Sigmoid, ...) itself",
                key,
            )
        modules.setdefault(int(match[1]), {})[match[2]] = key
    names = []
    for index in sorted(modules):
        for kind in ("weight", "bias"):
            if kind not in modules[index]:
                raise FormatError(
                    path,
                    f"is missing (module {index} has a {({'weight', 'bias'} - {kind}).pop()})",
                    f"{index}.{kind}",
                )
        names.append((f"{index}.weight", f"{index}.bias"))
    if not names:
        raise FormatError(path, "holds no tensors")
    weights = [_array(path, w, tensors[w], 2) for w, _ in names]
    biases = [_array(path, b, tensors[b], 1) for _, b in names]
    _check_chain(path, weights, biases, names)
    return ReadNetwork(Params(weights, biases), "safetensors")


_NPZ_KEY = re.compile(r"([wb])([1-9][0-9]*)")


def read_npz(path: str | os.PathLike) -> ReadNetwork:
    """``numpy.savez`` with ``w1, b1, w2, b2, ...``; object arrays (pickles) are refused."""
    path = Path(path)
    if not zipfile.is_zipfile(path):  # np.load would take other bytes for a pickle
        raise FormatError(path, "is not a .npz archive (numpy.savez writes a zip file)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        if "pickle" in str(exc):
            refuse_pickle(path)
        raise FormatError(path, f"is not a readable .npz archive ({exc})") from None
    if not hasattr(archive, "files"):  # a bare .npy array under another name
        raise FormatError(
            path, "is a single array; save the layers with numpy.savez(w1=..., b1=...)"
        )
    with archive:
        layers: dict[int, dict[str, str]] = {}
        for key in archive.files:
            match = _NPZ_KEY.fullmatch(key)
            if match is None:
                raise FormatError(
                    path,
                    "is not a layer key; expected w1, b1, w2, b2, ... (see twinnets.dumps.formats)",
                    key,
                )
            layers.setdefault(int(match[2]), {})[match[1]] = key
        count = len(layers)
        if not count:
            raise FormatError(path, "holds no arrays")
        for k in range(1, count + 1):
            for kind in ("w", "b"):
                if kind not in layers.get(k, {}):
                    raise FormatError(
                        path, f"is missing (layers are numbered 1..{max(layers)})", f"{kind}{k}"
                    )
        names = [(f"w{k}", f"b{k}") for k in range(1, count + 1)]
        arrays = {}
        for key in itertools.chain.from_iterable(names):
            try:
                arrays[key] = archive[key]
            except ValueError as exc:  # object arrays need allow_pickle
                if "pickle" in str(exc):
                    refuse_pickle(path, key)
                raise FormatError(path, f"cannot be read ({exc})", key) from None
    weights = [_array(path, w, arrays[w], 2) for w, _ in names]
    biases = [_array(path, b, arrays[b], 1) for _, b in names]
    _check_chain(path, weights, biases, names)
    return ReadNetwork(Params(weights, biases), "npz")


READERS = {"nielsen-json": read_nielsen_json, "safetensors": read_safetensors, "npz": read_npz}


def read_network(path: str | os.PathLike, fmt: str = "auto") -> ReadNetwork:
    """Read a network file of ``fmt`` (``auto``: by suffix, then content)."""
    path = Path(path)
    if fmt == "auto":
        fmt = detect_format(path)
    else:
        detect_format(path)  # refuses pickles whatever --format says
    if fmt == "dump":
        raise FormatError(path, "is a twinnets dump already; nothing to import")
    if fmt not in READERS:
        raise FormatError(
            path, f"unknown format {fmt!r}; expected one of {', '.join(INPUT_FORMATS)}"
        )
    network = READERS[fmt](path)
    _dtype_of(path, [*network.params.weights, *network.params.biases])
    return network


# --------------------------------------------------------------------------- import


def check_activation(activation: str) -> str:
    """``activation`` if twinnets can analyse it, else a ValueError saying what is supported."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation {activation!r} is not supported: twinnets trains and analyses MLPs "
            f"whose hidden layers are {', '.join(ACTIVATIONS[:-1])} or {ACTIVATIONS[-1]} (the "
            "output layer a sigmoid, as in the book); choose one of those"
        )
    return activation


def imported_metadata(src: Path, read: ReadNetwork, activation: str) -> dict[str, Any]:
    """The dump metadata of an imported network: what the file carries; null for the rest."""
    unknown = {f: None for f in TrainConfig.__dataclass_fields__ if f not in CARRIED}
    dtype = _dtype_of(src, [*read.params.weights, *read.params.biases])
    return {
        "format": FORMAT_VERSION,
        **unknown,
        "sizes": list(read.sizes),
        "model": "mlp",  # Nielsen's network, its hidden layers of ``activation``
        "dtype": dtype,
        "cost": read.cost,
        "activation": activation,
        "source": {"format": read.format, "sha256": sha256_file(src), "file": src.name},
        "data_sha256": {},
        "metrics": [],
        "twinnets_version": __version__,
        "numpy_version": np.__version__,
        "git_commit": git_commit(),
    }


def evaluate_imported(params: Params, meta: dict[str, Any], data: Mnist) -> dict[str, Any]:
    """Record the network's accuracy and training cost on MNIST, as measured here.

    One metrics entry with ``epoch`` and ``seconds`` null (no training happened here);
    ``evaluation`` says which cost and training images the cost was computed over.
    """
    from twinnets.train.network import evaluate

    config = config_from_metadata({**meta, "n_train": len(data.train)})
    started = time.perf_counter()
    train_cost, validation, test = evaluate(params, data, config)
    meta = dict(meta)
    meta["metrics"] = [
        {"epoch": None, "train_cost": train_cost, "validation_accuracy": validation,
         "test_accuracy": test, "seconds": None}
    ]  # fmt: skip
    meta["evaluation"] = {
        "cost": config.cost,
        "cost_known": meta.get("cost") is not None,
        "n_train": config.n_train,
        "lmbda": 0.0,
        "seconds": time.perf_counter() - started,
    }
    meta["data_sha256"] = dict(sorted(data.sha256.items()))
    return meta


def import_network(
    src: str | os.PathLike,
    fmt: str = "auto",
    activation: str = "sigmoid",
    data: Mnist | None = None,
) -> tuple[Params, dict[str, Any]]:
    """Parameters and dump metadata of a network file; evaluated on ``data`` when given."""
    check_activation(activation)
    src = Path(src)
    read = read_network(src, fmt)
    if activation != "sigmoid" and len(read.sizes) < 3:
        raise FormatError(
            src,
            f"has sizes {list(read.sizes)}: no hidden layer, so activation {activation!r} would "
            "change nothing (it names the hidden layers' activation); import it as sigmoid",
            "sizes",
        )
    params = read.params.astype(np.float64)
    meta = imported_metadata(src, read, activation)
    if data is not None:
        _check_mnist_sizes(src, read.sizes)
        meta = evaluate_imported(params.astype(meta["dtype"]), meta, data)
    return read.params, meta


def _check_mnist_sizes(path: Path, sizes: tuple[int, ...]) -> None:
    if sizes[0] != 784 or sizes[-1] != 10:
        raise FormatError(
            path,
            f"has sizes {list(sizes)}; evaluating on MNIST needs 784 inputs and 10 outputs",
            "sizes",
        )


def import_to_dump(
    src: str | os.PathLike,
    out: str | os.PathLike,
    fmt: str = "auto",
    activation: str = "sigmoid",
    data: Mnist | None = None,
) -> Dump:
    """Import ``src`` and write it as a twinnets dump to ``out`` (atomically; nothing on error)."""
    params, meta = import_network(src, fmt, activation, data)
    write_params(out, params, meta)
    return read_dump(out)


def evaluate_dump_to(dump: Dump, out: str | os.PathLike, data: Mnist) -> None:
    """Write ``dump`` to ``out`` with its accuracy and cost measured on ``data``."""
    write_params(out, dump.params, evaluate_imported(dump.params, dump.metadata, data))


def as_dump(
    path: str | os.PathLike,
    fmt: str = "auto",
    activation: str = "sigmoid",
    data: Mnist | None = None,
) -> Dump:
    """Any supported file as an in-memory Dump (``path`` is the source file)."""
    path = Path(path)
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind == "dump":
        return read_dump(path)
    params, meta = import_network(path, kind, activation, data)
    config = config_from_metadata(meta)
    metrics = [EpochMetrics(**m) for m in meta["metrics"]]
    return Dump(path, TrainedNetwork(config, params.astype(config.dtype), metrics), meta)


# --------------------------------------------------------------------------- export


def export_network(dump: Dump | str | os.PathLike, out: str | os.PathLike, fmt: str) -> None:
    """Write a dump's network as ``fmt`` to ``out``, atomically, bitwise in its dtype."""
    if not isinstance(dump, Dump):
        dump = read_dump(dump)
    activation = dump.config.activation
    if dump.config.model != "mlp":
        raise DumpError(
            f"{dump.path}: a {dump.config.model} model is not a sigmoid network (an MLP with "
            "sigmoid outputs, as in the book); only the MLP exports to these formats"
        )
    if fmt == "nielsen-json" and activation != "sigmoid":
        raise DumpError(
            f"{dump.path}: a {activation} network; network2.py computes a sigmoid in every "
            "layer, so nielsen-json holds sigmoid networks only: export it as safetensors or npz"
        )
    params = dump.params
    if fmt == "nielsen-json":
        cost = dump.setting("cost")
        data: dict[str, Any] = {
            "sizes": list(params.sizes),
            "weights": [w.astype(np.float64).tolist() for w in params.weights],
            "biases": [b.astype(np.float64)[:, None].tolist() for b in params.biases],
        }
        if cost is not None:
            data["cost"] = {v: k for k, v in NIELSEN_COSTS.items()}[cost]
        atomic_write_text(out, json.dumps(data))
    elif fmt == "safetensors":
        from safetensors.numpy import save

        tensors = {}
        for k, (w, b) in enumerate(zip(params.weights, params.biases)):
            tensors[f"{2 * k}.weight"] = np.ascontiguousarray(w)
            tensors[f"{2 * k}.bias"] = np.ascontiguousarray(b)
        # one key: safetensors orders several keys at random, and exports should be stable
        module = TORCH_MODULES[activation]
        note = {"activation": activation, "output": "sigmoid",
                "layout": f"nn.Sequential(Linear, {module}, ..., Linear, Sigmoid)",
                "twinnets_version": __version__}  # fmt: skip
        meta = {"twinnets": json.dumps(note, sort_keys=True)}
        atomic_write_bytes(out, save(tensors, metadata=meta))
    elif fmt == "npz":
        arrays = {}
        for k, (w, b) in enumerate(zip(params.weights, params.biases), start=1):
            arrays[f"w{k}"], arrays[f"b{k}"] = w, b
        with atomic_write(out) as fh:
            np.savez(fh, **arrays)
    else:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")


def describe_init(dump: Dump) -> str:
    """One phrase: whether the network's own initialisation is known, and from where."""
    if dump.init_known:
        return f"init known ({dump.config.init}, init_seed {dump.config.init_seed})"
    return "init unknown (not in the file): its nulls use a fresh N(0, 1) init of its sizes"


def network_info(dump: Dump) -> dict[str, Any]:
    """What compare reports per network: file, format, sizes, init known, source."""
    source = dump.source
    return {
        "file": str(dump.path),
        "format": source["format"] if source else "dump",
        "sizes": list(dump.config.sizes),
        "init_known": dump.init_known,
        "init_seed": dump.setting("init_seed"),
        "unknown_settings": sorted(dump.unknown),
        "source": source,
    }
