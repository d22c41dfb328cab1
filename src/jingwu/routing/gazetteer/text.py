"""Text forms of names and queries: normalisation, Latin folding, pinyin.

Every name (and every query) is compared in its *normal form*: Unicode NFKC, case-folded, Latin
diacritics removed (``ä`` → ``a``), a few English street-type abbreviations expanded
(``St`` → ``street``, ``Rd`` → ``road``, ``Ave`` → ``avenue`` …), then every character that is not a
letter or a digit removed (spaces too, so ``nanhai dadao`` and ``nanhaidadao`` are the same form).
Chinese names also get their pinyin, full (``nanhaidadao``) and initials (``nhdd``), from pypinyin
(``lazy_pinyin``, which resolves heteronyms from its phrase dictionary: 重庆 → ``chongqing``).
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

_ABBREV = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue", "blvd": "boulevard",
    "dr": "drive", "ln": "lane", "hwy": "highway", "sq": "square", "pl": "place", "ct": "court",
    "expy": "expressway", "pkwy": "parkway",
}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def fold(text: str) -> str:
    """NFKC, case-folded, Latin diacritics removed (CJK untouched)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def normalise(text: str) -> str:
    """The compared form: folded, English abbreviations expanded, only letters and digits kept."""
    words = _WORD.findall(fold(text))
    return "".join(_ABBREV.get(w, w) for w in words)


def pinyin_forms(text: str) -> tuple[str, str] | None:
    """(full pinyin, initials) of a name holding Chinese characters, normalised; None otherwise."""
    if not has_cjk(text):
        return None
    full = normalise("".join(lazy_pinyin(text, errors="default")))
    initials = normalise("".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")))
    return full, initials
