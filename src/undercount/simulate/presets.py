"""Ready-made simulations: ``small``, ``gaza-like`` and ``large``.

Lists come from five templates, each shaped like a real kind of source:

- ``hospital``: the ministry's hospital/morgue list. Large, with ID numbers and dates of birth;
  misses people never recovered from rubble, the missing and the detained. Windows-1256 CSV with
  Arabic headers and a title row above the header, as published releases have.
- ``survey``: a family-report survey. Sampled by household (shared household effect), misses whole
  households killed together (nobody left to report). XLSX, English headers, Arabic names.
- ``social``: social-media obituaries in English transliteration. Over-covers adult men,
  under-covers small children. UTF-8 CSV, English headers.
- ``ngo`` and ``press``: extra lists for more than three (Arabic CSV with a BOM; English XLSX).
"""

from __future__ import annotations

from dataclasses import replace

from undercount.errors import ConfigError
from undercount.simulate.config import ErrorConfig, ListConfig, PopulationConfig, SimulationConfig

__all__ = ["PRESETS", "list_template", "override", "preset_config"]

PRESETS = ("small", "gaza-like", "large")

_SECONDARY_ERRORS = ErrorConfig(
    typo=0.03, variant=0.08, drop_grandfather=0.08, swap_parts=0.01, missing_part=0.03,
    age_heaping=0.12, age_off_by_one=0.08, age_missing=0.05, sex_missing=0.03,
    id_missing=0.5, id_typo=0.03, date_shift=0.15, date_missing=0.1, duplicate=0.03,
    married_name=0.15, reported_missing=0.05,
)


def list_template(kind: str, name: str | None = None) -> ListConfig:
    """The list of a kind with its default capture, covariate effects and format.

    Args:
        kind: hospital | survey | social | ngo | press.
        name: the list's name (defaults to the kind).

    Returns:
        The list's settings.

    Raises:
        ConfigError: an unknown kind.
    """
    name = name or kind
    if kind == "hospital":
        return ListConfig(
            name=name, kind=kind, capture=0.6,
            effects={"unrecovered": -3.0, "missing": -3.0, "detained": -3.5, "injured": -1.0},
            fields=("id", "name", "sex", "age", "dob", "date", "place"),
            script="arabic", headers="arabic", file_format="csv", encoding="cp1256",
            title_row=True, sex_values="arabic", default_status="killed",
            errors=ErrorConfig(typo=0.015, variant=0.04, drop_grandfather=0.02, age_heaping=0.0,
                               age_off_by_one=0.02, age_missing=0.01, id_missing=0.02,
                               id_typo=0.008, date_shift=0.02, date_missing=0.01, duplicate=0.02,
                               married_name=0.02, reported_missing=0.0),
        )
    if kind == "survey":
        return ListConfig(
            name=name, kind=kind, capture=0.15,
            effects={"wiped_out": -3.0, "missing": 0.5, "unrecovered": 0.3},
            household_sd=1.0,
            fields=("name", "age", "sex", "date", "place", "status"),
            script="arabic", headers="english_title", file_format="xlsx", sex_values="words",
            errors=_SECONDARY_ERRORS,
        )
    if kind == "social":
        return ListConfig(
            name=name, kind=kind, capture=0.2,
            effects={"child": -1.2, "adult_male": 0.4, "elderly": -0.3, "unrecovered": -0.3},
            fields=("name", "age", "sex", "date", "place"),
            script="latin", headers="english", file_format="csv", encoding="utf-8",
            sex_values="mf", date_format="%d/%m/%Y", default_status="killed",
            errors=replace(_SECONDARY_ERRORS, variant=0.0, typo=0.02),
        )
    if kind == "ngo":
        return ListConfig(
            name=name, kind=kind, capture=0.3, effects={"missing": 0.8, "detained": 1.0},
            fields=("id", "name", "age", "sex", "date", "place", "status"),
            script="arabic", headers="unusual", file_format="csv", encoding="utf-8-sig",
            sex_values="letters", errors=replace(_SECONDARY_ERRORS, id_missing=0.4),
        )
    if kind == "press":
        return ListConfig(
            name=name, kind=kind, capture=0.1, effects={"child": 0.5, "killed_together": 0.8},
            fields=("name", "age", "sex", "date", "place"),
            script="latin", headers="english_title", file_format="xlsx", sex_values="words",
            default_status="killed", errors=replace(_SECONDARY_ERRORS, variant=0.0),
        )
    raise ConfigError(f"unknown list kind {kind!r} (hospital, survey, social, ngo, press)")


_EXTRA_KINDS = ("ngo", "press")


def _with_lists(lists: tuple[ListConfig, ...], k: int) -> tuple[ListConfig, ...]:
    """The first ``k`` lists, adding ngo/press lists (ngo_2, press_2, ...) beyond the preset's."""
    if k < 1:
        raise ConfigError("--lists must be at least 1")
    out = list(lists[:k])
    i = 0
    while len(out) < k:
        kind = _EXTRA_KINDS[i % len(_EXTRA_KINDS)]
        round_ = i // len(_EXTRA_KINDS) + 1
        out.append(list_template(kind, kind if round_ == 1 else f"{kind}_{round_}"))
        i += 1
    return tuple(out)


def _gaza_like(people: int) -> SimulationConfig:
    latent = (0.0, -1.0)
    lists = tuple(
        replace(list_template(kind), latent_effects=latent) for kind in ("hospital", "survey", "social")
    )
    return SimulationConfig(
        preset="gaza-like",
        population=PopulationConfig(people=people, latent_shares=(0.8, 0.2)),
        lists=lists,
        dependence=(("survey", "social", 0.5),),
    )


def preset_config(preset: str = "small", *, people: int | None = None,
                  lists: int | None = None) -> SimulationConfig:
    """The settings of a preset, with the number of people and of lists overridden.

    Args:
        preset: small | gaza-like | large.
        people: true population size (overrides the preset's).
        lists: number of lists (the first ones of the preset, then ngo/press lists).

    Returns:
        The validated settings.

    Raises:
        ConfigError: an unknown preset or impossible values.

    Example:
        >>> preset_config("small").population.people
        2000
    """
    if preset == "small":
        base = _gaza_like(2000)
        base = replace(base, preset="small", lists=tuple(
            replace(lst, capture=cap) for lst, cap in zip(base.lists, (0.6, 0.35, 0.35))
        ))
    elif preset == "gaza-like":
        base = _gaza_like(60_000)
    elif preset == "large":
        base = _gaza_like(1_000_000)
        base = replace(
            base, preset="large",
            population=replace(base.population, target_records=1_000_000),
            lists=(*(replace(lst, file_format="csv", encoding=lst.encoding) for lst in base.lists),
                   replace(list_template("press"), latent_effects=(0.0, -1.0), capture=0.02)),
        )
    else:
        raise ConfigError(f"unknown preset {preset!r} (small, gaza-like, large)")
    return override(base, people=people, lists=lists)


def override(config: SimulationConfig, *, people: int | None = None, lists: int | None = None) -> SimulationConfig:
    """Settings with the number of people and of lists replaced (None keeps the current value).

    Raises:
        ConfigError: impossible values.
    """
    if people is not None:
        config = replace(config, population=replace(config.population, people=people, target_records=None))
    if lists is not None:
        chosen = _with_lists(config.lists, lists)
        names = {lst.name for lst in chosen}
        config = replace(config, lists=chosen,
                         dependence=tuple(d for d in config.dependence if d[0] in names and d[1] in names))
    return config.validate()
