"""Weight dumps: one tidy Parquet file per network and epochs checkpoint.

Columns: ``layer`` (int16, 1 = input to first hidden layer), ``param`` ('weight' or
'bias'), ``row`` (int32, neuron in this layer), ``col`` (int32, neuron in the previous
layer; 0 for biases), ``value`` (float64). File metadata key ``twinnets`` holds JSON
with the training settings, data checksums, per-epoch metrics and versions.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twinnets import __version__
from twinnets._io import atomic_write
from twinnets.kernels import LEGACY_ARITHMETIC_VERSION
from twinnets.network import EpochMetrics, Params, TrainConfig, TrainedNetwork

METADATA_KEY = b"twinnets"
FORMAT_VERSION = 1

SCHEMA = pa.schema(
    [
        pa.field("layer", pa.int16(), nullable=False),
        pa.field("param", pa.string(), nullable=False),
        pa.field("row", pa.int32(), nullable=False),
        pa.field("col", pa.int32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)


class DumpError(ValueError):
    """A file is not a readable twinnets dump; the message names the path."""


@cache
def git_commit() -> str | None:
    """The commit of the twinnets source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def params_table(params: Params) -> pa.Table:
    """The long-format table of a network's parameters."""
    columns: dict[str, list[np.ndarray]] = {k: [] for k in SCHEMA.names}
    for layer, (w, b) in enumerate(zip(params.weights, params.biases), start=1):
        rows, cols = np.indices(w.shape, dtype=np.int32)
        for kind, rr, cc, values in (
            ("weight", rows.ravel(), cols.ravel(), w.ravel()),
            ("bias", np.arange(len(b), dtype=np.int32), np.zeros(len(b), np.int32), b),
        ):
            columns["layer"].append(np.full(len(values), layer, np.int16))
            columns["param"].append(np.full(len(values), kind, dtype=object))
            columns["row"].append(rr)
            columns["col"].append(cc)
            columns["value"].append(np.asarray(values, np.float64))
    arrays = [pa.array(np.concatenate(columns[f.name]), f.type) for f in SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def provenance(network: TrainedNetwork, data_sha256: dict[str, str]) -> dict[str, Any]:
    """Everything needed to know where a dump came from and rebuild it."""
    return {
        "format": FORMAT_VERSION,
        **network.config.to_dict(),
        "data_sha256": dict(sorted(data_sha256.items())),
        "metrics": [dataclasses.asdict(m) for m in network.metrics],
        # the trainer's arithmetic (twinnets.kernels): resuming needs the same
        "arithmetic": network.arithmetic,
        "twinnets_version": __version__,
        "numpy_version": np.__version__,
        "git_commit": git_commit(),
    }


def write_dump(
    path: str | os.PathLike, network: TrainedNetwork, data_sha256: dict[str, str]
) -> None:
    """Write ``network`` to ``path`` atomically, with its provenance as file metadata."""
    meta = provenance(network, data_sha256)
    table = params_table(network.params).replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, sort_keys=True).encode()}
    )
    with atomic_write(path) as fh:
        pq.write_table(table, fh, compression="zstd")


@dataclasses.dataclass
class Dump:
    """A dump read back: the network (parameters bitwise as written) and its metadata."""

    path: Path
    network: TrainedNetwork
    metadata: dict[str, Any]

    @property
    def params(self) -> Params:
        return self.network.params

    @property
    def config(self) -> TrainConfig:
        return self.network.config


def params_from_table(table: pa.Table, sizes: tuple[int, ...], path: Path) -> Params:
    """Rebuild the arrays of ``sizes`` from a long-format table, checking every entry."""
    layer = table["layer"].to_numpy()
    param = table["param"].to_numpy(zero_copy_only=False)
    row = table["row"].to_numpy()
    col = table["col"].to_numpy()
    value = table["value"].to_numpy()
    weights, biases = [], []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        in_layer = layer == index
        for kind, shape in (("weight", (n_out, n_in)), ("bias", (n_out,))):
            sel = in_layer & (param == kind)
            array = np.full(shape, np.nan)
            seen = np.zeros(shape, bool)
            r, c = row[sel], col[sel]
            if kind == "bias":
                if (c != 0).any():
                    raise DumpError(f"{path}: layer {index} bias has a non-zero col")
                index_tuple: tuple = (r,)
            else:
                index_tuple = (r, c)
            if sel.sum() != np.prod(shape) or any(
                (ix < 0).any() or (ix >= n).any() for ix, n in zip(index_tuple, shape)
            ):
                raise DumpError(f"{path}: layer {index} {kind} entries do not fit shape {shape}")
            array[index_tuple] = value[sel]
            seen[index_tuple] = True
            if not seen.all():
                raise DumpError(f"{path}: layer {index} {kind} has duplicate or missing entries")
            (weights if kind == "weight" else biases).append(array)
    if len(layer) != sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(sizes)):
        raise DumpError(f"{path}: rows beyond the layers of sizes {list(sizes)}")
    return Params(weights, biases)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The provenance JSON of a dump, without reading its parameters."""
    path = Path(path)
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise DumpError(f"{path}: not a readable Parquet file ({exc})") from exc
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise DumpError(f"{path}: no '{METADATA_KEY.decode()}' metadata: not a twinnets dump")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DumpError(f"{path}: the twinnets metadata is not valid JSON ({exc})") from exc


def read_dump(path: str | os.PathLike) -> Dump:
    """Read a dump; parameters come back bitwise as written, in the trained dtype."""
    path = Path(path)
    meta = read_metadata(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DumpError(f"{path}: not a readable Parquet file ({exc})") from exc
    if not table.schema.remove_metadata().equals(SCHEMA):
        raise DumpError(f"{path}: columns are {table.schema.names}, expected {SCHEMA.names}")
    try:
        config = TrainConfig.from_dict(meta)
        metrics = [EpochMetrics(**m) for m in meta["metrics"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DumpError(f"{path}: incomplete twinnets metadata ({exc})") from exc
    params = params_from_table(table, config.sizes, path).astype(config.dtype)
    # dumps from before the key was recorded came from the dense NumPy trainer
    arithmetic = meta.get("arithmetic", LEGACY_ARITHMETIC_VERSION)
    return Dump(path, TrainedNetwork(config, params, metrics, arithmetic), meta)
