"""The fuzz suite's check: every hostile input of a part of the corpus through `undercount import`.

For each input: exit 0 or 1 with a message, never a traceback, done within 30 s, no canary
name or ID in anything printed, and on failure the case exactly as it was (records, lists,
runs, audit log, copied sources). The counts per category are printed (`pytest -s`).

The corpus runs in parts (:data:`PARTS`), one test file each (``test_corpus_<part>.py``), so that
``pytest -n 2 --dist loadfile`` gives the parts to both workers instead of one file to one worker
(tests/conftest.py schedules the slow files first). test_corpus_parts.py checks that the parts
cover every category once and that no category holds fewer inputs than :data:`AT_LEAST`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from undercount.ingest import import_list
from undercount.store import Case

from .make_corpus import CANARIES, GENERATORS, counts, generate
from .runner import fingerprint, run_all

TIMEOUT = 30.0

#: The corpus in parts of about equal processor time, each run by its own test file.
#: Processor seconds measured per category (all 365 inputs, 2 workers): xlsx 54, json 40, parquet 33,
#: spec 24, broken_csv 22, values 20, wide 19, odd_headers 19, encodings 16, huge_field 9, leaks 8 (263 in all).
PARTS: dict[str, tuple[str, ...]] = {
    "workbooks": ("xlsx", "wide", "huge_field", "leaks"),
    "documents": ("json", "parquet", "encodings"),
    "text": ("broken_csv", "spec", "values", "odd_headers"),
}

#: Inputs each category holds at least (the corpus as written in session 3: 365 inputs).
AT_LEAST: dict[str, int] = {
    "huge_field": 14, "wide": 9, "odd_headers": 29, "broken_csv": 37, "encodings": 29, "xlsx": 67, "json": 44,
    "parquet": 48, "spec": 47, "values": 27, "leaks": 14,
}
assert set(AT_LEAST) == set(GENERATORS)


def _template(tmp: Path) -> Path:
    """A case that already holds one list (the hostile imports must leave it untouched)."""
    listing = tmp / "existing.csv"
    listing.write_text("name,age,sex\nExisting Person One,30,male\nExisting Person Two,40,female\n",
                       encoding="utf-8")
    case = Case.init(tmp / "template")
    import_list(case, listing)
    return case.path


def check_part(part: str, tmp_path: Path) -> None:
    """Run every input of one part of the corpus; fail with every problem found."""
    started = time.monotonic()
    items = generate(tmp_path / "corpus", PARTS[part])
    made = counts(items)
    assert set(made) == set(PARTS[part])
    assert all(made[c] >= AT_LEAST[c] for c in made), {c: (made[c], AT_LEAST[c]) for c in made}
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
    print(f"\nfuzz corpus, part {part}: {len(items)} inputs in {time.monotonic() - started:.0f} s, "
          f"{sum(o.cpu for o in outcomes):.0f} processor seconds in the imports\n" + "\n".join(lines))
    assert counts(items) == {c: row["inputs"] for c, row in table.items()}
    assert not problems, "\n".join(problems)
