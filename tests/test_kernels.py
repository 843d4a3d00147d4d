"""The trainer's arithmetic is the project's own: the same bits on every machine.

The kernels (``twinnets.train.kernels``) call no BLAS and no libm and are compiled without
fastmath, so the parameters must not depend on OpenBLAS's CPU kernel, glibc's
CPU-specific ``exp``, the thread count, or the CPU numba compiles for. The golden
hashes below were computed once (on an AMD EPYC with AVX-512, 2026-12-02); CI on
any x86-64 machine checks them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numba import njit

from twinnets.data.mnist import load_mnist
from twinnets.train import kernels
from twinnets.train.network import (
    KernelLayout,
    TrainConfig,
    init_params,
    pixel_table,
    sparse_images,
    train,
)

N_TRAIN = 1_000

#: Every setting family the golden hashes cover (one epoch on the first 1,000 images).
GOLDEN_CONFIGS = {
    "mlp-quadratic": TrainConfig(n_train=N_TRAIN, epochs=1, init_seed=3, order_seed=4),
    "deep-cross-entropy-l2": TrainConfig(
        sizes=(784, 20, 15, 10),
        cost="cross-entropy",
        lmbda=1.0,
        init="scaled",
        n_train=N_TRAIN,
        epochs=1,
        init_seed=1,
        order_seed=2,
    ),
    "softmax-l2-all-1/t": TrainConfig(
        sizes=(784, 10),
        model="softmax",
        cost="cross-entropy",
        eta=0.5,
        lmbda=5.0,
        l2="all",
        schedule="1/t",
        tau=10.0,
        n_train=N_TRAIN,
        epochs=1,
    ),
    "linear": TrainConfig(sizes=(784, 10), model="linear", eta=0.05, n_train=N_TRAIN, epochs=1),
    "deep-tanh": TrainConfig(
        sizes=(784, 30, 20, 10),
        activation="tanh",
        init="scaled",
        eta=0.5,
        n_train=N_TRAIN,
        epochs=1,
        init_seed=5,
        order_seed=6,
    ),
    "deep-relu-cross-entropy-l2": TrainConfig(
        sizes=(784, 30, 20, 10),
        activation="relu",
        init="scaled",
        cost="cross-entropy",
        eta=0.1,
        lmbda=1.0,
        n_train=N_TRAIN,
        epochs=1,
        init_seed=7,
        order_seed=8,
    ),
}

#: SHA-256 of the float parameters (weights then biases, layer by layer, C order, native
#: little-endian bytes) after the epoch. Recompute only when ARITHMETIC_VERSION changes.
GOLDEN = {
    (
        "mlp-quadratic",
        "float64",
    ): "c00e80dd481673c5506717e8638288ac84d07b1322464a76b0234c5d90eee6d2",
    (
        "mlp-quadratic",
        "float32",
    ): "d3ec4a831dc6e6885bfa6685100ed0971728a9532cb0f9a2ed34e4b41257204e",
    (
        "deep-cross-entropy-l2",
        "float64",
    ): "d16904276c68d93277cedf1c587613ad42abac0dd27d6b2ce941dab17a27ab0e",
    (
        "deep-cross-entropy-l2",
        "float32",
    ): "bcc367105eaf68d2615090578bef0f32bf75d8e8feb02d9d6a2f855129cdab14",
    (
        "softmax-l2-all-1/t",
        "float64",
    ): "34d0d8778c5c0f4765bcf4dea6b063d381f069e18062de278eed3b37e6a6a5ac",
    (
        "softmax-l2-all-1/t",
        "float32",
    ): "999d9db5f2ad7609d98bbcf12408abf40be9f0c49a618730b78654422bad2bcb",
    ("linear", "float64"): "bfccc9ef18f1e95cd131146fd12597acc47bf88f84cc4e8b09f0f14d9d53afdb",
    ("linear", "float32"): "efa5dcd364b19703340e5f1cc3c9c95750a6ea46b3db57f90a1e1aca72d05142",
    ("deep-tanh", "float64"): "ca5d6b0b8ed3287a7fd6b01d744597c76a96a9472af40ab9587e7742069aaaeb",
    ("deep-tanh", "float32"): "e5e77f95492e7d075369d7930969fc78a3e2a984ae0e5914a31f27bbe08e2d25",
    (
        "deep-relu-cross-entropy-l2",
        "float64",
    ): "e01dd4f50a724221f39248760629bb4ea57dc548259eaa526d01bbe630a3a00d",
    (
        "deep-relu-cross-entropy-l2",
        "float32",
    ): "cfb8a0a6007680ba0c35b81a0b9490f2e8b2052617aa10e05fc7e321166097f9",
}


def params_sha256(params) -> str:
    digest = hashlib.sha256()
    for a in (*params.weights, *params.biases):
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def data(mnist_workdir):
    return load_mnist(mnist_workdir, n_train=N_TRAIN)


# --------------------------------------------------------------------------- exp and sigmoid


def test_own_exp_is_within_one_ulp_of_libm_and_handles_the_edges():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708, 709, 200_000), rng.uniform(-1, 1, 50_000)])
    got = np.empty_like(x)
    kernels.exp_array(x, got)
    expected = np.exp(x)
    ulps = np.abs(got - expected) / np.spacing(expected)
    assert ulps.max() <= 1.0
    assert (got == expected).mean() > 0.85  # mostly correctly rounded
    edges = np.array([0.0, -0.0, 1e-300, 710.0, -746.0, np.inf, -np.inf, np.nan, -745.0])
    out = np.empty_like(edges)
    kernels.exp_array(edges, out)
    assert out[:7].tolist() == [1.0, 1.0, 1.0, np.inf, 0.0, np.inf, 0.0]
    assert np.isnan(out[7])
    assert 0 < out[8] < 1e-320  # subnormal, not flushed


def test_sigmoid_is_stable_and_symmetric():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernels.sigmoid_(1000.0) == 1.0
        assert kernels.sigmoid_(-1000.0) == 0.0
        assert kernels.sigmoid_(0.0) == 0.5
        for z in (0.1, 1.0, 5.0, 30.0):
            assert kernels.sigmoid_(-z) == pytest.approx(1 - kernels.sigmoid_(z), rel=1e-15)
        assert np.isnan(kernels.sigmoid_(float("nan")))


def test_own_expm1_is_within_one_ulp_of_libm_and_exact_near_zero():
    rng = np.random.default_rng(1)
    tiny = np.ldexp(rng.uniform(0.5, 1.0, 5_000), rng.integers(-60, -10, 5_000))
    x = np.concatenate([rng.uniform(-50, 50, 100_000), rng.uniform(-1, 1, 100_000), tiny, -tiny])
    got = np.empty_like(x)
    kernels.expm1_array(x, got)
    expected = np.expm1(x)
    assert (np.abs(got - expected) / np.spacing(np.abs(expected))).max() <= 1.0
    edges = np.array([0.0, -0.0, 710.0, -40.0, np.inf, -np.inf, np.nan, 1e-300])
    out = np.empty_like(edges)
    with np.errstate(over="ignore"):
        kernels.expm1_array(edges, out)
    assert out[[0, 2, 3, 4, 5, 7]].tolist() == [0.0, np.inf, -1.0, np.inf, -1.0, 1e-300]
    assert np.signbit(out[1]) and np.isnan(out[6])


def test_own_tanh_is_odd_accurate_and_keeps_small_inputs_exact():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 3, 100_000), rng.uniform(-1e-3, 1e-3, 20_000)])
    got = np.empty_like(x)
    kernels.hidden_array(kernels.ACTIVATION_CODES["tanh"], x, got)
    expected = np.tanh(x)
    assert (np.abs(got - expected) / np.spacing(np.abs(expected))).max() <= 3.0
    mirrored = np.empty_like(x)
    kernels.hidden_array(kernels.ACTIVATION_CODES["tanh"], -x, mirrored)
    assert np.array_equal(mirrored, -got)  # odd, bit for bit
    edges = np.array([0.0, 1e-20, 22.0, 1e3, -1e3, np.inf, -np.inf, np.nan])
    out = np.empty_like(edges)
    kernels.hidden_array(kernels.ACTIVATION_CODES["tanh"], edges, out)
    assert out[:7].tolist() == [0.0, 1e-20, 1.0, 1.0, -1.0, 1.0, -1.0] and np.isnan(out[7])


def test_relu_is_exact_with_zero_at_zero_and_nan_kept():
    z = np.array([2.5, 1e-300, 0.0, -0.0, -3.0, -np.inf, np.inf, np.nan])
    out = np.empty_like(z)
    kernels.hidden_array(kernels.ACTIVATION_CODES["relu"], z, out)
    assert out[:7].tolist() == [2.5, 1e-300, 0.0, 0.0, 0.0, 0.0, np.inf]
    assert not np.signbit(out[3]) and np.isnan(out[7])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_vectorised_sigmoid_has_the_scalar_sigmoids_bits(dtype):
    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1e-12, -1e-12, 3.7e-9, 3.8e-9, 707.9, 708.0, 708.1, -708.1, 745.2, -746.0]
    edges += [1e300, -1e300, np.inf, -np.inf, np.nan, 5e-324]
    z = np.concatenate([rng.normal(0, 8, 5_000), rng.uniform(-800, 800, 5_000), edges])
    with np.errstate(over="ignore"):  # 1e300 becomes inf in float32, as intended
        z = z.astype(dtype)
    expected = np.array([kernels.sigmoid_(float(v)) for v in z]).astype(dtype)
    for start in range(0, len(z), 30):  # blocks as wide as a hidden layer, some with an edge
        block = z[start : start + 30]
        out = np.empty(len(block) + 2, dtype)
        kernels.sigmoid_rows(block, out, 2, len(block))
        np.testing.assert_array_equal(
            out[2:].view(np.uint8), expected[start : start + 30].view(np.uint8)
        )


def test_no_fused_multiply_add_in_the_compiled_kernels(data):
    """Without fastmath LLVM must not contract a*b + c into one FMA (it rounds once)."""
    config = GOLDEN_CONFIGS["mlp-quadratic"]
    layout = KernelLayout.of(config.sizes)
    theta = layout.pack(init_params(config))
    images = sparse_images(data.train.pixels[:20])
    sgd = njit(**{**kernels._JIT, "cache": False})(kernels.sgd_epoch.py_func)
    sgd(
        theta, layout.sizes, layout.woff, layout.boff, layout.aoff, images.indptr,
        images.indices, images.values, pixel_table("float64"),
        np.asarray(data.train.labels[:20], np.int64), np.arange(20, dtype=np.int64), 10,
        np.full(2, 0.3), np.empty(0), 0, 0, True, False, np.float64(1),
    )  # fmt: skip
    asm = sgd.inspect_asm(sgd.signatures[0])
    assert "mulsd" in asm or "mulpd" in asm  # it is the real code
    assert "fmadd" not in asm and "fmsub" not in asm and "fnmadd" not in asm


# --------------------------------------------------------------------------- golden bits


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(GOLDEN_CONFIGS))
def test_golden_parameters(data, name, dtype):
    config = dataclasses.replace(GOLDEN_CONFIGS[name], dtype=dtype)
    params = train(config, data).params
    assert params.weights[0].dtype == np.dtype(dtype)
    assert params_sha256(params) == GOLDEN[(name, dtype)]


def test_resuming_a_dump_of_another_arithmetic_names_both(data):
    config = GOLDEN_CONFIGS["mlp-quadratic"]
    first = train(dataclasses.replace(config, epochs=0), data)
    old = dataclasses.replace(first, arithmetic=kernels.LEGACY_ARITHMETIC_VERSION)
    with pytest.raises(ValueError, match=r"arithmetic 'dense-1'.*this trainer's is 'sparse-1'"):
        train(config, data, resume=old)
    assert train(config, data, resume=first).arithmetic == kernels.ARITHMETIC_VERSION


# --------------------------------------------------------------------------- other machines

SCRIPT = """
import dataclasses, hashlib, json, sys
import numpy as np
from twinnets.train.batched import train_batched
from twinnets.data.mnist import load_mnist
from tests.test_kernels import GOLDEN_CONFIGS, params_sha256

data = load_mnist(sys.argv[1], n_train=1000)
threads = int(sys.argv[2])
out = {}
for name in ("mlp-quadratic", "softmax-l2-all-1/t", "deep-tanh", "deep-relu-cross-entropy-l2"):
    for dtype in ("float64", "float32"):
        base = dataclasses.replace(GOLDEN_CONFIGS[name], dtype=dtype)
        block = [dataclasses.replace(base, init_seed=base.init_seed + s) for s in range(3)]
        nets = train_batched(block, data, threads=threads)
        out[f"{name}/{dtype}"] = [params_sha256(n.params) for n in nets]
print(json.dumps(out))
"""

VARIANTS = {
    "OpenBLAS Haswell kernels": ({"OPENBLAS_CORETYPE": "Haswell"}, 1),
    "OpenBLAS SkylakeX kernels": ({"OPENBLAS_CORETYPE": "SkylakeX"}, 1),
    "OpenBLAS Sandybridge kernels": ({"OPENBLAS_CORETYPE": "Sandybridge"}, 1),
    "glibc without its FMA/AVX2 exp": ({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX"}, 1),
    "kernels compiled for a generic x86-64": ({"NUMBA_CPU_NAME": "generic"}, 1),
    "two threads": ({"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}, 2),
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """Kernels compiled for another CPU go to a cache of their own (numba keys its cache
    by the CPU, so they would be compiled afresh anyway, 24 s for both dtypes); the other
    variants change only the run-time libraries and load the project's cached kernels."""
    return tmp_path_factory.mktemp("numba-cache")


def run_variant(env_extra: dict, threads: int, mnist_dir, cache_dir) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    if "NUMBA_CPU_NAME" in env_extra:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(mnist_dir), str(threads)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def baseline(mnist_workdir, cache_dir):
    return run_variant({}, 1, mnist_workdir, cache_dir)


def test_the_baseline_subprocess_matches_the_golden_hashes(baseline):
    for key, hashes in baseline.items():
        name, dtype = key.rsplit("/", 1)
        assert hashes[0] == GOLDEN[(name, dtype)]
        assert len(set(hashes)) == 3  # three different networks


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_bits_on_another_machine(variant, baseline, mnist_workdir, cache_dir):
    env_extra, threads = VARIANTS[variant]
    assert run_variant(env_extra, threads, mnist_workdir, cache_dir) == baseline
