"""docs/simulation.md documents every setting and every preset."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from undercount.simulate import PRESETS, ErrorConfig, ListConfig, PopulationConfig, SimulationConfig
from undercount.simulate.config import COVARIATES

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulation.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for cls in (PopulationConfig, ListConfig, ErrorConfig, SimulationConfig):
        for f in fields(cls):
            if f.name in ("population", "lists"):
                continue
            assert f"`{f.name}`" in text, f"{cls.__name__}.{f.name} is not in docs/simulation.md"
    for name in (*PRESETS, *COVARIATES):
        assert f"`{name}`" in text, name
