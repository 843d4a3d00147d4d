"""twinnets.data.mnist: fetching from mirrors, verification, IDX parsing, caching and the split.

Everything here is offline: downloads go to a stdlib HTTP server on 127.0.0.1, local
folders or file:// URLs, with small synthetic IDX files whose hashes replace the real
ones in ``twinnets.data.mnist.FILES``. The tests of the real data need ``mnist_dir``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from twinnets import cli
from twinnets.data import mnist
from twinnets.data.mnist import MIRROR_ENV, MnistError

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
PUBLIC_MIRRORS = mnist.DEFAULT_MIRRORS


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An uncompressed IDX payload holding ``array``."""
    dtype = mnist._IDX_TYPES[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array).astype(dtype).tobytes()


def gz(data: bytes, level: int = 9) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


@dataclass(frozen=True)
class Synthetic:
    """Four small MNIST-shaped files: ``raw`` IDX payloads and their ``gz`` bytes."""

    raw: dict[str, bytes]
    gz: dict[str, bytes]
    mirror: Path  # a folder holding the four .gz files

    def corrupt(self, name: str) -> bytes:
        """A complete gzip whose content differs from the canonical one by one byte."""
        raw = bytearray(self.raw[name])
        raw[-1] ^= 0xFF
        return gz(bytes(raw))

    def truncated(self, name: str) -> bytes:
        return self.gz[name][: len(self.gz[name]) // 2]


@pytest.fixture
def synthetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Synthetic:
    """Small synthetic MNIST files, made canonical by patching ``mnist.FILES``."""
    rng = np.random.default_rng(1234)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, 6, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, 3, dtype=np.uint8),
    }
    raw = {name: idx_bytes(a) for name, a in arrays.items()}
    files = {name: hashlib.sha256(data).hexdigest() for name, data in raw.items()}
    assert list(files) == list(mnist.FILES)  # same names, same order
    monkeypatch.setattr(mnist, "FILES", files)
    mirror = tmp_path / "synthetic-mirror"
    mirror.mkdir()
    gzs = {name: gz(data) for name, data in raw.items()}
    for name, data in gzs.items():
        (mirror / name).write_bytes(data)
    return Synthetic(raw, gzs, mirror)


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the public mirrors, nor see the caller's mirror settings."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(mnist, "DEFAULT_MIRRORS", (str(tmp_path / "no-default-mirror"),))
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)


def link_mnist(source: Path, folder: Path) -> Path:
    """A writable folder of symlinks to the four files in ``source`` (never write there)."""
    folder.mkdir(parents=True)
    for name in mnist.FILES:
        (folder / name).symlink_to(source / name)
    return folder


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, loading must come from the cache: parsing a .gz fails the test."""

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed a .gz although the cache holds it")

    monkeypatch.setattr(mnist, "read_idx_gz", no_parsing)


def listing(folder: Path) -> list[str]:
    """Every entry in ``folder``, hidden ones (like atomic_write's temp files) included."""
    return sorted(os.listdir(folder))


# --------------------------------------------------------------------------- HTTP server


@dataclass
class MirrorServer:
    """What the local HTTP server serves (path -> body) and what it was asked for."""

    base: str
    bodies: dict[str, bytes] = field(default_factory=dict)
    short: set[str] = field(default_factory=set)  # paths whose connection drops mid-body
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mirror(self, prefix: str, files: dict[str, bytes] | None = None) -> str:
        """Serve ``files`` under /prefix/ (nothing: every request there is a 404)."""
        for name, body in (files or {}).items():
            self.bodies[f"/{prefix}/{name}"] = body
        return f"{self.base}/{prefix}/"


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:
        state: MirrorServer = self.server.state  # type: ignore[attr-defined]
        with state.lock:
            state.requests.append(self.path)
        body = state.bodies.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        if self.path in state.short:  # promise more than is sent, then hang up
            self.send_header("Content-Length", str(2 * len(body) + 100))
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest's output clean


@pytest.fixture
def http_server() -> Iterator[MirrorServer]:
    """A real HTTP server on 127.0.0.1 (port chosen by the OS), shut down afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state = MirrorServer(base=f"http://{host}:{port}")
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="mnist-mirrors"
    )
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- fetch: fallback


def test_fetch_falls_back_in_order_and_stops_at_first_good_mirror(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path
) -> None:
    name = TRAIN_IMAGES
    mirrors = [
        http_server.mirror("missing"),
        http_server.mirror("corrupt", {name: synthetic.corrupt(name)}),
        http_server.mirror("truncated", {name: synthetic.truncated(name)}),
        http_server.mirror("good", {name: synthetic.gz[name]}),
        http_server.mirror("after-good", {name: synthetic.gz[name]}),
    ]
    dest = tmp_path / "dest"
    dest.mkdir()

    path = mnist.fetch_file(name, dest, mirrors, timeout=5)

    assert http_server.requests == [
        f"/missing/{name}",
        f"/corrupt/{name}",
        f"/truncated/{name}",
        f"/good/{name}",
    ]
    assert path == dest / name
    assert path.read_bytes() == synthetic.gz[name]
    assert listing(dest) == [name]  # no temp file left beside it


def test_fetch_error_lists_every_mirror_with_its_problem(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path
) -> None:
    name = TRAIN_LABELS
    missing = http_server.mirror("missing")
    corrupt = http_server.mirror("corrupt", {name: synthetic.corrupt(name)})
    truncated = http_server.mirror("truncated", {name: synthetic.truncated(name)})
    no_folder = str(tmp_path / "no-such-folder")
    dest = tmp_path / "dest"
    dest.mkdir()

    with pytest.raises(MnistError) as info:
        mnist.fetch_file(name, dest, [missing, corrupt, truncated, no_folder], timeout=5)

    message = str(info.value)
    assert f"could not fetch a verified {name}" in message
    lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(lines) == 4, message
    assert lines[0].startswith(f"  - {missing}: HTTP 404")
    assert lines[1].startswith(f"  - {corrupt}: SHA-256 of content is ")
    assert f"expected {mnist.FILES[name]}" in lines[1]
    assert lines[2].startswith(f"  - {truncated}: not a complete gzip file")
    assert lines[3] == f"  - {no_folder}: no such file: {Path(no_folder) / name}"
    assert f"export {MIRROR_ENV}=" in message  # how to point at a local copy
    assert http_server.requests == [f"/missing/{name}", f"/corrupt/{name}", f"/truncated/{name}"]
    assert listing(dest) == []  # atomic: nothing written, not even a temp file


def test_fetch_with_no_mirrors_says_so(synthetic: Synthetic, tmp_path: Path) -> None:
    with pytest.raises(MnistError, match=r"\(no mirrors given\)"):
        mnist.fetch_file(TRAIN_LABELS, tmp_path, [])
    assert listing(tmp_path) == [synthetic.mirror.name]


def test_unsupported_scheme_is_reported_and_skipped(synthetic: Synthetic, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(MnistError, match=r"ftp://example\.invalid/: unsupported mirror scheme"):
        mnist.fetch_file(TRAIN_LABELS, dest, ["ftp://example.invalid/"])
    path = mnist.fetch_file(TRAIN_LABELS, dest, ["ftp://example.invalid/", str(synthetic.mirror)])
    assert path.read_bytes() == synthetic.gz[TRAIN_LABELS]


def test_fetch_falls_back_when_connection_drops_mid_body(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path
) -> None:
    name = TRAIN_LABELS
    dropping = http_server.mirror("dropping", {name: synthetic.gz[name]})
    http_server.short.add(f"/dropping/{name}")
    good = http_server.mirror("good", {name: synthetic.gz[name]})

    path = mnist.fetch_file(name, tmp_path, [dropping, good], timeout=5)

    assert path.read_bytes() == synthetic.gz[name]
    assert http_server.requests == [f"/dropping/{name}", f"/good/{name}"]


# --------------------------------------------------------------------------- fetch: atomicity


def test_corrupt_existing_file_is_replaced_by_a_good_download(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path
) -> None:
    name = TEST_IMAGES
    dest = tmp_path / "dest"
    dest.mkdir()
    good = http_server.mirror("good", {name: synthetic.gz[name]})
    for stale in (b"not gzip at all", synthetic.truncated(name), synthetic.corrupt(name)):
        (dest / name).write_bytes(stale)
        http_server.requests.clear()

        mnist.fetch_file(name, dest, [good], timeout=5)

        assert (dest / name).read_bytes() == synthetic.gz[name]
        assert http_server.requests == [f"/good/{name}"]
        assert listing(dest) == [name]


def test_failed_fetch_leaves_a_corrupt_existing_file_untouched(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path
) -> None:
    name = TEST_LABELS
    (tmp_path / name).write_bytes(b"stale")
    with pytest.raises(MnistError):
        mnist.fetch_file(name, tmp_path, [http_server.mirror("missing")], timeout=5)
    assert (tmp_path / name).read_bytes() == b"stale"
    assert [p for p in listing(tmp_path) if p.endswith(".tmp")] == []


def test_good_existing_file_is_kept_without_contacting_any_mirror(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path
) -> None:
    name = TRAIN_IMAGES
    dest = tmp_path / "dest"
    dest.mkdir()
    # Same content, other compression: valid, yet byte-different from the mirror's copy.
    existing = gz(synthetic.raw[name], level=1)
    assert existing != synthetic.gz[name]
    (dest / name).write_bytes(existing)
    mtime = (dest / name).stat().st_mtime_ns

    path = mnist.fetch_file(name, dest, [http_server.mirror("good", synthetic.gz)], timeout=5)

    assert path.read_bytes() == existing
    assert path.stat().st_mtime_ns == mtime
    assert http_server.requests == []


def test_write_failing_at_the_last_step_leaves_nothing(
    synthetic: Synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)  # atomic_write's final rename
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(OSError, match="No space left"):
        mnist.fetch_file(TRAIN_LABELS, dest, [str(synthetic.mirror)])
    assert listing(dest) == []


# --------------------------------------------------------------------------- mirror kinds


@pytest.mark.parametrize("form", ["folder", "folder/", "file-url", "file-url/"])
def test_local_folder_and_file_url_mirrors(synthetic: Synthetic, tmp_path: Path, form: str) -> None:
    base = synthetic.mirror.as_uri() if form.startswith("file-url") else str(synthetic.mirror)
    mirror = base + "/" if form.endswith("/") else base
    dest = tmp_path / "dest"

    paths = mnist.fetch_mnist(dest, [mirror])

    assert paths == [dest / name for name in mnist.FILES]
    for name in mnist.FILES:
        assert (dest / name).read_bytes() == synthetic.gz[name]
    assert listing(dest) == sorted(mnist.FILES)


def test_file_url_mirror_missing_file_is_reported(synthetic: Synthetic, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MnistError) as info:
        mnist.fetch_file(TRAIN_LABELS, tmp_path / "dest", [empty.as_uri()])
    assert f"  - {empty.as_uri()}: " in str(info.value)


# --------------------------------------------------------------------------- resolve_mirrors


def test_resolve_mirrors_defaults_to_public_mirrors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist, "DEFAULT_MIRRORS", PUBLIC_MIRRORS)
    assert mnist.resolve_mirrors() == list(PUBLIC_MIRRORS)
    assert mnist.resolve_mirrors(None) == list(PUBLIC_MIRRORS)
    assert all(m.startswith(("https://", "http://")) for m in PUBLIC_MIRRORS)
    assert mnist.resolve_mirrors([]) == []


def test_env_mirrors_come_first_and_duplicates_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sep = os.pathsep
    monkeypatch.setenv(MIRROR_ENV, f"/env/a{sep}{sep}/env/b{sep}/env/a{sep} ")
    assert mnist.resolve_mirrors(["/cfg/c", "/env/b", "/cfg/c", "/cfg/d"]) == [
        "/env/a",
        "/env/b",
        "/cfg/c",
        "/cfg/d",
    ]
    monkeypatch.setenv(MIRROR_ENV, "")
    assert mnist.resolve_mirrors(["/cfg/c", "/cfg/c"]) == ["/cfg/c"]


def test_env_mirror_may_be_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, "https://mirror.example/mnist/")
    assert mnist.resolve_mirrors([]) == ["https://mirror.example/mnist/"]


def test_fetch_mnist_tries_env_mirror_before_configured_ones(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(synthetic.mirror))
    configured = http_server.mirror("configured", synthetic.gz)

    paths = mnist.fetch_mnist(tmp_path / "dest", [configured], timeout=5)

    assert [p.read_bytes() for p in paths] == list(synthetic.gz.values())
    assert http_server.requests == []  # the env folder served everything


def test_fetch_mnist_falls_back_from_env_to_configured_mirror(
    synthetic: Synthetic, http_server: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "empty-env-mirror"))
    configured = http_server.mirror("configured", synthetic.gz)

    mnist.fetch_mnist(tmp_path / "dest", [configured], timeout=5)

    assert http_server.requests == [f"/configured/{name}" for name in mnist.FILES]


# --------------------------------------------------------------------------- parse_idx


@pytest.mark.parametrize("type_code", sorted(mnist._IDX_TYPES))
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_parse_idx_round_trips(type_code: int, shape: tuple[int, ...]) -> None:
    dtype = mnist._IDX_TYPES[type_code]
    values = np.arange(np.prod(shape)).reshape(shape) - 3  # negatives where signed
    array = values.astype(dtype) if dtype.kind != "u" else np.abs(values).astype(dtype)

    parsed = mnist.parse_idx(idx_bytes(array, type_code), "x.idx")

    assert parsed.shape == shape
    assert parsed.dtype == dtype.newbyteorder("=")
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def _valid_header() -> bytes:
    return idx_bytes(np.zeros((2, 3), np.uint8))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x00\x00\x08", "too short for an IDX header"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "bad IDX magic number"),
        (b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00", "bad IDX magic number"),
        (b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x0a"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (b"\x00\x00\x08\x03" + struct.pack(">2I", 1, 1), "truncated IDX header"),
        (_valid_header()[:-1], r"IDX sizes \(2, 3\) need 18 bytes, file has 17"),
        (_valid_header() + b"\x00", r"IDX sizes \(2, 3\) need 18 bytes, file has 19"),
        (_valid_header()[:12], r"IDX sizes \(2, 3\) need 18 bytes, file has 12"),
    ],
    ids=[
        "short",
        "magic-1st",
        "magic-2nd",
        "type",
        "zero-dims",
        "header",
        "too-short",
        "too-long",
        "no-payload",
    ],
)
def test_parse_idx_rejects_bad_files_naming_them(data: bytes, problem: str) -> None:
    with pytest.raises(MnistError, match=rf"^some/file\.idx: .*{problem}"):
        mnist.parse_idx(data, "some/file.idx")


def test_read_idx_gz_verifies_and_parses(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(array)
    path = tmp_path / "a.gz"
    path.write_bytes(gz(raw))

    np.testing.assert_array_equal(mnist.read_idx_gz(path), array)
    np.testing.assert_array_equal(mnist.read_idx_gz(path, hashlib.sha256(raw).hexdigest()), array)


@pytest.mark.parametrize("content", ["truncated", "not-gzip", "bad-crc"])
def test_read_idx_gz_rejects_corrupt_gzip_naming_the_path(tmp_path: Path, content: str) -> None:
    whole = gz(idx_bytes(np.arange(50, dtype=np.uint8)))
    bad_crc = whole[:-8] + bytes([whole[-8] ^ 1]) + whole[-7:]
    data = {"truncated": whole[:-10], "not-gzip": b"plain bytes", "bad-crc": bad_crc}[content]
    path = tmp_path / "bad.gz"
    path.write_bytes(data)
    with pytest.raises(MnistError, match=rf"^{re.escape(str(path))}: cannot decompress"):
        mnist.read_idx_gz(path)


def test_read_idx_gz_rejects_wrong_content_hash_naming_the_path(tmp_path: Path) -> None:
    raw = idx_bytes(np.arange(50, dtype=np.uint8))
    path = tmp_path / "wrong.gz"
    path.write_bytes(gz(raw))
    expected = hashlib.sha256(raw + b"!").hexdigest()
    actual = hashlib.sha256(raw).hexdigest()
    with pytest.raises(MnistError) as info:
        mnist.read_idx_gz(path, expected)
    assert str(info.value).startswith(
        f"{path}: SHA-256 of content is {actual}, expected {expected}"
    )
    assert "twinnets fetch-mnist" in str(info.value)


def test_read_idx_gz_rejects_bad_idx_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad-idx.gz"
    path.write_bytes(gz(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x01\x02"))
    with pytest.raises(MnistError, match=rf"^{re.escape(str(path))}: IDX sizes"):
        mnist.read_idx_gz(path)


def test_missing_file_tells_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(MnistError, match=rf"{TRAIN_IMAGES} is missing; fetch it first"):
        mnist.load_mnist(tmp_path)


def test_load_verifies_content_before_parsing_or_caching(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(synthetic.mirror, data)
    (data / TRAIN_IMAGES).write_bytes(synthetic.corrupt(TRAIN_IMAGES))
    with pytest.raises(MnistError) as info:
        mnist.load_mnist(data)
    assert str(info.value).startswith(f"{data / TRAIN_IMAGES}: SHA-256 of content is ")
    assert not list((data / ".twinnets-cache").glob(f"{TRAIN_IMAGES.removesuffix('.gz')}*"))


# --------------------------------------------------------------------------- real data


def test_real_data_has_nielsens_split(mnist_data: mnist.Mnist) -> None:
    train, validation, test = mnist_data.train, mnist_data.validation, mnist_data.test
    assert (len(train), len(validation), len(test)) == (50_000, 10_000, 10_000)
    for split, n in ((train, 50_000), (validation, 10_000), (test, 10_000)):
        assert split.pixels.shape == (n, 784)
        assert split.pixels.dtype == np.uint8
        assert split.labels.shape == (n,)
        assert np.issubdtype(split.labels.dtype, np.integer)
        assert set(np.unique(split.labels).tolist()) == set(range(10))
    assert train.labels[0] == 5 and test.labels[0] == 7  # the famous first digits
    assert mnist_data.sha256 == mnist.FILES


def test_real_split_matches_the_idx_files(mnist_data: mnist.Mnist, mnist_dir: Path) -> None:
    images = mnist.read_idx_gz(mnist_dir / TRAIN_IMAGES, mnist.FILES[TRAIN_IMAGES])
    labels = mnist.read_idx_gz(mnist_dir / TRAIN_LABELS, mnist.FILES[TRAIN_LABELS])
    assert images.shape == (60_000, 28, 28) and labels.shape == (60_000,)
    flat = images.reshape(60_000, 784)
    np.testing.assert_array_equal(mnist_data.train.pixels, flat[:50_000])
    np.testing.assert_array_equal(mnist_data.train.labels, labels[:50_000])
    np.testing.assert_array_equal(mnist_data.validation.pixels, flat[50_000:])
    np.testing.assert_array_equal(mnist_data.validation.labels, labels[50_000:])
    test_images = mnist.read_idx_gz(mnist_dir / TEST_IMAGES, mnist.FILES[TEST_IMAGES])
    np.testing.assert_array_equal(mnist_data.test.pixels, test_images.reshape(10_000, 784))


def test_images_are_pixels_over_255(mnist_data: mnist.Mnist) -> None:
    validation = mnist_data.validation
    images = validation.images()
    assert images.dtype == np.float64 and images.shape == (10_000, 784)
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(images, validation.pixels.astype(np.float64) / 255.0)
    rows = np.array([3, 1, 4159])
    np.testing.assert_array_equal(validation.images(rows=rows), images[rows])
    np.testing.assert_array_equal(
        mnist_data.train.images(rows=slice(10, 20)), mnist_data.train.pixels[10:20] / 255.0
    )


def test_float32_scaling_equals_rounded_float64_quotient() -> None:
    every = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(
        mnist.scale_pixels(every, "float32"), (every / 255.0).astype(np.float32)
    )
    assert mnist.scale_pixels(every, "float32").dtype == np.float32


def test_exactly_67_pixels_are_zero_in_every_training_image(mnist_data: mnist.Mnist) -> None:
    always_zero = mnist_data.train.pixels.max(axis=0) == 0
    assert int(always_zero.sum()) == 67


def test_n_train_keeps_the_first_images_only(mnist_data: mnist.Mnist, mnist_workdir: Path) -> None:
    small = mnist.load_mnist(mnist_workdir, n_train=1000)
    assert len(small.train) == 1000
    np.testing.assert_array_equal(small.train.pixels, mnist_data.train.pixels[:1000])
    np.testing.assert_array_equal(small.train.labels, mnist_data.train.labels[:1000])
    np.testing.assert_array_equal(small.validation.pixels, mnist_data.validation.pixels)
    np.testing.assert_array_equal(small.test.labels, mnist_data.test.labels)
    for bad in (0, 50_001):
        with pytest.raises(ValueError, match="n_train must be between 1 and 50000"):
            mnist.load_mnist(mnist_workdir, n_train=bad)


# --------------------------------------------------------------------------- cache


def _cache_files(folder: Path) -> dict[str, Path]:
    return {p.name.split(".")[0]: p for p in folder.glob("*.npy")}


def assert_same_data(a: mnist.Mnist, b: mnist.Mnist) -> None:
    """Equal splits (np.array_equal: numpy's diff report is slow on 40 MB arrays)."""
    for split in ("train", "validation", "test"):
        x, y = getattr(a, split), getattr(b, split)
        assert np.array_equal(x.pixels, y.pixels), f"{split} pixels differ"
        assert np.array_equal(x.labels, y.labels), f"{split} labels differ"


def test_second_load_comes_from_the_cache(
    mnist_data: mnist.Mnist, mnist_workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = mnist_workdir / ".twinnets-cache"
    files = _cache_files(cache)
    assert sorted(files) == sorted(name.removesuffix(".gz") for name in mnist.FILES)
    for name in mnist.FILES:  # keyed by the hash of the .gz bytes
        key = hashlib.sha256((mnist_workdir / name).read_bytes()).hexdigest()[:20]
        assert files[name.removesuffix(".gz")].name == f"{name.removesuffix('.gz')}.{key}.npy"

    forbid_parsing(monkeypatch)
    assert_same_data(mnist.load_mnist(mnist_workdir), mnist_data)


def _flip_last_pixel(npy: bytes) -> bytes:
    """A well-formed .npy whose last pixel (of the last validation image) is changed."""
    return npy[:-1] + bytes([npy[-1] ^ 0xFF])


#: Ways the cached train-images array can go bad: original .npy bytes -> new bytes.
CORRUPTIONS = {
    "garbage": lambda npy: b"this is not an npy file" * 100,
    "truncated": lambda npy: npy[: len(npy) // 2],
    "header-only": lambda npy: npy[:128],
    "empty": lambda npy: b"",
    "bit-flip": _flip_last_pixel,
}


@pytest.mark.parametrize(
    "corruption",
    [
        "garbage",
        "truncated",
        "header-only",
        "empty",
        "bit-flip",
    ],
)
def test_corrupt_cache_is_rebuilt_not_trusted(
    mnist_data: mnist.Mnist, mnist_dir: Path, mnist_workdir: Path, tmp_path: Path, corruption: str
) -> None:
    work = link_mnist(mnist_dir, tmp_path / "data")
    (work / ".twinnets-cache").mkdir()
    for stem, good in _cache_files(mnist_workdir / ".twinnets-cache").items():
        if stem != "train-images-idx3-ubyte":  # the small ones stay good (linked, not copied)
            (work / ".twinnets-cache" / good.name).symlink_to(good)
        else:
            cached = work / ".twinnets-cache" / good.name
            cached.write_bytes(CORRUPTIONS[corruption](good.read_bytes()))

    assert_same_data(mnist.load_mnist(work), mnist_data)
    rebuilt = np.load(cached)  # and the cache holds the right array again
    assert rebuilt.shape == (60_000, 28, 28)
    assert np.array_equal(rebuilt.reshape(-1, 784)[50_000:], mnist_data.validation.pixels)


def test_readonly_data_dir_is_left_alone_and_cached_under_xdg(
    mnist_dir: Path, mnist_data: mnist.Mnist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mode 0555 stands for the shared mirror; as root, access(2) alone would call it writable."""
    data = link_mnist(mnist_dir, tmp_path / "readonly")
    xdg = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    before = listing(data)
    data.chmod(0o555)
    try:
        assert_same_data(mnist.load_mnist(data), mnist_data)
        assert listing(data) == before  # no .twinnets-cache beside the files
        files = _cache_files(xdg / "twinnets" / "mnist")
        assert sorted(files) == sorted(name.removesuffix(".gz") for name in mnist.FILES)
        forbid_parsing(monkeypatch)  # the second load must come from the XDG cache
        assert_same_data(mnist.load_mnist(data), mnist_data)
    finally:
        data.chmod(0o755)


# --------------------------------------------------------------------------- CLI


def test_cli_fetch_from_local_mirror(
    synthetic: Synthetic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "new" / "dest"
    code = cli.main(["fetch-mnist", "--mirror", str(synthetic.mirror), "--dest", str(dest)])
    err = capsys.readouterr().err
    assert code == 0
    assert listing(dest) == sorted(mnist.FILES)
    for name in mnist.FILES:
        mnist.verify_gz((dest / name).read_bytes(), mnist.FILES[name])
        assert f"verified {dest / name}" in err


def test_cli_fetch_real_files_from_the_data_folder(
    mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["fetch-mnist", "--mirror", str(mnist_dir), "--dest", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    for name in mnist.FILES:
        assert (tmp_path / name).read_bytes() == (mnist_dir / name).read_bytes()
    assert listing(tmp_path) == sorted(mnist.FILES)


def test_cli_fetch_with_only_bad_mirrors_fails_with_exit_2(
    synthetic: Synthetic,
    http_server: MirrorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = http_server.mirror("missing")
    corrupt = http_server.mirror("corrupt", {TRAIN_IMAGES: synthetic.corrupt(TRAIN_IMAGES)})
    dest = tmp_path / "dest"
    argv = ["fetch-mnist", "--mirror", missing, "--mirror", corrupt, "--dest", str(dest)]
    argv += ["--timeout", "5"]

    code = cli.main(argv)

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith(f"twinnets fetch-mnist: error: could not fetch a verified {TRAIN_IMAGES}")
    assert f"  - {missing}: HTTP 404" in err
    assert f"  - {corrupt}: SHA-256 of content is" in err
    assert MIRROR_ENV in err
    assert listing(dest) == []
