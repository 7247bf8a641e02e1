"""Synthetic cases with a known truth: ``simulate(out_dir, preset=..., seed=...)``.

A simulation draws a true population shaped like the war dead of Gaza (ages, sexes, households
and four-part names), decides which people each list holds (capture depends on covariates, latent
classes and other lists), writes each list with its own recording errors and file format, and
keeps the truth: ``truth.csv`` (list, row, person_id), ``truth_population.csv`` and
``manifest.json``. The same seed gives the same files, byte for byte. See docs/simulation.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount._version import __version__
from undercount.errors import ConfigError
from undercount.simulate.capture import CaptureResult, draw_captures
from undercount.simulate.config import (
    ErrorConfig,
    ListConfig,
    PopulationConfig,
    SimulationConfig,
    config_from_dict,
    config_to_dict,
    load_config,
)
from undercount.simulate.incident_config import IncidentConfig, IncidentSourceConfig
from undercount.simulate.lists import BuiltList, build_list
from undercount.simulate.population import make_population
from undercount.simulate.presets import PRESETS, override, preset_config
from undercount.simulate.writers import write_json, write_list, write_table, write_toml

__all__ = [
    "ErrorConfig",
    "IncidentConfig",
    "IncidentSourceConfig",
    "ListConfig",
    "PopulationConfig",
    "PRESETS",
    "SimulationConfig",
    "SimulationResult",
    "preset_config",
    "resolve_config",
    "simulate",
]


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation wrote and the truth it keeps.

    Attributes:
        out_dir: the folder written.
        config: the settings used.
        seed: the seed.
        list_files: list name -> file written.
        spec_files: list name -> import spec written next to the list (only lists that need one).
        truth: list, row, person_id for every row of every list.
        population: the true population, one row per person.
        manifest: the contents of manifest.json.
        incident_files: source -> file of incident reports (with ``[incidents]`` settings only).
        displacement_files: files of displacement counts (likewise).
    """

    out_dir: Path
    config: SimulationConfig
    seed: int
    list_files: dict[str, Path]
    spec_files: dict[str, Path]
    truth: pd.DataFrame = field(repr=False)
    population: pd.DataFrame = field(repr=False)
    manifest: dict[str, Any] = field(repr=False)
    incident_files: dict[str, Path] = field(default_factory=dict)
    displacement_files: tuple[Path, ...] = ()

    @property
    def true_n(self) -> int:
        """The true number of people."""
        return len(self.population)

    @property
    def truth_path(self) -> Path:
        """truth.csv."""
        return self.out_dir / "truth.csv"


def resolve_config(*, preset: str | None = None, people: int | None = None, lists: int | None = None,
                   config: str | Path | dict[str, Any] | SimulationConfig | None = None,
                   incidents: bool = False) -> SimulationConfig:
    """The settings of a run: preset, then the settings file, then ``people``, ``lists`` and ``incidents``.

    Raises:
        ConfigError: unknown preset, unknown settings or impossible values.
    """
    if isinstance(config, SimulationConfig):
        resolved = override(config, people=people, lists=lists)
    else:
        data = load_config(Path(config)) if isinstance(config, (str, Path)) else dict(config or {})
        base = preset_config(preset or str(data.get("preset", "small")))
        resolved = override(config_from_dict(data, base), people=people, lists=lists)
    if incidents and resolved.incidents is None:
        names = {lst.name for lst in resolved.lists}
        default = IncidentConfig()
        default = replace(default, victim_refs={k: v for k, v in default.victim_refs.items() if k in names},
                          victim_localities={k: v for k, v in default.victim_localities.items() if k in names})
        resolved = replace(resolved, incidents=default).validate()
    return resolved


def _sized(config: SimulationConfig) -> SimulationConfig:
    """Choose N so the lists hold about ``target_records`` rows when that is set."""
    target = config.population.target_records
    if not target:
        return config
    per_person = sum(lst.capture * (1 + lst.errors.duplicate) for lst in config.lists)
    people = max(1, int(round(target / per_person)))
    return replace(config, population=replace(config.population, people=people))


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def _manifest(config: SimulationConfig, seed: int, population: pd.DataFrame, captures: CaptureResult,
              built: list[BuiltList], files: dict[str, Path], specs: dict[str, Path]) -> dict[str, Any]:
    by_age = captures.rates_by(population["age_group"])
    rates = captures.rates()
    lists = []
    for k, item in enumerate(built):
        lst = item.config
        lists.append({
            "name": lst.name, "kind": lst.kind, "file": files[lst.name].name, "format": lst.file_format,
            "encoding": lst.encoding if lst.file_format == "csv" else None, "script": lst.script,
            "headers": lst.headers, "title_row": lst.title_row,
            "spec": specs[lst.name].name if lst.name in specs else None,
            "rows": len(item.table), "persons": int(captures.captured[:, k].sum()),
            "capture_target": lst.capture, "capture_rate": rates[lst.name],
            "capture_rate_by_age_group": by_age[lst.name], "errors": item.tally.to_dict(),
        })
    histories = captures.histories()
    return {
        "undercount_version": __version__,
        "seed": seed,
        "preset": config.preset,
        "config": config_to_dict(config),
        "true_n": len(population),
        "documented_n": int(captures.captured.any(axis=1).sum()),
        "true_n_by_stratum": _counts(population["stratum"]),
        "true_n_by": {col: _counts(population[col]) for col in ("age_group", "sex", "place", "status")},
        "histories": histories.to_dict(orient="records"),
        "lists": lists,
        "files": {"truth": "truth.csv", "population": "truth_population.csv"},
    }


def simulate(out_dir: str | Path, *, preset: str | None = None, people: int | None = None,
             lists: int | None = None, seed: int = 0,
             config: str | Path | dict[str, Any] | SimulationConfig | None = None,
             incidents: bool = False) -> SimulationResult:
    """Simulate a case with a known truth and write it to ``out_dir``.

    Args:
        out_dir: folder to write (created if needed; files of the same names are replaced).
        preset: small | gaza-like | large (default: the settings file's, else small).
        people: true population size (overrides the preset).
        lists: number of lists (overrides the preset).
        seed: random seed; the same seed gives byte-identical files.
        config: a TOML settings file, its contents as a dict, or a SimulationConfig.
        incidents: add incidents, their reports and displacement with the default settings (a
            settings file's ``[incidents]`` section does the same with its own settings).

    Returns:
        The :class:`SimulationResult`.

    Raises:
        ConfigError: unknown preset or settings, impossible values, a negative seed, an output
            folder that cannot be made.

    Example:
        >>> result = simulate("/tmp/uc-sim", preset="small", seed=1)  # doctest: +SKIP
        >>> sorted(result.list_files)  # doctest: +SKIP
        ['hospital', 'social', 'survey']
    """
    if seed < 0:
        raise ConfigError(f"seed must be 0 or more (got {seed})")
    cfg = _sized(resolve_config(preset=preset, people=people, lists=lists, config=config, incidents=incidents))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write to {out}: {exc.strerror or 'not a folder'}") from None
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2 + len(cfg.lists))]
    population = make_population(cfg.population, streams[0])
    extra = np.random.SeedSequence(seed).spawn(2 + len(cfg.lists) + 4)[2 + len(cfg.lists):]  # the same lists' streams
    made = None
    if cfg.incidents is not None:
        from undercount.simulate.incidents import make_incidents

        made = make_incidents(population, cfg.incidents, np.random.default_rng(extra[0]))
        population = made.population
    captures = draw_captures(population, cfg, streams[1])
    period = (cfg.population.start_date, cfg.population.end_date)
    built = [build_list(population, captures.captured[:, k], replace(lst, errors=cfg.scaled_errors(lst)),
                        streams[2 + k], period=period) for k, lst in enumerate(cfg.lists)]
    incident_files: dict[str, Path] = {}
    displacement_files: tuple[Path, ...] = ()
    incident_summary: dict[str, Any] = {}
    if made is not None and cfg.incidents is not None:
        built, incident_files, displacement_files, incident_summary = _incidents(
            out, cfg, made.incidents, population, built, [np.random.default_rng(s) for s in extra[1:]])
    files: dict[str, Path] = {}
    specs: dict[str, Path] = {}
    for item in built:
        files[item.config.name] = write_list(item.table, item.config, out)
        if item.spec:
            specs[item.config.name] = out / f"{item.config.name}.spec.toml"
            write_toml(item.spec, specs[item.config.name],
                       comment=f"import spec for {files[item.config.name].name} (written by undercount simulate)")
    truth = pd.concat([item.truth for item in built], ignore_index=True)
    write_table(truth, out / "truth.csv")
    write_table(population, out / "truth_population.csv")
    manifest = _manifest(cfg, seed, population, captures, built, files, specs)
    if incident_summary:
        manifest["incidents"] = incident_summary
    write_json(manifest, out / "manifest.json")
    return SimulationResult(out, cfg, seed, files, specs, truth, population, manifest, incident_files,
                            displacement_files)


def _incidents(out: Path, cfg: SimulationConfig, incidents: pd.DataFrame, population: pd.DataFrame,
               built: list[BuiltList], rngs: list[np.random.Generator]
               ) -> tuple[list[BuiltList], dict[str, Path], tuple[Path, ...], dict[str, Any]]:
    """Write the incident reports and displacement, and add localities and incident codes to the lists."""
    from undercount.simulate.incidents import (
        REF_HEADERS,
        victim_list_extras,
        write_displacement,
        write_incident_reports,
    )
    from undercount.simulate.lists import HEADERS

    inc = cfg.incidents
    assert inc is not None
    files, report_truth, codes = write_incident_reports(incidents, inc, out, rngs[0], population)
    write_table(incidents, out / "truth_incidents.csv")
    write_table(report_truth, out / "truth_incident_reports.csv")
    write_table(codes, out / "truth_incident_codes.csv")
    changed = []
    for item in built:
        lst = item.config
        refs, localities = inc.victim_refs.get(lst.name, 0.0), inc.victim_localities.get(lst.name, 0.0)
        if refs or localities:
            table = victim_list_extras(
                item.table, item.truth["person_id"], population, codes,
                place_header=HEADERS[lst.headers]["place"] if "place" in lst.fields else None,
                arabic=lst.script == "arabic", ref_header=REF_HEADERS[lst.headers] if refs else None,
                locality_share=localities, ref_share=refs, ref_source=inc.ref_source, rng=rngs[1])
            item = replace(item, table=table)
        changed.append(item)
    displacement: tuple[Path, ...] = ()
    if inc.displacement:
        written, _ = write_displacement(out, rngs[2], cfg.population.start_date, cfg.population.end_date)
        displacement = tuple(written)
    rows_of = report_truth.groupby("file").size()
    incidents_of = report_truth.groupby("file")["incident_id"].nunique()
    summary = {
        "incidents": len(incidents),
        "by_object_type": {str(k): int(v) for k, v in incidents["object_type"].value_counts().sort_index().items()},
        "victims_in_incidents": int(population["incident_id"].notna().sum()),
        "sources": {name: {"file": path.name, "rows": int(rows_of.get(f"incidents_{name}", 0)),
                           "incidents": int(incidents_of.get(f"incidents_{name}", 0))}
                    for name, path in files.items()},
        "reported_incidents": int(report_truth["incident_id"].nunique()),
        "displacement_files": [p.name for p in displacement],
        "files": {"incidents": "truth_incidents.csv", "reports": "truth_incident_reports.csv",
                  "codes": "truth_incident_codes.csv",
                  **({"displacement": "truth_displacement.csv"} if displacement else {})},
    }
    return changed, files, displacement, summary
