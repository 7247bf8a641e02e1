"""The pure clustering function: threshold, chaining guard, decisions, stable ids."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pandas as pd

from undercount.link.clusters import attachment_probability, cluster_records, collector_paused


def _records(n: int, *, sources=None, sexes=None, ids=None, valid=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": np.arange(1, n + 1),
            "source": sources or [f"list{i}" for i in range(n)],
            "sex": sexes or ["male"] * n,
            "id_number": ids or [None] * n,
            "id_valid": valid or [None] * n,
        }
    )


def _pairs(*rows: tuple[int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_id_l", "record_id_r", "probability"])


def test_threshold_links_and_person_ids_use_smallest_record_id() -> None:
    person = cluster_records(_records(4), _pairs((2, 3, 0.95), (3, 4, 0.5)), threshold=0.9)
    assert person.tolist() == ["P000000001", "P000000002", "P000000002", "P000000004"]
    assert person.index.tolist() == [1, 2, 3, 4]


def test_guard_splits_two_valid_ids_at_the_weakest_link() -> None:
    recs = _records(3, ids=["123456782", None, "234567891"], valid=[True, None, True])
    person = cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.95)), threshold=0.9)
    assert person.tolist() == ["P000000001", "P000000001", "P000000003"]


def test_invalid_ids_do_not_stop_a_link() -> None:
    recs = _records(2, ids=["123456789", "999999999"], valid=[False, False])
    person = cluster_records(recs, _pairs((1, 2, 0.95)), threshold=0.9)
    assert person.nunique() == 1


def test_guard_refuses_two_sexes() -> None:
    recs = _records(3, sexes=["male", None, "female"])
    person = cluster_records(recs, _pairs((1, 2, 0.97), (2, 3, 0.99)), threshold=0.9)
    assert person.tolist() == ["P000000001", "P000000002", "P000000002"]


def test_guard_refuses_same_list_records_that_are_not_duplicates() -> None:
    recs = _records(3, sources=["a", "b", "a"])
    chained = cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.95)), threshold=0.9)
    assert chained.tolist() == ["P000000001", "P000000001", "P000000003"]
    duplicates = cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.95), (1, 3, 0.92)), threshold=0.9)
    assert duplicates.nunique() == 1


def test_a_strong_chain_through_another_list_bridges_a_list_that_holds_a_person_twice() -> None:
    recs = _records(3, sources=["a", "b", "a"])
    # 1 - 3 scored 0.2 alone, but 1 - 2 - 3 is one person with probability >= 0.99 + 0.97 - 1.
    bridged = cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.97), (1, 3, 0.2)), threshold=0.5)
    assert bridged.nunique() == 1
    assert cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.97), (1, 3, 0.2)), threshold=0.5, bridge=None).nunique() == 2
    # A weaker chain (bound 0.84 < 0.9), or a pair of their own never scored, keeps the guard.
    assert cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.85), (1, 3, 0.2)), threshold=0.5).nunique() == 2
    assert cluster_records(recs, _pairs((1, 2, 0.99), (2, 3, 0.97)), threshold=0.5).nunique() == 2
    # The bound counts the links on both sides of the join: 1 - 2 - 3 - 4 is 1 - 0.01 - 0.07 - 0.03 = 0.89.
    four = _records(4, sources=["a", "b", "c", "a"])
    chain = cluster_records(four, _pairs((1, 2, 0.99), (2, 3, 0.93), (3, 4, 0.97), (1, 4, 0.3)), threshold=0.5)
    assert chain.tolist() == ["P000000001", "P000000001", "P000000003", "P000000003"]
    chain = cluster_records(four, _pairs((1, 2, 0.99), (2, 3, 0.96), (3, 4, 0.99), (1, 4, 0.3)), threshold=0.5)
    assert chain.nunique() == 1


def test_must_link_and_cannot_link_win() -> None:
    recs = _records(4, ids=["123456782", "234567891", None, None], valid=[True, True, None, None])
    person = cluster_records(
        recs, _pairs((3, 4, 0.999)), threshold=0.9, must_link=[(1, 2)], cannot_link=[(3, 4)]
    )
    assert person.tolist() == ["P000000001", "P000000001", "P000000003", "P000000004"]


def test_cannot_link_blocks_a_chain_through_a_third_record() -> None:
    person = cluster_records(
        _records(3), _pairs((1, 2, 0.99), (2, 3, 0.98)), threshold=0.9, cannot_link=[(1, 3)]
    )
    assert person.tolist() == ["P000000001", "P000000001", "P000000003"]


def test_clustering_is_deterministic_under_shuffled_pairs() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    left = rng.integers(1, n + 1, 5000)
    right = rng.integers(1, n + 1, 5000)
    keep = left != right
    pairs = pd.DataFrame(
        {"record_id_l": np.minimum(left, right)[keep], "record_id_r": np.maximum(left, right)[keep],
         "probability": rng.random(keep.sum())}
    )
    recs = _records(n, sources=[f"s{i % 3}" for i in range(n)], sexes=[["male", "female"][i % 2] for i in range(n)])
    first = cluster_records(recs, pairs, threshold=0.8)
    second = cluster_records(recs.sample(frac=1, random_state=1), pairs.sample(frac=1, random_state=2), threshold=0.8)
    assert first.sort_index().equals(second.sort_index())
    # every cluster is clean: one sex, no two records of one list without a strong pair
    frame = recs.set_index("record_id").assign(person=first)
    assert (frame.groupby("person")["sex"].nunique() <= 1).all()


def test_clustering_runs_without_the_cyclic_collector_and_leaves_it_as_it_was() -> None:
    # 5,000 records make a list, a dict and three sets each: with the collector on, that alone sets off
    # dozens of collections (one every 700 new containers); paused, none runs inside (one may run at the
    # first allocation after it, for the containers counted meanwhile), and the result is the same
    n = 5000
    recs = _records(n, sources=[f"s{i % 3}" for i in range(n)])
    pairs = _pairs(*[(i, i + 1, 0.95) for i in range(1, n, 2)])
    seen: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(phase)

    assert gc.isenabled()
    gc.callbacks.append(count)
    try:
        person = cluster_records(recs, pairs, threshold=0.9)
    finally:
        gc.callbacks.remove(count)
    assert len(seen) <= 1
    assert gc.isenabled()
    assert person.nunique() == n // 2 and person.iloc[0] == person.iloc[1] == "P000000001"
    gc.disable()
    try:
        cluster_records(recs, pairs, threshold=0.9)
        assert not gc.isenabled()  # a collector the caller had off stays off
    finally:
        gc.enable()


def test_collector_paused_in_several_threads_is_on_again_after_the_last_block() -> None:
    inside, leave = threading.Barrier(2), threading.Event()
    states: list[bool] = []

    def block() -> None:
        with collector_paused():
            inside.wait()
            leave.wait()
            states.append(gc.isenabled())

    with collector_paused():
        other = threading.Thread(target=block)
        other.start()
        inside.wait()
    states.append(gc.isenabled())  # this block ended first: the other thread's is still open
    leave.set()
    other.join()
    assert states == [False, False] and gc.isenabled()


def test_attachment_probability_is_the_strongest_link_in_the_cluster() -> None:
    person = cluster_records(_records(4), _pairs((1, 2, 0.95), (2, 3, 0.99), (3, 4, 0.3)), threshold=0.9)
    prob = attachment_probability(person, _pairs((1, 2, 0.95), (2, 3, 0.99), (3, 4, 0.3)))
    assert prob.tolist() == [0.95, 0.99, 0.99, 1.0]


def test_list_pair_scores_count_pairs_per_pair_of_lists_and_hard_subsets() -> None:
    from undercount.link.evaluate import score_list_pairs

    records = pd.DataFrame({
        "record_id": [1, 2, 3, 4, 5],
        "source": ["a", "b", "b", "a", "b"],
        "person_id": ["x", "x", "y", "z", "z"],
        "true_person": [1, 1, 1, 2, 3],
        "script": ["arabic", "latin", "arabic", "arabic", "arabic"],
        "age": [30, None, 30, 5, 5],
    })
    candidates = pd.DataFrame({"a": [1, 4], "b": [2, 5]})
    table = score_list_pairs(records, candidates).set_index(["list_l", "list_r", "subset"])
    # true pairs: (1,2) a-b across scripts without age, (1,3) a-b, (2,3) b-b; predicted (1,2), (4,5)
    assert table.loc[("a", "b", "all"), ["true_pairs", "predicted_pairs", "correct_pairs"]].tolist() == [2, 2, 1]
    assert table.loc[("a", "b", "all"), "precision"] == 0.5 and table.loc[("a", "b", "all"), "recall"] == 0.5
    assert table.loc[("a", "b", "all"), "blocking_recall"] == 0.5
    assert table.loc[("a", "b", "across scripts"), "recall"] == 1.0
    assert table.loc[("b", "b", "all"), "recall"] == 0.0
    assert table.loc[("a", "b", "without age"), "true_pairs"] == 1
