"""Priors per pair of lists and one-to-one competition (undercount.link.posterior)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.link.posterior import list_pair_posterior


def _sources(a: int, b: int) -> pd.Series:
    return pd.Series(["a"] * a + ["b"] * b, index=np.arange(1, a + b + 1))


def test_each_pair_of_lists_gets_its_own_prior() -> None:
    # 100 records on a and on b; 40 cross-list pairs with strong evidence, 5 within-list pairs of
    # a with the same evidence: the cross-list prior rises, the within-list prior falls.
    src = _sources(100, 100)
    left = np.r_[np.arange(1, 41), np.arange(41, 46)]
    right = np.r_[np.arange(101, 141), np.arange(46, 51)]
    weight = np.full(len(left), 14.0)
    post = list_pair_posterior(left, right, weight, src, prior=1e-3, one_to_one_below=0.0)
    cross, within = post.priors["a x b"], post.priors["a x a"]
    assert 38 < cross["expected_matches"] <= 40 and cross["prior"] > 3e-3
    assert within["prior"] < cross["prior"]
    assert post.probability[:40].min() > post.probability[40:].max()
    assert np.all(post.prior_weight[:40] > 0) and not cross["one_to_one"]


def test_candidates_of_one_record_compete_one_to_one() -> None:
    # record 1 of a has two candidates on b with the same strong evidence; record 2 of a one.
    src = _sources(50, 50)
    left, right = np.array([1, 1, 2]), np.array([51, 52, 53])
    post = list_pair_posterior(left, right, np.array([25.0, 25.0, 25.0]), src, prior=1e-4)
    assert post.priors["a x b"]["one_to_one"]
    assert abs(post.probability[0] - 0.5) < 0.02 and abs(post.probability[1] - 0.5) < 0.02
    assert post.probability[2] > 0.99 and post.competition[2] == 0.0
    assert post.competition[0] < -10  # the evidence shows: the other candidate competes


def test_a_duplicate_of_the_partner_does_not_compete() -> None:
    # 51 and 52 are one person written twice on b (a within-list pair at 0.999): record 1 of a
    # matching both is no contest.
    src = _sources(50, 50)
    left, right = np.array([1, 1, 51]), np.array([51, 52, 52])
    weight = np.array([25.0, 25.0, 30.0])
    post = list_pair_posterior(left, right, weight, src, prior=1e-4, one_to_one_below=0.5)
    assert post.priors["a x b"]["one_to_one"]
    assert post.probability[0] > 0.95 and post.probability[1] > 0.95


def test_lists_with_many_duplicates_do_not_compete() -> None:
    src = _sources(20, 20)
    # a holds 10 duplicate pairs among 20 records (0.5 per record): no one-to-one with b
    left = np.r_[np.arange(1, 11), [1, 1]]
    right = np.r_[np.arange(11, 21), [21, 22]]
    weight = np.r_[np.full(10, 20.0), [20.0, 20.0]]
    post = list_pair_posterior(left, right, weight, src, prior=1e-2, one_to_one_below=0.05)
    assert post.duplicates["a"] > 0.05
    assert not post.priors["a x b"]["one_to_one"]
    assert np.all(post.competition == 0.0)


def test_the_bipartite_prior_lifts_a_lone_candidate_between_lists_that_overlap_much() -> None:
    # a and b (100 records each) share 60 people, found on strong evidence; record 61 of a has one
    # weak candidate on b, record 62 two equally weak ones.
    src = _sources(100, 100)
    left = np.r_[np.arange(1, 61), 61, 62, 62]
    right = np.r_[np.arange(101, 161), 161, 162, 163]
    weight = np.r_[np.full(60, 25.0), 7.0, 7.0, 7.0]
    plain = list_pair_posterior(left, right, weight, src, prior=1e-4, bipartite_prior=False)
    post = list_pair_posterior(left, right, weight, src, prior=1e-4)
    share = post.priors["a x b"]["expected_matches"] / 100
    bits = -2 * np.log2(1 - share)  # M / ((n_a - M)(n_b - M)) against M / (n_a n_b)
    assert 60 < post.priors["a x b"]["expected_matches"] < 62
    assert post.priors["a x b"]["bipartite_bits"] == pytest.approx(bits, abs=1e-3)
    assert plain.priors["a x b"]["bipartite_bits"] == 0.0
    lone = post.log2_odds[60] - plain.log2_odds[60]
    assert lone == pytest.approx(bits, abs=0.2)  # the lone candidate gains the bipartite prior's bits
    assert post.probability[60] > 0.5 > plain.probability[60]
    # two candidates compete: each is below the lone one, and gains less than it did
    assert post.probability[61] == pytest.approx(post.probability[62]) and post.probability[61] < post.probability[60]
    assert post.log2_odds[61] - plain.log2_odds[61] < lone
    assert np.all(post.probability[:60] > 0.999)


def test_pairs_of_lists_are_coded_as_their_names_would_be() -> None:
    # Integer codes per pair of lists (no string per pair) group and orient pairs as the names
    # "a x b" (a <= b) would, for dense record ids (array lookup) and sparse ones (index lookup).
    from undercount.link.refit import list_pair_codes

    rng = np.random.default_rng(3)
    names = np.array(["zeta", "alpha", "mid"], dtype=object)
    for ids in (np.arange(300), rng.choice(10**9, 300, replace=False)):
        src = pd.Series(names[rng.integers(0, 3, 300)], index=ids)
        left, right = rng.choice(ids, 500), rng.choice(ids, 500)
        codes, groups, flip = list_pair_codes(src, left, right)
        a, b = src.reindex(left).to_numpy(), src.reindex(right).to_numpy()
        expected = [f"{min(x, y)} x {max(x, y)}" for x, y in zip(a, b)]
        assert [groups[c] for c in codes] == expected
        assert flip.tolist() == [x > y for x, y in zip(a, b)]
        assert list(pd.unique(np.array(expected, dtype=object))) == groups  # codes in order of first appearance


def test_record_ids_do_not_change_the_posterior() -> None:
    # The same pairs under other record ids (sparse, shuffled) give the same probabilities.
    rng = np.random.default_rng(5)
    src = pd.Series(["b"] * 60 + ["a"] * 60 + ["c"] * 30, index=np.arange(1, 151))
    left, right = rng.integers(1, 151, 400), rng.integers(1, 151, 400)
    keep = left != right
    left, right = left[keep], right[keep]
    weight = rng.normal(0.0, 12.0, keep.sum())
    post = list_pair_posterior(left, right, weight, src, prior=1e-3, one_to_one_below=10.0)
    new_ids = pd.Series(rng.choice(10**10, 151, replace=False), index=np.arange(151))
    moved = pd.Series(src.to_numpy(), index=new_ids.loc[src.index].to_numpy())
    again = list_pair_posterior(new_ids.loc[left].to_numpy(), new_ids.loc[right].to_numpy(), weight, moved,
                                prior=1e-3, one_to_one_below=10.0)
    assert np.array_equal(post.probability, again.probability)
    assert post.priors == again.priors and any(v["one_to_one"] for v in post.priors.values())
    assert np.any(post.competition < -0.1)


def test_a_certain_duplicate_of_the_partner_does_not_crush_a_weaker_pair() -> None:
    # 51 and 52 are one person written twice on b (a within-list pair at about 0.96); record 1 of
    # a matches 51 beyond doubt (2^30 Bayes factor) and 52 well (2^14): the weaker pair loses
    # little (the mixture of "same person" and "competitor"), where discounting the twin's odds
    # by 1 - 0.96 left them 2^25 and took about 12 bits from it.
    src = _sources(50, 50)
    left, right = np.array([1, 1, 51]), np.array([51, 52, 52])
    post = list_pair_posterior(left, right, np.array([30.0, 14.0, 17.0]), src, prior=1e-4, one_to_one_below=0.5)
    assert 0.9 < post.probability[2] < 0.99 and post.probability[0] > 0.99
    assert -0.5 < post.competition[1] < 0 and post.probability[1] > 0.75


def _round_over_every_edge(odds: np.ndarray, msg_r: np.ndarray, msg_c: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 twins: tuple[np.ndarray, ...], damping: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The round as numpy computed it before it was compiled (sums by np.bincount, twins over every edge)."""
    row_a, row_b, row_w, col_a, col_b, col_w = twins

    def with_twins(total: np.ndarray, edge: np.ndarray, weight: np.ndarray, twin: np.ndarray) -> np.ndarray:
        plain = total - np.bincount(edge, weights=twin, minlength=len(total))
        rest = np.maximum(plain[edge], 0.0)
        message = weight / (1.0 + rest) + (1.0 - weight) / (1.0 + rest + twin)
        added = 1.0 / np.maximum(message, 1e-300) - (1.0 + rest)
        out: np.ndarray = plain + np.bincount(edge, weights=np.maximum(added, 0.0), minlength=len(total))
        return out

    seen_by_row = odds * msg_c
    row_sum = with_twins(np.bincount(rows, weights=seen_by_row)[rows] - seen_by_row, row_a, row_w, seen_by_row[row_b])
    seen_by_col = odds * msg_r
    col_sum = with_twins(np.bincount(cols, weights=seen_by_col)[cols] - seen_by_col, col_a, col_w, seen_by_col[col_b])
    new_r, new_c = 1.0 / (1.0 + np.maximum(row_sum, 0.0)), 1.0 / (1.0 + np.maximum(col_sum, 0.0))
    delta = max(float(np.max(np.abs(new_r - msg_r))), float(np.max(np.abs(new_c - msg_c))))
    return damping * msg_r + (1 - damping) * new_r, damping * msg_c + (1 - damping) * new_c, delta


def test_a_round_of_messages_is_the_plain_numpy_round_to_the_last_digit() -> None:
    # the round as it runs (twins summed over the edges that have them) against the round over
    # every edge as numpy first computed it (the compiled rounds: the test after the next)
    from undercount.link.posterior import _numpy_round

    step = _numpy_round
    rng = np.random.default_rng(7)
    n = 400
    rows, cols = rng.integers(0, 120, n), rng.integers(0, 150, n)
    odds = np.exp2(rng.uniform(-20, 20, n))
    row_a, row_b = rng.integers(0, n, 60), rng.integers(0, n, 60)
    col_a, col_b = rng.integers(0, n, 50), rng.integers(0, n, 50)
    row_w, col_w = rng.uniform(0, 1, 60), rng.uniform(0, 1, 50)
    (row_e, row_i), (col_e, col_i) = np.unique(row_a, return_inverse=True), np.unique(col_a, return_inverse=True)
    ref_r, ref_c = np.ones(n), np.ones(n)
    msg_r, msg_c = np.ones(n), np.ones(n)
    for _ in range(6):
        ref_r, ref_c, ref_delta = _round_over_every_edge(odds, ref_r, ref_c, rows, cols, (row_a, row_b, row_w, col_a, col_b, col_w), 0.5)
        delta = step(odds, msg_r, msg_c, rows, cols, 120, 150, (row_e, row_i, row_w, row_b), (col_e, col_i, col_w, col_b), 0.5)
        assert np.array_equal(msg_r, ref_r) and np.array_equal(msg_c, ref_c) and delta == ref_delta
    assert ref_delta > 1e-3  # the messages were still moving: the rounds compared were not trivial


def _graph_with_twins(seed: int) -> tuple[np.ndarray, ...]:
    """Many small matching graphs and a few larger ones (records of two lists, edges between them),
    and twins: pairs of edges on one record (as the link run finds them)."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    r0 = c0 = 0
    for size in [2] * 150 + [3] * 80 + [30, 60]:
        n_edges = size * 2
        rows.append(r0 + rng.integers(0, size, n_edges))
        cols.append(c0 + rng.integers(0, size, n_edges))
        r0, c0 = r0 + size, c0 + size
    row, col = np.concatenate(rows), np.concatenate(cols)
    _, row = np.unique(row, return_inverse=True)
    _, col = np.unique(col, return_inverse=True)
    perm = rng.permutation(len(row))  # edges in no particular order, as pairs come
    row, col = row[perm], col[perm]
    odds = np.exp2(rng.uniform(-8, 12, len(row)))

    def twins(node: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = rng.integers(0, len(node), 4 * k)
        b = rng.integers(0, len(node), 4 * k)
        keep = (node[a] == node[b]) & (a != b)
        return a[keep][:k], b[keep][:k], rng.uniform(0, 1, k)[: int(keep.sum())]

    return (odds, row.astype(np.int64), col.astype(np.int64), *twins(row, 120), *twins(col, 100))


def test_component_by_component_rounds_are_the_rounds_over_every_edge() -> None:
    # Run for a fixed number of rounds (a tolerance never reached), the compiled rounds component
    # by component give the messages of the numpy round over every edge to the last digit; with the
    # tolerance, a component stops when its own messages settle: small ones after a few rounds, the
    # larger ones later, and the messages stay within the tolerance's reach of the fixed rounds'.
    from undercount.link.posterior import _by_component, _numpy_round

    odds, rows, cols, row_a, row_b, row_w, col_a, col_b, col_w = _graph_with_twins(3)
    n = len(odds)
    (row_e, row_i), (col_e, col_i) = np.unique(row_a, return_inverse=True), np.unique(col_a, return_inverse=True)
    ref_r, ref_c = np.ones(n), np.ones(n)
    for _ in range(40):
        _numpy_round(odds, ref_r, ref_c, rows, cols, int(rows.max()) + 1, int(cols.max()) + 1,
                     (row_e, row_i, row_w, row_b), (col_e, col_i, col_w, col_b), 0.5)
    msg_r, msg_c = np.ones(n), np.ones(n)
    done = _by_component(odds, rows, cols, (row_a, row_b, row_w), (col_a, col_b, col_w), 40, 0.5, msg_r, msg_c, tolerance=-1.0)
    assert np.array_equal(msg_r, ref_r) and np.array_equal(msg_c, ref_c) and np.all(done == 40)
    msg_r, msg_c = np.ones(n), np.ones(n)
    done = _by_component(odds, rows, cols, (row_a, row_b, row_w), (col_a, col_b, col_w), 40, 0.5, msg_r, msg_c)
    assert done.min() < 40 and done.min() < done.max()
    log_odds = np.log2(msg_r * msg_c)
    assert np.max(np.abs(log_odds - np.log2(ref_r * ref_c))) < 1e-2  # bits


def test_belief_propagation_from_the_last_messages_settles_in_a_few_rounds() -> None:
    # the next EM iteration moves every pair's odds a little: started from the messages of the
    # last, each component settles in a few rounds, at the messages it reaches from 1
    from undercount.link.posterior import _by_component

    odds, rows, cols, row_a, row_b, row_w, col_a, col_b, col_w = _graph_with_twins(5)
    n = len(odds)
    twins = ((row_a, row_b, row_w), (col_a, col_b, col_w))
    last_r, last_c = np.ones(n), np.ones(n)
    _by_component(odds, rows, cols, *twins, 40, 0.5, last_r, last_c)
    moved = odds * 1.001
    fresh_r, fresh_c = np.ones(n), np.ones(n)
    fresh = _by_component(moved, rows, cols, *twins, 40, 0.5, fresh_r, fresh_c)
    warm = _by_component(moved, rows, cols, *twins, 40, 0.5, last_r, last_c)
    settled = fresh < 40  # (a larger component of this random graph still moves after 40 rounds)
    assert settled.mean() > 0.5 and np.mean(warm[settled]) < np.mean(fresh[settled]) / 2
    bits = np.abs(np.log2(last_r * last_c) - np.log2(fresh_r * fresh_c))
    assert np.max(bits[settled]) < 1e-2


def test_components_run_on_threads_give_the_messages_of_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs of whole components on threads (the largest component first) write each edge's messages and rounds
    # as one call over every component does, to the last digit, with the tolerance and without it.
    from undercount.link import posterior

    monkeypatch.setattr(posterior, "BP_SPLIT_FROM", 0)
    odds, rows, cols, row_a, row_b, row_w, col_a, col_b, col_w = _graph_with_twins(7)
    n = len(odds)
    twins = ((row_a, row_b, row_w), (col_a, col_b, col_w))
    for tolerance in (-1.0, 1e-6):
        one_r, one_c = np.ones(n), np.ones(n)
        one = posterior._by_component(odds, rows, cols, *twins, 40, 0.5, one_r, one_c, tolerance=tolerance, threads=1)
        for threads in (2, 3):
            msg_r, msg_c = np.ones(n), np.ones(n)
            done = posterior._by_component(odds, rows, cols, *twins, 40, 0.5, msg_r, msg_c, tolerance=tolerance, threads=threads)
            assert np.array_equal(msg_r, one_r) and np.array_equal(msg_c, one_c) and np.array_equal(done, one)
    assert len(np.unique(one)) > 1  # components stopped at different rounds: the parts were not trivial


def test_runs_of_components_hold_about_as_many_edges_each() -> None:
    from undercount.link import posterior

    starts = np.array([0, 150_000, 260_000, 300_000, 360_000, 400_000])
    assert posterior._parts(starts, 1).tolist() == [0, 5]
    assert posterior._parts(starts, 2).tolist() == [0, 1, 5]  # 150,000 | 250,000 (the nearer cut to 200,000)
    assert posterior._parts(starts, 3).tolist() == [0, 1, 2, 5]
    assert posterior._parts(starts[:2], 2).tolist() == [0, 1]  # one component: one run


def test_the_numbering_kept_between_calls_gives_each_call_its_own_odds_and_weights() -> None:
    # The EM's calls on one graph share its numbering by component; each call's odds and twin weights are its own.
    from undercount.link import posterior

    odds, rows, cols, row_a, row_b, row_w, col_a, col_b, col_w = _graph_with_twins(11)
    n = len(odds)
    cache: dict[str, posterior._Layout] = {}
    first_r, first_c = np.ones(n), np.ones(n)
    posterior._by_component(odds, rows, cols, (row_a, row_b, row_w), (col_a, col_b, col_w), 40, 0.5, first_r, first_c, cache=cache)
    assert "layout" in cache
    moved, row_v, col_v = odds * 3.0, row_w[::-1].copy(), col_w[::-1].copy()
    kept_r, kept_c = first_r.copy(), first_c.copy()
    kept = posterior._by_component(moved, rows, cols, (row_a, row_b, row_v), (col_a, col_b, col_v), 40, 0.5, kept_r, kept_c, cache=cache)
    fresh_r, fresh_c = first_r.copy(), first_c.copy()
    fresh = posterior._by_component(moved, rows, cols, (row_a, row_b, row_v), (col_a, col_b, col_v), 40, 0.5, fresh_r, fresh_c)
    assert np.array_equal(kept_r, fresh_r) and np.array_equal(kept_c, fresh_c) and np.array_equal(kept, fresh)
    assert not np.array_equal(kept_r, first_r)


def test_the_graph_of_the_same_pairs_is_built_once_and_each_call_starts_its_messages_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # The refit's rounds score the same pairs with new weights: the graph's structure is kept between the calls, and
    # every call gives what a call on a new graph gives (the warm start of the messages stays within one call).
    from undercount.link import posterior

    rng = np.random.default_rng(4)
    sources = _sources(40, 40)
    left = rng.integers(1, 41, 300)
    right = rng.integers(41, 81, 300)
    dups_l, dups_r = np.arange(1, 5), np.arange(5, 9)  # a few duplicates within the first list: twins
    ids_l, ids_r = np.r_[left, dups_l], np.r_[right, dups_r]
    built = []
    inner = posterior._twin_structure
    monkeypatch.setattr(posterior, "_twin_structure", lambda *a: built.append(1) or inner(*a))
    reuse: dict[str, object] = {}
    for k in range(3):
        weights = rng.normal(4.0 + k, 4.0, len(ids_l))
        fresh = list_pair_posterior(ids_l, ids_r, weights, sources, prior=1e-3)
        kept = list_pair_posterior(ids_l, ids_r, weights, sources, prior=1e-3, reuse=reuse)
        assert np.array_equal(fresh.probability, kept.probability) and np.array_equal(fresh.competition, kept.competition)
        assert np.any(kept.competition < 0)
    assert len(built) == 3 + 1  # a new graph for each fresh call, one for the three kept calls
    other = list_pair_posterior(ids_l[::-1].copy(), ids_r[::-1].copy(), np.zeros(len(ids_l)), sources, prior=1e-3, reuse=reuse)
    assert len(built) == 5 and len(other.probability) == len(ids_l)  # other pairs: a graph of their own
