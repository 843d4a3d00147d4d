"""Does glibc's ``exp`` give the same bits on every CPU? (Why twinnets has its own.)

glibc picks CPU-specific variants of ``exp``, ``log`` and friends at load time (with FMA
and AVX2, or without). This script evaluates libm's ``exp``, ``log`` and ``expf`` on
200,000 fixed inputs through ctypes and prints a SHA-256 of the results, and
twinnets' own ``kernels.exp_`` on the same inputs. Run it twice, once as is and once with
glibc told to skip its FMA/AVX2 paths, and compare:

    python bench/libm_variants.py
    GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA,-AVX python bench/libm_variants.py

On this 2-core machine (AMD EPYC, glibc 2.36, 2026-12-02) ``exp`` and ``log`` hash
differently (``exp`` differs in the last bit for 119 of the 200,000 inputs), ``expf``
and twinnets' ``exp_`` do not. (Older glibc spells the names ``-AVX2_Usable`` etc.;
names it does not know are ignored silently, so check that the hashes move at all.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import platform

import numpy as np

from twinnets.train import kernels


def inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(-745, 709, 100_000), rng.uniform(-20, 20, 100_000)])


def digest(values: np.ndarray) -> str:
    return hashlib.sha256(values.tobytes()).hexdigest()[:16]


def main() -> None:
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    x = inputs()
    results = {}
    for name, arg, single in (("exp", x, False), ("log", np.abs(x), False),
                              ("expf", x[np.abs(x) < 80].astype(np.float32), True)):  # fmt: skip
        f = getattr(libm, name)
        f.restype = ctypes.c_float if single else ctypes.c_double
        f.argtypes = [f.restype]
        dtype = np.float32 if single else np.float64
        results[f"libm {name}"] = digest(np.array([f(float(v)) for v in arg], dtype))
    own = np.empty_like(x)
    kernels.exp_array(x, own)
    results["twinnets exp_"] = digest(own)
    print(
        f"glibc {platform.libc_ver()[1]}, GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '')!r}"
    )
    for name, h in results.items():
        print(f"  {name:<14} {h}")


if __name__ == "__main__":
    main()
