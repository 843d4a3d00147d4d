"""The trainer's arithmetic: compiled per-sample kernels over the non-zero pixels.

MNIST is mostly blank (about 150 of 784 pixels are non-zero), so the first layer's
forward pass and weight gradient visit only an image's non-zero pixels, and an SGD
step updates only the first-layer columns that some image of its mini-batch touched
(the others get exactly zero gradient). Every operation is spelled out here, in a
fixed order, with no BLAS call, no ``fastmath`` (so LLVM neither reassociates nor
contracts a multiply and an add into an FMA) and no libm call: the bits depend only
on this code and IEEE 754, not on the BLAS library, the thread count, the CPU's
vector width or glibc's CPU-specific ``exp``. Loops that LLVM vectorises run across
independent outputs (hidden units), each lane doing the scalar sequence, so SIMD
width changes nothing.

Summation order (``ARITHMETIC_VERSION`` names it; change it and bump the version):

* layer 1 (sparse input x, non-zero pixels k1 < k2 < ... of the image):
  ``z_j = (((0 + w[j,k1] x_k1) + w[j,k2] x_k2) + ...) + b_j``;
  deeper layers the same over every input k = 0, 1, ... in ascending order.
* activations: ``sigmoid(z) = 1 / (1 + e)`` for z >= 0 and ``e / (1 + e)`` otherwise,
  with ``e = exp_(-|z|)`` (this module's own exp); softmax ``e_j / s`` with
  ``e_j = exp_(z_j - max z)``, ``s`` summed over j ascending. For float32 networks the
  sigmoid and softmax are evaluated in float64 from the float32 z and rounded to
  float32 once; every other operation is float32. A layer's sigmoids go through
  ``sigmoid_rows``, the same operations without branches in the common case so that
  they vectorise across units (tested bitwise against ``sigmoid_``). The output layer
  of an MLP is always a sigmoid; its hidden layers are sigmoid, tanh or ReLU
  (``ACTIVATION_CODES``, the ``act`` argument):
* tanh, fdlibm's ``s_tanh.c`` on this module's own ``expm1_`` (fdlibm's ``s_expm1.c``,
  plain + * /, within 1 ulp of glibc's expm1): ``z`` itself for |z| < 2**-55; for
  |z| < 1, ``t = expm1_(-2|z|)`` and ``-t / (t + 2)``; for 1 <= |z| < 22,
  ``t = expm1_(2|z|)`` and ``1 - 2 / (t + 2)``; 1 beyond; then the sign of z. No step
  subtracts nearly equal numbers (expm1 instead of exp(x) - 1), so small |z| keep full
  relative precision; within 3 ulp of glibc's tanh, odd bit for bit (tested). float32
  networks: in float64 from the float32 z, rounded once, as the sigmoid.
* ReLU: ``z`` if z > 0, else 0 (+0, also for z = -0; NaN stays NaN so that divergence
  shows), in the network's dtype: exact, no rounding at all.
* output error: ``delta = a - y``; quadratic cost with sigmoid outputs:
  ``delta = delta * (a * (1 - a))``. Back through layer l:
  ``delta'_k = (((0 + delta_1 w[1,k]) + delta_2 w[2,k]) + ...) * f'_k``, the
  derivative from the unit's output a_k: sigmoid ``a_k * (1 - a_k)``, tanh
  ``1 - a_k * a_k``; ReLU passes the sum unchanged where a_k > 0 and gives 0 where
  a_k = 0 (so the derivative at exactly z = 0 is 0).
* gradients: each sample's ``delta_j * a_k`` (and ``delta_j``) is added to a zeroed
  accumulator in the mini-batch's order.
* update, once per mini-batch, with ``step = eta / m`` and ``decay = 1 - eta lmbda / n``
  rounded to the network's dtype: ``w = w * decay`` for every weight when lmbda > 0
  (biases too with ``l2 = "all"``), then ``w = w - step * g`` for every weight of the
  deeper layers and every bias, and for the touched first-layer columns only.

Images are held sparse (CSR): per image the ascending indices of its non-zero pixels
(``indptr``, ``indices``) and their raw uint8 values; ``table[v]`` is v / 255 in the
network's dtype (``mnist.scale_pixels``), so 3 bytes per non-zero pixel.

Parameters are held in one flat vector per network ("kernel layout"): per layer the
weights then the biases; the first layer's weights transposed, (n_in, stride) with
``stride`` the layer's width rounded up to a multiple of ``LANES`` (the padding is
zeros and stays zero), so that a pixel's column is contiguous; deeper layers
(n_out, n_in) as in ``Params``.

How the loops are arranged, none of it changing an operation or its order (the golden
hashes in ``tests/test_kernels.py`` hold): the first layer's gradient is not added into
a dense accumulator image by image. While the images of a mini-batch go forward,
``_forward`` notes each non-zero pixel (its image's place in the mini-batch and its raw
value, per pixel column); after the mini-batch, ``_gather_columns`` sums each touched
column's gradient from zero over the images that have that pixel, in mini-batch order,
in registers, and applies it at once (``w = w - step * g``, after the decay): the same
additions in the same order as before, with no accumulator to read, write and clear.
Mini-batches of more than ``CHUNK`` images are gathered ``CHUNK`` images at a time into
the accumulator, then updated as before. The deeper layers' forward pass reads a copy of
their weights transposed (``transpose_deep``, refreshed after every update), so that its
loads are contiguous, and their backward loops use unsigned offsets, so that they
vectorise.

Compiled code is cached (``cache=True``): in ``__pycache__`` beside this file, or,
where that is read-only, numba's user-wide cache folder (``NUMBA_CACHE_DIR`` overrides
both). The cache is keyed by the CPU, so a job on another node compiles once.
"""

from __future__ import annotations

import math
import os

# LLVM's superword (SLP) vectoriser turns the written-out 16- and 32-lane loops below
# into vector instructions; numba leaves it off by default. It never reassociates or
# contracts (no fastmath), so it changes the speed, not the bits. (It takes effect if
# nothing in the process compiled with numba before this import; otherwise the kernels
# are slower, with the same results.)
os.environ.setdefault("NUMBA_SLP_VECTORIZE", "1")

import numba
import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

numba.config.SLP_VECTORIZE = 0 if os.environ["NUMBA_SLP_VECTORIZE"] in ("", "0") else 1

#: The arithmetic this module defines; recorded in every dump and checked on resume.
ARITHMETIC_VERSION = "sparse-1"
#: Dumps written before the version was recorded came from the dense NumPy trainer.
LEGACY_ARITHMETIC_VERSION = "dense-1"

MODEL_CODES = {"mlp": 0, "softmax": 1, "linear": 2}
#: The hidden layers' activation (``network.ACTIVATIONS``), as the kernels take it.
ACTIVATION_CODES = {"sigmoid": 0, "tanh": 1, "relu": 2}

# fdlibm's e_exp.c constants (Sun Microsystems, 1993): Cody-Waite reduction and a
# rational approximation of exp(r) on |r| <= ln2/2, accurate to < 1 ulp.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
_EXP_MAX = 7.09782712893383973096e02
_EXP_MIN = -7.45133219101941108420e02
#: 2**k for k = -1022 ... 1023, all normal numbers, so exact.
_POW2 = np.ldexp(1.0, np.arange(-1022, 1024))

#: The first layer's columns are padded to a multiple of this many entries (zeros), so
#: the loops over hidden units have a fixed trip count; any SIMD width gives the same
#: bits, as every lane is an independent scalar sequence.
LANES = 16  # the kernels below are written out for exactly 16
#: Up to this many images of a mini-batch have their first-layer gradient gathered per
#: pixel column and applied in one pass (any mini-batch of at most CHUNK images).
CHUNK = 32
#: The forward pass asks for the weight column of the pixel this many ahead (a hint).
AHEAD = 16

_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the CPU to bring ``arr[idx]``'s cache line closer (LLVM's ``prefetch``):
    reads nothing into the program, so it changes the speed, never a value."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        ary = context.make_array(arr)(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        i32 = ir.IntType(32)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(**_JIT)
def exp_(x: float) -> float:
    """exp in float64 with plain + * / only: the same bits on every IEEE 754 machine.

    fdlibm's algorithm: x = k ln2 + r, exp(r) from a degree-5 rational approximation,
    then scaled by 2**k with exact powers of two (at most one rounding, as ldexp).
    """
    if x != x:
        return x
    if x > _EXP_MAX:
        return math.inf
    if x < _EXP_MIN:
        return 0.0
    if abs(x) < 3.725290298461914e-09:  # 2**-28: exp(x) rounds to 1 + x
        return 1.0 + x
    if x < 0.0:
        k = int(_INV_LN2 * x - 0.5)
    else:
        k = int(_INV_LN2 * x + 0.5)
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    # y * 2**k by exact powers of two (one rounding, as ldexp; no libm call)
    if k > 1023:
        return (y * 2.0) * _POW2[k - 1 + 1022]
    if k >= -1022:
        return y * _POW2[k + 1022]
    return (y * _POW2[k + 1000 + 1022]) * _POW2[-1000 + 1022]


# fdlibm's s_expm1.c constants (Sun Microsystems, 1993): a rational approximation of
# expm1 on |r| <= ln2/2, scaled coefficients Q1..Q5, accurate to < 1 ulp.
_Q1 = -3.33333333333331316428e-02
_Q2 = 1.58730158725481460165e-03
_Q3 = -7.93650757867487942473e-05
_Q4 = 4.00821782732936239552e-06
_Q5 = -2.01099218183624371326e-07
# fdlibm's thresholds compare the high 32 bits of |x|; these are the same tests on |x|
_EXPM1_HUGE = 38.81622314453125  # high word 0x4043687a: |x| >= 56 ln2
_EXPM1_BIG = 709.7822265625  # 0x40862e42
_HALF_LN2_UP = 0.3465735912322998  # 0x3fd62e43: |x| > ln2 / 2
_THREE_HALF_LN2 = 1.0397205352783203  # 0x3ff0a2b2: |x| < 1.5 ln2
_TWO_M54 = 5.551115123125783e-17  # 0x3c900000: 2**-54
_TWO_M55 = 2.7755575615628914e-17  # 0x3c800000: 2**-55


@njit(**_JIT)
def _times_pow2(y: float, k: int) -> float:
    """``y * 2**k`` by exact powers of two, for a normal result (one rounding, as ldexp)."""
    if k > 1023:
        return (y * 2.0) * _POW2[k - 1 + 1022]
    return y * _POW2[k + 1022]


@njit(**_JIT)
def expm1_(x: float) -> float:
    """exp(x) - 1 in float64 with plain + * / only, accurate near 0 (no cancellation).

    fdlibm's ``s_expm1.c`` step for step: x = k ln2 + r with a correction term c for the
    rounding of r, expm1(r) from a degree-5 rational approximation, then rescaled by 2**k
    (exact powers of two instead of editing the exponent bits); < 1 ulp.
    """
    if x != x:
        return x
    a = abs(x)
    if a >= _EXPM1_HUGE:
        if x < 0.0:
            return -1.0
        if a >= _EXPM1_BIG and x > _EXP_MAX:
            return math.inf
    c = 0.0
    if a >= _HALF_LN2_UP:
        if a < _THREE_HALF_LN2:
            if x >= 0.0:
                hi = x - _LN2_HI
                lo = _LN2_LO
                k = 1
            else:
                hi = x + _LN2_HI
                lo = -_LN2_LO
                k = -1
        else:
            k = int(_INV_LN2 * x + (0.5 if x >= 0.0 else -0.5))
            t = float(k)
            hi = x - t * _LN2_HI
            lo = t * _LN2_LO
        x = hi - lo
        c = (hi - x) - lo
    elif a < _TWO_M54:
        return x
    else:
        k = 0
    hfx = 0.5 * x
    hxs = x * hfx
    r1 = 1.0 + hxs * (_Q1 + hxs * (_Q2 + hxs * (_Q3 + hxs * (_Q4 + hxs * _Q5))))
    t = 3.0 - r1 * hfx
    e = hxs * ((r1 - t) / (6.0 - x * t))
    if k == 0:
        return x - (x * e - hxs)
    e = x * (e - c) - c
    e = e - hxs
    if k == -1:
        return 0.5 * (x - e) - 0.5
    if k == 1:
        if x < -0.25:
            return -2.0 * (e - (x + 0.5))
        return 1.0 + 2.0 * (x - e)
    if k <= -2 or k > 56:
        return _times_pow2(1.0 - (e - x), k) - 1.0
    if k < 20:
        return _times_pow2((1.0 - _POW2[-k + 1022]) - (e - x), k)  # 1 - 2**-k is exact
    return _times_pow2((x - (e + _POW2[-k + 1022])) + 1.0, k)


@njit(**_JIT)
def tanh_(z: float) -> float:
    """tanh in float64 from ``expm1_``: fdlibm's ``s_tanh.c``, < 3 ulp, odd, no cancellation.

    ``z`` for |z| < 2**-55; ``t = expm1_(-2|z|)``, ``-t / (t + 2)`` for |z| < 1;
    ``t = expm1_(2|z|)``, ``1 - 2 / (t + 2)`` for 1 <= |z| < 22; 1 beyond; the sign of z.
    """
    if z != z:
        return z
    a = abs(z)
    if a < _TWO_M55:
        return z
    if a < 1.0:
        t = expm1_(-2.0 * a)
        y = -t / (t + 2.0)
    elif a < 22.0:
        t = expm1_(2.0 * a)
        y = 1.0 - 2.0 / (t + 2.0)
    else:
        y = 1.0
    return y if z >= 0.0 else -y


@njit(**_JIT)
def hidden_(act: int, v) -> float:
    """A hidden unit's output from its weighted input ``v`` (the network's dtype), as a
    float64: sigmoid_ (act 0) or tanh_ (1) of float(v), or ReLU (2): v if v > 0 (and
    NaN, so that divergence shows), else 0; exact, so it loses nothing when stored."""
    if act == 0:
        return sigmoid_(float(v))
    if act == 1:
        return tanh_(float(v))
    return 0.0 if v <= 0.0 else float(v)


@njit(**_JIT)
def sigmoid_(z: float) -> float:
    """1 / (1 + exp(-z)) in float64, written so that no step overflows."""
    if z != z:
        return z
    if z >= 0.0:
        return 1.0 / (1.0 + exp_(-z))
    e = exp_(z)
    return e / (1.0 + e)


@njit(inline="always", **_JIT)
def sigmoid_rows(src, out, o0, n):
    """``out[o0 + j] = sigmoid_(float(src[j]))`` for j < n, the same bits as the
    scalar sigmoid_: the common case (1e-8 < |v| <= 708) branch-free so that LLVM
    vectorises it across units; any other input redoes the block with ``sigmoid_``."""
    odd = 0
    for j in range(n):
        v = float(src[j])
        a = abs(v)
        odd |= (a < 3.725290298461914e-09) | (a > 708.0) | (v != v)
        x = -a if a <= 708.0 else -708.0  # keeps NaN and huge v off the integer path
        k = int(_INV_LN2 * x - 0.5)
        hi = x - k * _LN2_HI
        lo = k * _LN2_LO
        r = hi - lo
        t = r * r
        c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
        y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
        e = y * _POW2[k + 1022]  # k >= -1022 here: exp_'s one-rounding branch
        num = 1.0 if v >= 0.0 else e
        out[o0 + j] = num / (1.0 + e)
    if odd:
        for j in range(n):
            out[o0 + j] = sigmoid_(float(src[j]))


@njit(inline="always", **_JIT)
def hidden_rows(act, src, out, o0, n):
    """``out[o0 + j] = hidden_(act, src[j])`` for j < n: a hidden layer's outputs, the
    sigmoid's through the vectorised ``sigmoid_rows`` (the same bits)."""
    if act == 0:
        sigmoid_rows(src, out, o0, n)
    else:
        for j in range(n):
            out[o0 + j] = hidden_(act, src[j])


@njit(**_JIT)
def exp_array(x: np.ndarray, out: np.ndarray) -> None:
    """``exp_`` elementwise (for tests against libm)."""
    for i in range(x.shape[0]):
        out[i] = exp_(x[i])


@njit(**_JIT)
def expm1_array(x: np.ndarray, out: np.ndarray) -> None:
    """``expm1_`` elementwise (for tests against libm)."""
    for i in range(x.shape[0]):
        out[i] = expm1_(x[i])


@njit(**_JIT)
def hidden_array(act: int, x: np.ndarray, out: np.ndarray) -> None:
    """``hidden_`` elementwise (for tests)."""
    for i in range(x.shape[0]):
        out[i] = hidden_(act, x[i])


@njit(inline="always", **_JIT)
def _forward(
    theta,
    wt,
    sizes,
    woff,
    boff,
    indptr,
    indices,
    values,
    table,
    i,
    acts,
    aoff,
    z,
    zout,
    one,
    act,
    collect,
    count,
    entry,
    chunk_list,
    n_chunk,
    slot,
):
    """Layer outputs of image ``i`` into ``acts`` (hidden layers) and ``zout`` (logits).

    ``z`` is a scratch vector at least as wide as the widest layer; ``one`` is 1 in the
    network's dtype (a float literal would promote float32 arithmetic to float64); ``act``
    the hidden layers' activation (``ACTIVATION_CODES``); ``wt`` holds the deeper layers'
    weights transposed (``transpose_deep``). With ``collect`` it also notes each of the
    image's pixels for the first layer's gradient: ``entry[k * CHUNK + c]`` = ``slot``
    (the image's place in its chunk, times 256) + its raw value, for the c-th image of
    the chunk that has pixel k (``count[k]``), and pixels new to the chunk are appended
    to ``chunk_list`` (``n_chunk`` long); returns the new ``n_chunk``.
    """
    n_layers = sizes.shape[0] - 1
    n1 = sizes[1]
    stride = (boff[0] - woff[0]) // sizes[0]  # n1 rounded up to whole lanes
    w0 = woff[0]
    p0 = indptr[i]
    p1 = indptr[i + 1]
    zero = one - one
    jb = 0
    while jb < stride:
        # 32 (or 16) hidden units at a time in local accumulators, i.e. vector
        # registers, several independent sums in flight; each unit's own sum runs over
        # the pixels in ascending order
        if stride - jb >= 2 * LANES:
            z0 = z1 = z2 = z3 = z4 = z5 = z6 = z7 = z8 = z9 = z10 = z11 = z12 = z13 = z14 = z15 = (
                z16
            ) = z17 = z18 = z19 = z20 = z21 = z22 = z23 = z24 = z25 = z26 = z27 = z28 = z29 = (
                z30
            ) = z31 = zero
            if collect and jb == 0:  # also note the pixels for the gradient
                for p in range(p0, p1):
                    up = np.uint64(p)  # unsigned offsets throughout: no wrap-around checks
                    # ask for the column of the pixel AHEAD on: an L2 hit by the time it is
                    # needed (a hint to the CPU, it reads nothing into the program)
                    pa = p + AHEAD if p + AHEAD < p1 else p
                    ahead = np.uint64(w0 + indices[np.uint64(pa)] * stride)
                    _prefetch(theta, ahead)
                    _prefetch(theta, ahead + np.uint64(8))
                    _prefetch(theta, ahead + np.uint64(16))
                    _prefetch(theta, ahead + np.uint64(24))
                    k = indices[up]
                    v = values[up]
                    c = count[k]
                    # branch-free: the list grows only for a pixel new to the chunk
                    chunk_list[np.uint64(n_chunk)] = k
                    n_chunk += c == 0
                    entry[np.uint64(k * CHUNK + c)] = slot + v  # its place in the chunk, its value
                    count[k] = c + 1
                    x = table[v]
                    # an unsigned offset: no negative-index wrap-around to check, so LLVM sees
                    # consecutive loads at constant offsets and makes them vector loads
                    q = np.uint64(w0 + k * stride + jb)
                    z0 = z0 + theta[q + np.uint64(0)] * x
                    z1 = z1 + theta[q + np.uint64(1)] * x
                    z2 = z2 + theta[q + np.uint64(2)] * x
                    z3 = z3 + theta[q + np.uint64(3)] * x
                    z4 = z4 + theta[q + np.uint64(4)] * x
                    z5 = z5 + theta[q + np.uint64(5)] * x
                    z6 = z6 + theta[q + np.uint64(6)] * x
                    z7 = z7 + theta[q + np.uint64(7)] * x
                    z8 = z8 + theta[q + np.uint64(8)] * x
                    z9 = z9 + theta[q + np.uint64(9)] * x
                    z10 = z10 + theta[q + np.uint64(10)] * x
                    z11 = z11 + theta[q + np.uint64(11)] * x
                    z12 = z12 + theta[q + np.uint64(12)] * x
                    z13 = z13 + theta[q + np.uint64(13)] * x
                    z14 = z14 + theta[q + np.uint64(14)] * x
                    z15 = z15 + theta[q + np.uint64(15)] * x
                    z16 = z16 + theta[q + np.uint64(16)] * x
                    z17 = z17 + theta[q + np.uint64(17)] * x
                    z18 = z18 + theta[q + np.uint64(18)] * x
                    z19 = z19 + theta[q + np.uint64(19)] * x
                    z20 = z20 + theta[q + np.uint64(20)] * x
                    z21 = z21 + theta[q + np.uint64(21)] * x
                    z22 = z22 + theta[q + np.uint64(22)] * x
                    z23 = z23 + theta[q + np.uint64(23)] * x
                    z24 = z24 + theta[q + np.uint64(24)] * x
                    z25 = z25 + theta[q + np.uint64(25)] * x
                    z26 = z26 + theta[q + np.uint64(26)] * x
                    z27 = z27 + theta[q + np.uint64(27)] * x
                    z28 = z28 + theta[q + np.uint64(28)] * x
                    z29 = z29 + theta[q + np.uint64(29)] * x
                    z30 = z30 + theta[q + np.uint64(30)] * x
                    z31 = z31 + theta[q + np.uint64(31)] * x
            else:
                for p in range(p0, p1):
                    x = table[values[p]]
                    # an unsigned offset: no negative-index wrap-around to check, so LLVM sees
                    # consecutive loads at constant offsets and makes them vector loads
                    q = np.uint64(w0 + indices[p] * stride + jb)
                    z0 = z0 + theta[q + np.uint64(0)] * x
                    z1 = z1 + theta[q + np.uint64(1)] * x
                    z2 = z2 + theta[q + np.uint64(2)] * x
                    z3 = z3 + theta[q + np.uint64(3)] * x
                    z4 = z4 + theta[q + np.uint64(4)] * x
                    z5 = z5 + theta[q + np.uint64(5)] * x
                    z6 = z6 + theta[q + np.uint64(6)] * x
                    z7 = z7 + theta[q + np.uint64(7)] * x
                    z8 = z8 + theta[q + np.uint64(8)] * x
                    z9 = z9 + theta[q + np.uint64(9)] * x
                    z10 = z10 + theta[q + np.uint64(10)] * x
                    z11 = z11 + theta[q + np.uint64(11)] * x
                    z12 = z12 + theta[q + np.uint64(12)] * x
                    z13 = z13 + theta[q + np.uint64(13)] * x
                    z14 = z14 + theta[q + np.uint64(14)] * x
                    z15 = z15 + theta[q + np.uint64(15)] * x
                    z16 = z16 + theta[q + np.uint64(16)] * x
                    z17 = z17 + theta[q + np.uint64(17)] * x
                    z18 = z18 + theta[q + np.uint64(18)] * x
                    z19 = z19 + theta[q + np.uint64(19)] * x
                    z20 = z20 + theta[q + np.uint64(20)] * x
                    z21 = z21 + theta[q + np.uint64(21)] * x
                    z22 = z22 + theta[q + np.uint64(22)] * x
                    z23 = z23 + theta[q + np.uint64(23)] * x
                    z24 = z24 + theta[q + np.uint64(24)] * x
                    z25 = z25 + theta[q + np.uint64(25)] * x
                    z26 = z26 + theta[q + np.uint64(26)] * x
                    z27 = z27 + theta[q + np.uint64(27)] * x
                    z28 = z28 + theta[q + np.uint64(28)] * x
                    z29 = z29 + theta[q + np.uint64(29)] * x
                    z30 = z30 + theta[q + np.uint64(30)] * x
                    z31 = z31 + theta[q + np.uint64(31)] * x
            z[jb + 0] = z0
            z[jb + 1] = z1
            z[jb + 2] = z2
            z[jb + 3] = z3
            z[jb + 4] = z4
            z[jb + 5] = z5
            z[jb + 6] = z6
            z[jb + 7] = z7
            z[jb + 8] = z8
            z[jb + 9] = z9
            z[jb + 10] = z10
            z[jb + 11] = z11
            z[jb + 12] = z12
            z[jb + 13] = z13
            z[jb + 14] = z14
            z[jb + 15] = z15
            z[jb + 16] = z16
            z[jb + 17] = z17
            z[jb + 18] = z18
            z[jb + 19] = z19
            z[jb + 20] = z20
            z[jb + 21] = z21
            z[jb + 22] = z22
            z[jb + 23] = z23
            z[jb + 24] = z24
            z[jb + 25] = z25
            z[jb + 26] = z26
            z[jb + 27] = z27
            z[jb + 28] = z28
            z[jb + 29] = z29
            z[jb + 30] = z30
            z[jb + 31] = z31
            jb += 2 * LANES
        else:
            z0 = z1 = z2 = z3 = z4 = z5 = z6 = z7 = z8 = z9 = z10 = z11 = z12 = z13 = z14 = z15 = (
                zero
            )
            if collect and jb == 0:  # also note the pixels for the gradient
                for p in range(p0, p1):
                    up = np.uint64(p)  # unsigned offsets throughout: no wrap-around checks
                    k = indices[up]
                    v = values[up]
                    c = count[k]
                    # branch-free: the list grows only for a pixel new to the chunk
                    chunk_list[np.uint64(n_chunk)] = k
                    n_chunk += c == 0
                    entry[np.uint64(k * CHUNK + c)] = slot + v  # its place in the chunk, its value
                    count[k] = c + 1
                    x = table[v]
                    q = np.uint64(w0 + k * stride + jb)
                    z0 = z0 + theta[q + np.uint64(0)] * x
                    z1 = z1 + theta[q + np.uint64(1)] * x
                    z2 = z2 + theta[q + np.uint64(2)] * x
                    z3 = z3 + theta[q + np.uint64(3)] * x
                    z4 = z4 + theta[q + np.uint64(4)] * x
                    z5 = z5 + theta[q + np.uint64(5)] * x
                    z6 = z6 + theta[q + np.uint64(6)] * x
                    z7 = z7 + theta[q + np.uint64(7)] * x
                    z8 = z8 + theta[q + np.uint64(8)] * x
                    z9 = z9 + theta[q + np.uint64(9)] * x
                    z10 = z10 + theta[q + np.uint64(10)] * x
                    z11 = z11 + theta[q + np.uint64(11)] * x
                    z12 = z12 + theta[q + np.uint64(12)] * x
                    z13 = z13 + theta[q + np.uint64(13)] * x
                    z14 = z14 + theta[q + np.uint64(14)] * x
                    z15 = z15 + theta[q + np.uint64(15)] * x
            else:
                for p in range(p0, p1):
                    x = table[values[p]]
                    q = np.uint64(w0 + indices[p] * stride + jb)
                    z0 = z0 + theta[q + np.uint64(0)] * x
                    z1 = z1 + theta[q + np.uint64(1)] * x
                    z2 = z2 + theta[q + np.uint64(2)] * x
                    z3 = z3 + theta[q + np.uint64(3)] * x
                    z4 = z4 + theta[q + np.uint64(4)] * x
                    z5 = z5 + theta[q + np.uint64(5)] * x
                    z6 = z6 + theta[q + np.uint64(6)] * x
                    z7 = z7 + theta[q + np.uint64(7)] * x
                    z8 = z8 + theta[q + np.uint64(8)] * x
                    z9 = z9 + theta[q + np.uint64(9)] * x
                    z10 = z10 + theta[q + np.uint64(10)] * x
                    z11 = z11 + theta[q + np.uint64(11)] * x
                    z12 = z12 + theta[q + np.uint64(12)] * x
                    z13 = z13 + theta[q + np.uint64(13)] * x
                    z14 = z14 + theta[q + np.uint64(14)] * x
                    z15 = z15 + theta[q + np.uint64(15)] * x
            z[jb + 0] = z0
            z[jb + 1] = z1
            z[jb + 2] = z2
            z[jb + 3] = z3
            z[jb + 4] = z4
            z[jb + 5] = z5
            z[jb + 6] = z6
            z[jb + 7] = z7
            z[jb + 8] = z8
            z[jb + 9] = z9
            z[jb + 10] = z10
            z[jb + 11] = z11
            z[jb + 12] = z12
            z[jb + 13] = z13
            z[jb + 14] = z14
            z[jb + 15] = z15
            jb += LANES
    b0 = boff[0]
    if n_layers == 1:
        for j in range(n1):
            zout[j] = z[j] + theta[b0 + j]
        return n_chunk
    for j in range(n1):
        z[j] = z[j] + theta[b0 + j]
    hidden_rows(act, z, acts, aoff[0], n1)
    for layer in range(1, n_layers):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        src = aoff[layer - 1]
        w = woff[layer]
        b = boff[layer]
        last = layer == n_layers - 1
        # every output's sum in flight at once (each still over k ascending), from the
        # transposed copy so that the loads are contiguous
        for j in range(n_out):
            z[j] = zero
        for k in range(n_in):
            a = acts[src + k]
            r = np.uint64(w + k * n_out)
            for j in range(n_out):
                z[j] = z[j] + wt[r + np.uint64(j)] * a
        for j in range(n_out):
            if last:
                zout[j] = z[j] + theta[b + j]
            else:
                acts[aoff[layer] + j] = hidden_(act, z[j] + theta[b + j])
    return n_chunk


@njit(inline="always", **_JIT)
def _output(model, zout, out, n_out, e64):
    """Output activations from logits: sigmoid, softmax (in float64) or identity."""
    if model == 0:
        sigmoid_rows(zout, out, 0, n_out)
    elif model == 1:
        top = float(zout[0])
        for j in range(1, n_out):
            if float(zout[j]) > top:
                top = float(zout[j])
        s = 0.0
        for j in range(n_out):
            e64[j] = exp_(float(zout[j]) - top)
            s = s + e64[j]
        for j in range(n_out):
            out[j] = e64[j] / s
    else:
        for j in range(n_out):
            out[j] = zout[j]


@njit(**_JIT)
def transpose_deep(theta, wt, sizes, woff):
    """``wt[woff[l] + k * n_out + j] = theta[woff[l] + j * n_in + k]`` for every layer l
    after the first: its weights (n_out, n_in) transposed, in place of the same slice."""
    for layer in range(1, sizes.shape[0] - 1):
        n_in = sizes[layer]
        n_out = sizes[layer + 1]
        w = woff[layer]
        for j in range(n_out):
            for k in range(n_in):
                wt[w + k * n_out + j] = theta[w + j * n_in + k]


@njit(**_JIT)
def logits(theta, sizes, woff, boff, aoff, indptr, indices, values, table, out, one, act):
    """The last layer's weighted inputs for every image of a sparse set, into ``out``."""
    n = indptr.shape[0] - 1
    width = max(sizes[1:].max(), (boff[0] - woff[0]) // sizes[0])
    z = np.zeros(width, theta.dtype)
    acts = np.zeros(max(aoff[-1], 1), theta.dtype)
    wt = np.zeros_like(theta)
    transpose_deep(theta, wt, sizes, woff)
    none = np.zeros(1, np.int64)
    no_entry = np.zeros(1, np.uint16)
    for i in range(n):
        _forward(
            theta,
            wt,
            sizes,
            woff,
            boff,
            indptr,
            indices,
            values,
            table,
            i,
            acts,
            aoff,
            z,
            out[i],
            one,
            act,
            False,
            none,
            no_entry,
            none,
            0,
            0,
        )


@njit(**_JIT)
def _gather_columns(
    theta, grad, cols, n_cols, w0, stride, deltas, entry, count, table, step, fused, zero
):
    """The first-layer columns of the pixels ``cols[:n_cols]``: each one's gradient over
    the chunk's images that have the pixel, in their mini-batch order (``entry``: their
    places in the chunk times 256 plus the pixel's raw value, from ``_forward``), added to ``grad``'s column (``fused``
    false) or, when the chunk is the whole mini-batch (``fused``), summed from zero and
    applied at once, ``theta = theta - step * g``, the update's own arithmetic (``grad``
    is not touched). Resets the pixels' ``count``."""
    for t in range(n_cols):
        k = cols[t]
        at = k * CHUNK
        jb = 0
        while jb < stride:
            q = np.uint64(w0 + k * stride + jb)
            if stride - jb >= 2 * LANES:
                if fused:
                    g0 = g1 = g2 = g3 = g4 = g5 = g6 = g7 = g8 = g9 = g10 = g11 = g12 = g13 = (
                        g14
                    ) = g15 = g16 = g17 = g18 = g19 = g20 = g21 = g22 = g23 = g24 = g25 = g26 = (
                        g27
                    ) = g28 = g29 = g30 = g31 = zero
                else:
                    g0 = grad[q + np.uint64(0)]
                    g1 = grad[q + np.uint64(1)]
                    g2 = grad[q + np.uint64(2)]
                    g3 = grad[q + np.uint64(3)]
                    g4 = grad[q + np.uint64(4)]
                    g5 = grad[q + np.uint64(5)]
                    g6 = grad[q + np.uint64(6)]
                    g7 = grad[q + np.uint64(7)]
                    g8 = grad[q + np.uint64(8)]
                    g9 = grad[q + np.uint64(9)]
                    g10 = grad[q + np.uint64(10)]
                    g11 = grad[q + np.uint64(11)]
                    g12 = grad[q + np.uint64(12)]
                    g13 = grad[q + np.uint64(13)]
                    g14 = grad[q + np.uint64(14)]
                    g15 = grad[q + np.uint64(15)]
                    g16 = grad[q + np.uint64(16)]
                    g17 = grad[q + np.uint64(17)]
                    g18 = grad[q + np.uint64(18)]
                    g19 = grad[q + np.uint64(19)]
                    g20 = grad[q + np.uint64(20)]
                    g21 = grad[q + np.uint64(21)]
                    g22 = grad[q + np.uint64(22)]
                    g23 = grad[q + np.uint64(23)]
                    g24 = grad[q + np.uint64(24)]
                    g25 = grad[q + np.uint64(25)]
                    g26 = grad[q + np.uint64(26)]
                    g27 = grad[q + np.uint64(27)]
                    g28 = grad[q + np.uint64(28)]
                    g29 = grad[q + np.uint64(29)]
                    g30 = grad[q + np.uint64(30)]
                    g31 = grad[q + np.uint64(31)]
                for c in range(at, at + count[k]):
                    e = entry[np.uint64(c)]
                    x = table[e & 255]
                    r = np.uint64((e >> 8) * stride + jb)
                    g0 = g0 + deltas[r + np.uint64(0)] * x
                    g1 = g1 + deltas[r + np.uint64(1)] * x
                    g2 = g2 + deltas[r + np.uint64(2)] * x
                    g3 = g3 + deltas[r + np.uint64(3)] * x
                    g4 = g4 + deltas[r + np.uint64(4)] * x
                    g5 = g5 + deltas[r + np.uint64(5)] * x
                    g6 = g6 + deltas[r + np.uint64(6)] * x
                    g7 = g7 + deltas[r + np.uint64(7)] * x
                    g8 = g8 + deltas[r + np.uint64(8)] * x
                    g9 = g9 + deltas[r + np.uint64(9)] * x
                    g10 = g10 + deltas[r + np.uint64(10)] * x
                    g11 = g11 + deltas[r + np.uint64(11)] * x
                    g12 = g12 + deltas[r + np.uint64(12)] * x
                    g13 = g13 + deltas[r + np.uint64(13)] * x
                    g14 = g14 + deltas[r + np.uint64(14)] * x
                    g15 = g15 + deltas[r + np.uint64(15)] * x
                    g16 = g16 + deltas[r + np.uint64(16)] * x
                    g17 = g17 + deltas[r + np.uint64(17)] * x
                    g18 = g18 + deltas[r + np.uint64(18)] * x
                    g19 = g19 + deltas[r + np.uint64(19)] * x
                    g20 = g20 + deltas[r + np.uint64(20)] * x
                    g21 = g21 + deltas[r + np.uint64(21)] * x
                    g22 = g22 + deltas[r + np.uint64(22)] * x
                    g23 = g23 + deltas[r + np.uint64(23)] * x
                    g24 = g24 + deltas[r + np.uint64(24)] * x
                    g25 = g25 + deltas[r + np.uint64(25)] * x
                    g26 = g26 + deltas[r + np.uint64(26)] * x
                    g27 = g27 + deltas[r + np.uint64(27)] * x
                    g28 = g28 + deltas[r + np.uint64(28)] * x
                    g29 = g29 + deltas[r + np.uint64(29)] * x
                    g30 = g30 + deltas[r + np.uint64(30)] * x
                    g31 = g31 + deltas[r + np.uint64(31)] * x
                if fused:
                    t0 = theta[q + np.uint64(0)] - step * g0
                    t1 = theta[q + np.uint64(1)] - step * g1
                    t2 = theta[q + np.uint64(2)] - step * g2
                    t3 = theta[q + np.uint64(3)] - step * g3
                    t4 = theta[q + np.uint64(4)] - step * g4
                    t5 = theta[q + np.uint64(5)] - step * g5
                    t6 = theta[q + np.uint64(6)] - step * g6
                    t7 = theta[q + np.uint64(7)] - step * g7
                    t8 = theta[q + np.uint64(8)] - step * g8
                    t9 = theta[q + np.uint64(9)] - step * g9
                    t10 = theta[q + np.uint64(10)] - step * g10
                    t11 = theta[q + np.uint64(11)] - step * g11
                    t12 = theta[q + np.uint64(12)] - step * g12
                    t13 = theta[q + np.uint64(13)] - step * g13
                    t14 = theta[q + np.uint64(14)] - step * g14
                    t15 = theta[q + np.uint64(15)] - step * g15
                    t16 = theta[q + np.uint64(16)] - step * g16
                    t17 = theta[q + np.uint64(17)] - step * g17
                    t18 = theta[q + np.uint64(18)] - step * g18
                    t19 = theta[q + np.uint64(19)] - step * g19
                    t20 = theta[q + np.uint64(20)] - step * g20
                    t21 = theta[q + np.uint64(21)] - step * g21
                    t22 = theta[q + np.uint64(22)] - step * g22
                    t23 = theta[q + np.uint64(23)] - step * g23
                    t24 = theta[q + np.uint64(24)] - step * g24
                    t25 = theta[q + np.uint64(25)] - step * g25
                    t26 = theta[q + np.uint64(26)] - step * g26
                    t27 = theta[q + np.uint64(27)] - step * g27
                    t28 = theta[q + np.uint64(28)] - step * g28
                    t29 = theta[q + np.uint64(29)] - step * g29
                    t30 = theta[q + np.uint64(30)] - step * g30
                    t31 = theta[q + np.uint64(31)] - step * g31
                    theta[q + np.uint64(0)] = t0
                    theta[q + np.uint64(1)] = t1
                    theta[q + np.uint64(2)] = t2
                    theta[q + np.uint64(3)] = t3
                    theta[q + np.uint64(4)] = t4
                    theta[q + np.uint64(5)] = t5
                    theta[q + np.uint64(6)] = t6
                    theta[q + np.uint64(7)] = t7
                    theta[q + np.uint64(8)] = t8
                    theta[q + np.uint64(9)] = t9
                    theta[q + np.uint64(10)] = t10
                    theta[q + np.uint64(11)] = t11
                    theta[q + np.uint64(12)] = t12
                    theta[q + np.uint64(13)] = t13
                    theta[q + np.uint64(14)] = t14
                    theta[q + np.uint64(15)] = t15
                    theta[q + np.uint64(16)] = t16
                    theta[q + np.uint64(17)] = t17
                    theta[q + np.uint64(18)] = t18
                    theta[q + np.uint64(19)] = t19
                    theta[q + np.uint64(20)] = t20
                    theta[q + np.uint64(21)] = t21
                    theta[q + np.uint64(22)] = t22
                    theta[q + np.uint64(23)] = t23
                    theta[q + np.uint64(24)] = t24
                    theta[q + np.uint64(25)] = t25
                    theta[q + np.uint64(26)] = t26
                    theta[q + np.uint64(27)] = t27
                    theta[q + np.uint64(28)] = t28
                    theta[q + np.uint64(29)] = t29
                    theta[q + np.uint64(30)] = t30
                    theta[q + np.uint64(31)] = t31
                else:
                    grad[q + np.uint64(0)] = g0
                    grad[q + np.uint64(1)] = g1
                    grad[q + np.uint64(2)] = g2
                    grad[q + np.uint64(3)] = g3
                    grad[q + np.uint64(4)] = g4
                    grad[q + np.uint64(5)] = g5
                    grad[q + np.uint64(6)] = g6
                    grad[q + np.uint64(7)] = g7
                    grad[q + np.uint64(8)] = g8
                    grad[q + np.uint64(9)] = g9
                    grad[q + np.uint64(10)] = g10
                    grad[q + np.uint64(11)] = g11
                    grad[q + np.uint64(12)] = g12
                    grad[q + np.uint64(13)] = g13
                    grad[q + np.uint64(14)] = g14
                    grad[q + np.uint64(15)] = g15
                    grad[q + np.uint64(16)] = g16
                    grad[q + np.uint64(17)] = g17
                    grad[q + np.uint64(18)] = g18
                    grad[q + np.uint64(19)] = g19
                    grad[q + np.uint64(20)] = g20
                    grad[q + np.uint64(21)] = g21
                    grad[q + np.uint64(22)] = g22
                    grad[q + np.uint64(23)] = g23
                    grad[q + np.uint64(24)] = g24
                    grad[q + np.uint64(25)] = g25
                    grad[q + np.uint64(26)] = g26
                    grad[q + np.uint64(27)] = g27
                    grad[q + np.uint64(28)] = g28
                    grad[q + np.uint64(29)] = g29
                    grad[q + np.uint64(30)] = g30
                    grad[q + np.uint64(31)] = g31
                jb += 2 * LANES
            else:
                if fused:
                    g0 = g1 = g2 = g3 = g4 = g5 = g6 = g7 = g8 = g9 = g10 = g11 = g12 = g13 = (
                        g14
                    ) = g15 = zero
                else:
                    g0 = grad[q + np.uint64(0)]
                    g1 = grad[q + np.uint64(1)]
                    g2 = grad[q + np.uint64(2)]
                    g3 = grad[q + np.uint64(3)]
                    g4 = grad[q + np.uint64(4)]
                    g5 = grad[q + np.uint64(5)]
                    g6 = grad[q + np.uint64(6)]
                    g7 = grad[q + np.uint64(7)]
                    g8 = grad[q + np.uint64(8)]
                    g9 = grad[q + np.uint64(9)]
                    g10 = grad[q + np.uint64(10)]
                    g11 = grad[q + np.uint64(11)]
                    g12 = grad[q + np.uint64(12)]
                    g13 = grad[q + np.uint64(13)]
                    g14 = grad[q + np.uint64(14)]
                    g15 = grad[q + np.uint64(15)]
                for c in range(at, at + count[k]):
                    e = entry[np.uint64(c)]
                    x = table[e & 255]
                    r = np.uint64((e >> 8) * stride + jb)
                    g0 = g0 + deltas[r + np.uint64(0)] * x
                    g1 = g1 + deltas[r + np.uint64(1)] * x
                    g2 = g2 + deltas[r + np.uint64(2)] * x
                    g3 = g3 + deltas[r + np.uint64(3)] * x
                    g4 = g4 + deltas[r + np.uint64(4)] * x
                    g5 = g5 + deltas[r + np.uint64(5)] * x
                    g6 = g6 + deltas[r + np.uint64(6)] * x
                    g7 = g7 + deltas[r + np.uint64(7)] * x
                    g8 = g8 + deltas[r + np.uint64(8)] * x
                    g9 = g9 + deltas[r + np.uint64(9)] * x
                    g10 = g10 + deltas[r + np.uint64(10)] * x
                    g11 = g11 + deltas[r + np.uint64(11)] * x
                    g12 = g12 + deltas[r + np.uint64(12)] * x
                    g13 = g13 + deltas[r + np.uint64(13)] * x
                    g14 = g14 + deltas[r + np.uint64(14)] * x
                    g15 = g15 + deltas[r + np.uint64(15)] * x
                if fused:
                    t0 = theta[q + np.uint64(0)] - step * g0
                    t1 = theta[q + np.uint64(1)] - step * g1
                    t2 = theta[q + np.uint64(2)] - step * g2
                    t3 = theta[q + np.uint64(3)] - step * g3
                    t4 = theta[q + np.uint64(4)] - step * g4
                    t5 = theta[q + np.uint64(5)] - step * g5
                    t6 = theta[q + np.uint64(6)] - step * g6
                    t7 = theta[q + np.uint64(7)] - step * g7
                    t8 = theta[q + np.uint64(8)] - step * g8
                    t9 = theta[q + np.uint64(9)] - step * g9
                    t10 = theta[q + np.uint64(10)] - step * g10
                    t11 = theta[q + np.uint64(11)] - step * g11
                    t12 = theta[q + np.uint64(12)] - step * g12
                    t13 = theta[q + np.uint64(13)] - step * g13
                    t14 = theta[q + np.uint64(14)] - step * g14
                    t15 = theta[q + np.uint64(15)] - step * g15
                    theta[q + np.uint64(0)] = t0
                    theta[q + np.uint64(1)] = t1
                    theta[q + np.uint64(2)] = t2
                    theta[q + np.uint64(3)] = t3
                    theta[q + np.uint64(4)] = t4
                    theta[q + np.uint64(5)] = t5
                    theta[q + np.uint64(6)] = t6
                    theta[q + np.uint64(7)] = t7
                    theta[q + np.uint64(8)] = t8
                    theta[q + np.uint64(9)] = t9
                    theta[q + np.uint64(10)] = t10
                    theta[q + np.uint64(11)] = t11
                    theta[q + np.uint64(12)] = t12
                    theta[q + np.uint64(13)] = t13
                    theta[q + np.uint64(14)] = t14
                    theta[q + np.uint64(15)] = t15
                else:
                    grad[q + np.uint64(0)] = g0
                    grad[q + np.uint64(1)] = g1
                    grad[q + np.uint64(2)] = g2
                    grad[q + np.uint64(3)] = g3
                    grad[q + np.uint64(4)] = g4
                    grad[q + np.uint64(5)] = g5
                    grad[q + np.uint64(6)] = g6
                    grad[q + np.uint64(7)] = g7
                    grad[q + np.uint64(8)] = g8
                    grad[q + np.uint64(9)] = g9
                    grad[q + np.uint64(10)] = g10
                    grad[q + np.uint64(11)] = g11
                    grad[q + np.uint64(12)] = g12
                    grad[q + np.uint64(13)] = g13
                    grad[q + np.uint64(14)] = g14
                    grad[q + np.uint64(15)] = g15
                jb += LANES
        count[k] = 0


@njit(**_JIT)
def sgd_epoch(
    theta,
    sizes,
    woff,
    boff,
    aoff,
    indptr,
    indices,
    values,
    table,
    labels,
    order,
    batch_size,
    steps,
    decays,
    model,
    act,
    sigmoid_delta,
    decay_biases,
    one,
):
    """One epoch of mini-batch SGD over ``order``, updating ``theta`` in place.

    ``steps[b]`` and ``decays[b]`` are mini-batch b's eta/m and 1 - eta lmbda / n in the
    network's dtype (``decays`` empty when lmbda is 0); ``act`` the hidden layers'
    activation (``ACTIVATION_CODES``).
    """
    n_layers = sizes.shape[0] - 1
    n_in0 = sizes[0]
    n1 = sizes[1]
    stride = (boff[0] - woff[0]) // n_in0
    n_out = sizes[n_layers]
    width = max(sizes[1:].max(), stride)
    dtype = theta.dtype
    grad = np.zeros(theta.shape[0], dtype)
    acts = np.zeros(max(aoff[-1], 1), dtype)
    z = np.zeros(width, dtype)
    zout = np.zeros(n_out, dtype)
    out = np.zeros(n_out, dtype)
    e64 = np.zeros(n_out, np.float64)
    delta = np.zeros(width, dtype)
    prev = np.zeros(width, dtype)
    zero = one - one
    # a chunk's first-layer deltas (one row of stride per image, zero beyond n1) and, per
    # pixel, how many of its images have it, where in the chunk, and its raw value
    deltas = np.zeros(CHUNK * stride, dtype)
    count = np.zeros(n_in0, np.int64)
    entry = np.zeros(n_in0 * CHUNK, np.uint16)  # place * 256 + value (see _forward)
    chunk_list = np.zeros(n_in0 + 1, np.int64)  # one spare: the branch-free append
    touched = np.zeros(n_in0, np.int64)  # mini-batches of several chunks: the union
    touched_list = np.zeros(n_in0 + 1, np.int64)
    wt = np.zeros_like(theta)  # the deeper layers' weights transposed, for the forward pass
    transpose_deep(theta, wt, sizes, woff)
    w0 = woff[0]
    n_batches = (order.shape[0] + batch_size - 1) // batch_size
    touch = 0
    for batch in range(n_batches):
        start = batch * batch_size
        stop = min(start + batch_size, order.shape[0])
        n_touched = 0
        # read one byte per cache line of the mini-batch's images first: the scattered
        # loads then overlap instead of stalling each sample in turn (changes no value)
        for s in range(start, stop):
            i = order[s]
            for p in range(indptr[i], indptr[i + 1], 32):
                touch += indices[p] + values[p]
        step = steps[batch]
        fused = stop - start <= CHUNK
        for c0 in range(start, stop, CHUNK):
            c1 = min(c0 + CHUNK, stop)
            n_chunk = 0
            for s in range(c0, c1):
                i = order[s]
                n_chunk = _forward(
                    theta,
                    wt,
                    sizes,
                    woff,
                    boff,
                    indptr,
                    indices,
                    values,
                    table,
                    i,
                    acts,
                    aoff,
                    z,
                    zout,
                    one,
                    act,
                    True,
                    count,
                    entry,
                    chunk_list,
                    n_chunk,
                    (s - c0) * 256,
                )
                _output(model, zout, out, n_out, e64)
                label = labels[i]
                for j in range(n_out):
                    d = out[j]
                    if j == label:
                        d = out[j] - one
                    if sigmoid_delta:
                        d = d * (out[j] * (one - out[j]))
                    delta[j] = d
                for layer in range(n_layers - 1, 0, -1):
                    n_in = sizes[layer]
                    n_o = sizes[layer + 1]
                    w = woff[layer]
                    b = boff[layer]
                    src = aoff[layer - 1]
                    # unsigned offsets: no wrap-around to check, so the loops over k vectorise
                    at = np.uint64(src)
                    for j in range(n_o):
                        dj = delta[j]
                        row = np.uint64(w + j * n_in)
                        for k in range(n_in):
                            q = np.uint64(k)
                            grad[row + q] = grad[row + q] + dj * acts[at + q]
                        grad[b + j] = grad[b + j] + dj
                    for k in range(n_in):
                        prev[k] = zero
                    for j in range(n_o):
                        dj = delta[j]
                        row = np.uint64(w + j * n_in)
                        for k in range(n_in):
                            prev[k] = prev[k] + dj * theta[row + np.uint64(k)]
                    # the activation's derivative from its output a (one loop per activation,
                    # so that each vectorises): sigmoid a (1 - a), tanh 1 - a a, ReLU (a > 0)
                    if act == 0:
                        for k in range(n_in):
                            a = acts[src + k]
                            delta[k] = prev[k] * (a * (one - a))
                    elif act == 1:
                        for k in range(n_in):
                            a = acts[src + k]
                            delta[k] = prev[k] * (one - a * a)
                    else:
                        zero = one - one
                        for k in range(n_in):
                            delta[k] = zero if acts[src + k] <= zero else prev[k]
                # first layer: the gradient waits until the chunk is done (_forward noted
                # the pixels); here the image's delta and the bias gradient
                b0 = boff[0]
                row = (s - c0) * stride
                for j in range(n1):
                    deltas[row + j] = delta[j]
                    grad[b0 + j] = grad[b0 + j] + delta[j]
            if not fused:  # a mini-batch of several chunks: add this chunk's sums to grad
                # (both calls pass the variable ``fused``, not a constant, so that numba
                # compiles one specialisation of the gather, not one per literal: -3.4 s)
                for t in range(n_chunk):
                    k = chunk_list[t]
                    touched_list[n_touched] = k
                    n_touched += 1 - touched[k]
                    touched[k] = 1
                _gather_columns(
                    theta,
                    grad,
                    chunk_list,
                    n_chunk,
                    w0,
                    stride,
                    deltas,
                    entry,
                    count,
                    table,
                    step,
                    fused,
                    zero,
                )
        # the update
        if decays.shape[0]:
            decay = decays[batch]
            for layer in range(n_layers):
                w = woff[layer]
                for q in range(w, boff[layer]):
                    theta[q] = theta[q] * decay
                if decay_biases:
                    b = boff[layer]
                    for q in range(b, b + sizes[layer + 1]):
                        theta[q] = theta[q] * decay
        for layer in range(1, n_layers):
            w = woff[layer]
            for q in range(w, w + sizes[layer] * sizes[layer + 1]):
                theta[q] = theta[q] - step * grad[q]
                grad[q] = 0.0
        transpose_deep(theta, wt, sizes, woff)
        for layer in range(n_layers):
            b = boff[layer]
            for q in range(b, b + sizes[layer + 1]):
                theta[q] = theta[q] - step * grad[q]
                grad[q] = 0.0
        if fused:  # the first layer's gradient, summed and applied column by column
            _gather_columns(
                theta,
                grad,
                chunk_list,
                n_chunk,
                w0,
                stride,
                deltas,
                entry,
                count,
                table,
                step,
                fused,
                zero,
            )
        for t in range(n_touched):
            k = touched_list[t]
            touched[k] = 0
            base = np.uint64(w0 + k * stride)
            for q in range(stride):
                at = base + np.uint64(q)
                theta[at] = theta[at] - step * grad[at]
                grad[at] = 0.0
    return touch  # keeps the reads above from being optimised away
