"""Settings of simulated incidents, their reports, and displacement (the ``[incidents]`` section).

A simulation without an ``[incidents]`` section writes exactly what it wrote before; with one,
victims die in incidents of known type and place, several sources report those incidents with
their own errors and contradictions, some victim lists name the incident or the locality, and
a displacement table is written. docs/simulation.md lists every setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from undercount.errors import ConfigError

__all__ = ["IncidentSourceConfig", "IncidentConfig", "incident_config_from_dict", "default_incident_sources"]


@dataclass(frozen=True)
class IncidentSourceConfig:
    """One publisher of incident reports and how it errs.

    Attributes:
        name: the source's name (file stem and the ``source`` of its rows).
        kind: casualty_recorder, un, ngo, press, official ...
        capture: chance of reporting an incident of median size.
        size_effect: logit effect of log(1 + killed): large incidents are reported more.
        objects: object types it reports (empty: all).
        file_format: csv, xlsx, json or hxl (CSV with a hashtag row).
        language: english or arabic (headers and place names).
        code_prefix: prefix of its incident codes ('' for none).
        coords: share of its reports with coordinates (jittered by ``coord_jitter_m``).
        adm1_only: share naming only the governorate, not the locality.
        date_shift: share one day off (night strikes, time zones).
        month_only: share giving only the month.
        object_confusion: share giving a related object type (a school used as a shelter, ...).
        weapon_other: share naming another weapon than the one used (an airstrike reported as shelling or a
            drone strike: sources disagree on munitions); weapon_missing: share naming no weapon ("a strike").
        count_noise: relative spread of reported killed around the truth.
        count_range: share writing killed as a range (min-max).
        count_missing: share not giving a number killed.
        actor_named: share naming the suspected actor; actor_other: share naming another actor.
        family_named: share of residential reports naming the family whose home was hit.
        victims_named: share of reports naming some of the killed; max_named: at most this many names.
        duplicate: share reported twice (an update: same code, new count).
        acknowledged: the named actor accepted responsibility (official statements).
        credible: whether its reports are credible (a file column says so when False).
    """

    name: str
    kind: str = "press"
    capture: float = 0.3
    size_effect: float = 0.6
    objects: tuple[str, ...] = ()
    file_format: str = "csv"
    language: str = "english"
    code_prefix: str = ""
    coords: float = 0.0
    coord_jitter_m: float = 300.0
    adm1_only: float = 0.1
    date_shift: float = 0.05
    month_only: float = 0.0
    object_confusion: float = 0.05
    weapon_other: float = 0.1
    weapon_missing: float = 0.1
    count_noise: float = 0.15
    count_range: float = 0.3
    count_missing: float = 0.05
    actor_named: float = 0.7
    actor_other: float = 0.02
    family_named: float = 0.6
    victims_named: float = 0.0
    max_named: int = 5
    duplicate: float = 0.02
    acknowledged: bool = False
    credible: bool = True


def default_incident_sources() -> tuple[IncidentSourceConfig, ...]:
    """The five publishers of the default simulation (a recorder, WHO-like, an NGO, the press, statements)."""
    return (
        IncidentSourceConfig(name="airwars", kind="casualty_recorder", capture=0.5, size_effect=0.7,
                             file_format="csv", code_prefix="AW-", coords=0.7, coord_jitter_m=150.0, adm1_only=0.05, date_shift=0.04,
                             count_range=0.6, family_named=0.95, actor_named=0.9, duplicate=0.03,
                             victims_named=0.75, max_named=10),
        IncidentSourceConfig(name="who_ssa", kind="un", capture=0.95, size_effect=0.2, objects=("health_facility",),
                             file_format="xlsx", code_prefix="SSA-", adm1_only=0.5, date_shift=0.02,
                             count_range=0.0, actor_named=0.0, family_named=0.0),
        IncidentSourceConfig(name="insecurity_insight", kind="ngo", capture=0.6, size_effect=0.3,
                             objects=("health_facility", "school", "aid_distribution", "shelter", "water_sanitation"),
                             file_format="hxl", code_prefix="II-", coords=0.5, adm1_only=0.2, date_shift=0.05,
                             actor_named=0.8, family_named=0.0, victims_named=0.2, max_named=3),
        IncidentSourceConfig(name="press", kind="press", capture=0.35, size_effect=0.9, file_format="json",
                             language="arabic", code_prefix="", adm1_only=0.15, date_shift=0.1, month_only=0.02,
                             object_confusion=0.1, weapon_other=0.2, weapon_missing=0.2, count_noise=0.3,
                             count_range=0.2, count_missing=0.1,
                             actor_named=0.6, actor_other=0.06, family_named=0.8, duplicate=0.04,
                             victims_named=0.4, max_named=3),
        IncidentSourceConfig(name="statements", kind="official", capture=0.04, size_effect=0.5, file_format="csv",
                             code_prefix="ST-", adm1_only=0.3, count_missing=0.6, actor_named=1.0, actor_other=0.0,
                             family_named=0.0, acknowledged=True),
    )


@dataclass(frozen=True)
class IncidentConfig:
    """How victims die in incidents and how those are reported.

    Attributes:
        household_share: share of households killed together whose strike is a reported-kind
            incident (the rest die in strikes no source distinguishes: still residential incidents).
        merge_share: share of those households hit with another household of their governorate
            (one strike on a building, same date).
        public_share: share of the killed not killed with their household who die in a public
            incident (shelter, school, aid distribution ...).
        public_size: mean number of such victims per public incident.
        objects: object type -> share, for public incidents.
        shelter_share: share of household strikes on families sheltering (object 'shelter').
        actors: suspected actor -> share (synthetic names).
        extra_injured: mean injured people per person killed who are on no list.
        sources: the publishers.
        victim_refs: list name -> share of its incident victims' rows carrying the incident's code.
        ref_source: the source whose codes victim lists carry.
        victim_localities: list name -> share of its rows naming the locality, not the governorate.
        displacement: write displacement counts (``displacement.csv`` with HXL tags, ``displacement_ocha.json``).
    """

    household_share: float = 1.0
    merge_share: float = 0.2
    public_share: float = 0.15
    public_size: float = 6.0
    objects: dict[str, float] = field(default_factory=lambda: {
        "shelter": 0.3, "school": 0.15, "aid_distribution": 0.2, "health_facility": 0.1, "place_of_worship": 0.07,
        "water_sanitation": 0.08, "other": 0.1})
    shelter_share: float = 0.1
    actors: dict[str, float] = field(default_factory=lambda: {"Armed forces A": 0.93, "Armed group B": 0.07})
    extra_injured: float = 1.5
    sources: tuple[IncidentSourceConfig, ...] = field(default_factory=default_incident_sources)
    victim_refs: dict[str, float] = field(default_factory=lambda: {"social": 0.35})
    ref_source: str = "airwars"
    victim_localities: dict[str, float] = field(default_factory=lambda: {"survey": 0.6, "social": 0.5})
    displacement: bool = True

    def validate(self, list_names: tuple[str, ...]) -> IncidentConfig:
        """Return self, or raise ConfigError for impossible values."""
        from undercount.incidents.vocab import OBJECT_TYPES, SOURCE_KINDS

        for key in ("household_share", "merge_share", "public_share", "shelter_share"):
            if not 0 <= getattr(self, key) <= 1:
                raise ConfigError(f"incidents.{key} must be within [0, 1]")
        if self.public_size < 1 or self.extra_injured < 0:
            raise ConfigError("incidents.public_size must be 1 or more and extra_injured 0 or more")
        if set(self.objects) - set(OBJECT_TYPES) or not self.objects or min(self.objects.values()) < 0:
            raise ConfigError(f"incidents.objects: object types among {', '.join(OBJECT_TYPES)}, shares 0 or more")
        if not self.actors or min(self.actors.values()) < 0 or sum(self.actors.values()) <= 0:
            raise ConfigError("incidents.actors needs at least one actor with a positive share")
        names = [s.name for s in self.sources]
        if not names or len(set(names)) != len(names):
            raise ConfigError("incidents.sources: at least one source, with unique names")
        for src in self.sources:
            where = f"incidents.sources.{src.name}"
            if src.kind not in SOURCE_KINDS or src.file_format not in ("csv", "xlsx", "json", "hxl") \
                    or src.language not in ("english", "arabic") or set(src.objects) - set(OBJECT_TYPES):
                raise ConfigError(f"{where}: kind among {', '.join(SOURCE_KINDS)}, file_format csv/xlsx/json/hxl, "
                                  f"language english/arabic, objects among {', '.join(OBJECT_TYPES)}")
            if not src.name.isidentifier():
                raise ConfigError(f"{where}: the name is a file stem: letters, digits and _ only")
            for f in dataclasses.fields(src):
                value = getattr(src, f.name)
                if f.type == "float" and f.name not in ("size_effect", "coord_jitter_m") and not 0 <= value <= 1:
                    raise ConfigError(f"{where}.{f.name} must be within [0, 1]")
            if src.max_named < 0 or src.coord_jitter_m < 0:
                raise ConfigError(f"{where}: max_named and coord_jitter_m must be 0 or more")
        if self.ref_source not in names:
            raise ConfigError(f"incidents.ref_source must name one of the sources ({', '.join(names)})")
        for key in ("victim_refs", "victim_localities"):
            table = getattr(self, key)
            if set(table) - set(list_names) or any(not 0 <= v <= 1 for v in table.values()):
                raise ConfigError(f"incidents.{key}: list names among {', '.join(list_names)}, shares within [0, 1]")
        return self


def incident_config_from_dict(data: dict[str, Any], base: IncidentConfig | None,
                              build: Callable[..., Any]) -> IncidentConfig:
    """An :class:`IncidentConfig` from a TOML ``[incidents]`` table (sources matched by name).

    ``build`` is the settings module's checked dataclass builder (passed in, so that module and this
    one do not import each other).

    Raises:
        ConfigError: unknown settings or values of the wrong kind.
    """
    if not isinstance(data, dict):
        raise ConfigError("incidents must be a table ([incidents])")
    base = base or IncidentConfig()
    sources = list(base.sources)
    items = data.get("sources", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) and "name" in i for i in items):
        raise ConfigError("incidents.sources must be a list of tables with a name ([[incidents.sources]])")
    for item in items:
        old = next((s for s in sources if s.name == item["name"]), None)
        values = {**(dataclasses.asdict(old) if old else {}), **item}
        new = build(IncidentSourceConfig, values, f"incidents.sources.{item['name']}")
        sources = [new if s is old else s for s in sources] if old else [*sources, new]
    rest = {k: v for k, v in data.items() if k != "sources"}
    checked = build(IncidentConfig, rest, "incidents")  # unknown keys and wrong types are errors
    return dataclasses.replace(base, **{k: getattr(checked, k) for k in rest}, sources=tuple(sources))
