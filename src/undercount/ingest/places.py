"""Place names: the same governorate written in Arabic, English or Hebrew becomes one value.

A small gazetteer of first-level areas (governorates and districts) of Gaza, the West Bank,
Israel and Lebanon, each with the spellings lists use. A place the gazetteer does not know is kept
as the list wrote it (whitespace cleaned): nothing is guessed, and spellings that could name more
than one area (a bare "the north" or "the south") are left as written. The cell as written stays in the
record's ``raw`` JSON.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

from undercount.names import normalise_name

__all__ = ["canonical_place", "canonical_places", "place_code", "GAZETTEER", "PLACE_CODES"]

# canonical English name -> other spellings (Arabic, Hebrew, English variants).
GAZETTEER: dict[str, tuple[str, ...]] = {
    # Gaza Strip
    "North Gaza": ("شمال غزة", "محافظة شمال غزة", "north gaza", "gaza north", "northern gaza", "צפון רצועת עזה"),
    "Gaza": ("غزة", "محافظة غزة", "مدينة غزة", "gaza", "gaza city", "עזה"),
    "Deir al-Balah": ("دير البلح", "الوسطى", "المحافظة الوسطى", "محافظة دير البلح", "deir al balah",
                      "deir el balah", "deir al-balah", "dair al balah", "middle area", "central gaza", "דיר אל-בלח"),
    "Khan Younis": ("خان يونس", "خانيونس", "محافظة خان يونس", "khan younis", "khan yunis", "khan younes",
                    "khanyounis", "חאן יונס"),
    "Rafah": ("رفح", "محافظة رفح", "rafah", "רפיח"),
    # West Bank
    "Jenin": ("جنين", "jenin", "ג'נין"),
    "Tubas": ("طوباس", "tubas"),
    "Tulkarm": ("طولكرم", "tulkarm", "tulkarem", "טול כרם"),
    "Nablus": ("نابلس", "nablus", "שכם"),
    "Qalqilya": ("قلقيلية", "qalqilya", "qalqiliya", "קלקיליה"),
    "Salfit": ("سلفيت", "salfit"),
    "Ramallah and al-Bireh": ("رام الله", "رام الله والبيرة", "البيرة", "ramallah", "ramallah and al-bireh", "רמאללה"),
    "Jericho": ("أريحا", "اريحا", "jericho", "יריחו"),
    "Jerusalem": ("القدس", "jerusalem", "al-quds", "ירושלים"),
    "Bethlehem": ("بيت لحم", "bethlehem", "בית לחם"),
    "Hebron": ("الخليل", "hebron", "al-khalil", "חברון"),
    # Israel (districts)
    "Northern District": ("northern district", "מחוז הצפון"),
    "Haifa District": ("حيفا", "haifa", "haifa district", "מחוז חיפה", "חיפה"),
    "Central District": ("central district", "מחוז המרכז"),
    "Tel Aviv District": ("تل أبيب", "تل ابيب", "tel aviv", "tel aviv district", "מחוז תל אביב", "תל אביב"),
    "Southern District": ("southern district", "מחוז הדרום"),
    # Lebanon (governorates)
    "Beirut": ("بيروت", "beirut", "ביירות"),
    "Mount Lebanon": ("جبل لبنان", "mount lebanon"),
    "North Lebanon": ("الشمال اللبناني", "لبنان الشمالي", "north lebanon"),
    "Akkar": ("عكار", "akkar"),
    "Beqaa": ("البقاع", "beqaa", "bekaa", "biqa"),
    "Baalbek-Hermel": ("بعلبك الهرمل", "بعلبك", "baalbek", "baalbek-hermel", "baalbek hermel"),
    "South Lebanon": ("جنوب لبنان", "south lebanon"),
    "Nabatieh": ("النبطية", "nabatieh", "nabatiyeh", "nabatiye"),
}

# ISO 3166-2 codes of the gazetteer's areas (exports tag them #adm1+code).
PLACE_CODES: dict[str, str] = {
    "North Gaza": "PS-NGZ", "Gaza": "PS-GZA", "Deir al-Balah": "PS-DEB", "Khan Younis": "PS-KYS",
    "Rafah": "PS-RFH", "Jenin": "PS-JEN", "Tubas": "PS-TBS", "Tulkarm": "PS-TKM", "Nablus": "PS-NBS",
    "Qalqilya": "PS-QQA", "Salfit": "PS-SLT", "Ramallah and al-Bireh": "PS-RBH", "Jericho": "PS-JRH",
    "Jerusalem": "PS-JEM", "Bethlehem": "PS-BTH", "Hebron": "PS-HBN",
    "Northern District": "IL-Z", "Haifa District": "IL-HA", "Central District": "IL-M",
    "Tel Aviv District": "IL-TA", "Southern District": "IL-D",
    "Beirut": "LB-BA", "Mount Lebanon": "LB-JL", "North Lebanon": "LB-AS", "Akkar": "LB-AK",
    "Beqaa": "LB-BI", "Baalbek-Hermel": "LB-BH", "South Lebanon": "LB-JA", "Nabatieh": "LB-NA",
}

_DROP = re.compile(r"\b(governorate|district|province|city)\b|[\-'’`_.,()]")


def _key(text: str) -> str:
    """Spelling-insensitive key: names normalisation for Arabic and Hebrew, folded Latin."""
    if re.search(r"[\u0590-\u06ff]", text):
        return normalise_name(text).replace(" ", "")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = _DROP.sub(" ", folded)
    return re.sub(r"\s+", "", folded)


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for canonical, spellings in GAZETTEER.items():
        for spelling in (canonical, *spellings):
            index.setdefault(_key(spelling), canonical)
    return index


@lru_cache(maxsize=65536)
def canonical_place(text: str) -> str:
    """The gazetteer's name of a place, or the place as written (whitespace cleaned).

    Example:
        >>> canonical_place("خانيونس"), canonical_place("Khan Yunis"), canonical_place("Beit Lahia")
        ('Khan Younis', 'Khan Younis', 'Beit Lahia')
    """
    cleaned = " ".join(str(text).split())
    return _index().get(_key(cleaned), cleaned)


def canonical_places(values: pd.Series) -> pd.Series:
    """:func:`canonical_place` over a column (nulls stay null), once per distinct value."""
    uniques = values.dropna().unique()
    mapping = {v: canonical_place(str(v)) for v in uniques}
    return values.map(mapping).astype(values.dtype)


def place_code(name: object) -> str | None:
    """The ISO 3166-2 code of a gazetteer area given by its canonical name, else None.

    Example:
        >>> place_code("Khan Younis"), place_code("Beit Lahia")
        ('PS-KYS', None)
    """
    return PLACE_CODES.get(name) if isinstance(name, str) else None
