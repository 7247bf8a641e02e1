"""The fuzz suite: every hostile input of the corpus through `undercount import`.

For each input: exit 0 or 1 with a message, never a traceback, done within 30 s, no canary
name or ID in anything printed, and on failure the case exactly as it was (records, lists,
runs, audit log, copied sources). The counts per category are printed (`pytest -s`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from undercount.ingest import import_list
from undercount.store import Case

from .make_corpus import CANARIES, counts, generate
from .runner import fingerprint, run_all

TIMEOUT = 30.0


def _template(tmp: Path) -> Path:
    """A case that already holds one list (the hostile imports must leave it untouched)."""
    listing = tmp / "existing.csv"
    listing.write_text("name,age,sex\nExisting Person One,30,male\nExisting Person Two,40,female\n",
                       encoding="utf-8")
    case = Case.init(tmp / "template")
    import_list(case, listing)
    return case.path


@pytest.mark.slow
def test_hostile_inputs_never_crash_hang_leak_or_change_the_case(tmp_path: Path) -> None:
    started = time.monotonic()
    items = generate(tmp_path / "corpus")
    assert len(items) >= 300
    template = _template(tmp_path)
    before = fingerprint(template)
    outcomes = run_all([{"file": str(i.file), "spec": str(i.spec) if i.spec else None} for i in items],
                       template, timeout=TIMEOUT)
    canary = re.compile("|".join(re.escape(c) for c in CANARIES), re.IGNORECASE)
    table: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    for item, out in zip(items, outcomes):
        row = table.setdefault(item.category, {"inputs": 0, "exit 0": 0, "exit 1": 0, "tracebacks": 0,
                                               "hangs": 0, "leaks": 0, "changed": 0, "max cpu s": 0.0})
        row["inputs"] += 1
        row["max cpu s"] = max(row["max cpu s"], round(out.cpu, 1))
        name = f"{item.category}/{item.file.name}"
        flat = re.sub(r"\s+", "", out.output)
        if out.hang:
            row["hangs"] += 1
            problems.append(f"{name}: no answer within {TIMEOUT:g} processor seconds ({out.seconds:.0f} s)")
            continue
        if out.crash or "Traceback" in out.output:
            row["tracebacks"] += 1
            problems.append(f"{name}: traceback\n{out.crash or out.output}")
            continue
        if out.exit_code in (0, 1):
            row[f"exit {out.exit_code}"] += 1
        else:
            problems.append(f"{name}: exit code {out.exit_code}")
        if not out.output.strip():
            problems.append(f"{name}: printed nothing")
        if canary.search(out.output) or canary.search(flat):
            row["leaks"] += 1
            problems.append(f"{name}: a name or ID in the output: {out.output[:300]!r}")
        if out.exit_code != 0 and out.changed:
            row["changed"] += 1
            problems.append(f"{name}: failed but changed the case")
        if out.exit_code == 0 and not out.grew and "already imported" not in out.output:
            problems.append(f"{name}: exit 0 but nothing stored")
        if item.exit_code is not None and out.exit_code != item.exit_code:
            problems.append(f"{name}: exit {out.exit_code}, expected {item.exit_code}: {out.output[-300:]!r}")
        if item.expect and item.expect not in out.output:
            problems.append(f"{name}: the output lacks {item.expect!r}: {out.output[-300:]!r}")
    assert fingerprint(template) == before
    width = max(len(c) for c in table)
    keys = ["inputs", "exit 0", "exit 1", "tracebacks", "hangs", "leaks", "changed", "max cpu s"]
    lines = [f"{'category':{width}} " + " ".join(f"{k:>10}" for k in keys)]
    lines += [f"{c:{width}} " + " ".join(f"{row[k]:>10}" for k in keys) for c, row in table.items()]
    total = {k: sum(row[k] for row in table.values()) for k in keys[:-1]}
    lines.append(f"{'total':{width}} " + " ".join(f"{total[k]:>10}" for k in keys[:-1]))
    slowest = sorted(zip(outcomes, items), key=lambda pair: -pair[0].cpu)[:8]
    lines.append("slowest: " + ", ".join(f"{i.file.name} {o.cpu:.1f} s" for o, i in slowest))
    print(f"\nfuzz corpus: {len(items)} inputs in {time.monotonic() - started:.0f} s, "
          f"{sum(o.cpu for o in outcomes):.0f} processor seconds in the imports\n" + "\n".join(lines))
    assert counts(items) == {c: row["inputs"] for c, row in table.items()}
    assert not problems, "\n".join(problems)
