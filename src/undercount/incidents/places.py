"""Places of incidents: localities below the governorates, with their first-level area.

Incident reports name towns, camps and neighbourhoods ("Jabalia camp", "النصيرات"), victim lists
mostly name governorates. :func:`resolve_place` turns a cell into (place, locality, adm1, admin
level, approximate centre) so that both can be compared: a locality knows its governorate, a
governorate is matched through the gazetteer of :mod:`undercount.ingest.places`. A place neither
knows is kept as written, with no area: nothing is guessed.

The centres are approximate (about a kilometre): they serve to compare a report that gives
coordinates with one that names only the locality, never as a location to publish.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from undercount.ingest.places import GAZETTEER, canonical_place
from undercount.ingest.places import _key as _place_key

__all__ = ["LOCALITIES", "ResolvedPlace", "resolve_place", "distance_km", "locality_names"]

# canonical name -> (first-level area, latitude, longitude, other spellings)
LOCALITIES: dict[str, tuple[str, float, float, tuple[str, ...]]] = {
    # North Gaza
    "Jabalia": ("North Gaza", 31.528, 34.483, ("جباليا", "جباليا البلد", "jabaliya", "jabalya")),
    "Jabalia camp": ("North Gaza", 31.533, 34.497, ("مخيم جباليا", "jabalia refugee camp", "jabaliya camp")),
    "Beit Lahia": ("North Gaza", 31.546, 34.495, ("بيت لاهيا", "beit lahiya", "beit lahya")),
    "Beit Hanoun": ("North Gaza", 31.538, 34.537, ("بيت حانون", "beit hanun")),
    "al-Saftawi": ("North Gaza", 31.541, 34.470, ("الصفطاوي", "saftawi", "as-saftawi")),
    "Tal al-Zaatar": ("North Gaza", 31.535, 34.487, ("تل الزعتر", "tel al-zaatar", "tal az-zaatar")),
    "al-Atatra": ("North Gaza", 31.557, 34.478, ("العطاطرة", "atatra")),
    "al-Karama": ("North Gaza", 31.552, 34.460, ("الكرامة", "karama")),
    "Izbat Beit Hanoun": ("North Gaza", 31.535, 34.525, ("عزبة بيت حانون", "izbet beit hanoun")),
    "Um al-Nasr": ("North Gaza", 31.556, 34.525, ("أم النصر", "ام النصر", "umm al-nasr", "bedouin village")),
    # Gaza
    "Rimal": ("Gaza", 31.522, 34.452, ("الرمال", "al-rimal", "remal")),
    "Shati camp": ("Gaza", 31.531, 34.446, ("مخيم الشاطئ", "الشاطئ", "beach camp", "al-shati camp", "shati")),
    "Shujaiya": ("Gaza", 31.500, 34.480, ("الشجاعية", "shejaiya", "shujaiyya", "al-shujaiya")),
    "Zeitoun": ("Gaza", 31.490, 34.455, ("الزيتون", "zaytoun", "al-zeitoun")),
    "Tel al-Hawa": ("Gaza", 31.505, 34.435, ("تل الهوى", "tal al-hawa", "tel al hawa")),
    "Sheikh Radwan": ("Gaza", 31.529, 34.466, ("الشيخ رضوان", "sheikh radwan", "al-sheikh radwan")),
    "Tuffah": ("Gaza", 31.513, 34.475, ("التفاح", "al-tuffah", "tuffah")),
    "Sabra": ("Gaza", 31.503, 34.457, ("الصبرة", "al-sabra")),
    "Daraj": ("Gaza", 31.510, 34.466, ("الدرج", "al-daraj", "ad-daraj")),
    "Nasr": ("Gaza", 31.527, 34.455, ("النصر", "al-nasr", "an-nasr")),
    "Sheikh Ijlin": ("Gaza", 31.496, 34.430, ("الشيخ عجلين", "sheikh ajleen", "sheikh ejleen")),
    "Old City": ("Gaza", 31.504, 34.463, ("البلدة القديمة", "gaza old city")),
    "Yarmouk": ("Gaza", 31.512, 34.460, ("اليرموك", "al-yarmouk")),
    # Deir al-Balah (the Middle Area)
    "Nuseirat": ("Deir al-Balah", 31.447, 34.392, ("النصيرات", "مخيم النصيرات", "nuseirat camp", "nusseirat")),
    "Bureij": ("Deir al-Balah", 31.440, 34.405, ("البريج", "مخيم البريج", "bureij camp", "al-bureij")),
    "Maghazi": ("Deir al-Balah", 31.425, 34.383, ("المغازي", "مخيم المغازي", "maghazi camp", "al-maghazi")),
    "Zawaida": ("Deir al-Balah", 31.434, 34.372, ("الزوايدة", "az-zawayda", "zawayda")),
    "Deir al-Balah town": ("Deir al-Balah", 31.418, 34.351, ("مدينة دير البلح", "deir al-balah town centre")),
    "Deir al-Balah camp": ("Deir al-Balah", 31.421, 34.343, ("مخيم دير البلح", "deir el-balah camp")),
    "al-Musaddar": ("Deir al-Balah", 31.424, 34.405, ("المصدر", "musaddar", "al-mosader")),
    "Wadi al-Salqa": ("Deir al-Balah", 31.405, 34.380, ("وادي السلقا", "wadi as-salqa")),
    # Khan Younis
    "Khan Younis camp": ("Khan Younis", 31.345, 34.300, ("مخيم خان يونس", "khan yunis camp")),
    "Bani Suheila": ("Khan Younis", 31.343, 34.325, ("بني سهيلا", "bani suhaila")),
    "Abasan": ("Khan Younis", 31.320, 34.345, ("عبسان", "abasan al-kabira", "عبسان الكبيرة")),
    "Khuza'a": ("Khan Younis", 31.310, 34.360, ("خزاعة", "khuzaa", "khuza'a")),
    "al-Mawasi": ("Khan Younis", 31.360, 34.270, ("المواصي", "mawasi", "al-mawasi khan younis")),
    "Qarara": ("Khan Younis", 31.373, 34.340, ("القرارة", "al-qarara")),
    "Khan Younis centre": ("Khan Younis", 31.346, 34.306, ("وسط خان يونس", "khan younis city centre", "central khan younis")),
    "Ma'an": ("Khan Younis", 31.355, 34.315, ("معن", "maan", "al-maan")),
    "al-Amal": ("Khan Younis", 31.353, 34.288, ("الأمل", "الامل", "amal", "al-amal neighbourhood")),
    "Hamad town": ("Khan Younis", 31.367, 34.292, ("مدينة حمد", "hamad city", "hamad")),
    "al-Fukhari": ("Khan Younis", 31.300, 34.330, ("الفخاري", "fukhari", "al-fukhkhari")),
    # Rafah
    "Tal al-Sultan": ("Rafah", 31.316, 34.237, ("تل السلطان", "tel al-sultan", "tal as-sultan")),
    "Shaboura": ("Rafah", 31.290, 34.250, ("الشابورة", "مخيم الشابورة", "shaboura camp", "al-shaboura")),
    "al-Shoka": ("Rafah", 31.280, 34.285, ("الشوكة", "shoka", "al-shawka")),
    "Khirbet al-Adas": ("Rafah", 31.305, 34.265, ("خربة العدس", "khirbat al-adas")),
    "Yibna camp": ("Rafah", 31.282, 34.245, ("مخيم يبنا", "yibna", "rafah camp")),
    "al-Junaina": ("Rafah", 31.290, 34.265, ("الجنينة", "junaina", "al-jneineh")),
    "al-Salam": ("Rafah", 31.275, 34.260, ("حي السلام", "salam neighbourhood")),
    "Mawasi Rafah": ("Rafah", 31.330, 34.230, ("مواصي رفح", "al-mawasi rafah")),
    "Brazil": ("Rafah", 31.277, 34.255, ("حي البرازيل", "brazil neighbourhood", "al-brazil")),
    # West Bank
    "Jenin camp": ("Jenin", 32.461, 35.288, ("مخيم جنين", "jenin refugee camp")),
    "Nur Shams camp": ("Tulkarm", 32.316, 35.060, ("مخيم نور شمس", "nur shams")),
    "Tulkarm camp": ("Tulkarm", 32.312, 35.032, ("مخيم طولكرم", "tulkarem camp")),
    "Balata camp": ("Nablus", 32.210, 35.290, ("مخيم بلاطة", "balata")),
    # Lebanon
    "Dahiyeh": ("Mount Lebanon", 33.850, 35.500, ("الضاحية الجنوبية", "الضاحية", "dahieh", "southern suburbs")),
    "Tyre": ("South Lebanon", 33.273, 35.194, ("صور", "sour", "tyr")),
    "Bint Jbeil": ("Nabatieh", 33.120, 35.433, ("بنت جبيل", "bint jbail")),
    "Khiam": ("Nabatieh", 33.330, 35.610, ("الخيام", "el khiam", "al-khiam")),
    "Nabatieh city": ("Nabatieh", 33.378, 35.484, ("مدينة النبطية", "nabatieh town")),
}
#: Rough centres of first-level areas (for a report that names only its governorate).
_AREA_CENTRES = {
    "North Gaza": (31.535, 34.500), "Gaza": (31.505, 34.460), "Deir al-Balah": (31.430, 34.375),
    "Khan Younis": (31.345, 34.310), "Rafah": (31.295, 34.255),
}
LOCALITY_RADIUS_KM = 1.0
_SPLIT = re.compile(r"\s*[,،;/]\s*|\s+-\s+")


@dataclass(frozen=True)
class ResolvedPlace:
    """A place cell, understood.

    Attributes:
        place: the name shown (canonical when known, else as written).
        locality: the locality's canonical name, when the cell names one.
        adm1: the first-level area (governorate), when known.
        admin_level: 1 for a governorate, 3 for a locality, None when unknown.
        lat, lon: the approximate centre, when known.
    """

    place: str | None
    locality: str | None
    adm1: str | None
    admin_level: int | None
    lat: float | None
    lon: float | None


@lru_cache(maxsize=1)
def _localities() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, (_, _, _, spellings) in LOCALITIES.items():
        for spelling in (name, *spellings):
            index.setdefault(_place_key(spelling), name)
    return index


def locality_names() -> tuple[str, ...]:
    """The canonical names of the known localities."""
    return tuple(LOCALITIES)


def _one(text: str) -> ResolvedPlace | None:
    area = canonical_place(text)
    if area in GAZETTEER:  # a governorate's own name is the governorate, never a locality of it
        centre = _AREA_CENTRES.get(area)
        return ResolvedPlace(area, None, area, 1, centre[0] if centre else None, centre[1] if centre else None)
    locality = _localities().get(_place_key(text))
    if locality is not None:
        adm1, lat, lon, _ = LOCALITIES[locality]
        return ResolvedPlace(locality, locality, adm1, 3, lat, lon)
    return None


@lru_cache(maxsize=65536)
def resolve_place(text: str | None, adm1: str | None = None) -> ResolvedPlace:
    """Understand a place cell (any script), with an optional governorate cell.

    "Jabalia, North Gaza" and "مخيم جباليا" both give the locality and its governorate; a
    governorate alone gives the area; anything else is kept as written.

    Example:
        >>> p = resolve_place("مخيم جباليا")
        >>> (p.place, p.adm1, p.admin_level)
        ('Jabalia camp', 'North Gaza', 3)
        >>> resolve_place("Khan Yunis").adm1, resolve_place("Beit Safafa").adm1
        ('Khan Younis', None)
    """
    area = canonical_place(adm1) if adm1 and adm1.strip() else None
    area = area if area in GAZETTEER else (" ".join(adm1.split()) if adm1 and adm1.strip() else None)
    if not text or not text.strip():
        if area is None:
            return ResolvedPlace(None, None, None, None, None, None)
        centre = _AREA_CENTRES.get(area)
        return ResolvedPlace(area, None, area, 1, centre[0] if centre else None, centre[1] if centre else None)
    cleaned = " ".join(text.split())
    found = _one(cleaned)
    if found is None:
        parts = [p for p in _SPLIT.split(cleaned) if p]
        resolved = [r for r in (_one(p) for p in parts) if r is not None]
        found = min(resolved, key=lambda r: -(r.admin_level or 0)) if resolved else None
    if found is None:
        return ResolvedPlace(cleaned, None, area, None, None, None)
    if area is not None and found.adm1 != area and found.admin_level == 3:
        # The locality's name says one governorate, the governorate cell another: keep both as written.
        return ResolvedPlace(cleaned, None, area, None, None, None)
    return found


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine).

    Example:
        >>> round(distance_km(31.5, 34.45, 31.5, 34.46), 2)
        0.95
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))
