"""The numba Gibbs sampler behind :func:`undercount.estimate.lcmcr.fit_lcmcr`.

Model (Manrique-Vallier 2016): each person belongs to one of K latent classes with weights
``nu`` from a truncated stick-breaking prior (V_k ~ Beta(1, alpha), alpha ~ Gamma(a, b));
within class k list j records the person with probability lambda_jk ~ Beta(1, 1),
independently across lists; the prior on N is proportional to 1/N.

The sampler works on the cell table, not on persons: its state holds, for every observed
capture pattern, how many of its people sit in each class. One iteration:

1. class counts per observed cell ~ Multinomial(count, nu_k * P(pattern | k));
2. lambda_jk ~ Beta(1 + recorded, 1 + not recorded), counting the unobserved people too;
3. nu by stick-breaking, with the leftover stick scaled so that tiny weights do not underflow;
4. the number never recorded n0 ~ NegBin(n, 1 - P(all-zero pattern)), which is its
   conditional under the 1/N prior, and their classes ~ Multinomial(n0, nu_k * P(0 | k)),
   drawn together as one Poisson per class given a Gamma rate (:func:`_sample_missing`);
5. alpha ~ Gamma(a + K - 1, b - log nu_K).

Optional moves: the joint update of each class's never-recorded count (:func:`_joint_missing`),
and, before step 1, a Hamiltonian Monte Carlo trajectory on lambda and the weights with the
classes and N integrated out (:func:`_hmc`), followed by a fresh draw of the never-recorded people.

To keep the cost per cell low the lists are split in two blocks; P(pattern | k) is the product
of a first-block and a second-block factor, each tabulated once per iteration for the block
patterns that occur. A cell's multinomial takes a binomial draw for each class expected to
hold ``BINOMIAL_MIN`` (64) of its people or more and one categorical draw per remaining person
(:func:`undercount.estimate._rng.multinomial_words`, inlined). Each kernel keeps the generator
state in local variables while it draws, and the kernels, which take arrays but allocate none,
are compiled without reference counting (:func:`undercount.estimate._rng.kernel`): with it, a
call that passed arrays cost about 50 ns even when it did nothing, and the cell loop makes one
or two a cell.
Chains are independent calls with their own generator state, so several run in parallel
threads (the kernels release the GIL).

Where the time goes (Kosovo, 15 cells, about 4.7 microseconds of CPU per iteration): the cell
multinomials about 65% (per iteration about 14 binomial draws at 50-60 ns, 400-1,100
categorical draws at 1-2 ns, and 0.6 microseconds of bookkeeping), the 40 Beta draws of lambda
about 20%, n0 and its classes 7%, the stick-breaking 6%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from undercount.estimate import _rng

__all__ = ["BlockedCells", "Chain", "ChainState", "block_cells", "run_chain"]

WARMUP = 500
JOINT_SHARE = 200  # classes with at least n / JOINT_SHARE recorded people get the joint move
COUNTED = 16  # cells from this size up count their categorical draws (categorical_words)


@dataclass(frozen=True)
class BlockedCells:
    """Observed cells coded by two blocks of lists (see the module docstring).

    Attributes:
        pat_a, pat_b: distinct patterns of the first and second block (int8, one row each).
        code_a, code_b: per cell, the row of its pattern in ``pat_a`` and ``pat_b``.
        freq: per cell, its count of people.
    """

    pat_a: np.ndarray
    pat_b: np.ndarray
    code_a: np.ndarray
    code_b: np.ndarray
    freq: np.ndarray


def block_cells(patterns: np.ndarray, counts: np.ndarray) -> BlockedCells:
    """Split each observed pattern into two blocks of lists and code the blocks.

    Args:
        patterns: (cells, J) 0/1 array of observed capture patterns, J >= 2.
        counts: (cells,) positive counts.

    Returns:
        The distinct block patterns and, per cell, the index of its two block patterns.

    Example:
        >>> cells = block_cells(np.array([[1, 0, 1], [0, 1, 1]]), np.array([4, 5]))
        >>> cells.pat_a.shape, cells.pat_b.shape
        ((2, 2), (1, 1))
    """
    split = (patterns.shape[1] + 1) // 2
    coded = []
    for part in (patterns[:, :split], patterns[:, split:]):
        uniq, code = np.unique(part, axis=0, return_inverse=True)
        coded.append((np.ascontiguousarray(uniq, dtype=np.int8), code.reshape(-1).astype(np.int64)))
    (pat_a, code_a), (pat_b, code_b) = coded
    return BlockedCells(pat_a, pat_b, code_a, code_b, counts.astype(np.int64))


@_rng.kernel
def _block_table(pat: np.ndarray, lam: np.ndarray, offset: int, out: np.ndarray) -> None:
    """out[u, k] = P(block pattern u | class k): the product over the block's lists, list by list."""
    n_pat, n_j = pat.shape
    n_k = lam.shape[1]
    for u in range(n_pat):
        for k in range(n_k):
            out[u, k] = 1.0
        for j in range(n_j):  # classes innermost: contiguous, vectorised
            if pat[u, j] == 1:
                for k in range(n_k):
                    out[u, k] *= lam[offset + j, k]
            else:
                for k in range(n_k):
                    out[u, k] *= 1.0 - lam[offset + j, k]


@_rng.kernel
def _sample_cells(
    st: np.ndarray,
    cells_a: np.ndarray,
    cells_b: np.ndarray,
    freq: np.ndarray,
    tab_a: np.ndarray,
    tab_b: np.ndarray,
    nu: np.ndarray,
    z_a: np.ndarray,
    z_b: np.ndarray,
    weights: np.ndarray,
    draw: np.ndarray,
    cum: np.ndarray,
    idx: np.ndarray,
    buf: np.ndarray,
) -> None:
    """Draw the class counts of every observed cell; tally them per block pattern.

    A cell too small for any class to expect ``BINOMIAL_MIN`` people draws each person's class
    from the cumulative weights (from ``COUNTED`` people on, by counting the draws below each
    boundary); a larger one draws its class counts with
    :func:`undercount.estimate._rng.multinomial_words`.
    """
    n_k = nu.shape[0]
    z_a[:, :] = 0
    z_b[:, :] = 0
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]  # the generator state in locals (see gamma_words)
    for m in range(freq.shape[0]):
        a = cells_a[m]
        b = cells_b[m]
        c = freq[m]
        if c < _rng.BINOMIAL_MIN:
            total = 0.0
            for k in range(n_k):
                total += nu[k] * tab_a[a, k] * tab_b[b, k]
                weights[k] = total
            if c >= COUNTED:  # the same draws, counted boundary by boundary
                for k in range(n_k):
                    draw[k] = 0
                    idx[k] = k
                s0, s1, s2, s3 = _rng.categorical_words(s0, s1, s2, s3, c, weights, n_k, idx, draw, buf)
                for k in range(n_k):
                    z_a[a, k] += draw[k]
                    z_b[b, k] += draw[k]
                continue
            for _ in range(c):
                bits, s0, s1, s2, s3 = _rng.step(s0, s1, s2, s3)
                target = _rng.unit(bits) * total
                chosen = 0
                for k in range(n_k - 1):
                    chosen += weights[k] <= target  # branch-free: no mispredicted jumps
                z_a[a, chosen] += 1
                z_b[b, chosen] += 1
        else:
            total = 0.0
            for k in range(n_k):
                w = nu[k] * tab_a[a, k] * tab_b[b, k]
                weights[k] = w
                total += w
            s0, s1, s2, s3 = _rng.multinomial_words(s0, s1, s2, s3, c, weights, total, draw, cum, idx, buf)
            for k in range(n_k):
                z_a[a, k] += draw[k]
                z_b[b, k] += draw[k]
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3


@_rng.kernel
def _recorded(pat_a: np.ndarray, pat_b: np.ndarray, z_a: np.ndarray, z_b: np.ndarray, ones: np.ndarray) -> None:
    """ones[j, k] = recorded people of class k on list j (the never-recorded are on no list)."""
    n_k = ones.shape[1]
    split = pat_a.shape[1]
    ones[:, :] = 0
    for pat, z, offset in ((pat_a, z_a, 0), (pat_b, z_b, split)):
        for u in range(pat.shape[0]):
            for j in range(pat.shape[1]):
                if pat[u, j] == 1:
                    for k in range(n_k):  # classes innermost: contiguous, vectorised
                        ones[offset + j, k] += z[u, k]


@_rng.kernel
def _sample_lambda(
    st: np.ndarray,
    pat_a: np.ndarray,
    pat_b: np.ndarray,
    z_a: np.ndarray,
    z_b: np.ndarray,
    count_k: np.ndarray,
    lam: np.ndarray,
    ones: np.ndarray,
) -> None:
    """lambda_jk ~ Beta(1 + recorded_jk, 1 + class size - recorded_jk); ``ones`` is scratch (J, K)."""
    n_k = lam.shape[1]
    _recorded(pat_a, pat_b, z_a, z_b, ones)
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]  # the generator state in locals (see gamma_words)
    for j in range(lam.shape[0]):
        for k in range(n_k):
            recorded = ones[j, k]
            lam[j, k], s0, s1, s2, s3 = _rng.beta_words(
                s0, s1, s2, s3, 1.0 + recorded, 1.0 + count_k[k] - recorded)
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3


@_rng.kernel
def _sample_nu(st: np.ndarray, count_k: np.ndarray, total: int, alpha: float, nu: np.ndarray) -> float:
    """Stick-breaking weights given the class sizes; returns the log of the last weight.

    Stick k breaks at V_k = G1 / (G1 + G2), G1 ~ Gamma(1 + n_k), G2 ~ Gamma(alpha + n_(>k)).
    The weights are computed directly, without logarithms, except where G2 (shape below 1:
    all later classes empty) would underflow; that stick is broken in log space. What is left
    of the stick is kept as ``rest * exp(log_scale)``, so tiny weights never underflow to 0 and
    the log of the last weight (for the update of alpha) stays exact.
    """
    n_k = nu.shape[0]
    acc = 0
    rest = 1.0
    log_scale = 0.0
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]  # the generator state in locals (see gamma_words)
    for k in range(n_k - 1):
        acc += count_k[k]
        shape2 = alpha + (total - acc)
        scale = 1.0 if log_scale == 0.0 else math.exp(log_scale)
        g1, s0, s1, s2, s3 = _rng.gamma_words(s0, s1, s2, s3, 1.0 + count_k[k])
        if shape2 >= 1.0:
            g2, s0, s1, s2, s3 = _rng.gamma_words(s0, s1, s2, s3, shape2)
        else:
            # Gamma(s) = Gamma(s + 1) * U^(1/s); the power can underflow when s is tiny, and
            # then the stick is broken in log space.
            g2, s0, s1, s2, s3 = _rng.gamma_words(s0, s1, s2, s3, shape2 + 1.0)
            bits, s0, s1, s2, s3 = _rng.step(s0, s1, s2, s3)
            log_power = math.log(1.0 - _rng.unit(bits)) / shape2
            if log_power > -250.0:
                g2 *= math.exp(log_power)
            else:
                l1 = math.log(g1)
                l2 = math.log(g2) + log_power
                log_sum = l1 + math.log1p(math.exp(l2 - l1))  # l2 < l1 - 200 here
                nu[k] = rest * math.exp(l1 - log_sum) * scale
                log_scale += math.log(rest) + l2 - log_sum
                rest = 1.0
                continue
        inv = 1.0 / (g1 + g2)
        nu[k] = rest * (g1 * inv) * scale
        rest *= g2 * inv
        if rest < 1e-150:
            log_scale += math.log(rest)
            rest = 1.0
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    nu[n_k - 1] = rest * math.exp(log_scale)
    return math.log(rest) + log_scale


@_rng.kernel
def _sample_missing(
    st: np.ndarray, n: int, lam: np.ndarray, nu: np.ndarray, max_n0: int, weights: np.ndarray, count0: np.ndarray,
    cum: np.ndarray, idx: np.ndarray, buf: np.ndarray,
) -> tuple[int, bool]:
    """The never-recorded people per class; returns their number n0 and whether it hit ``max_n0``.

    Under the 1/N prior n0 ~ NegBin(n, 1 - p0), p0 = P(unrecorded), which is Poisson with a
    Gamma(n) * p0 / (1 - p0) rate; and the classes of a Poisson number of people are
    independent Poissons. So, with G ~ Gamma(n), the class counts are drawn directly as
    Poisson(G * nu_k * P(0 | k) / (1 - p0)), ten small draws instead of a Poisson and a
    multinomial. Past the cap, n0 = ``max_n0`` and its classes are multinomial.
    """
    n_k = nu.shape[0]
    p_zero = 0.0
    for k in range(n_k):
        prod = nu[k]
        for j in range(lam.shape[0]):
            prod *= 1.0 - lam[j, k]
        weights[k] = prod
        p_zero += prod
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]  # the generator state in locals (see gamma_words)
    n0 = max_n0
    if p_zero < 1.0 - 1e-12:
        g, s0, s1, s2, s3 = _rng.gamma_words(s0, s1, s2, s3, float(n))  # n >= 1 people documented
        scale = g / (1.0 - p_zero)
        if scale * p_zero <= max_n0:
            n0 = 0
            for k in range(n_k):
                x, s0, s1, s2, s3 = _rng.poisson_words(s0, s1, s2, s3, scale * weights[k])
                count0[k] = x
                n0 += x
            if n0 <= max_n0:
                st[0], st[1], st[2], st[3] = s0, s1, s2, s3
                return n0, False
            n0 = max_n0
    st[0], st[1], st[2], st[3] = _rng.multinomial_words(s0, s1, s2, s3, n0, weights, p_zero, count0, cum, idx, buf)
    return n0, True


HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gammas(x: float) -> tuple[float, float, float]:
    """log Gamma(x), digamma(x) and trigamma(x) for x > 0, sharing one recurrence and one logarithm.

    Recurrence up to 6, then the asymptotic (Stirling) series: log Gamma to within about 1e-13
    (the series to x^-13; its next term is below 7e-14 at 6); digamma and trigamma by their
    asymptotic series (to x^-6 and x^-7). ``math.lgamma`` and a digamma and a trigamma computed
    apart cost more: the joint move (:func:`_missing_target`) evaluates about twenty of each per class.
    """
    acc_d = 0.0
    acc_t = 0.0
    prod = 1.0
    while x < 6.0:
        acc_d -= 1.0 / x
        acc_t += 1.0 / (x * x)
        prod *= x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    log_x = math.log(x)
    dg = acc_d + log_x - 0.5 * inv - inv2 * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 / 252.0))
    tg = acc_t + inv + 0.5 * inv2 + inv * inv2 * (1.0 / 6.0 - inv2 * (1.0 / 30.0 - inv2 / 42.0))
    series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (
        1.0 / 1680.0 - inv2 * (1.0 / 1188.0 - inv2 * (691.0 / 360360.0 - inv2 / 156.0))))))
    lg = (x - 0.5) * log_x - x + HALF_LOG_2PI + series
    if prod != 1.0:
        lg -= math.log(prod)
    return lg, dg, tg


@njit(cache=True, nogil=True, error_model="numpy")
def _missing_target(
    m: float, k: int, rest: float, x: np.ndarray, ones: np.ndarray, count0: np.ndarray, alpha: float,
) -> tuple[float, float, float]:
    """log p(n0_k = m | observed classes, other n0, alpha) with lambda_k and nu integrated out, and its
    first two derivatives in m (continuous extension).

    ``rest`` is n plus the never-recorded people of the other classes. The terms: the 1/N prior with
    N!/n0_k! (Gamma(N) / m!); lambda_jk ~ Beta(1, 1) integrated (Beta functions of the recorded and
    not-recorded counts of class k); the stick-breaking weights integrated: stick l < K breaks at
    V_l ~ Beta(1, alpha), so E[prod nu^size] = prod_l B(1 + size_l, alpha + size after l) / B(1, alpha).
    """
    n_k = x.shape[0]
    xk = float(x[k])
    la, da, ta = _gammas(rest + m)
    lb, db, tb = _gammas(m + 1.0)
    f = la - lb
    d1 = da - db
    d2 = ta - tb
    for j in range(ones.shape[0]):
        la, da, ta = _gammas(1.0 + xk - ones[j, k] + m)
        lb, db, tb = _gammas(2.0 + xk + m)
        f += la - lb
        d1 += da - db
        d2 += ta - tb
    # The sticks. With a_l = alpha + xk + m + the people of the classes after l but k, stick l < k
    # gives log Gamma(a_l) - log Gamma(1 + a_(l-1)), and stick k, unless k is the last class,
    # log Gamma(1 + xk + m) - log Gamma(1 + a_k); a_(k-1) = a_k and a_(-1) = alpha + rest + m. As
    # Gamma(1 + a) = a Gamma(a), the sum telescopes to one pair of log Gammas and a logarithm for
    # each stick before k (the last class: before k - 1, whose a_(k-1) = alpha + xk + m).
    last = k == n_k - 1
    la, da, ta = _gammas(alpha + xk + m if last else 1.0 + xk + m)
    lb, db, tb = _gammas(1.0 + alpha + rest + m)
    f += la - lb
    d1 += da - db
    d2 += ta - tb
    after = 0.0  # people in the classes after l, class k excluded
    for l in range(n_k - 1, k, -1):
        after += float(x[l] + count0[l])
    for l in range(k - 1, -1, -1):
        if l < k - 1:
            after += float(x[l + 1] + count0[l + 1])
        if last and l == k - 1:
            continue
        a = alpha + after + xk + m
        f -= math.log(a)
        d1 -= 1.0 / a
        d2 += 1.0 / (a * a)
    return f, d1, d2


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _proposal(m: float, d1: float, d2: float) -> tuple[float, float]:
    """Centre and spread of the proposal for log(n0_k + 1), from the log target's derivatives at m.

    On t = log(m + 1) the target's tails (polynomial in m: a class whose members are seldom
    recorded twice may hold very many) become nearly linear, and the log density of t,
    g(t) = f(e^t - 1) + t, is nearly quadratic near its mode: one Newton step towards it, with the
    spread of its curvature (at most 1 on the log scale); where g is not concave, a gradient step.
    """
    e = m + 1.0
    g1 = d1 * e + 1.0
    g2 = d2 * e * e + d1 * e
    t = math.log(e)
    if g2 < -1e-12:
        step = min(max(-g1 / g2, -2.0), 2.0)
        sd = min(1.0 / math.sqrt(-g2), 1.0)
    else:
        step = min(max(g1, -1.0), 1.0)
        sd = 1.0
    return t + step, sd


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _log_proposal(value: float, centre: float, sd: float) -> float:
    """log P(proposal = value): log(value + 1) <= t' < log(value + 2), t' ~ N(centre, sd^2)."""
    lo = (math.log(value + 1.0) - centre) / (sd * math.sqrt(2.0))
    hi = (math.log(value + 2.0) - centre) / (sd * math.sqrt(2.0))
    if lo >= 0.0:  # upper tail: differences of erfc keep their precision
        mass = 0.5 * (math.erfc(lo) - math.erfc(hi))
    elif hi <= 0.0:
        mass = 0.5 * (math.erfc(-hi) - math.erfc(-lo))
    else:
        mass = 1.0 - 0.5 * (math.erfc(-lo) + math.erfc(hi))
    return math.log(mass) if mass > 0.0 else -math.inf


@_rng.kernel
def _joint_missing(
    st: np.ndarray, n: int, x: np.ndarray, ones: np.ndarray, count0: np.ndarray, alpha: float, max_n0: int,
) -> None:
    """Update each class's never-recorded count with its lambdas and the weights integrated out.

    The Gibbs steps alone move N slowly: given n0_k, lambda_k is pinned near recorded / (size incl.
    n0_k), and given lambda_k, n0_k is pinned near its expectation, so N random-walks along a ridge
    in small steps. Here n0_k is drawn from p(n0_k | observed class counts, other n0, alpha), the
    lambdas of class k and the stick-breaking weights integrated out in closed form
    (:func:`_missing_target`), by a Metropolis-Hastings step whose proposal is a normal on
    log(n0_k + 1) around a Newton step to the mode with the target's curvature, rounded down to a
    count (:func:`_proposal`; the Hastings ratio uses the exact probabilities of the counts). The
    lambdas and weights are then drawn given the new counts (the usual steps), which makes it a
    partially collapsed Gibbs sampler: nothing between these draws conditions on the old lambdas
    or weights. Classes holding fewer than one in ``JOINT_SHARE`` of the recorded people are left
    to the usual step (a choice made from the recorded people alone, so the move stays exact).
    """
    total0 = 0
    for k in range(x.shape[0]):
        total0 += count0[k]
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    floor = max(1, n // JOINT_SHARE)
    for k in range(x.shape[0]):
        if x[k] < floor:  # which classes get the move depends on recorded people only, never on n0
            continue
        m = float(count0[k])
        rest = float(n + total0 - count0[k])
        f, d1, d2 = _missing_target(m, k, rest, x, ones, count0, alpha)
        centre, sd = _proposal(m, d1, d2)
        z, s0, s1, s2, s3 = _rng.normal_words(s0, s1, s2, s3)
        bits, s0, s1, s2, s3 = _rng.step(s0, s1, s2, s3)
        u = 1.0 - _rng.unit(bits)
        t_new = centre + sd * z
        if t_new < 0.0 or t_new > 50.0:
            continue
        new = math.floor(math.exp(t_new)) - 1.0
        if new < 0.0 or new == m or total0 - count0[k] + new > max_n0:
            continue
        f_new, d1_new, d2_new = _missing_target(new, k, rest, x, ones, count0, alpha)
        back_centre, back_sd = _proposal(new, d1_new, d2_new)
        log_ratio = (f_new - f + _log_proposal(m, back_centre, back_sd)
                     - _log_proposal(new, centre, sd))
        if math.log(u) < log_ratio:
            total0 += int(new) - count0[k]
            count0[k] = int(new)
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3


HMC_LENGTH = 2.5  # a trajectory's longest path (logit units; its steps: HMC_LENGTH / step size, at most HMC_MAX_STEPS)
HMC_MAX_STEPS = 1000
HMC_TUNE = 300  # iterations after the warm-up that tune the step size (discarded)
HMC_ACCEPT = 0.8  # the acceptance rate the step size is tuned to


@_rng.kernel
def _collapsed(
    hw: np.ndarray, row: int, grad_row: int, pat: np.ndarray, freq: np.ndarray, n: int, alpha: float,
    lam: np.ndarray, nu: np.ndarray, hk: np.ndarray,
) -> float:
    """log p(logit lambda, logit V | alpha, recorded cells) with the classes and N integrated out; its gradient.

    Given the class weights nu (stick breaks V) and lambda, the recorded cells are multinomial with
    probabilities p_c = sum_k nu_k prod_j lambda_jk^x_j (1 - lambda_jk)^(1 - x_j) and, under the 1/N
    prior, N integrates out to prod_c (p_c / (1 - p0))^n_c (p0: the all-zero pattern). Priors:
    lambda ~ Beta(1, 1), V_k ~ Beta(1, alpha); with the Jacobians of the logit transforms. The
    point is ``hw[row]`` (lambda row by row, J * K, then the K - 1 stick logits); the gradient goes
    to ``hw[grad_row]``; ``lam``, ``nu`` receive the point's lambda and weights; ``hk`` (3, K) is
    scratch. Returns -inf where a weight underflows to 0 or a lambda rounds to 0 or 1 (such points
    are left to the Gibbs steps).
    """
    n_j, n_k = lam.shape
    off = n_j * n_k
    for j in range(n_j):
        for k in range(n_k):
            t = hw[row, j * n_k + k]
            value = 1.0 / (1.0 + math.exp(-t))
            if value <= 0.0 or value >= 1.0:
                return -math.inf
            lam[j, k] = value
    rest = 1.0
    for k in range(n_k - 1):
        value = 1.0 / (1.0 + math.exp(-hw[row, off + k]))
        hk[0, k] = value
        nu[k] = rest * value
        rest *= 1.0 - value
    nu[n_k - 1] = rest
    for k in range(n_k):
        if not nu[k] > 0.0:
            return -math.inf
        hk[1, k] = 0.0  # d log p / d nu_k
    for i in range(off + n_k - 1):
        hw[grad_row, i] = 0.0
    lp = 0.0
    for c in range(pat.shape[0] + 1):  # the recorded cells, then the all-zero pattern
        p_c = 0.0
        for k in range(n_k):
            q = 1.0
            for j in range(n_j):
                q *= (lam[j, k] if pat[c, j] == 1 else 1.0 - lam[j, k]) if c < pat.shape[0] else 1.0 - lam[j, k]
            hk[2, k] = q
            p_c += nu[k] * q
        if c < pat.shape[0]:
            if freq[c] == 0:
                continue
            lp += freq[c] * math.log(p_c)
            g = freq[c] / p_c
        else:
            lp -= n * math.log1p(-p_c)
            g = n / (1.0 - p_c)
        for k in range(n_k):
            gq = g * hk[2, k]
            hk[1, k] += gq
            w = gq * nu[k]
            for j in range(n_j):
                on = pat[c, j] == 1 if c < pat.shape[0] else False
                hw[grad_row, j * n_k + k] += w * (1.0 - lam[j, k] if on else -lam[j, k])
    for j in range(n_j):
        for k in range(n_k):
            value = lam[j, k]
            lp += math.log(value) + math.log1p(-value)
            hw[grad_row, j * n_k + k] += 1.0 - 2.0 * value
    later = hk[1, n_k - 1] * nu[n_k - 1]  # sum over classes after i of d log p / d nu_k * nu_k
    for i in range(n_k - 2, -1, -1):
        v = hk[0, i]
        hw[grad_row, off + i] = (1.0 - v) * hk[1, i] * nu[i] - v * later - alpha * v + (1.0 - v)
        later += hk[1, i] * nu[i]
        lp += alpha * math.log1p(-v) + math.log(v)
    return lp if math.isfinite(lp) else -math.inf


@_rng.kernel
def _hmc(
    st: np.ndarray, eps: float, steps: int, pat: np.ndarray, freq: np.ndarray, n: int, alpha: float,
    lam: np.ndarray, nu: np.ndarray, hw: np.ndarray, lam_s: np.ndarray, nu_s: np.ndarray, hk: np.ndarray,
) -> float:
    """One Hamiltonian Monte Carlo trajectory on :func:`_collapsed` (lambda and the weights, given alpha).

    The classes and N are integrated out, so the move is not held back by the class counts (which
    pin lambda and the weights within about 1/sqrt(n) of where they are): a trajectory crosses the
    ridge of equally likely (lambda, weights) along which N varies, in a number of leapfrog steps
    that grows like sqrt(n), at a cost per step set by the number of cells. The step size ``eps`` is
    fixed (tuned before the draws that are kept, :func:`_tune_hmc`); the number of leapfrog steps is
    uniform on 1..``steps``; identity mass. Accepted by the Metropolis rule on the Hamiltonian, so
    the move leaves p(lambda, weights | alpha, cells) invariant; the never-recorded people and the
    classes of the recorded ones must be drawn afresh after it (:func:`_iterate` does).
    Returns the acceptance probability, or -1 when the chain stands where the target is -inf in
    floating point (a weight that underflowed: no move).

    ``hw`` rows: 0 the point, 1 the proposal, 2 the momentum, 3 and 4 their gradients.
    """
    n_j, n_k = lam.shape
    off = n_j * n_k
    dim = off + n_k - 1
    for j in range(n_j):
        for k in range(n_k):
            value = lam[j, k]
            if not (0.0 < value < 1.0):
                return -1.0
            hw[0, j * n_k + k] = math.log(value) - math.log1p(-value)
    later = nu[n_k - 1]
    for k in range(n_k - 2, -1, -1):
        if not (nu[k] > 0.0 and later > 0.0):
            return -1.0
        hw[0, off + k] = math.log(nu[k]) - math.log(later)
        later += nu[k]
    lp = _collapsed(hw, 0, 3, pat, freq, n, alpha, lam_s, nu_s, hk)
    if lp == -math.inf:
        return -1.0
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    h0 = lp
    for i in range(dim):
        z, s0, s1, s2, s3 = _rng.normal_words(s0, s1, s2, s3)
        hw[2, i] = z
        h0 -= 0.5 * z * z
        hw[1, i] = hw[0, i]
        hw[4, i] = hw[3, i]
    bits, s0, s1, s2, s3 = _rng.step(s0, s1, s2, s3)
    leaps = 1 + int(_rng.unit(bits) * steps)
    bits, s0, s1, s2, s3 = _rng.step(s0, s1, s2, s3)
    u = 1.0 - _rng.unit(bits)
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    lp_new = lp
    for _ in range(leaps):
        for i in range(dim):
            hw[2, i] += 0.5 * eps * hw[4, i]
            hw[1, i] += eps * hw[2, i]
        lp_new = _collapsed(hw, 1, 4, pat, freq, n, alpha, lam_s, nu_s, hk)
        if lp_new == -math.inf:
            return 0.0
        for i in range(dim):
            hw[2, i] += 0.5 * eps * hw[4, i]
    h1 = lp_new
    for i in range(dim):
        h1 -= 0.5 * hw[2, i] * hw[2, i]
    log_ratio = h1 - h0
    if math.log(u) < log_ratio:
        for k in range(n_k):
            nu[k] = nu_s[k]
            for j in range(n_j):
                lam[j, k] = lam_s[j, k]
    return 1.0 if log_ratio >= 0.0 else math.exp(log_ratio)


@njit(cache=True, nogil=True, error_model="numpy")
def _order_classes(lam: np.ndarray, nu: np.ndarray, count0: np.ndarray) -> None:
    """Relabel classes by decreasing weight (after the warm-up)."""
    order = np.argsort(-nu)
    lam[:, :] = lam[:, order].copy()
    nu[:] = nu[order].copy()
    count0[:] = count0[order].copy()


@_rng.kernel
def _iterate(
    start: int, stop: int, n0: int, alpha: float, n_capped: int, consts: tuple[int, float, float, int, int, int, int],
    pat_a: np.ndarray, pat_b: np.ndarray, code_a: np.ndarray, code_b: np.ndarray, freq: np.ndarray,
    state: np.ndarray, lam: np.ndarray, nu: np.ndarray, tab_a: np.ndarray, tab_b: np.ndarray, z_a: np.ndarray,
    z_b: np.ndarray, count0: np.ndarray, count_k: np.ndarray, weights: np.ndarray, draw: np.ndarray,
    cum: np.ndarray, idx: np.ndarray, buf: np.ndarray, ones: np.ndarray, kept_n: np.ndarray, kept_alpha: np.ndarray,
    observed: np.ndarray, hmc: tuple[float, int, int], pat: np.ndarray, hw: np.ndarray, lam_s: np.ndarray,
    nu_s: np.ndarray, hk: np.ndarray, acc: np.ndarray,
) -> tuple[int, float, int]:
    """Iterations ``start`` to ``stop`` of :func:`run_chain` on its preallocated state.

    ``hmc`` = (step size, most leapfrog steps, every how many iterations; 0 never): the iteration
    starts with a trajectory of :func:`_hmc` on the observed cells ``pat`` (full patterns, in the
    order of ``freq``) and draws the never-recorded people afresh; ``acc`` adds up its acceptance
    probabilities and trajectories (for the tuning of the step size).
    """
    n, a_alpha, b_alpha, burnin, thinning, max_n0, joint = consts
    eps, steps, every = hmc
    n_k = nu.shape[0]
    for it in range(start, stop):
        if every > 0 and it % every == 0:
            accept = _hmc(state, eps, steps, pat, freq, n, alpha, lam, nu, hw, lam_s, nu_s, hk)
            if accept >= 0.0:
                acc[0] += accept
                acc[1] += 1.0
                n0, _ = _sample_missing(state, n, lam, nu, max_n0, weights, count0, cum, idx, buf)
        _block_table(pat_a, lam, 0, tab_a)
        _block_table(pat_b, lam, pat_a.shape[1], tab_b)
        _sample_cells(state, code_a, code_b, freq, tab_a, tab_b, nu, z_a, z_b, weights, draw, cum, idx, buf)
        for k in range(n_k):
            size = 0
            for u in range(z_a.shape[0]):
                size += z_a[u, k]
            observed[k] = size
        if joint > 0 and it % joint == 0:
            _recorded(pat_a, pat_b, z_a, z_b, ones)
            _joint_missing(state, n, observed, ones, count0, alpha, max_n0)
            n0 = 0
            for k in range(n_k):
                n0 += count0[k]
        for k in range(n_k):
            count_k[k] = count0[k] + observed[k]
        _sample_lambda(state, pat_a, pat_b, z_a, z_b, count_k, lam, ones)
        log_last = _sample_nu(state, count_k, n + n0, alpha, nu)
        n0, capped = _sample_missing(state, n, lam, nu, max_n0, weights, count0, cum, idx, buf)
        if it >= WARMUP:
            alpha = _rng.gamma(state, a_alpha + n_k - 1.0, 1.0 / (b_alpha - log_last))
        kept = it - WARMUP - burnin
        if kept >= 0 and (kept + 1) % thinning == 0:
            kept_n[kept // thinning] = n + n0
            kept_alpha[kept // thinning] = alpha
            if capped:
                n_capped += 1
    return n0, alpha, n_capped


@njit(cache=True, nogil=True, error_model="numpy")
def run_chain(
    pat_a: np.ndarray,
    pat_b: np.ndarray,
    code_a: np.ndarray,
    code_b: np.ndarray,
    freq: np.ndarray,
    n_classes: int,
    a_alpha: float,
    b_alpha: float,
    burnin: int,
    samples: int,
    thinning: int,
    max_n0: int,
    state: np.ndarray,
    joint: int = 0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run one chain; return its kept draws of N and of alpha, and how often n0 hit its cap.

    Args:
        pat_a, pat_b, code_a, code_b, freq: the blocked cell table (:func:`block_cells`).
        n_classes: K, the truncation level.
        a_alpha, b_alpha: the Gamma prior of the stick-breaking concentration.
        burnin: iterations discarded after the warm-up.
        samples: draws kept; ``thinning`` iterations between kept draws.
        max_n0: cap on the number never recorded.
        state: the chain's generator state (:func:`undercount.estimate._rng.new_state`).
        joint: every ``joint``-th iteration adds the joint update of the never-recorded counts
            (:func:`_joint_missing`); 0: never.
    """
    n = 0
    for m in range(freq.shape[0]):
        n += freq[m]
    lam, nu, tab_a, tab_b, z_a, z_b, count0, count_k, weights, draw, cum, idx, buf, ones = _new_chain(
        pat_a, pat_b, code_a, code_b, freq, n_classes)
    alpha = 0.3 / n_classes
    kept_n = np.empty(samples, dtype=np.int64)
    kept_alpha = np.empty(samples)
    observed = np.zeros(n_classes, dtype=np.int64)
    total_iter = WARMUP + burnin + samples * thinning
    consts = (n, a_alpha, b_alpha, burnin, thinning, max_n0, joint)
    off = (0.0, 0, 0)  # no HMC move (Chain has it)
    pat, hw, hk, acc = np.zeros((1, 1), dtype=np.int8), np.zeros((5, 1)), np.zeros((3, 1)), np.zeros(2)
    n0, alpha, n_capped = _iterate(0, WARMUP, 0, alpha, 0, consts, pat_a, pat_b, code_a, code_b,
                                   freq, state, lam, nu, tab_a, tab_b, z_a, z_b, count0, count_k, weights, draw,
                                   cum, idx, buf, ones, kept_n, kept_alpha, observed, off, pat, hw, tab_a, weights,
                                   hk, acc)
    if total_iter > WARMUP:  # classes relabelled by weight once the warm-up is over
        _order_classes(lam, nu, count0)
        n0, alpha, n_capped = _iterate(WARMUP, total_iter, n0, alpha, n_capped, consts, pat_a, pat_b, code_a,
                                       code_b, freq, state, lam, nu, tab_a, tab_b, z_a, z_b, count0, count_k,
                                       weights, draw, cum, idx, buf, ones, kept_n, kept_alpha, observed, off, pat,
                                       hw, tab_a, weights, hk, acc)
    return kept_n, kept_alpha, n_capped


@njit(cache=True, nogil=True, error_model="numpy")
def _new_chain(
    pat_a: np.ndarray, pat_b: np.ndarray, code_a: np.ndarray, code_b: np.ndarray, freq: np.ndarray, n_classes: int,
) -> tuple[np.ndarray, ...]:
    """The starting state and work arrays of one chain (as :func:`run_chain` makes them)."""
    n_k = n_classes
    n_lists = pat_a.shape[1] + pat_b.shape[1]
    n = 0
    for m in range(freq.shape[0]):
        n += freq[m]
    lam = np.empty((n_lists, n_k))
    for j in range(n_lists):
        recorded = 0
        for m in range(freq.shape[0]):
            bit = pat_a[code_a[m], j] if j < pat_a.shape[1] else pat_b[code_b[m], j - pat_a.shape[1]]
            recorded += freq[m] * bit
        for k in range(n_k):
            lam[j, k] = recorded / n
    nu = np.empty(n_k)
    for k in range(n_k):
        nu[k] = 0.9 / min(4, n_k) if k < 4 else 0.1 / (n_k - 4)
    if n_k <= 4:
        nu[:] = 1.0 / n_k
    return (lam, nu, np.empty((pat_a.shape[0], n_k)), np.empty((pat_b.shape[0], n_k)),
            np.zeros((pat_a.shape[0], n_k), dtype=np.int64), np.zeros((pat_b.shape[0], n_k), dtype=np.int64),
            np.zeros(n_k, dtype=np.int64), np.zeros(n_k, dtype=np.int64), np.empty(n_k),
            np.zeros(n_k, dtype=np.int64), np.empty(n_k), np.zeros(n_k, dtype=np.int64),
            np.empty(_rng.CHUNK, dtype=np.int64), np.zeros((n_lists, n_k), dtype=np.int64))


@dataclass(frozen=True)
class ChainState:
    """Where a chain stands: what the next iteration reads (see :meth:`Chain.export_state`).

    Attributes:
        lam: lists x classes, the probability that each list records a member of each class.
        nu: the class weights.
        count0: the never-recorded people per class; n0 their number.
        alpha: the stick-breaking concentration.
        words: the chain's generator state (four 64-bit words).
        iteration: iterations run so far (the warm-up included).
        joint: the chain's joint move (every ``joint``-th iteration; 0 never) when it stopped.
        eps: the step size of its HMC move once tuned (0: not tuned).
    """

    lam: np.ndarray
    nu: np.ndarray
    count0: np.ndarray
    n0: int
    alpha: float
    words: np.ndarray
    iteration: int
    joint: int = 0
    eps: float = 0.0


class Chain:
    """One LCMCR chain that can be advanced round by round (the same draws as :func:`run_chain`).

    ``Chain(cells, K, a, b, max_n0, state)`` runs the warm-up; ``advance(iterations, thinning,
    discard)`` runs more iterations and returns the draws kept from them. Advancing by the
    burn-in (all discarded) and then by ``samples * thinning`` gives exactly :func:`run_chain`'s
    draws; advancing again continues the same chain. The kernel releases the GIL, so chains
    advance in parallel threads.

    Warm start: ``Chain(..., warm=other.export_state())`` skips the warm-up and starts where the
    other chain stands (its class parameters, never-recorded counts and concentration), on this
    chain's table, which needs the same lists and K (a linkage draw or an imputation of the same
    stratum: its posterior lies close to the other table's, so little burn-in is needed). Its
    generator is ``state``, or with ``state=None`` the other chain's: then, on the same table,
    the warm chain continues the other exactly.

    HMC move (``hmc``: every ``hmc``-th iteration, 0 never; :func:`_hmc`): lambda and the weights move
    with the classes and N integrated out. Its step size is tuned over ``HMC_TUNE`` discarded
    iterations when the move is first switched on (:meth:`use_hmc`), unless the chain starts warm
    from a chain whose step size was tuned.
    """

    def __init__(self, cells: BlockedCells, n_classes: int, a_alpha: float, b_alpha: float, max_n0: int,
                 state: np.ndarray | None, joint: int = 0, warm: ChainState | None = None, hmc: int = 0) -> None:
        self.cells = cells
        self.arrays = _new_chain(cells.pat_a, cells.pat_b, cells.code_a, cells.code_b, cells.freq, n_classes)
        self.joint = int(joint)  # run_chain's joint move every joint-th iteration (0: never)
        self.hmc, self.eps, self.steps = 0, 0.0, 0
        n_lists = cells.pat_a.shape[1] + cells.pat_b.shape[1]
        self.pat = np.ascontiguousarray(np.hstack([cells.pat_a[cells.code_a], cells.pat_b[cells.code_b]]), dtype=np.int8)
        self.hw = np.zeros((5, n_lists * n_classes + n_classes - 1))
        self.lam_s, self.nu_s = np.zeros((n_lists, n_classes)), np.zeros(n_classes)
        self.hk, self.acc = np.zeros((3, n_classes)), np.zeros(2)
        self.observed = np.zeros(n_classes, dtype=np.int64)  # the kernel's scratch: observed class sizes
        self.n = int(cells.freq.sum())
        self.a_alpha, self.b_alpha, self.max_n0 = float(a_alpha), float(b_alpha), int(max_n0)
        if warm is not None:
            self._import_state(warm, state)
            self.use_hmc(hmc)
            return
        if state is None:
            raise ValueError("a chain started cold needs a generator state")
        self.state = state
        self.n0, self.alpha, self.iteration = 0, 0.3 / n_classes, 0
        self.advance(WARMUP, 1, WARMUP)
        lam, nu, count0 = self.arrays[0], self.arrays[1], self.arrays[6]
        _order_classes(lam, nu, count0)  # classes relabelled by weight once the warm-up is over
        self.use_hmc(hmc)

    def use_hmc(self, every: int) -> None:
        """The HMC move every ``every``-th iteration from now on (0: never); tunes its step size first if needed."""
        self.hmc = int(every)
        if self.hmc > 0 and self.eps == 0.0:
            self._tune_hmc()

    def _tune_hmc(self) -> None:
        """Tune the step size over ``HMC_TUNE`` discarded iterations, each with the move (Hoffman and Gelman's
        dual averaging to an acceptance rate of ``HMC_ACCEPT``); then it stays fixed, so the chain's later
        iterations leave the posterior invariant."""
        eps = 0.05
        mu, h_bar, log_bar, m = math.log(10.0 * eps), 0.0, 0.0, 0
        for _ in range(HMC_TUNE):
            self.eps, self.steps = eps, min(HMC_MAX_STEPS, math.ceil(HMC_LENGTH / eps))
            self.acc[:] = 0.0
            self.advance(1, 1, 1, every=1)
            if self.acc[1] == 0.0:  # the chain stood where the move cannot start (a weight underflowed)
                continue
            m += 1
            h_bar += (HMC_ACCEPT - self.acc[0] - h_bar) / (m + 10.0)
            log_eps = mu - math.sqrt(m) / 0.05 * h_bar
            eps = min(math.exp(log_eps), 1.0)
            w = m ** -0.75
            log_bar = w * math.log(eps) + (1.0 - w) * log_bar
        eps = math.exp(log_bar) if m else 0.05
        self.eps, self.steps = eps, min(HMC_MAX_STEPS, math.ceil(HMC_LENGTH / eps))

    def export_state(self) -> ChainState:
        """A copy of where the chain stands (to warm-start another chain from it)."""
        lam, nu, count0 = self.arrays[0], self.arrays[1], self.arrays[6]
        return ChainState(lam.copy(), nu.copy(), count0.copy(), int(self.n0), float(self.alpha), self.state.copy(),
                          int(self.iteration), int(self.joint), float(self.eps))

    def _import_state(self, warm: ChainState, state: np.ndarray | None) -> None:
        lam, nu, count0 = self.arrays[0], self.arrays[1], self.arrays[6]
        if warm.lam.shape != lam.shape:
            raise ValueError(f"a warm start needs the same lists and classes: {warm.lam.shape} != {lam.shape} "
                             "(lists x classes)")
        if warm.n0 > self.max_n0:
            raise ValueError(f"the warm state's {warm.n0} never-recorded people exceed this table's cap of {self.max_n0}")
        lam[:, :] = warm.lam
        nu[:] = warm.nu
        count0[:] = warm.count0
        self.n0, self.alpha = int(warm.n0), float(warm.alpha)
        self.iteration = max(int(warm.iteration), WARMUP)  # past the warm-up: the classes keep their order
        self.state = (warm.words if state is None else state).copy()
        if warm.eps > 0.0:
            self.eps, self.steps = float(warm.eps), min(HMC_MAX_STEPS, math.ceil(HMC_LENGTH / warm.eps))

    def advance(self, iterations: int, thinning: int, discard: int = 0, every: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, int]:
        """Run ``iterations`` more; keep every ``thinning``-th after the first ``discard``.

        ``every``: the HMC move's period for these iterations (None: the chain's, :meth:`use_hmc`).

        Returns:
            (kept draws of N, kept draws of alpha, how many kept draws sat on the cap on N).
        """
        samples = max(0, (iterations - discard) // thinning)
        kept_n = np.empty(samples, dtype=np.int64)
        kept_alpha = np.empty(samples)
        burnin = self.iteration + discard - WARMUP  # _iterate keeps iteration i at (i - WARMUP - burnin) // thinning
        consts = (self.n, self.a_alpha, self.b_alpha, burnin, thinning, self.max_n0, self.joint)
        lam, nu, tab_a, tab_b, z_a, z_b, count0, count_k, weights, draw, cum, idx, buf, ones = self.arrays
        c = self.cells
        stop = self.iteration + discard + samples * thinning
        self.n0, self.alpha, capped = _iterate(
            self.iteration, stop, self.n0, self.alpha, 0, consts, c.pat_a, c.pat_b, c.code_a, c.code_b, c.freq,
            self.state, lam, nu, tab_a, tab_b, z_a, z_b, count0, count_k, weights, draw, cum, idx, buf, ones,
            kept_n, kept_alpha, self.observed, (self.eps, self.steps, self.hmc if every is None else every), self.pat,
            self.hw, self.lam_s, self.nu_s, self.hk, self.acc)
        self.iteration = stop
        return kept_n, kept_alpha, int(capped)
