"""Weight dumps: one tidy Parquet file per network and epochs checkpoint.

Columns: ``layer`` (int16, 1 = input to first hidden layer), ``param`` ('weight' or
'bias'), ``row`` (int32, neuron in this layer), ``col`` (int32, neuron in the previous
layer; 0 for biases), ``value`` (float64). File metadata key ``twinnets`` holds JSON
with the training settings, data checksums, per-epoch metrics and versions.

A setting that is ``null`` in the metadata is *unknown*: networks imported from other
tools (``twinnets.dumps.formats``) carry their sizes, activation and parameters but not how
they were trained. ``read_dump`` still returns a usable network: ``Dump.config`` fills
unknown settings with ``TrainConfig``'s defaults, so evaluation code runs, while
``Dump.unknown`` names them, ``Dump.setting(name)`` returns ``None`` for them and
``Dump.init_known`` says whether the network's own initialisation can be rebuilt.

The reader accepts schema-equivalent files (columns in any order, nullable flags,
other integer widths whose values fit, large or dictionary-encoded strings, float32
values for a float32 network); where it refuses, it names the column and the difference.
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
from twinnets.train.kernels import LEGACY_ARITHMETIC_VERSION
from twinnets.train.network import EpochMetrics, Params, TrainConfig, TrainedNetwork

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
        # the trainer's arithmetic (twinnets.train.kernels): resuming needs the same
        "arithmetic": network.arithmetic,
        "twinnets_version": __version__,
        "numpy_version": np.__version__,
        "git_commit": git_commit(),
    }


def write_dump(
    path: str | os.PathLike, network: TrainedNetwork, data_sha256: dict[str, str]
) -> None:
    """Write ``network`` to ``path`` atomically, with its provenance as file metadata."""
    write_params(path, network.params, provenance(network, data_sha256))


def write_params(path: str | os.PathLike, params: Params, meta: dict[str, Any]) -> None:
    """Write ``params`` with the metadata ``meta`` as it is (imports record nulls here)."""
    table = params_table(params).replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, sort_keys=True, allow_nan=False).encode()}
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
        """The settings; unknown ones (see ``unknown``) hold TrainConfig's defaults."""
        return self.network.config

    @property
    def unknown(self) -> frozenset[str]:
        """Training settings the dump does not know (``null`` in its metadata)."""
        return unknown_settings(self.metadata)

    def setting(self, name: str) -> Any:
        """A training setting's value, or ``None`` where it is unknown."""
        return None if name in self.unknown else getattr(self.config, name)

    @property
    def init_known(self) -> bool:
        """Whether the network's own initialisation can be rebuilt (init scheme and seed)."""
        return not {"init", "init_seed"} & self.unknown

    def init_config(self) -> TrainConfig | None:
        """The settings whose ``network.init_params`` is this network's own init, or None."""
        return dataclasses.replace(self.config, epochs=0) if self.init_known else None

    def null_init_config(self, fresh_seed: int) -> TrainConfig:
        """The init a null statistic uses for this network: its own where known, else a
        fresh one of the same sizes by the documented scheme (nielsen, ``fresh_seed``)."""
        own = self.init_config()
        if own is not None:
            return own
        c = self.config
        return TrainConfig(
            sizes=c.sizes,
            dtype=c.dtype,
            epochs=0,
            init="nielsen",
            init_seed=fresh_seed,
            activation=c.activation,
        )

    @property
    def source(self) -> dict[str, Any] | None:
        """Where an imported network came from: {format, sha256, file}; None if trained here."""
        return self.metadata.get("source")

    @property
    def name(self) -> str:
        """A short label: the imported file's name, else the dump's own."""
        return self.source["file"] if self.source else self.path.name


def unknown_settings(meta: dict[str, Any]) -> frozenset[str]:
    """The TrainConfig fields that ``meta`` marks unknown with an explicit null.

    A null where the setting's default is null (a fork: ``fork_epoch``, ``fork_seed``) is
    that default, "not a forked child", never unknown.
    """
    return frozenset(
        f.name
        for f in dataclasses.fields(TrainConfig)
        if f.default is not None and meta.get(f.name, 0) is None
    )


#: What each column may be stored as, beyond the canonical type, and still read exactly.
_INTEGER_COLUMNS = {"layer": np.int16, "row": np.int32, "col": np.int32}


def conform_table(table: pa.Table, path: Path, dtype: str = "float64") -> pa.Table:
    """``table`` cast to ``SCHEMA`` when it is equivalent; else a DumpError naming the column.

    Equivalent: any column order, nullable flags (without nulls), integer columns of
    any width whose values fit, large or dictionary-encoded strings, and float32
    values when the network is float32 (widening them is exact). Float32 values of a
    float64 network are refused: they may have been rounded.
    """
    names = table.schema.names
    missing = [n for n in SCHEMA.names if n not in names]
    extra = [n for n in names if n not in SCHEMA.names]
    if missing or extra:
        parts = [f"missing column {n!r}" for n in missing]
        parts += [f"unexpected column {n!r}" for n in extra]
        raise DumpError(f"{path}: {'; '.join(parts)} (expected columns {SCHEMA.names})")
    arrays = []
    for field in SCHEMA:
        column = table[field.name]
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
            column = column.cast(kind)
        if column.null_count:
            raise DumpError(f"{path}: column {field.name!r} has {column.null_count} null values")
        expected = f"{field.type}"
        if field.name in _INTEGER_COLUMNS:
            if not pa.types.is_integer(kind):
                raise DumpError(
                    f"{path}: column {field.name!r} has type {kind}, expected {expected}"
                )
            values = column.to_numpy()
            limits = np.iinfo(_INTEGER_COLUMNS[field.name])
            if len(values) and (values.min() < limits.min or values.max() > limits.max):
                raise DumpError(
                    f"{path}: column {field.name!r} ({kind}) has values "
                    f"{values.min()}..{values.max()} outside {expected}"
                )
        elif field.name == "param":
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                raise DumpError(f"{path}: column 'param' has type {kind}, expected {expected}")
        elif not (pa.types.is_float64(kind) or (pa.types.is_float32(kind) and dtype == "float32")):
            hint = (
                f" for a {dtype} network: float32 values may have been rounded"
                if pa.types.is_float32(kind)
                else ""
            )
            raise DumpError(f"{path}: column 'value' has type {kind}, expected double{hint}")
        arrays.append(column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def config_from_metadata(meta: dict[str, Any]) -> TrainConfig:
    """The TrainConfig of a dump's metadata; unknown (null) settings take the defaults.

    Dumps from before ``activation`` was a setting have no such key: they are sigmoid
    networks, ``TrainConfig``'s default.
    """
    return TrainConfig.from_dict({k: v for k, v in meta.items() if v is not None})


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


def read_metadata(path: str | os.PathLike, content: bytes | None = None) -> dict[str, Any]:
    """The provenance JSON of a dump, without reading its parameters (``content``: the
    file's bytes, read from elsewhere, e.g. a shard's tile; ``path`` then names it)."""
    path = Path(path)
    try:
        schema = pq.read_schema(path if content is None else pa.BufferReader(content))
    except (OSError, pa.ArrowException) as exc:
        raise DumpError(f"{path}: not a readable Parquet file ({exc})") from exc
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise DumpError(f"{path}: no '{METADATA_KEY.decode()}' metadata: not a twinnets dump")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DumpError(f"{path}: the twinnets metadata is not valid JSON ({exc})") from exc


def read_dump(path: str | os.PathLike, content: bytes | None = None) -> Dump:
    """Read a dump; parameters come back bitwise as written, in the trained dtype
    (``content``: the file's bytes, as ``read_metadata`` takes them)."""
    path = Path(path)
    meta = read_metadata(path, content)
    try:
        table = pq.read_table(path if content is None else pa.BufferReader(content))
    except (OSError, pa.ArrowException) as exc:
        raise DumpError(f"{path}: not a readable Parquet file ({exc})") from exc
    try:
        config = config_from_metadata(meta)
        metrics = [EpochMetrics(**m) for m in meta["metrics"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DumpError(f"{path}: incomplete twinnets metadata ({exc})") from exc
    table = conform_table(table, path, config.dtype)
    params = params_from_table(table, config.sizes, path).astype(config.dtype)
    # dumps from before the key was recorded came from the dense NumPy trainer
    arithmetic = meta.get("arithmetic", LEGACY_ARITHMETIC_VERSION)
    return Dump(path, TrainedNetwork(config, params, metrics, arithmetic), meta)
