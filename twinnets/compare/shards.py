"""A group's pairwise analysis cut into shards: one job per pair of tiles of networks.

A group of N networks has N (N - 1) / 2 pairs (523,776 for 1,024 networks), and the
all-pairs matrices grow as N^2. So the networks (in the group's order) are cut into
*tiles* of ``tile`` networks, and a *shard* is a pair of tiles (ti <= tj): the pairs
(i, j), i < j, with i in tile ti and j in tile tj. A shard reads only its (at most
2 ``tile``) networks, computes each one's activations and outputs (trained and rebuilt
init) once, and the Gram, CKA, correlation and function matrices over its networks only
(for an off-diagonal shard, only the blocks between its two tiles:
``twinnets.compare.pair_batch``), so its memory is bounded whatever N. Off-diagonal
shards hold ``tile^2`` pairs each, diagonal ones about half; each network's activations
are computed once in each of the N / ``tile`` shards its tile is in.

**The same results as one job.** Which pairs are analysed, their kinds, and which get
loss barriers (``barriers.select_barrier_pairs``, balanced across kinds) are decided
for the whole group (``plan_pairs``, from the dumps' metadata alone) by every shard
alike, so the selection is the one the unsharded analysis makes; each shard computes
the barriers that fall in it. Every pair is measured by ``groups.pair_tables``, the
code ``groups.analyze_group`` runs, and ``merge_shards`` puts the rows back in the
unsharded order. Values read from the Gram-based matrices (CKA, matched-unit
correlations, the alignments they drive) come from a smaller BLAS product and can
differ in the last bits; ``tests/test_shards.py`` says which columns are bitwise.

**Subsampling** (``max_pairs``): a seeded random subset of at most ``max_pairs`` pairs
per pair kind, drawn from the group's full list, the same in every shard.

The per-network table (``analyze_networks``: accuracy, distance from init, the
consensus alignment over all networks) is O(N) and stays one job per group.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twinnets._io import atomic_write, write_frame
from twinnets.compare import barriers
from twinnets.compare.groups import (
    BARRIER_PAIRS,
    GROUP_PAIR_COLUMNS,
    _check_group,
    _context,
    network_table,
    pair_kind,
    pair_tables,
)
from twinnets.compare.input_space import UNSEEN_VARIANCE
from twinnets.data.mnist import load_mnist
from twinnets.dumps.storage import Dump, config_from_metadata, read_dump, read_metadata
from twinnets.train.network import TrainedNetwork

#: Networks per tile (config ``analysis.shard_networks``). A shard computes its networks'
#: activations and outputs once, so a group of N networks computes each N / tile times:
#: 256 makes that 4 for 1,024 networks, at about 3 GB per shard job ([784, 30, 10]).
SHARD_NETWORKS = 256
#: At most this many tiles per group (``tile_size``): at most 2,080 shard jobs, so that a
#: group of 16,384 networks plans in seconds; its shards then hold more pairs each.
MAX_TILES = 64
#: Seed of the subset of pairs drawn when a kind has more than ``max_pairs``.
SUBSAMPLE_SEED = 0
#: The column of the shard tables that orders their rows as the unsharded analysis does.
PAIR_INDEX = "pair_index"
SHARD_PATTERN = r"[0-9]+-[0-9]+"


# --------------------------------------------------------------------------- geometry


@dataclasses.dataclass(frozen=True, order=True)
class Shard:
    """The pairs between tile ``first`` and tile ``second`` (first <= second)."""

    first: int
    second: int

    def __post_init__(self) -> None:
        if not 0 <= self.first <= self.second:
            raise ValueError(f"a shard is two tiles first <= second, got {self}")

    @property
    def name(self) -> str:
        """The shard's wildcard in the workflow's paths, e.g. "0-3"."""
        return f"{self.first}-{self.second}"

    @classmethod
    def parse(cls, name: str) -> Shard:
        if not re.fullmatch(SHARD_PATTERN, name):
            raise ValueError(f"a shard is named <tile>-<tile>, got {name!r}")
        first, second = name.split("-")
        return cls(int(first), int(second))

    def networks(self, n_networks: int, tile: int) -> list[int]:
        """The group positions of the networks this shard reads, ascending."""
        members = set(_tile(self.first, n_networks, tile)) | set(
            _tile(self.second, n_networks, tile)
        )
        return sorted(members)

    def pairs(self, n_networks: int, tile: int) -> list[tuple[int, int]]:
        """Its pairs (i, j), i < j, in the group's order (``itertools.combinations``)."""
        a, b = _tile(self.first, n_networks, tile), _tile(self.second, n_networks, tile)
        if self.first == self.second:
            return list(itertools.combinations(a, 2))
        return list(itertools.product(a, b))


def _tile(index: int, n_networks: int, tile: int) -> range:
    return range(index * tile, min((index + 1) * tile, n_networks))


def _check_tile(tile: int) -> None:
    if tile < 1:
        raise ValueError(f"tiles hold at least one network, got {tile}")


def tile_size(
    n_networks: int, shard_networks: int = SHARD_NETWORKS, max_tiles: int = MAX_TILES
) -> int:
    """Networks per tile of a group: ``shard_networks``, or more where the group would
    otherwise have more than ``max_tiles`` tiles (the job count grows as tiles squared)."""
    _check_tile(shard_networks)
    return max(shard_networks, math.ceil(n_networks / max_tiles))


def shards(n_networks: int, tile: int = SHARD_NETWORKS) -> list[Shard]:
    """Every shard of a group of ``n_networks`` that holds a pair, in the group's order."""
    _check_tile(tile)
    n_tiles = math.ceil(n_networks / tile)
    out = [Shard(a, b) for a in range(n_tiles) for b in range(a, n_tiles)]
    return [s for s in out if shard_size(n_networks, tile, s)[1]]


def shard_size(n_networks: int, tile: int, shard: Shard) -> tuple[int, int]:
    """(networks read, pairs) of one shard: what its job's resources are sized by
    (counted, not listed: the workflow asks for every shard of every group)."""
    first = len(_tile(shard.first, n_networks, tile))
    if shard.first == shard.second:
        return first, first * (first - 1) // 2
    second = len(_tile(shard.second, n_networks, tile))
    return first + second, first * second


def pair_position(i: int, j: int, n_networks: int) -> int:
    """Where pair (i, j), i < j, stands in ``itertools.combinations(range(n), 2)``."""
    return i * n_networks - i * (i + 1) // 2 + (j - i - 1)


# --------------------------------------------------------------------------- the plan


@dataclasses.dataclass(frozen=True)
class PairPlan:
    """The group's analysed pairs in the unsharded order, their kinds and barrier flags."""

    pairs: list[tuple[int, int]]
    kinds: list[str]
    barrier: list[bool]

    def by_shard(self, n_networks: int, tile: int) -> dict[Shard, ShardPlan]:
        """Each shard's part (every shard of the group, some perhaps empty), found in one
        pass over the pairs: the work of splitting is the plan's size, not shards x pairs."""
        parts: dict[Shard, ShardPlan] = {
            s: ShardPlan([], [], [], []) for s in shards(n_networks, tile)
        }
        rows = zip(self.pairs, self.kinds, self.barrier, strict=True)
        for position, ((i, j), kind, barrier) in enumerate(rows):
            part = parts[Shard(i // tile, j // tile)]
            part.pairs.append((i, j))
            part.kinds.append(kind)
            part.barrier.append(barrier)
            part.index.append(position)
        return parts


@dataclasses.dataclass(frozen=True)
class ShardPlan:
    """One shard's part of the group's plan: its analysed pairs (group positions), their
    kinds and barrier flags, and each one's position in the group's analysed pairs."""

    pairs: list[tuple[int, int]]
    kinds: list[str]
    barrier: list[bool]
    index: list[int]


def read_header(path: str | os.PathLike) -> Dump:
    """A dump's settings and seeds from its metadata only (no parameters: ``params`` is
    None), enough for ``pair_kind`` and the group's context; ms per dump."""
    meta = read_metadata(path)
    network = TrainedNetwork(config_from_metadata(meta), None, [])  # type: ignore[arg-type]
    return Dump(Path(path), network, meta)


def plan_pairs(
    dumps: Sequence[Dump],
    barrier_pairs: int = BARRIER_PAIRS,
    max_pairs: int | None = None,
    seed: int = SUBSAMPLE_SEED,
) -> PairPlan:
    """Which pairs of the group are analysed and which get barriers: the same everywhere.

    Without ``max_pairs``, every pair, and the barriers ``groups.analyze_group`` picks.
    With it, each kind with more pairs keeps a uniformly random subset of ``max_pairs``
    (``default_rng(seed)``, kinds in sorted order), and the barrier budget is dealt over
    the kept pairs.
    """
    n = len(dumps)
    pairs = list(itertools.combinations(range(n), 2))
    kinds = [pair_kind(dumps[i], dumps[j]) for i, j in pairs]
    if max_pairs is not None:
        keep = subsample(kinds, max_pairs, seed)
        pairs, kinds = [pairs[k] for k in keep], [kinds[k] for k in keep]
    chosen = set(barriers.select_barrier_pairs(pairs, kinds, barrier_pairs))
    return PairPlan(pairs, kinds, [k in chosen for k in range(len(pairs))])


def subsample(kinds: Sequence[str], max_pairs: int, seed: int = SUBSAMPLE_SEED) -> list[int]:
    """Positions (ascending) of at most ``max_pairs`` pairs per kind, drawn without
    replacement by ``default_rng(seed)``; a kind with fewer keeps all of its pairs."""
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
    rng = np.random.default_rng(seed)
    members: dict[str, list[int]] = {}
    for position, kind in enumerate(kinds):
        members.setdefault(kind, []).append(position)
    keep: list[int] = []
    for kind in sorted(members):
        positions = members[kind]
        if len(positions) <= max_pairs:
            keep += positions
        else:
            drawn = rng.choice(len(positions), size=max_pairs, replace=False)
            keep += [positions[k] for k in drawn]
    return sorted(keep)


# --------------------------------------------------------------------------- one shard


def analyze_shard(
    dump_paths: Sequence[str | os.PathLike],
    mnist_dir: str | os.PathLike,
    shard: Shard | str,
    tile: int = SHARD_NETWORKS,
    barrier_pairs: int = BARRIER_PAIRS,
    model_name: str | None = None,
    unseen_variance: float = UNSEEN_VARIANCE,
    max_pairs: int | None = None,
    seed: int = SUBSAMPLE_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs and curves tables of one shard of the group ``dump_paths`` (all of it).

    Each has the columns of ``groups.analyze_group``'s plus ``pair_index``, the row's
    position in the group's analysed pairs, by which ``merge_shards`` orders them.
    """
    shard = Shard.parse(shard) if isinstance(shard, str) else shard
    _check_tile(tile)
    headers = [read_header(p) for p in dump_paths]
    _check_group(headers)
    plan = plan_pairs(headers, barrier_pairs, max_pairs, seed).by_shard(len(headers), tile)
    if shard not in plan:
        raise ValueError(
            f"shard {shard.name}: not a shard of {len(headers)} networks in tiles of {tile}"
        )
    members = shard.networks(len(headers), tile)
    return _shard_tables(
        plan[shard], [dump_paths[g] for g in members], mnist_dir, shard, tile, len(headers),
        _n_train_range(headers), model_name, unseen_variance,
    )  # fmt: skip


def analyze_planned_shard(
    tiles: str | os.PathLike,
    plan: str | os.PathLike,
    mnist_dir: str | os.PathLike,
    shard: Shard | str,
    model_name: str | None = None,
    unseen_variance: float = UNSEEN_VARIANCE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``analyze_shard`` from the group's plan folder (``write_plan``) and tiles folder
    (``write_tiles``), of which it reads its own part and its two tiles: what a workflow
    job reads, so that neither its inputs nor its reading grow with the group."""
    shard = Shard.parse(shard) if isinstance(shard, str) else shard
    part, header = read_plan(plan, shard)
    n_networks, tile = header["n_networks"], header["tile"]
    members = read_tile(tiles, shard.first, n_networks, tile)
    if shard.second != shard.first:
        members += read_tile(tiles, shard.second, n_networks, tile)
    n_train = (header["n_train_max"], header["n_train_min"])
    return _shard_tables(
        part, members, mnist_dir, shard, tile, n_networks, n_train, model_name, unseen_variance
    )


# --------------------------------------------------------------------------- tiles


def tile_path(tiles: str | os.PathLike, index: int) -> Path:
    return Path(tiles) / f"tile={index}.parquet"


def write_tiles(
    dump_paths: Sequence[str | os.PathLike], tiles: str | os.PathLike, tile: int
) -> None:
    """The group's dumps packed, as they are, into one file per tile in the folder
    ``tiles`` (columns: the network's position in the group, its dump's path, the dump's
    bytes): a shard job then reads two files, not 2 ``tile`` dumps, and the DAG has two
    edges per shard (Snakemake's planning grows with its edges)."""
    _check_tile(tile)
    n = len(dump_paths)
    Path(tiles).mkdir(parents=True, exist_ok=True)
    for index in range(math.ceil(n / tile)):
        positions = list(_tile(index, n, tile))
        frame = pd.DataFrame(
            {
                "position": np.array(positions, dtype=np.int64),
                "path": [str(dump_paths[k]) for k in positions],
                "content": [Path(dump_paths[k]).read_bytes() for k in positions],
            }
        )
        write_frame(frame, tile_path(tiles, index))


def read_tile(tiles: str | os.PathLike, index: int, n_networks: int, tile: int) -> list[Dump]:
    """The dumps of tile ``index`` (``write_tiles``), in the group's order, each exactly as
    ``read_dump`` reads its own file."""
    path = tile_path(tiles, index)
    frame = pd.read_parquet(path)
    expected = list(_tile(index, n_networks, tile))
    if frame["position"].tolist() != expected:
        raise ValueError(
            f"{path}: holds the networks {frame['position'].tolist()[:5]}..., not tile {index} "
            f"of a group of {n_networks} in tiles of {tile}; rerun the group's plan job"
        )
    return [read_dump(p, c) for p, c in zip(frame["path"], frame["content"], strict=True)]


def _n_train_range(dumps: Sequence[Dump]) -> tuple[int, int]:
    """The group's (largest, smallest) training set, for its shared context."""
    sizes = [d.config.n_train for d in dumps]
    return max(sizes), min(sizes)


def _shard_tables(
    plan: ShardPlan,
    members: Sequence[str | os.PathLike] | Sequence[Dump],
    mnist_dir: str | os.PathLike,
    shard: Shard,
    tile: int,
    n_networks: int,
    n_train: tuple[int, int],
    model_name: str | None,
    unseen_variance: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One shard's tables from the group's plan and its own networks' dumps (paths, or
    dumps read already)."""
    dumps = [m if isinstance(m, Dump) else read_dump(m) for m in members]
    positions = shard.networks(n_networks, tile)
    local = {g: k for k, g in enumerate(positions)}
    _check_group(dumps)
    data = load_mnist(mnist_dir, n_train=n_train[0])
    flags = plan.barrier
    # the context of the whole group (dead pixels, unseen directions, barrier images)
    ctx = _context(dumps, data, any(flags), unseen_variance, n_train)
    if not plan.pairs:
        pairs, curves = pair_tables([], data, ctx, [], [], [], model_name)
        return pairs.assign(**{PAIR_INDEX: pd.Series(dtype="int64")}), _with_index(curves, [])
    local_pairs = [(local[i], local[j]) for i, j in plan.pairs]
    pairs, curves = pair_tables(
        dumps, data, ctx, local_pairs, plan.kinds, flags, model_name, positions
    )
    pairs[PAIR_INDEX] = plan.index
    barrier_index = [k for k, flag in zip(plan.index, flags, strict=True) if flag]
    return pairs, _with_index(curves, barrier_index)


#: The key of a plan part's header (group size, tile, training sets) in its Parquet metadata.
PLAN_KEY = b"twinnets_plan"


def plan_part_path(plan: str | os.PathLike, shard: Shard) -> Path:
    return Path(plan) / f"shard={shard.name}.parquet"


def write_plan(
    dump_paths: Sequence[str | os.PathLike],
    plan: str | os.PathLike,
    tile: int = SHARD_NETWORKS,
    barrier_pairs: int = BARRIER_PAIRS,
    max_pairs: int | None = None,
    seed: int = SUBSAMPLE_SEED,
) -> None:
    """The group's ``plan_pairs``, from the dumps' metadata, as one table per shard in the
    folder ``plan``: one job per group reads every header, and each shard reads its part."""
    _check_tile(tile)
    headers = [read_header(p) for p in dump_paths]
    _check_group(headers)
    largest, smallest = _n_train_range(headers)
    header = {
        "n_networks": len(headers),
        "tile": tile,
        "n_train_max": largest,
        "n_train_min": smallest,
    }
    parts = plan_pairs(headers, barrier_pairs, max_pairs, seed).by_shard(len(headers), tile)
    Path(plan).mkdir(parents=True, exist_ok=True)
    for shard, part in parts.items():
        table = pa.table(
            {
                "i": pa.array([i for i, _ in part.pairs], pa.int64()),
                "j": pa.array([j for _, j in part.pairs], pa.int64()),
                "kind": pa.array(part.kinds, pa.string()),
                "barrier": pa.array(part.barrier, pa.bool_()),
                PAIR_INDEX: pa.array(part.index, pa.int64()),
            }
        ).replace_schema_metadata({PLAN_KEY: json.dumps(header).encode()})
        with atomic_write(plan_part_path(plan, shard)) as fh:
            pq.write_table(table, fh)


def read_plan(plan: str | os.PathLike, shard: Shard) -> tuple[ShardPlan, dict[str, int]]:
    """One shard's part of a ``write_plan`` folder, and the group's header (``n_networks``,
    ``tile``, ``n_train_max``, ``n_train_min``)."""
    path = plan_part_path(plan, shard)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: the plan has no part for shard {shard.name}; rerun the group's plan job"
        )
    table = pq.read_table(path)
    header = json.loads(table.schema.metadata[PLAN_KEY])
    part = ShardPlan(
        list(zip(table["i"].to_pylist(), table["j"].to_pylist(), strict=True)),
        table["kind"].to_pylist(),
        table["barrier"].to_pylist(),
        table[PAIR_INDEX].to_pylist(),
    )
    return part, header


def _with_index(curves: pd.DataFrame, barrier_index: list[int]) -> pd.DataFrame:
    """Each curve row's pair position: a barrier pair's curves are consecutive blocks."""
    if not barrier_index:
        return curves.assign(**{PAIR_INDEX: pd.Series(dtype="int64")})
    per_pair, rest = divmod(len(curves), len(barrier_index))
    assert rest == 0, "every barrier pair has the same number of curve points"
    return curves.assign(**{PAIR_INDEX: np.repeat(barrier_index, per_pair)})


# --------------------------------------------------------------------------- the group


def merge_shards(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The shards' pairs or curves tables (in shard order) as the unsharded analysis
    writes them: rows in pair order, ``pair_index`` dropped, and columns in the order
    that ``pd.DataFrame(rows)`` over all the group's rows gives (first appearance: a
    barrier pair's row has columns the others lack), the group's own columns last."""
    filled = [t for t in tables if len(t)]
    if not filled:
        return tables[0].drop(columns=PAIR_INDEX).reset_index(drop=True)
    tail = [*GROUP_PAIR_COLUMNS, PAIR_INDEX]
    columns: dict[str, None] = {}
    for table in filled:  # the first shard with a pair holds the group's first pair
        columns.update(dict.fromkeys(c for c in table.columns if c not in tail))
    columns.update(dict.fromkeys(c for c in GROUP_PAIR_COLUMNS if c in filled[0]))
    merged = pd.concat(filled, ignore_index=True, sort=False)
    merged = merged.sort_values(PAIR_INDEX, kind="stable", ignore_index=True)
    # a column that is None in one shard's every row is an object column there: the
    # merged column is typed as the unsharded one is (e.g. str for barrier_aligned_method)
    return merged[list(columns)].infer_objects()


def analyze_networks(
    dump_paths: Sequence[str | os.PathLike],
    mnist_dir: str | os.PathLike,
    model_name: str | None = None,
    unseen_variance: float = UNSEEN_VARIANCE,
) -> pd.DataFrame:
    """The group's per-network table, as ``groups.analyze_group`` makes it, without
    the all-pairs matrices: O(N) memory and time beside the consensus alignment."""
    dumps = [read_dump(p) for p in dump_paths]
    _check_group(dumps)
    data = load_mnist(mnist_dir, n_train=max(d.config.n_train for d in dumps))
    return network_table(dumps, data, _context(dumps, data, False, unseen_variance), model_name)
