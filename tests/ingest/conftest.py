"""Small synthetic lists for ingest tests (fictional names; IDs made valid by the Luhn rule)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest


def luhn_complete(body: str) -> str:
    """Append the check digit to an 8-digit body: weights 1,2,1,2,... from the left, digit
    sums of the products, the total of all nine digits divisible by 10."""
    assert len(body) == 8 and body.isdigit()
    total = 0
    for i, ch in enumerate(body):
        p = int(ch) * (1 if i % 2 == 0 else 2)
        total += p // 10 + p % 10
    return body + str((10 - total % 10) % 10)


HEADERS_AR = ["الاسم الرباعي", "رقم الهوية", "العمر", "الجنس", "تاريخ الميلاد", "تاريخ الوفاة", "المحافظة"]
ROWS = [
    ["سامر خليل يوسف الحداد", luhn_complete("40123456"), "34", "ذكر", "1989-05-02", "2023-10-20", "غزة"],
    ["ليلى سامر خليل الحداد", luhn_complete("40123457"), "7 سنوات", "أنثى", "2016-03-11", "2023-10-20", "غزة"],
    ["رامي سامر خليل الحداد", luhn_complete("40123458"), "٥", "ذكر", "2018-01-30", "20/10/2023", "غزة"],
    ["نادية عمر حسن البنا", "401234590", "61", "انثى", "", "2023-11-02", "رفح"],  # bad check digit
    ["هادي سامر خليل الحداد", "", "3 أشهر", "ذكر", "", "2023-10-20", "غزة"],
    ["كمال فؤاد ناجي العطار", luhn_complete("09876543"), "150", "M", "", "2023-12-01", "خان يونس"],
]
SECRETS = [r[0] for r in ROWS] + [r[1] for r in ROWS if r[1]]


def csv_text(rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS_AR, *, delimiter: str = ",",
             above: Sequence[str] = ()) -> str:
    """CSV text with optional title/note lines above the header."""
    buf = io.StringIO()
    for line in above:
        buf.write(line + "\n")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: Sequence[Sequence[str]] = ROWS, headers: Sequence[str] = HEADERS_AR, *,
              encoding: str = "utf-8", delimiter: str = ",", above: Sequence[str] = ()) -> Path:
    path.write_bytes(csv_text(rows, headers, delimiter=delimiter, above=above).encode(encoding))
    return path


def assert_no_secrets(text: str) -> None:
    """No name or ID of the test rows leaks into a message."""
    for secret in SECRETS:
        assert secret not in text, "a message leaks personal data"
    for part in {p for r in ROWS for p in r[0].split()} - {"سامر"}:
        assert part not in text


@pytest.fixture
def sample_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "moh_sample.csv")
