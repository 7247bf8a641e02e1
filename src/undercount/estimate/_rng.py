"""Random variates for the numba samplers, with an explicit per-chain state.

A chain owns its generator state (xoshiro256**, four uint64 words), so chains run in parallel
threads are reproducible from their seeds and never share a stream. The variates are the
textbook exact methods: Marsaglia and Tsang (2000) for gamma, Hörmann's transformed rejection
(BTRS, 1993; PTRS, 1993) for large binomial and Poisson means, inversion for small ones,
and multinomials by conditional binomials for the well-filled categories and categorical draws
for the rest. They are much faster than numba's ``np.random`` equivalents, which matters because one LCMCR
iteration draws hundreds of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit, uint64
from numba.core import options as _numba_options

__all__ = ["kernel", "new_state"]

# Kernels that take arrays but allocate none are compiled without the runtime's atomic
# reference counting (numba's private ``_nrt=False``, the switch its developers use to measure
# that cost, numba/numba#2350). A kernel that passes arrays to other kernels in a hot loop
# otherwise pays for reference-count updates on every call (about 50 ns a call with five
# arrays). Numba refuses to compile such a kernel if it allocates (a typing error on np.empty,
# tested), so the option cannot hide a leak. Empty where numba lacks it.
_NO_REFCOUNT: dict[str, bool] = {"_nrt": False} if hasattr(_numba_options.DefaultOptions, "_nrt") else {}

_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(fn: _F) -> _F:
    """Compile a sampler kernel: cached, without the GIL, numpy's error model, no reference counting.

    For functions that take arrays but allocate none (see ``_NO_REFCOUNT``); a kernel that
    allocates fails to compile.
    """
    options: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy", **_NO_REFCOUNT}
    return cast(_F, njit(**options)(fn))

_MASK = 0xFFFFFFFFFFFFFFFF
TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53: the top 53 bits of a draw, scaled to [0, 1)


def _splitmix(x: int) -> tuple[int, int]:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return x, z ^ (z >> 31)


def new_state(seed: int) -> np.ndarray:
    """A xoshiro256** state of four words seeded from ``seed`` by splitmix64.

    Args:
        seed: any non-negative integer.

    Returns:
        A uint64 array of length 4 (never all zero).
    """
    x = int(seed) & _MASK
    words = []
    for _ in range(4):
        x, z = _splitmix(x)
        words.append(z)
    return np.array(words, dtype=np.uint64)


@njit(cache=True, nogil=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << uint64(k)) | (x >> uint64(64 - k))


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """Layer edges and edge ratios of a 128-layer ziggurat for the normal density."""
    r = 3.442619855899
    v = 9.91256303526217e-3
    x = np.zeros(129)
    f = math.exp(-0.5 * r * r)
    x[0] = v / f
    x[1] = r
    for i in range(2, 128):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    ratio = x[1:] / x[:-1]
    return x, ratio


_ZIG_X, _ZIG_RATIO = _ziggurat_tables()
_ZIG_R = 3.442619855899


@njit(cache=True, nogil=True, inline="always")
def step(
    s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64, np.uint64]:
    """One xoshiro256** step on a state held in local variables: (output, new state words).

    Hot loops load the state once (``st[0]`` .. ``st[3]``), step it here and store it back,
    so that their draws do not wait on memory.
    """
    result = _rotl(s1 * uint64(5), 7) * uint64(9)
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


Draw = tuple[float, np.uint64, np.uint64, np.uint64, np.uint64]  # a variate and the new state words


@njit(cache=True, nogil=True, inline="always")
def unit(bits: np.uint64) -> float:
    """The top 53 bits of a draw as a uniform on [0, 1)."""
    return float(bits >> uint64(11)) * TO_UNIT


@njit(cache=True, nogil=True, inline="always")
def normal_words(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64) -> Draw:
    """A standard normal draw (Marsaglia and Tsang's ziggurat, 128 layers) from a state in locals."""
    while True:
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        layer = int(bits & uint64(127))
        u = 2.0 * unit(bits) - 1.0
        if abs(u) < _ZIG_RATIO[layer]:
            return float(u * _ZIG_X[layer]), s0, s1, s2, s3
        if layer == 0:
            while True:
                b1, s0, s1, s2, s3 = step(s0, s1, s2, s3)
                b2, s0, s1, s2, s3 = step(s0, s1, s2, s3)
                xt = math.log(1.0 - unit(b1)) / _ZIG_R
                yt = math.log(1.0 - unit(b2))
                if -2.0 * yt >= xt * xt:
                    return (xt - _ZIG_R if u < 0.0 else _ZIG_R - xt), s0, s1, s2, s3
        xv = float(u * _ZIG_X[layer])
        f0 = math.exp(-0.5 * (_ZIG_X[layer] ** 2 - xv * xv))
        f1 = math.exp(-0.5 * (_ZIG_X[layer + 1] ** 2 - xv * xv))
        b3, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        if f1 + unit(b3) * (f0 - f1) < 1.0:
            return xv, s0, s1, s2, s3


@njit(cache=True, nogil=True, inline="always")
def gamma_words(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, a: float) -> Draw:
    """A Gamma(a, 1) draw for a >= 1 from a state in locals (Marsaglia and Tsang; a = 1: exponential).

    Samplers that draw many gammas in a row keep the state in local variables through this
    function: the draws then do not wait on memory, which halves their cost.
    """
    if a == 1.0:  # the exponential: one logarithm of a uniform on the open interval (0, 1)
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        return -math.log((float(bits >> uint64(11)) + 0.5) * TO_UNIT), s0, s1, s2, s3
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x, s0, s1, s2, s3 = normal_words(s0, s1, s2, s3)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        u = 1.0 - unit(bits)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v, s0, s1, s2, s3
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v, s0, s1, s2, s3


@njit(cache=True, nogil=True, inline="always")
def beta_words(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, a: float, b: float) -> Draw:
    """A Beta(a, b) draw for shapes of at least 1 from a state in locals (ratio of gammas)."""
    if a == 1.0 and b == 1.0:
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        return unit(bits), s0, s1, s2, s3
    x, s0, s1, s2, s3 = gamma_words(s0, s1, s2, s3, a)
    y, s0, s1, s2, s3 = gamma_words(s0, s1, s2, s3, b)
    return x / (x + y), s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def normal(st: np.ndarray) -> float:
    """A standard normal draw (see :func:`normal_words`)."""
    x, st[0], st[1], st[2], st[3] = normal_words(st[0], st[1], st[2], st[3])
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def gamma(st: np.ndarray, a: float, scale: float) -> float:
    """A Gamma(shape a, scale) draw; a below 1 as Gamma(a + 1) * U^(1/a)."""
    g, s0, s1, s2, s3 = gamma_words(st[0], st[1], st[2], st[3], a if a >= 1.0 else a + 1.0)
    if a < 1.0:
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        g *= (1.0 - unit(bits)) ** (1.0 / a)
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return g * scale


@njit(cache=True, nogil=True, error_model="numpy")
def beta(st: np.ndarray, a: float, b: float) -> float:
    """A Beta(a, b) draw for shapes of at least 1 (ratio of gammas; Beta(1, 1) is uniform)."""
    x, st[0], st[1], st[2], st[3] = beta_words(st[0], st[1], st[2], st[3], a, b)
    return x


_LOG_FACT = np.array([math.lgamma(k + 1.0) for k in range(1024)])


@njit(cache=True, nogil=True, inline="always")
def _log_factorial(k: float) -> float:
    """log(k!) from a table below 1024, else Stirling's series (error below 1e-14)."""
    if k < 1024.0:
        return float(_LOG_FACT[int(k)])
    x = k + 1.0
    inv = 1.0 / x
    return (x - 0.5) * math.log(x) - x + 0.9189385332046728 + inv * (
        1.0 / 12.0 - inv * inv * (1.0 / 360.0 - inv * inv / 1260.0))


Count = tuple[int, np.uint64, np.uint64, np.uint64, np.uint64]  # a count and the new state words


@njit(cache=True, nogil=True, error_model="numpy")
def _binomial_inversion(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, n: int, p: float) -> Count:
    bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
    u = unit(bits)
    if u <= 1.0 - n * p:
        return 0, s0, s1, s2, s3  # (1 - p)^n >= 1 - np: the draw is 0 without computing the power
    q = 1.0 - p
    s = p / q
    a = (n + 1) * s
    r0 = math.exp(n * math.log1p(-p))
    while True:
        r = r0
        x = 0
        while u > r:
            u -= r
            x += 1
            r *= a / x - s
            if x > n or r < 1e-300:
                break
        if x <= n and u <= r:
            return x, s0, s1, s2, s3
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        u = unit(bits)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _binomial_btrs(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, n: int, p: float) -> Count:
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    # The constants of the exact test are needed only after a failed quick acceptance (about
    # one draw in three), so they are computed then.
    alpha = lpq = h = 0.0
    m = -1.0
    while True:
        b1, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        b2, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        u = unit(b1) - 0.5
        v = unit(b2)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return int(k), s0, s1, s2, s3
        if v <= 0.0:
            continue
        if m < 0.0:
            alpha = (2.83 + 5.1 / b) * spq
            lpq = math.log(p / q)
            m = math.floor((n + 1) * p)
            h = _log_factorial(m) + _log_factorial(n - m)
        v = math.log(v * alpha / (a / (us * us) + b))
        if v <= h - _log_factorial(k) - _log_factorial(n - k) + (k - m) * lpq:
            return int(k), s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def binomial_words(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, n: int, p: float) -> Count:
    """A Binomial(n, p) draw from a state in locals: inversion when n*min(p, 1-p) < 10, else BTRS."""
    if n <= 0 or p <= 0.0:
        return 0, s0, s1, s2, s3
    if p >= 1.0:
        return n, s0, s1, s2, s3
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    if n * pp < 10.0:
        x, s0, s1, s2, s3 = _binomial_inversion(s0, s1, s2, s3, n, pp)
    else:
        x, s0, s1, s2, s3 = _binomial_btrs(s0, s1, s2, s3, n, pp)
    return (n - x if flip else x), s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def binomial(st: np.ndarray, n: int, p: float) -> int:
    """A Binomial(n, p) draw (see :func:`binomial_words`)."""
    x, st[0], st[1], st[2], st[3] = binomial_words(st[0], st[1], st[2], st[3], n, p)
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def poisson_words(s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64, lam: float) -> Count:
    """A Poisson(lam) draw from a state in locals: multiplication for lam < 10, else PTRS."""
    if lam <= 0.0:
        return 0, s0, s1, s2, s3
    if lam < 10.0:
        limit = math.exp(-lam)
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        prod = unit(bits)
        k = 0
        while prod > limit:
            bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
            prod *= unit(bits)
            k += 1
        return k, s0, s1, s2, s3
    slam = math.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    loglam = log_invalpha = 0.0
    ready = False
    while True:
        b1, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        b2, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        u = unit(b1) - 0.5
        v = 1.0 - unit(b2)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return int(k), s0, s1, s2, s3
        if k < 0 or (us < 0.013 and v > us):
            continue
        if not ready:  # constants of the exact test, needed only after a failed quick acceptance
            loglam = math.log(lam)
            log_invalpha = math.log(1.1239 + 1.1328 / (b - 3.4))
            ready = True
        lhs = math.log(v) + log_invalpha - math.log(a / (us * us) + b)
        if lhs <= -lam + k * loglam - _log_factorial(k):
            return int(k), s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def poisson(st: np.ndarray, lam: float) -> int:
    """A Poisson(lam) draw (see :func:`poisson_words`)."""
    x, st[0], st[1], st[2], st[3] = poisson_words(st[0], st[1], st[2], st[3], lam)
    return x


BINOMIAL_MIN = 64.0
CHUNK = 256  # categorical draws made at once (the length of the int64 scratch buffer; even)


Words = tuple[np.uint64, np.uint64, np.uint64, np.uint64]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def categorical_words(
    s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64,
    n: int, cum: np.ndarray, m: int, idx: np.ndarray, out: np.ndarray, buf: np.ndarray,
) -> Words:
    """Add ``n`` categorical draws to ``out``: category ``idx[i]`` has cumulative weight ``cum[i]``, i < m.

    A draw is a 32-bit integer u, two from each generator step; it falls in the category of
    the first boundary above it, boundary i being ``cum[i] / cum[m - 1]`` scaled to 2^32 and
    rounded down. Each category's probability is thus exact to within 2^-32, the resolution of
    R's default uniform generator. The draws are made in chunks into ``buf`` (int64, of even
    length); then, boundary by boundary, counting the draws below it (an integer loop the
    compiler vectorises) gives the counts, so a draw costs about half a generator step rather
    than a search.
    """
    scale = 4294967296.0 / cum[m - 1]
    done = 0
    while done < n:
        chunk = min(n - done, buf.shape[0])
        for i in range(0, chunk, 2):  # an odd chunk fills one slot past it (buf has even length)
            bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
            buf[i] = np.int64(bits >> uint64(32))
            buf[i + 1] = np.int64(bits & uint64(0xFFFFFFFF))
        below_prev = 0
        for j in range(m - 1):
            edge = np.int64(cum[j] * scale)
            below = 0
            for i in range(chunk):
                below += buf[i] < edge
            out[idx[j]] += below - below_prev
            below_prev = below
            if below == chunk:  # every draw placed: the later (often tiny) categories get none
                break
        out[idx[m - 1]] += chunk - below_prev
        done += chunk
    return s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def multinomial_words(
    s0: np.uint64, s1: np.uint64, s2: np.uint64, s3: np.uint64,
    n: int, weights: np.ndarray, total: float, out: np.ndarray, cum: np.ndarray, idx: np.ndarray, buf: np.ndarray,
) -> Words:
    """Spread ``n`` draws over categories with unnormalised ``weights`` (sum ``total``) into ``out``.

    A category expected to receive at least ``BINOMIAL_MIN`` draws gets a conditional binomial
    draw (O(1) time with BTRS); the people left over are then shared among the other categories
    by one categorical draw each. Both stages are exact for the multinomial (what is left after
    some conditional binomials is multinomial over the remaining categories), and together they
    cost about as much as the few binomials, whatever ``n``. ``cum`` and ``idx`` are scratch
    arrays of the length of ``weights``, ``buf`` an int64 scratch array of even length (see
    :func:`categorical_words`); ``out`` is overwritten. Returns the new state words.
    """
    k_max = weights.shape[0]
    cut = total * BINOMIAL_MIN / n if n > 0 else np.inf
    small = 0.0
    m = 0
    last_big = -1
    for k in range(k_max):  # branch-free: the write at m is kept only when the class is small
        out[k] = 0
        w = weights[k]
        is_small = 0.0 < w < cut
        small += w if is_small else 0.0
        cum[m] = small
        idx[m] = k
        m += is_small
        last_big = k if w >= cut else last_big
    remaining = n
    rest = total
    for k in range(last_big + 1):
        w = weights[k]
        if w < cut or remaining == 0:
            continue
        if k == last_big and m == 0:
            out[k] = remaining
            remaining = 0
            break
        share = w / rest
        if share >= 1.0:
            x = remaining
        else:
            x, s0, s1, s2, s3 = binomial_words(s0, s1, s2, s3, remaining, share)
        out[k] = x
        remaining -= x
        rest -= w
    if remaining > 0:
        s0, s1, s2, s3 = categorical_words(s0, s1, s2, s3, remaining, cum, m, idx, out, buf)
    return s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def multinomial(
    st: np.ndarray, n: int, weights: np.ndarray, total: float, out: np.ndarray, cum: np.ndarray, idx: np.ndarray
) -> None:
    """A multinomial draw into ``out`` (see :func:`multinomial_words`)."""
    buf = np.empty(CHUNK, dtype=np.int64)
    st[0], st[1], st[2], st[3] = multinomial_words(st[0], st[1], st[2], st[3], n, weights, total, out, cum, idx, buf)
