"""The controlled words of incidents and the readers of their cells.

Object types, source kinds, grades, date precisions and weapon classes are closed lists; cells
are mapped to them through tables of English and Arabic phrases (compared after
:func:`undercount.ingest.columns.fold`). Counts are read as ranges: "12", "15-20", "at least 12",
"12+", "أكثر من 12" and "unknown" (or an empty cell) are all allowed. Nothing is guessed: a cell
no table knows is a problem the import reports, unless a spec maps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from undercount.ingest.columns import fold, to_ascii_digits

__all__ = [
    "OBJECT_TYPES", "OBJECT_LABELS", "SOURCE_KINDS", "GRADES", "DATE_PRECISIONS", "WEAPON_CLASSES",
    "OBJECT_VALUES", "SOURCE_KIND_VALUES", "WEAPON_VALUES", "ASSESSMENT_VALUES", "YES_NO",
    "parse_range", "lookup", "parse_yes_no", "related_objects", "is_unknown",
]

#: What the incident hit (the issue's controlled list).
OBJECT_TYPES = ("health_facility", "school", "place_of_worship", "shelter", "water_sanitation",
                "aid_distribution", "residential", "other")
OBJECT_LABELS = {
    "health_facility": "hospital or health facility", "school": "school",
    "place_of_worship": "place of worship", "shelter": "shelter",
    "water_sanitation": "water or sanitation", "aid_distribution": "food or aid distribution or convoy",
    "residential": "residential", "other": "other",
}
#: Who published a report.
SOURCE_KINDS = ("casualty_recorder", "un", "ngo", "ministry", "hospital", "press", "social", "official",
                "eyewitness", "other")
#: Confidence grades, strongest claim first (see :mod:`undercount.incidents.grading`).
GRADES = ("confirmed", "fair", "weak", "contested", "discounted")
DATE_PRECISIONS = ("day", "week", "month", "year")
WEAPON_CLASSES = ("airstrike", "shelling", "gunfire", "drone", "explosive", "demolition", "siege", "other")


def _table(**groups: Iterable[str]) -> dict[str, str]:
    return {fold(v): canon for canon, values in groups.items() for v in (canon, canon.replace("_", " "), *values)}


OBJECT_VALUES = _table(
    health_facility=["hospital", "health facility", "health", "clinic", "health centre", "health center",
                     "medical point", "medical centre", "ambulance", "field hospital", "health care",
                     "healthcare", "مستشفى", "مشفى", "المستشفى", "عيادة", "مركز صحي", "مستوصف",
                     "نقطة طبية", "مستشفى ميداني", "سيارة إسعاف", "اسعاف"],
    school=["education", "school building", "university", "kindergarten", "مدرسة", "المدرسة", "جامعة",
            "روضة"],
    place_of_worship=["worship", "mosque", "church", "religious site", "مسجد", "جامع", "المسجد", "كنيسة",
                      "دار عبادة"],
    shelter=["displacement shelter", "shelter for displaced", "displacement camp", "idp camp", "tent",
             "tents", "collective centre", "collective center", "unrwa shelter", "school shelter",
             "مركز إيواء", "مركز ايواء", "إيواء", "ايواء", "مخيم نزوح", "خيمة", "خيام", "مدرسة إيواء",
             "مدرسة ايواء"],
    water_sanitation=["water", "sanitation", "water well", "well", "desalination plant", "water network",
                      "water tank", "sewage", "wash", "بئر", "بئر مياه", "محطة تحلية", "شبكة مياه",
                      "خزان مياه", "صرف صحي", "مياه"],
    aid_distribution=["aid", "food distribution", "aid distribution", "aid convoy", "convoy",
                      "distribution point", "bread queue", "aid seekers", "food aid", "توزيع مساعدات",
                      "مساعدات", "قافلة", "قافلة مساعدات", "شاحنات مساعدات", "نقطة توزيع", "طالبي المساعدات"],
    residential=["home", "house", "residence", "residential building", "apartment", "tower", "family home",
                 "منزل", "بيت", "شقة", "عمارة", "برج سكني", "منزل عائلة", "مبنى سكني"],
    other=["أخرى", "اخرى", "غير ذلك", "vehicle", "car", "street", "market", "سيارة", "شارع", "سوق"],
)
SOURCE_KIND_VALUES = _table(
    casualty_recorder=["recorder", "casualty recorder", "monitor", "airwars", "مرصد"],
    un=["united nations", "un agency", "who", "ocha", "unrwa", "unicef", "الأمم المتحدة", "الامم المتحدة"],
    ngo=["ngo", "civil society", "human rights group", "منظمة", "منظمة غير حكومية", "مؤسسة حقوقية"],
    ministry=["ministry", "ministry of health", "government", "وزارة", "وزارة الصحة", "حكومي"],
    hospital=["hospital", "hospital list", "مستشفى"],
    press=["media", "news", "newspaper", "journalist", "agency", "wire", "صحافة", "إعلام", "اعلام", "صحيفة",
           "وكالة"],
    social=["social media", "facebook", "telegram", "twitter", "x", "instagram", "تواصل اجتماعي",
            "وسائل التواصل"],
    official=["party statement", "military", "army", "statement", "armed group", "بيان", "جيش"],
    eyewitness=["witness", "testimony", "شاهد", "شهادة", "شاهد عيان"],
    other=["أخرى", "اخرى"],
)
WEAPON_VALUES = _table(
    airstrike=["air strike", "airstrike", "air raid", "bombing", "bombardment", "missile", "warplane",
               "غارة", "غارة جوية", "قصف جوي", "صاروخ"],
    shelling=["artillery", "tank shell", "tank fire", "mortar", "naval shelling", "قصف مدفعي", "قذيفة",
              "قذائف", "قصف"],
    gunfire=["gunshot", "shooting", "sniper", "live fire", "small arms", "إطلاق نار", "اطلاق نار", "رصاص",
             "قنص"],
    drone=["quadcopter", "uav", "drone strike", "طائرة مسيرة", "مسيرة", "كواد كابتر"],
    explosive=["explosion", "ied", "unexploded ordnance", "uxo", "انفجار", "عبوة"],
    demolition=["bulldozing", "detonation", "تفجير", "تجريف", "هدم"],
    siege=["starvation", "blockade", "famine", "حصار", "تجويع", "مجاعة"],
    other=["أخرى", "اخرى"],
)
#: A source's own grading of an incident, when it gives one (Airwars publishes such grades).
ASSESSMENT_VALUES = _table(
    confirmed=["verified", "confirmed", "مؤكد"], fair=["probable", "likely", "مرجح"],
    weak=["possible", "single source", "unverified", "rumour", "rumor", "غير مؤكد"],
    contested=["disputed", "contested", "متنازع"], discounted=["discounted", "false", "not credible", "مستبعد"],
)
YES_NO = _table(yes=["true", "y", "1", "نعم", "صحيح", "acknowledged"], no=["false", "n", "0", "لا", "خطأ"])

_RANGE = re.compile(r"^(\d+)\s*(?:-|–|—|to|الى|إلى|حتى|/)\s*(\d+)$")
_AT_LEAST = re.compile(r"^(?:at least|more than|over|min|minimum|>=?|≥|أكثر من|اكثر من|على الأقل|على الاقل)\s*(\d+)$"
                       r"|^(\d+)\s*(?:\+|or more|and more|فأكثر|فاكثر|او اكثر)$")
_AT_MOST = re.compile(r"^(?:up to|at most|fewer than|less than|<=?|≤|حتى|أقل من|اقل من)\s*(\d+)$")
_UNKNOWN = {fold(v) for v in ("unknown", "not known", "?", "-", "n/a", "na", "none reported", "unclear",
                              "غير معروف", "مجهول", "غير محدد")}
_ABOUT = re.compile(r"^(?:about|around|approximately|approx|c|ca|~|نحو|حوالي|قرابة)\s*(\d+)$")


def parse_range(cell: str) -> tuple[int | None, int | None] | None:
    """A count as (min, max); unknown ends are None. None when the cell is not a count.

    Args:
        cell: the cell text (already stripped; empty means unknown).

    Returns:
        (min, max), or None for text that is not a count.

    Example:
        >>> parse_range("15-20"), parse_range("12"), parse_range("at least 4"), parse_range("unknown")
        ((15, 20), (12, 12), (4, None), (None, None))
        >>> parse_range("about 30"), parse_range("many") is None
        ((30, 30), True)
    """
    text = to_ascii_digits(cell).strip().casefold().replace(",", "")
    if not text or fold(text) in _UNKNOWN:
        return None, None
    if text.isdigit():
        return int(text), int(text)
    if text.endswith(".0") and text[:-2].isdigit():
        return int(text[:-2]), int(text[:-2])
    match = _RANGE.match(text)
    if match:
        return int(match[1]), int(match[2])  # the caller reports a maximum below the minimum
    match = _AT_LEAST.match(text)
    if match:
        return int(match[1] or match[2]), None
    match = _AT_MOST.match(text)
    if match:
        return 0, int(match[1])
    match = _ABOUT.match(text)
    if match:
        return int(match[1]), int(match[1])
    return None


def is_unknown(cell: str) -> bool:
    """Whether a cell says the value is not known ("unknown", "?", "غير معروف", empty).

    Example:
        >>> is_unknown("Unknown"), is_unknown("غير معروف"), is_unknown("Israeli forces")
        (True, True, False)
    """
    return not cell.strip() or fold(cell) in _UNKNOWN


def lookup(cell: str, table: dict[str, str], extra: dict[str, str] | None = None) -> str | None:
    """The canonical value of a cell in a table (a spec's mapping first); None when unknown.

    The whole cell is looked up first; a longer cell then takes the value of the known phrases
    it holds as whole words, when they all agree.

    Example:
        >>> lookup("مدرسة", OBJECT_VALUES), lookup("strike on a UNRWA school", OBJECT_VALUES)
        ('school', 'school')
    """
    if extra:
        for key, value in extra.items():
            if fold(key) == fold(cell):
                return value
    folded = fold(cell)
    if folded in table:
        return table[folded]
    padded = f" {folded} "
    found = {value for phrase, value in table.items() if f" {phrase} " in padded}
    return found.pop() if len(found) == 1 else None


def parse_yes_no(cell: str) -> bool | None:
    """True for yes/true/1/نعم, False for no/false/0/لا, None for anything else.

    Example:
        >>> parse_yes_no("Yes"), parse_yes_no("لا"), parse_yes_no("")
        (True, False, None)
    """
    value = YES_NO.get(fold(cell))
    return None if value is None else value == "yes"


#: Object types that the same incident is often reported under (a school used as a shelter).
_RELATED = {frozenset(p) for p in (("school", "shelter"), ("residential", "shelter"),
                                    ("health_facility", "shelter"), ("place_of_worship", "shelter"),
                                    ("aid_distribution", "other"), ("residential", "other"))}


def related_objects(a: str | None, b: str | None) -> bool:
    """Whether two different object types are often given for one incident ('other' is any type a
    source did not class, so it is related to every type).

    Example:
        >>> related_objects("school", "shelter"), related_objects("school", "health_facility")
        (True, False)
        >>> related_objects("water_sanitation", "other")
        True
    """
    return a is not None and b is not None and (frozenset((a, b)) in _RELATED or "other" in (a, b))
