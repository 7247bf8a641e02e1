"""The true population: people with age, sex, households, four-part names, IDs, dates and places.

Everything is drawn with numpy in whole arrays (a million people take a few seconds). Names come
from the aggregated frequency tables in ``undercount/names/data`` (built by
scripts/build_name_frequencies.py from public releases of the Gaza MoH list).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from undercount.simulate.config import PopulationConfig

__all__ = ["NameTable", "name_tables", "luhn_check_digit", "make_population", "AGE_GROUPS"]

AGE_GROUPS = ("child", "adult", "elderly")


@dataclass(frozen=True)
class NameTable:
    """Tokens and their probabilities, from one aggregated frequency table."""

    tokens: np.ndarray
    probs: np.ndarray

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` tokens with replacement, by frequency."""
        return self.tokens[rng.choice(len(self.tokens), size=size, p=self.probs)]


@lru_cache(maxsize=1)
def name_tables() -> dict[str, NameTable]:
    """The shipped tables: 'male', 'female' (given names) and 'family'."""
    tables = {}
    for key, file in (("male", "names_given_male.csv"), ("female", "names_given_female.csv"),
                      ("family", "names_family.csv")):
        with resources.files("undercount.names").joinpath("data", file).open("r", encoding="utf-8") as handle:
            frame = pd.read_csv(handle, dtype={"token": str, "count": np.int64}, keep_default_na=False)
        counts = frame["count"].to_numpy(dtype=float)
        tables[key] = NameTable(frame["token"].to_numpy(dtype=object), counts / counts.sum())
    return tables


def luhn_check_digit(body: np.ndarray) -> np.ndarray:
    """Check digits for 8-digit bodies (an int array of shape (n, 8)), weights 1,2,1,2... from the left.

    Returns:
        The ninth digit that makes the weighted digit sum divisible by 10.
    """
    weights = np.array([1, 2, 1, 2, 1, 2, 1, 2])
    products = body * weights
    total: np.ndarray = (products // 10 + products % 10).sum(axis=1)
    return (10 - total % 10) % 10


def _ids(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Unique valid 9-digit IDs; the young mostly start with 4, older people with 9, 8 or 4."""
    n = len(age)
    first = np.where(age < 20, 4, rng.choice([9, 8, 7, 4], size=n, p=[0.4, 0.3, 0.1, 0.2]))
    rest = rng.integers(0, 10**7, size=n)
    numbers = first * 10**7 + rest
    for _ in range(20):
        dup = pd.Series(numbers).duplicated().to_numpy()
        if not dup.any():
            break
        numbers[dup] = first[dup] * 10**7 + rng.integers(0, 10**7, size=int(dup.sum()))
    body = (numbers[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    full = numbers * 10 + luhn_check_digit(body)
    return pd.Series(full).astype(str).str.zfill(9).to_numpy(dtype=object)


def _age_sex(cfg: PopulationConfig, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sex ('male'/'female') and age by category: children, women 18+, men 18+; elderly among adults."""
    men = 1.0 - cfg.child_share - cfg.women_share
    category = rng.choice(3, size=n, p=[cfg.child_share, cfg.women_share, men])
    child_male = rng.random(n) < cfg.child_male_share
    sex = np.where((category == 2) | ((category == 0) & child_male), "male", "female").astype(object)
    child_ages = np.arange(18)
    child_w = np.where(child_ages < 5, 1.2, np.where(child_ages < 13, 1.0, 0.9))
    adult_ages = np.arange(18, 65)
    adult_w = np.exp(-(adult_ages - 18) / 25.0)
    old_ages = np.arange(65, 101)
    old_w = np.exp(-(old_ages - 65) / 8.0)
    elderly_given_adult = cfg.elderly_share / max(1.0 - cfg.child_share, 1e-9)
    old = (category > 0) & (rng.random(n) < elderly_given_adult)
    age = np.where(
        category == 0,
        rng.choice(child_ages, size=n, p=child_w / child_w.sum()),
        np.where(old, rng.choice(old_ages, size=n, p=old_w / old_w.sum()),
                 rng.choice(adult_ages, size=n, p=adult_w / adult_w.sum())),
    )
    return sex, age.astype(np.int64)


def _groups(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> np.ndarray:
    """Consecutive group numbers for n items, group sizes drawn from ``weights`` (sizes 1, 2, ...)."""
    p = np.asarray(weights, dtype=float)
    sizes = rng.choice(len(p), size=n, p=p / p.sum()) + 1
    cut = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:cut]
    sizes[-1] -= sizes.sum() - n
    return np.repeat(np.arange(cut), sizes)


def _event_days(cfg: PopulationConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """Event dates (datetime64[D]) over the period: a flat baseline plus Gaussian peaks."""
    start, end = np.datetime64(cfg.start_date, "D"), np.datetime64(cfg.end_date, "D")
    days = np.arange(start, end + 1)
    offset = (days - start).astype(float)
    weight = np.ones(len(days))
    for centre, spread, height in cfg.date_peaks:
        c = float((np.datetime64(centre, "D") - start).astype(int))
        weight += height * np.exp(-0.5 * ((offset - c) / spread) ** 2)
    return days[rng.choice(len(days), size=n, p=weight / weight.sum())]


def _roles(frame: pd.DataFrame) -> np.ndarray:
    """'father', 'mother' or 'child' (a sibling) for each person of each household."""
    youngest = frame.groupby("household_id")["age"].transform("min").to_numpy()
    gap = frame["age"].to_numpy() - youngest
    role = np.full(len(frame), "child", dtype=object)
    for name, sex, min_age, min_gap in (("father", "male", 30, 18), ("mother", "female", 25, 16)):
        ok = (frame["sex"].to_numpy() == sex) & (frame["age"].to_numpy() >= min_age) & (gap >= min_gap)
        cand = frame.loc[ok, ["household_id", "age"]].sort_values(["household_id", "age"], ascending=[True, False],
                                                                   kind="stable")
        role[cand.drop_duplicates("household_id").index.to_numpy()] = name
    return role


def _given_names(household: np.ndarray, male: np.ndarray, sibling: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Given names by sex; siblings of one household never share one (checked on integer codes)."""
    tables = name_tables()
    vocabulary = pd.Index(np.concatenate([tables["male"].tokens, tables["female"].tokens])).unique()
    male_code = vocabulary.get_indexer(tables["male"].tokens)
    female_code = vocabulary.get_indexer(tables["female"].tokens)  # a name of both sexes has one code

    def draw(is_male: np.ndarray) -> np.ndarray:
        m: np.ndarray = male_code[rng.choice(len(male_code), size=len(is_male), p=tables["male"].probs)]
        f: np.ndarray = female_code[rng.choice(len(female_code), size=len(is_male), p=tables["female"].probs)]
        return np.where(is_male, m, f)

    code = draw(male)
    stride = len(vocabulary)
    for _ in range(10):
        key = np.where(sibling, household.astype(np.int64) * stride + code, -1 - np.arange(len(code)))
        dup = pd.Series(key).duplicated().to_numpy()
        if not dup.any():
            break
        code[dup] = draw(male[dup])
    given: np.ndarray = vocabulary.to_numpy(dtype=object)[code]
    return given


def _names(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Four-part names: siblings share father, grandfather and family; cousins grandfather and family."""
    tables = name_tables()
    clan = frame["clan_id"].to_numpy()
    household = frame["household_id"].to_numpy()
    n_clans, n_households = int(clan.max()) + 1, int(household.max()) + 1
    clan_family = tables["family"].draw(rng, n_clans)
    clan_grandfather = tables["male"].draw(rng, n_clans)
    clan_great = tables["male"].draw(rng, n_clans)
    household_father = tables["male"].draw(rng, n_households)
    male = frame["sex"].to_numpy() == "male"
    given = _given_names(household, male, frame["role"].to_numpy() == "child", rng)
    father = household_father[household]
    grandfather = clan_grandfather[clan]
    family = clan_family[clan]
    role = frame["role"].to_numpy()
    is_father, is_mother = role == "father", role == "mother"
    given[is_father] = father[is_father]
    father = np.where(is_father, grandfather, father)
    grandfather = np.where(is_father, clan_great[clan], grandfather)
    k = int(is_mother.sum())
    father[is_mother] = tables["male"].draw(rng, k)
    grandfather[is_mother] = tables["male"].draw(rng, k)
    family[is_mother] = tables["family"].draw(rng, k)
    return pd.DataFrame({"given": given, "father": father, "grandfather": grandfather, "family": family,
                         "household_family": clan_family[clan]})


def _dates_of_birth(event: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dates of birth that make ``age`` the exact age in years on the event date."""
    when = pd.DatetimeIndex(event)
    day = np.where((when.month == 2) & (when.day == 29), 28, when.day)
    anchor = pd.to_datetime(pd.DataFrame({"year": when.year - age, "month": when.month, "day": day}))
    back = rng.integers(0, 365, size=len(age)).astype("timedelta64[D]")
    born: np.ndarray = anchor.to_numpy().astype("datetime64[D]") - back
    return born


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    picked: np.ndarray = np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]
    return picked


def _stratum(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.Series:
    """The stratum label: the values of the ``by`` fields joined by '_' ('all' when none)."""
    if not by:
        return pd.Series("all", index=frame.index)
    label = frame[by[0]].astype(str)
    for col in by[1:]:
        label = label + "_" + frame[col].astype(str)
    return label


def make_population(cfg: PopulationConfig, rng: np.random.Generator) -> pd.DataFrame:
    """Draw the true population.

    Args:
        cfg: population settings.
        rng: the random generator (all draws come from it, so a seed fixes everything).

    Returns:
        One row per person: person_id, name parts, full_name, sex, age, age_group,
        date_of_birth, id_number, household_id, clan_id, role, household_family (the family name of
        the household's father and children: a mother's married name), place, event_date, status, cause,
        unrecovered, killed_together, wiped_out, latent_class, stratum.
    """
    n = cfg.people
    sex, age = _age_sex(cfg, rng, n)
    household = _groups(rng, cfg.household_sizes, n)
    n_households = int(household.max()) + 1
    clan_of_household = _groups(rng, cfg.clan_sizes, n_households)
    frame = pd.DataFrame({"household_id": household, "clan_id": clan_of_household[household], "sex": sex, "age": age})
    frame["role"] = _roles(frame)
    frame = pd.concat([frame, _names(frame, rng)], axis=1)
    size = np.bincount(household)
    together_h = (size >= 2) & (rng.random(n_households) < cfg.killed_together_share)
    wiped_h = together_h & (rng.random(n_households) < cfg.wiped_out_share)
    own_day = _event_days(cfg, rng, n)
    household_day = _event_days(cfg, rng, n_households)
    frame["killed_together"] = together_h[household]
    frame["wiped_out"] = wiped_h[household]
    event = np.where(frame["killed_together"].to_numpy(), household_day[household], own_day)
    frame["place"] = _pick(rng, cfg.governorates, n_households)[household]
    frame["event_date"] = event.astype("datetime64[D]")
    frame["date_of_birth"] = _dates_of_birth(event, age, rng)
    frame["id_number"] = _ids(rng, age)
    frame["status"] = _pick(rng, cfg.status_shares, n)
    killed = frame["status"].to_numpy() == "killed"
    frame["cause"] = np.where(killed, _pick(rng, cfg.cause_shares, n), np.array(None, dtype=object))
    frame["unrecovered"] = killed & (rng.random(n) < cfg.unrecovered_share)
    frame["latent_class"] = rng.choice(len(cfg.latent_shares), size=n,
                                       p=np.asarray(cfg.latent_shares) / sum(cfg.latent_shares))
    frame["age_group"] = np.array(AGE_GROUPS, dtype=object)[np.where(age < 18, 0, np.where(age >= 65, 2, 1))]
    frame["full_name"] = frame["given"] + " " + frame["father"] + " " + frame["grandfather"] + " " + frame["family"]
    frame["stratum"] = _stratum(frame, cfg.stratum_by)
    frame.insert(0, "person_id", pd.Series(np.arange(1, n + 1)).map("P{:07d}".format).to_numpy())
    columns = ["person_id", "given", "father", "grandfather", "family", "full_name", "sex", "age", "age_group",
               "date_of_birth", "id_number", "household_id", "clan_id", "role", "household_family", "place", "event_date", "status",
               "cause", "unrecovered", "killed_together", "wiped_out", "latent_class", "stratum"]
    return frame[columns]
