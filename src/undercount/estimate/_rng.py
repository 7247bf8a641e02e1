"""Random variates for the numba samplers, with an explicit per-chain state.

A chain owns its generator state (xoshiro256**, four uint64 words), so chains run in parallel
threads are reproducible from their seeds and never share a stream. The variates are the
textbook exact methods: Marsaglia and Tsang (2000) for gamma, Hörmann's transformed rejection
(BTRS, 1993; PTRS, 1993) for large binomial and Poisson means, inversion for small ones.
They are much faster than numba's ``np.random`` equivalents, which matters because one LCMCR
iteration draws hundreds of them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

__all__ = ["new_state"]

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


@njit(cache=True, nogil=True, inline="always")
def uniform(st: np.ndarray) -> float:
    """A uniform draw on [0, 1) from the state ``st`` (xoshiro256**)."""
    return float(_next(st) >> uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline="always")
def open_uniform(st: np.ndarray) -> float:
    """A uniform draw on (0, 1]."""
    return 1.0 - uniform(st)


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
    so that their draws do not wait on memory; the stream is the same as :func:`uniform`'s.
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


@njit(cache=True, nogil=True, inline="always")
def _next(st: np.ndarray) -> np.uint64:
    result, st[0], st[1], st[2], st[3] = step(st[0], st[1], st[2], st[3])
    return result


@njit(cache=True, nogil=True, inline="always")
def normal(st: np.ndarray) -> float:
    """A standard normal draw (Marsaglia and Tsang's ziggurat, 128 layers)."""
    while True:
        bits = _next(st)
        layer = int(bits & uint64(127))
        u = 2.0 * (float(bits >> uint64(11)) * (1.0 / 9007199254740992.0)) - 1.0
        if abs(u) < _ZIG_RATIO[layer]:
            return float(u * _ZIG_X[layer])
        if layer == 0:
            while True:
                xt = math.log(open_uniform(st)) / _ZIG_R
                yt = math.log(open_uniform(st))
                if -2.0 * yt >= xt * xt:
                    return xt - _ZIG_R if u < 0.0 else _ZIG_R - xt
        xv = float(u * _ZIG_X[layer])
        f0 = math.exp(-0.5 * (_ZIG_X[layer] ** 2 - xv * xv))
        f1 = math.exp(-0.5 * (_ZIG_X[layer + 1] ** 2 - xv * xv))
        if f1 + uniform(st) * (f0 - f1) < 1.0:
            return xv


@njit(cache=True, nogil=True, inline="always")
def exponential(st: np.ndarray) -> float:
    """A standard exponential draw, -log of a uniform on the open interval (0, 1) (never 0)."""
    return -math.log((float(_next(st) >> uint64(11)) + 0.5) * (1.0 / 9007199254740992.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_large(st: np.ndarray, a: float) -> float:
    if a == 1.0:
        return exponential(st)  # Gamma(1) is the exponential: one logarithm, no rejection loop
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = open_uniform(st)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v


@njit(cache=True, nogil=True, error_model="numpy")
def log_gamma_variate(st: np.ndarray, a: float) -> float:
    """The log of a Gamma(a, 1) draw, accurate for tiny shapes (no underflow to log 0)."""
    if a >= 1.0:
        return math.log(_gamma_large(st, a))
    return math.log(_gamma_large(st, a + 1.0)) + math.log(open_uniform(st)) / a


@njit(cache=True, nogil=True, error_model="numpy")
def gamma(st: np.ndarray, a: float, scale: float) -> float:
    """A Gamma(shape a, scale) draw."""
    if a >= 1.0:
        return _gamma_large(st, a) * scale
    return float(_gamma_large(st, a + 1.0) * open_uniform(st) ** (1.0 / a) * scale)


@njit(cache=True, nogil=True, error_model="numpy")
def beta(st: np.ndarray, a: float, b: float) -> float:
    """A Beta(a, b) draw for shapes of at least 1 (ratio of gammas; Beta(1, 1) is uniform)."""
    if a == 1.0 and b == 1.0:
        return uniform(st)
    x = _gamma_large(st, a)
    y = _gamma_large(st, b)
    return x / (x + y)


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


@njit(cache=True, nogil=True, error_model="numpy")
def _binomial_inversion(st: np.ndarray, n: int, p: float) -> int:
    u = uniform(st)
    if u <= 1.0 - n * p:
        return 0  # (1 - p)^n >= 1 - np: the draw is 0 without computing the power
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
            return x
        u = uniform(st)


@njit(cache=True, nogil=True, error_model="numpy")
def _binomial_btrs(st: np.ndarray, n: int, p: float) -> int:
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    # The constants of the exact test are needed only after a failed quick acceptance (about
    # one draw in seven), so they are computed then.
    alpha = lpq = h = 0.0
    m = -1.0
    while True:
        u = uniform(st) - 0.5
        v = uniform(st)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return int(k)
        if v <= 0.0:
            continue
        if m < 0.0:
            alpha = (2.83 + 5.1 / b) * spq
            lpq = math.log(p / q)
            m = math.floor((n + 1) * p)
            h = _log_factorial(m) + _log_factorial(n - m)
        v = math.log(v * alpha / (a / (us * us) + b))
        if v <= h - _log_factorial(k) - _log_factorial(n - k) + (k - m) * lpq:
            return int(k)


@njit(cache=True, nogil=True, error_model="numpy")
def binomial(st: np.ndarray, n: int, p: float) -> int:
    """A Binomial(n, p) draw: inversion when n*min(p, 1-p) < 10, else BTRS."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    x = _binomial_inversion(st, n, pp) if n * pp < 10.0 else _binomial_btrs(st, n, pp)
    return n - x if flip else x


@njit(cache=True, nogil=True, error_model="numpy")
def poisson(st: np.ndarray, lam: float) -> int:
    """A Poisson(lam) draw: multiplication for lam < 10, else PTRS."""
    if lam <= 0.0:
        return 0
    if lam < 10.0:
        limit = math.exp(-lam)
        prod = uniform(st)
        k = 0
        while prod > limit:
            prod *= uniform(st)
            k += 1
        return k
    slam = math.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    loglam = log_invalpha = 0.0
    ready = False
    while True:
        u = uniform(st) - 0.5
        v = open_uniform(st)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if not ready:  # constants of the exact test, needed only after a failed quick acceptance
            loglam = math.log(lam)
            log_invalpha = math.log(1.1239 + 1.1328 / (b - 3.4))
            ready = True
        lhs = math.log(v) + log_invalpha - math.log(a / (us * us) + b)
        if lhs <= -lam + k * loglam - _log_factorial(k):
            return int(k)


BINOMIAL_MIN = 32.0


@njit(cache=True, nogil=True, error_model="numpy")
def categorical_counts(st: np.ndarray, n: int, cum: np.ndarray, m: int, idx: np.ndarray, out: np.ndarray) -> None:
    """Add ``n`` categorical draws to ``out``: category ``idx[i]`` has cumulative weight ``cum[i]``, i < m.

    The generator state is held in local variables for the loop (the same xoshiro256** steps
    as :func:`uniform`), so the draws do not wait on stores to ``out``.
    """
    top = cum[m - 1] * TO_UNIT
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    for _ in range(n):
        bits, s0, s1, s2, s3 = step(s0, s1, s2, s3)
        target = float(bits >> uint64(11)) * top
        chosen = 0
        for i in range(m - 1):
            chosen += cum[i] <= target  # branch-free: no mispredicted jumps
        out[idx[chosen]] += 1
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3


@njit(cache=True, nogil=True, error_model="numpy")
def multinomial(
    st: np.ndarray, n: int, weights: np.ndarray, total: float, out: np.ndarray, cum: np.ndarray, idx: np.ndarray
) -> None:
    """Spread ``n`` draws over categories with unnormalised ``weights`` (sum ``total``) into ``out``.

    A category expected to receive at least ``BINOMIAL_MIN`` draws gets a conditional binomial
    draw (O(1) time with BTRS); the people left over are then shared among the other categories
    by one categorical draw each. Both stages are exact for the multinomial (what is left after
    some conditional binomials is multinomial over the remaining categories), and together they
    cost about as much as the few binomials, whatever ``n``. ``cum`` and ``idx`` are scratch
    arrays of the length of ``weights``; ``out`` is overwritten.
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
        x = remaining if share >= 1.0 else binomial(st, remaining, share)
        out[k] = x
        remaining -= x
        rest -= w
    if remaining > 0:
        categorical_counts(st, remaining, cum, m, idx, out)
