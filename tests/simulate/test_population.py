"""The true population: age/sex shares, households that share name parts, IDs, dates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from undercount.simulate import preset_config
from undercount.simulate.noise import luhn_valid_array
from undercount.simulate.population import luhn_check_digit, make_population, name_tables


def test_age_and_sex_shares_match_the_settings(population: pd.DataFrame, within) -> None:
    cfg = preset_config("small").population
    n = len(population)
    children = (population["age"] < 18).mean()
    women = ((population["age"] >= 18) & (population["sex"] == "female")).mean()
    elderly = (population["age"] >= 65).mean()
    assert within(children, cfg.child_share, n)
    assert within(women, cfg.women_share, n)
    assert within(elderly, cfg.elderly_share, n)
    boys = (population.loc[population["age"] < 18, "sex"] == "male").mean()
    assert within(boys, cfg.child_male_share, int((population["age"] < 18).sum()))
    men = ((population["age"] >= 18) & (population["sex"] == "male")).mean()
    assert men > women  # males are the majority of adults


def test_other_shares_match_the_settings(within) -> None:
    cfg = preset_config("small", people=20_000).population
    from dataclasses import replace

    cfg = replace(cfg, child_share=0.5, women_share=0.1, elderly_share=0.2)
    pop = make_population(cfg, np.random.default_rng(3))
    assert within((pop["age"] < 18).mean(), 0.5, len(pop))
    assert within(((pop["age"] >= 18) & (pop["sex"] == "female")).mean(), 0.1, len(pop))
    assert within((pop["age"] >= 65).mean(), 0.2, len(pop))


def test_siblings_share_father_grandfather_and_family(population: pd.DataFrame, within) -> None:
    siblings = population[population["role"] == "child"]
    per_household = siblings.groupby("household_id")[["father", "grandfather", "family"]].nunique()
    assert (per_household == 1).all().all()
    multi = siblings.groupby("household_id").size()
    assert (multi >= 2).sum() > 500  # many households with several siblings
    assert not siblings.duplicated(["household_id", "given"]).any()


def test_cousins_share_grandfather_and_family_not_father(population: pd.DataFrame, within) -> None:
    siblings = population[population["role"] == "child"]
    per_clan = siblings.groupby("clan_id").agg(
        households=("household_id", "nunique"), grandfathers=("grandfather", "nunique"),
        families=("family", "nunique"), fathers=("father", "nunique"))
    clans = per_clan[per_clan["households"] >= 2]
    assert len(clans) > 200
    assert (clans["grandfathers"] == 1).all() and (clans["families"] == 1).all()
    assert (clans["fathers"] >= 2).mean() > 0.8


def test_a_father_is_named_in_his_childrens_names(population: pd.DataFrame, within) -> None:
    fathers = population[population["role"] == "father"].set_index("household_id")
    kids = population[(population["role"] == "child") & population["household_id"].isin(fathers.index)]
    assert len(kids) > 100
    dad = fathers.loc[kids["household_id"]]
    assert (dad["given"].to_numpy() == kids["father"].to_numpy()).all()
    assert (dad["father"].to_numpy() == kids["grandfather"].to_numpy()).all()
    assert (dad["family"].to_numpy() == kids["family"].to_numpy()).all()


def test_names_come_from_the_frequency_tables(population: pd.DataFrame, within) -> None:
    tables = name_tables()
    male = set(tables["male"].tokens)
    assert population["father"].isin(male).all() and population["grandfather"].isin(male).all()
    men = population[population["sex"] == "male"]
    assert men["given"].isin(male).all()
    women = population[population["sex"] == "female"]
    assert women["given"].isin(set(tables["female"].tokens)).all()
    assert population["family"].isin(set(tables["family"].tokens)).all()
    assert population["family"].str.startswith(("ابو ", "أبو ")).mean() > 0.05  # compounds occur
    top = population["given"].value_counts(normalize=True)
    assert top.index[0] == "محمد" and top.iloc[0] > 0.05


def test_ids_are_unique_valid_nine_digit_numbers(population: pd.DataFrame, within) -> None:
    ids = population["id_number"]
    assert ids.str.fullmatch(r"\d{9}").all() and ids.is_unique
    assert luhn_valid_array(ids).all()


def test_luhn_check_digit_on_a_known_id() -> None:
    # 000000018: weights 1,2,... -> 1*2 = 2 at position 8 -> check digit 8 makes 10.
    assert luhn_check_digit(np.array([[0, 0, 0, 0, 0, 0, 0, 1]]))[0] == 8
    assert not luhn_valid_array(pd.Series(["000000019", "12345", None])).any()
    assert luhn_valid_array(pd.Series(["000000018"])).all()


def test_dates_ages_and_households_killed_together(population: pd.DataFrame, within) -> None:
    cfg = preset_config("small").population
    event = pd.to_datetime(population["event_date"])
    assert event.min() >= pd.Timestamp(cfg.start_date) and event.max() <= pd.Timestamp(cfg.end_date)
    dob = pd.to_datetime(population["date_of_birth"])
    age = event.dt.year - dob.dt.year - ((event.dt.month * 100 + event.dt.day) < (dob.dt.month * 100 + dob.dt.day))
    assert (age.to_numpy() == population["age"].to_numpy()).all()
    together = population[population["killed_together"]]
    assert (together.groupby("household_id")[["event_date", "place"]].nunique() == 1).all().all()
    assert (population.groupby("household_id")["place"].nunique() == 1).all()
    assert population.loc[population["wiped_out"], "killed_together"].all()
    # peaks: the busiest month holds far more than the quietest
    months = event.dt.to_period("M").value_counts(normalize=True)
    assert months.max() > 2.5 * months.min()


def test_status_and_cause(population: pd.DataFrame, within) -> None:
    cfg = preset_config("small").population
    n = len(population)
    for status, share in cfg.status_shares.items():
        assert within((population["status"] == status).mean(), share, n)
    killed = population[population["status"] == "killed"]
    assert killed["cause"].isin(list(cfg.cause_shares)).all()
    assert population.loc[population["status"] != "killed", "cause"].isna().all()
    assert within(killed["cause"].eq("direct_violence").mean(), cfg.cause_shares["direct_violence"], len(killed))
    assert set(population["place"]) == set(cfg.governorates)
