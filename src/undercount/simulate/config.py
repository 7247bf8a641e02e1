"""The settings of a simulation: population, lists, capture, recording errors.

Every setting is a field of a frozen dataclass with its default; a TOML file can override
any of them (see :func:`load_config`). docs/simulation.md lists them all in plain words.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from undercount.errors import ConfigError
from undercount.simulate.incident_config import IncidentConfig, incident_config_from_dict

__all__ = [
    "ErrorConfig",
    "ListConfig",
    "PopulationConfig",
    "SimulationConfig",
    "COVARIATES",
    "config_from_dict",
    "config_to_dict",
    "load_config",
]

#: Person-level indicators a list's capture probability can depend on (logit effects).
COVARIATES = (
    "child",            # age under 18
    "elderly",          # age 65 or more
    "female",
    "adult_male",       # male, 18 or more
    "missing",          # status missing
    "detained",
    "injured",
    "unrecovered",      # killed, body not recovered (under rubble)
    "killed_together",  # killed with other members of the household, same date and place
    "wiped_out",        # the whole household was killed: nobody left to report
)

GOVERNORATES = {
    "North Gaza": 0.20,
    "Gaza": 0.32,
    "Deir al-Balah": 0.14,
    "Khan Younis": 0.20,
    "Rafah": 0.14,
}


@dataclass(frozen=True)
class PopulationConfig:
    """Who died: age, sex, households, names, dates, places, status and cause.

    Attributes:
        people: size of the true population N.
        target_records: if set, N is chosen so the lists hold about this many rows in total.
        child_share: share of people under 18.
        women_share: share of women (female, 18 or more).
        elderly_share: share of people 65 or more (of either sex).
        child_male_share: share of boys among children.
        start_date, end_date: period of the events (ISO dates).
        date_peaks: (centre date, spread in days, weight) of peaks over a flat baseline of weight 1.
        governorates: place name -> share.
        status_shares: killed / missing / detained / injured -> share.
        cause_shares: cause of death of the killed -> share.
        unrecovered_share: share of the killed whose bodies were not recovered (under rubble).
        household_sizes: relative weights of households of 1, 2, 3, ... dead members.
        killed_together_share: share of multi-member households killed together (same date, place).
        wiped_out_share: share of the households killed together that left no survivor.
        clan_sizes: relative weights of clans of 1, 2, 3, ... households (cousins).
        latent_shares: shares of the latent classes (unobserved heterogeneity).
        stratum_by: person fields whose values make the stratum label.
    """

    people: int = 2000
    target_records: int | None = None
    child_share: float = 0.33
    women_share: float = 0.20
    elderly_share: float = 0.07
    child_male_share: float = 0.52
    start_date: str = "2023-10-07"
    end_date: str = "2024-08-31"
    date_peaks: tuple[tuple[str, float, float], ...] = (
        ("2023-10-25", 12.0, 4.0),
        ("2023-12-10", 15.0, 3.0),
        ("2024-05-20", 10.0, 1.0),
    )
    governorates: dict[str, float] = field(default_factory=lambda: dict(GOVERNORATES))
    status_shares: dict[str, float] = field(
        default_factory=lambda: {"killed": 0.92, "missing": 0.05, "detained": 0.015, "injured": 0.015}
    )
    cause_shares: dict[str, float] = field(
        default_factory=lambda: {"direct_violence": 0.93, "starvation": 0.03, "disease": 0.04}
    )
    unrecovered_share: float = 0.08
    household_sizes: tuple[float, ...] = (40, 14, 10, 9, 8, 6, 5, 3, 2, 1.5, 1)
    killed_together_share: float = 0.7
    wiped_out_share: float = 0.3
    clan_sizes: tuple[float, ...] = (50, 25, 12, 7, 4, 2)
    latent_shares: tuple[float, ...] = (1.0,)
    stratum_by: tuple[str, ...] = ("age_group", "sex")


@dataclass(frozen=True)
class ErrorConfig:
    """Recording errors of one list: each a probability per row (or per name part).

    Attributes:
        typo: per name part, a character substituted, deleted or transposed.
        variant: per name part, an alef/hamza/taa-marbuta/alef-maqsura spelling variant.
        compound: per compound part (عبد الله), written joined or split the other way.
        drop_grandfather: the grandfather's name left out.
        swap_parts: father and grandfather written in each other's place.
        missing_part: the family name left out.
        age_heaping: an age of 20 or more rounded to a multiple of 5.
        age_off_by_one: the age one year too high or too low.
        age_missing: no age.
        sex_missing: no sex.
        id_missing: no ID number (lists with IDs).
        id_typo: one digit changed or two adjacent digits swapped (lists with IDs).
        date_shift: the date moved by 1 to 7 days.
        date_missing: no date.
        duplicate: the row written twice (the copy sometimes with its own errors).
        married_name: a mother written with her husband's family name instead of her own.
        reported_missing: a killed person written as missing (lists with a status column).
    """

    typo: float = 0.02
    variant: float = 0.05
    compound: float = 0.2
    drop_grandfather: float = 0.03
    swap_parts: float = 0.005
    missing_part: float = 0.01
    age_heaping: float = 0.05
    age_off_by_one: float = 0.05
    age_missing: float = 0.02
    sex_missing: float = 0.01
    id_missing: float = 0.03
    id_typo: float = 0.01
    date_shift: float = 0.05
    date_missing: float = 0.02
    duplicate: float = 0.01
    married_name: float = 0.05
    reported_missing: float = 0.02


@dataclass(frozen=True)
class ListConfig:
    """One list: who it captures and how it writes them down.

    Attributes:
        name: the list's name (file stem, source name in the case).
        kind: hospital | survey | social | ngo | press (for documentation and defaults).
        capture: target share of the population the list holds (mean capture probability).
        effects: covariate -> effect on the logit of capture (see ``COVARIATES``).
        latent_effects: per latent class, an effect on the logit of capture.
        household_sd: spread of a shared household effect on the logit (cluster sampling).
        fields: what the list records, among id, name, age, sex, dob, date, place, status.
        script: 'arabic' or 'latin' (English transliteration).
        headers: column headers: 'arabic', 'english' (name, date_of_death ...), 'english_title'
            (Name, Date of death ...) or 'unusual' (Arabic headers no importer knows: a spec maps them).
        file_format: 'csv' or 'xlsx'.
        encoding: CSV encoding: 'utf-8', 'utf-8-sig' or 'cp1256'.
        title_row: a title line above the header, as in published ministry releases.
        sex_values: how sex is written: 'arabic' (ذكر/أنثى), 'mf' (M/F), 'words' (male/female) or
            'letters' (ذ/ث: a spec maps them).
        default_status: status of every row of a list without a status column (written in a spec).
        date_format: strftime format of dates.
        errors: the list's recording errors.
    """

    name: str
    kind: str = "hospital"
    capture: float = 0.6
    effects: dict[str, float] = field(default_factory=dict)
    latent_effects: tuple[float, ...] = ()
    household_sd: float = 0.0
    fields: tuple[str, ...] = ("name", "age", "sex", "date", "place")
    script: str = "arabic"
    headers: str = "arabic"
    file_format: str = "csv"
    encoding: str = "utf-8"
    title_row: bool = False
    sex_values: str = "arabic"
    date_format: str = "%Y-%m-%d"
    default_status: str | None = None
    errors: ErrorConfig = field(default_factory=ErrorConfig)


@dataclass(frozen=True)
class SimulationConfig:
    """A whole simulation: population, lists, dependence between lists.

    Attributes:
        preset: the preset these settings started from.
        population: who died.
        lists: the lists, in order.
        dependence: (list a, list b, effect): being on list a adds ``effect`` to the logit of
            capture on list b (positive: positively dependent lists).
        error_scale: multiplies every recording-error probability of every list (capped at 1):
            0 gives clean lists, 2 twice the errors; a knob for linkage difficulty.
        incidents: victims die in incidents that several sources report (None: no incidents).
    """

    preset: str = "small"
    population: PopulationConfig = field(default_factory=PopulationConfig)
    lists: tuple[ListConfig, ...] = ()
    dependence: tuple[tuple[str, str, float], ...] = ()
    error_scale: float = 1.0
    incidents: IncidentConfig | None = None

    def scaled_errors(self, lst: ListConfig) -> ErrorConfig:
        """The list's error probabilities multiplied by ``error_scale`` (capped at 1)."""
        if self.error_scale == 1.0:
            return lst.errors
        return replace(lst.errors, **{f.name: min(1.0, getattr(lst.errors, f.name) * self.error_scale)
                                      for f in fields(ErrorConfig)})

    def validate(self) -> SimulationConfig:
        """Check values; return self.

        Raises:
            ConfigError: a share outside [0, 1], an unknown covariate, list or field.
        """
        pop = self.population
        if pop.people < 1:
            raise ConfigError("population.people must be at least 1")
        if pop.child_share + pop.women_share > 1 or min(pop.child_share, pop.women_share) < 0:
            raise ConfigError("population.child_share + women_share must be within [0, 1]")
        if not 0 <= pop.elderly_share <= 1 - pop.child_share:
            raise ConfigError("population.elderly_share must be within [0, 1 - child_share]")
        _check_dates(pop)
        _check_weights(pop)
        if not self.lists:
            raise ConfigError("a simulation needs at least one list")
        if self.error_scale < 0:
            raise ConfigError("error_scale must be 0 or more")
        names = [lst.name for lst in self.lists]
        if len(set(names)) != len(names):
            raise ConfigError("list names must be unique")
        for lst in self.lists:
            _check_list(lst, len(pop.latent_shares))
        for a, b, _ in self.dependence:
            if a not in names or b not in names or names.index(a) >= names.index(b):
                raise ConfigError(f"dependence ({a}, {b}): both lists must exist, {a} first")
        if self.incidents is not None:
            self.incidents.validate(tuple(names))
        return self


def _check_list(lst: ListConfig, classes: int) -> None:
    where = f"lists.{lst.name}"
    name = lst.name
    if (not name.strip() or name.startswith(".") or any(c in name for c in "/\\") or not name.isprintable()
            or name.casefold() == "count"):
        raise ConfigError(f"lists: {name!r} cannot be a list name (it is the file's stem in the output folder: "
                          "no '/', '\\', leading '.' or control characters, and not 'count')")
    if not 0 < lst.capture < 1:
        raise ConfigError(f"{where}.capture must be strictly between 0 and 1")
    unknown = set(lst.effects) - set(COVARIATES)
    if unknown:
        raise ConfigError(f"{where}.effects: unknown covariate(s) {sorted(unknown)}")
    if lst.latent_effects and len(lst.latent_effects) != classes:
        raise ConfigError(f"{where}.latent_effects needs one value per latent class ({classes})")
    bad = set(lst.fields) - {"id", "name", "age", "sex", "dob", "date", "place", "status"}
    if bad or "name" not in lst.fields:
        raise ConfigError(f"{where}.fields must include 'name' and only known fields")
    choices = {
        "script": ("arabic", "latin"), "headers": ("arabic", "english", "english_title", "unusual"),
        "file_format": ("csv", "xlsx"), "encoding": ("utf-8", "utf-8-sig", "cp1256"),
        "sex_values": ("arabic", "mf", "words", "letters"),
        "default_status": (None, "killed", "injured", "missing", "detained"),
    }
    for attr, allowed in choices.items():
        if getattr(lst, attr) not in allowed:
            raise ConfigError(f"{where}.{attr} must be one of {', '.join(map(str, allowed))}")
    for f in fields(lst.errors):
        if not 0 <= getattr(lst.errors, f.name) <= 1:
            raise ConfigError(f"{where}.errors.{f.name} must be within [0, 1]")


T = TypeVar("T")


_KINDS: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
    "int | None": (int, type(None)), "str | None": (str, type(None)),
}


# The members of tables and lists of scalars: (what to call them, check).
_ITEMS: dict[str, tuple[str, Any]] = {
    "dict[str, float]": ("numbers", lambda v: _is_number(v)),
    "tuple[float, ...]": ("numbers", lambda v: _is_number(v)),
    "tuple[str, ...]": ("text", lambda v: isinstance(v, str)),
}


def _check_type(f: dataclasses.Field[Any], value: Any, where: str) -> None:
    """Raise ConfigError when a scalar setting has the wrong type (e.g. a number given as text)."""
    kinds = _KINDS.get(str(f.type))
    if kinds is None:
        if str(f.type).startswith(("tuple", "dict")) and not isinstance(value, (tuple, dict)):
            raise ConfigError(f"{where} must be a {'table' if str(f.type).startswith('dict') else 'list'}")
        items = _ITEMS.get(str(f.type))
        if items is not None and not all(items[1](v) for v in (value.values() if isinstance(value, dict) else value)):
            raise ConfigError(f"{where} must hold {items[0]} only")
        return
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ConfigError(f"{where} must be of type {f.type}, not {type(value).__name__}")


def _build(cls: type[T], data: dict[str, Any], where: str) -> T:
    """Make dataclass ``cls`` from a dict, turning lists into tuples; unknown keys are errors."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "errors" and isinstance(value, dict):
            value = _build(ErrorConfig, value, f"{where}.errors")
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        _check_type(known[key], value, f"{where}.{key}")
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_dates(pop: PopulationConfig) -> None:
    """The period's ends are ISO dates in order; every peak is (ISO date, spread, weight)."""
    ends = []
    for key in ("start_date", "end_date"):
        try:
            ends.append(date.fromisoformat(getattr(pop, key)))
        except ValueError:
            raise ConfigError(f"population.{key} must be a date like 2023-10-07") from None
    if ends[0] > ends[1]:
        raise ConfigError("population.start_date is after end_date")
    for peak in pop.date_peaks:
        try:
            ok = len(peak) == 3 and bool(date.fromisoformat(peak[0])) and _is_number(peak[1]) and _is_number(peak[2])
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError('population.date_peaks must be a list of [date, spread, weight], '
                              'e.g. [["2023-10-25", 12, 4]]')


_STRATUM_FIELDS = ("age_group", "sex", "place", "status", "cause", "role", "latent_class", "unrecovered",
                   "killed_together", "wiped_out")
_KEYS = {"status_shares": ("killed", "missing", "detained", "injured"),
         "cause_shares": ("direct_violence", "starvation", "disease", "other")}


def _check_weights(pop: PopulationConfig) -> None:
    """Shares and weights: not empty, none negative, some positive; known statuses, causes and strata."""
    for key in ("governorates", "status_shares", "cause_shares", "household_sizes", "clan_sizes", "latent_shares"):
        value = getattr(pop, key)
        weights = list(value.values()) if isinstance(value, dict) else list(value)
        if not weights or min(weights) < 0 or sum(weights) <= 0:
            raise ConfigError(f"population.{key} needs at least one positive weight and none negative")
        unknown = sorted(set(value) - set(_KEYS[key])) if key in _KEYS else []
        if unknown:
            raise ConfigError(f"population.{key}: unknown {', '.join(unknown)} (use {', '.join(_KEYS[key])})")
    for _, spread, weight in pop.date_peaks:
        if spread <= 0 or weight < 0:
            raise ConfigError("population.date_peaks: each spread must be positive and each weight 0 or more")
    unknown = sorted(set(pop.stratum_by) - set(_STRATUM_FIELDS))
    if unknown:
        raise ConfigError(f"population.stratum_by: unknown field(s) {', '.join(unknown)} "
                          f"(use {', '.join(_STRATUM_FIELDS)})")


def config_from_dict(data: dict[str, Any], base: SimulationConfig) -> SimulationConfig:
    """Override ``base`` with the settings in ``data`` (as read from TOML).

    Lists given in ``data`` replace a base list of the same name field by field, or are added.

    Raises:
        ConfigError: unknown settings or values of the wrong kind.
    """
    data = dict(data)
    unknown = set(data) - {"preset", "population", "lists", "dependence", "error_scale", "incidents"}
    if unknown:
        raise ConfigError(f"config: unknown section(s) {sorted(unknown)}")
    pop = base.population
    if "population" in data:
        merged = {**dataclasses.asdict(pop), **_table(data["population"], "population")}
        pop = _build(PopulationConfig, merged, "population")
    lists = list(base.lists)
    items = data.get("lists", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConfigError("lists must be a list of tables ([[lists]] sections)")
    for item in items:
        if "name" not in item:
            raise ConfigError("lists: every list needs a name")
        old = next((lst for lst in lists if lst.name == item["name"]), None)
        merged = dataclasses.asdict(old) if old else {}
        errors = {**merged.get("errors", {}), **_table(item.get("errors", {}), f"lists.{item['name']}.errors")}
        merged.update(item)
        merged["errors"] = errors
        new = _build(ListConfig, merged, f"lists.{item['name']}")
        lists = [new if lst is old else lst for lst in lists] if old else [*lists, new]
    dependence = data.get("dependence", base.dependence)
    if not isinstance(dependence, (list, tuple)) or not all(
        isinstance(d, (list, tuple)) and len(d) == 3 and isinstance(d[0], str) and isinstance(d[1], str)
        and _is_number(d[2]) for d in dependence
    ):
        raise ConfigError('dependence must be a list of [list a, list b, effect], e.g. [["hospital", "survey", 1.0]]')
    scale = data.get("error_scale", base.error_scale)
    if not _is_number(scale):
        raise ConfigError("error_scale must be a number")
    dependence = tuple(tuple(d) for d in dependence)
    scale = float(scale)
    incidents = base.incidents
    if "incidents" in data:
        incidents = incident_config_from_dict(data["incidents"], base.incidents, _build)
    return replace(base, population=pop, lists=tuple(lists), dependence=dependence,
                   error_scale=scale, incidents=incidents)


def load_config(path: Path) -> dict[str, Any]:
    """Read a TOML settings file.

    Raises:
        ConfigError: the file is missing or is not valid TOML.
    """
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"file {path}: not found") from None
    except IsADirectoryError:
        raise ConfigError(f"file {path}: is a folder, not a TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"file {path}: not valid TOML ({exc})") from None


def config_to_dict(config: SimulationConfig) -> dict[str, Any]:
    """The settings as plain JSON-safe data (tuples become lists)."""
    return dataclasses.asdict(config)
