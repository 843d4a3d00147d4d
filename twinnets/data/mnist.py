"""MNIST: fetch from mirrors, verify, parse IDX, and split as Nielsen's book does.

Files are verified by the SHA-256 of their *decompressed* content, because the
gzip bytes differ between mirrors while the IDX payload is canonical.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinnets._io import atomic_write, atomic_write_bytes

MIRROR_ENV = "TWINNETS_MNIST_MIRROR"

DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Canonical SHA-256 of each file's decompressed IDX content.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

N_TRAIN = 50_000
N_VALIDATION = 10_000

_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class MnistError(RuntimeError):
    """The MNIST files could not be fetched, verified or parsed."""


# --------------------------------------------------------------------------- fetch


def split_mirror_list(value: str) -> list[str]:
    """Split an os.pathsep-separated mirror list, keeping URLs whole.

    On POSIX the separator is ':', which URLs contain too ("https://host:8080/x"),
    so a piece that is a URL scheme followed by "//...", or a port after a URL, is
    glued back to its neighbour.
    """
    pieces = [p.strip() for p in value.split(os.pathsep)]
    mirrors: list[str] = []
    for piece in pieces:
        if (
            mirrors
            and piece.startswith("//")
            and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]+", mirrors[-1])
        ):
            mirrors[-1] += ":" + piece  # "https" + "//host/..."
        elif (
            mirrors
            and "://" in mirrors[-1]
            and re.match(r"\d+(/|$)", piece)
            and (mirrors[-1].count(":") == 1)
        ):
            mirrors[-1] += ":" + piece  # "http://host" + "8080/mnist/"
        else:
            mirrors.append(piece)
    return [m for m in mirrors if m]


def resolve_mirrors(mirrors: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Mirrors in the order they are tried: $TWINNETS_MNIST_MIRROR first, then ``mirrors``.

    ``mirrors=None`` means the public defaults. Duplicates are dropped, first one wins.
    """
    env = split_mirror_list(os.environ.get(MIRROR_ENV, ""))
    configured = list(DEFAULT_MIRRORS if mirrors is None else mirrors)
    return list(dict.fromkeys([*env, *configured]))


def _read_from_mirror(mirror: str, name: str, timeout: float) -> bytes:
    parsed = urllib.parse.urlparse(mirror)
    if parsed.scheme in ("http", "https", "file"):
        url = mirror.rstrip("/") + "/" + name
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    if parsed.scheme and len(parsed.scheme) > 1:  # one letter is a Windows drive
        raise ValueError(
            f"unsupported mirror scheme {parsed.scheme!r} (use http(s)://, file:// or a folder)"
        )
    path = Path(mirror).expanduser() / name
    return path.read_bytes()


def _decompressed_sha256(data: bytes) -> str:
    return hashlib.sha256(gzip.decompress(data)).hexdigest()


def verify_gz(data: bytes, expected_sha256: str) -> None:
    """Raise ValueError unless ``data`` is a complete gzip whose content has the expected hash."""
    try:
        digest = _decompressed_sha256(data)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ValueError(f"not a complete gzip file ({type(exc).__name__}: {exc})") from exc
    if digest != expected_sha256:
        raise ValueError(f"SHA-256 of content is {digest}, expected {expected_sha256}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"network error: {exc.reason}"
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)


def fetch_file(
    name: str, dest: str | os.PathLike, mirrors: list[str], timeout: float = 30.0
) -> Path:
    """Fetch one MNIST file into ``dest``, trying ``mirrors`` in order.

    A file already in ``dest`` that verifies is kept as it is. Nothing is written
    unless it verified, and then atomically.
    """
    expected = FILES[name]
    target = Path(dest) / name
    if target.exists():
        try:
            verify_gz(target.read_bytes(), expected)
            return target
        except ValueError:
            pass  # replaced below once a good copy is found
    failures: list[str] = []
    for mirror in mirrors:
        try:
            data = _read_from_mirror(mirror, name, timeout)
            verify_gz(data, expected)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            failures.append(f"  - {mirror}: {_describe(exc)}")
            continue
        atomic_write_bytes(target, data)
        return target
    tried = "\n".join(failures) if failures else "  (no mirrors given)"
    raise MnistError(
        f"could not fetch a verified {name} from any mirror:\n{tried}\n"
        f"To use a local copy of the four MNIST .gz files, export {MIRROR_ENV}=/path/to/mnist "
        "(or pass --mirror /path/to/mnist, or list the folder first under mnist.mirrors "
        "in the workflow config)."
    )


def fetch_mnist(
    dest: str | os.PathLike,
    mirrors: list[str] | tuple[str, ...] | None = None,
    timeout: float = 30.0,
) -> list[Path]:
    """Fetch and verify all four MNIST files into ``dest``; return their paths."""
    Path(dest).mkdir(parents=True, exist_ok=True)
    order = resolve_mirrors(mirrors)
    return [fetch_file(name, dest, order, timeout) for name in FILES]


# --------------------------------------------------------------------------- parse


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an uncompressed IDX payload, validating header and length."""
    if len(data) < 4:
        raise MnistError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    zero, type_code, ndim = data[0] << 8 | data[1], data[2], data[3]
    if zero != 0:
        raise MnistError(f"{name}: bad IDX magic number (first two bytes must be 0, got {zero})")
    if type_code not in _IDX_TYPES:
        raise MnistError(f"{name}: unknown IDX type code 0x{type_code:02x}")
    if ndim == 0:
        raise MnistError(f"{name}: IDX file declares zero dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistError(f"{name}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise MnistError(f"{name}: IDX sizes {shape} need {expected} bytes, file has {len(data)}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of the IDX file that holds ``array`` (uint8): checks a cached parse."""
    digest = hashlib.sha256(bytes([0, 0, 0x08, array.ndim]))
    digest.update(np.asarray(array.shape, ">u4").tobytes())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def read_idx_gz(path: str | os.PathLike, expected_sha256: str | None = None) -> np.ndarray:
    """Read a gzipped IDX file, verifying its content hash when one is given."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise MnistError(f"{path}: cannot decompress ({exc})") from exc
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise MnistError(
                f"{path}: SHA-256 of content is {digest}, expected {expected_sha256}; "
                "delete it and fetch again (twinnets fetch-mnist)"
            )
    return parse_idx(raw, str(path))


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Split:
    """Raw pixels (n, 784) as uint8 and integer labels (n,).

    Pixels stay uint8 (55 MB for all of MNIST) and become value / 255 in the
    network's dtype batch by batch: materialising 440 MB of float64 up front would
    cost more than an epoch of training.
    """

    pixels: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def images(self, dtype: str | np.dtype = "float64", rows: slice | np.ndarray = slice(None)):
        """Pixels scaled to [0, 1] (value / 255) in ``dtype``, optionally only ``rows``."""
        return scale_pixels(self.pixels[rows], dtype)


def scale_pixels(pixels: np.ndarray, dtype: str | np.dtype = "float64") -> np.ndarray:
    """value / 255 in ``dtype`` (for float32 this equals rounding the float64 quotient)."""
    return np.divide(pixels, 255.0, dtype=dtype)


@dataclass(frozen=True)
class Mnist:
    """Nielsen's split: 50k train, 10k validation (end of the training file), 10k test."""

    train: Split
    validation: Split
    test: Split
    sha256: dict[str, str]


def _cache_dir(data_dir: Path) -> Path:
    """Beside the files where that folder is writable, else in the user's cache.

    Write bits are checked as well as access(2), because root may write anywhere and
    a folder shared read-only (a local mirror) must stay untouched.
    """
    if os.access(data_dir, os.W_OK) and data_dir.stat().st_mode & 0o222:
        return data_dir / ".twinnets-cache"
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "twinnets" / "mnist"


def _load_raw(data_dir: Path, name: str) -> np.ndarray:
    """The parsed uint8 array of one file, from a cache keyed by the .gz bytes' hash.

    A cached array is used only when the IDX bytes it stands for hash to the
    canonical SHA-256, so a hit is as trustworthy as a fresh parse, at a fraction of
    the cost (no gunzip).
    """
    gz_path = data_dir / name
    try:
        gz_bytes = gz_path.read_bytes()
    except FileNotFoundError as exc:
        raise MnistError(
            f"{gz_path} is missing; fetch it first: twinnets fetch-mnist --dest {data_dir}"
        ) from exc
    key = hashlib.sha256(gz_bytes).hexdigest()
    cache = _cache_dir(data_dir) / f"{name.removesuffix('.gz')}.{key[:20]}.npy"
    if cache.exists():
        try:
            array = np.load(cache, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            pass  # unreadable cache: rebuild it below
        else:
            if array.dtype == np.uint8 and idx_sha256(array) == FILES[name]:
                return array
    array = read_idx_gz(gz_path, FILES[name])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cache) as fh:
            np.save(fh, array, allow_pickle=False)
    except OSError:
        pass  # a cache we cannot write only costs time
    return array


def file_checksums() -> dict[str, str]:
    """The canonical content hashes, as recorded in every dump's provenance."""
    return dict(FILES)


def load_mnist(data_dir: str | os.PathLike, n_train: int | None = None) -> Mnist:
    """Load the verified MNIST files in ``data_dir`` with Nielsen's split.

    ``n_train`` keeps only the first n training images (for quick runs and tests);
    the validation and test sets are always complete.
    """
    data_dir = Path(data_dir)
    raw = {name: _load_raw(data_dir, name) for name in FILES}
    train_x = raw["train-images-idx3-ubyte.gz"].reshape(-1, 28 * 28)
    train_y = raw["train-labels-idx1-ubyte.gz"].astype(np.int64)
    test_x = raw["t10k-images-idx3-ubyte.gz"].reshape(-1, 28 * 28)
    test_y = raw["t10k-labels-idx1-ubyte.gz"].astype(np.int64)
    if n_train is None:
        n_train = N_TRAIN
    if not 1 <= n_train <= N_TRAIN:
        raise ValueError(f"n_train must be between 1 and {N_TRAIN}, got {n_train}")
    return Mnist(
        train=Split(train_x[:n_train], train_y[:n_train]),
        validation=Split(train_x[N_TRAIN : N_TRAIN + N_VALIDATION], train_y[N_TRAIN:]),
        test=Split(test_x, test_y),
        sha256=file_checksums(),
    )
