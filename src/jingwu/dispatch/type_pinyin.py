"""Pinyin of the incident type names, for the call-taker's type picker (search by 汉字, ``daoqie`` or ``dq``).

Computed once per name with pypinyin (phrase-aware, so 盗窃 is ``daoqie``) and cached for the process: the
type dictionary is fixed at start-up. Only the Chinese characters are spelled; brackets, slashes and digits
are dropped from both forms (``盗窃（治安）`` → ``daoqiezhian`` / ``dqza``). ADR 0024.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

from jingwu.dispatch.domain import IncidentType

_HAN = re.compile(r"[\u3400-\u9fff]+")


@lru_cache(maxsize=4096)
def spell(name_zh: str) -> tuple[str, str]:
    """(full pinyin without tones, initials) of the Chinese characters of ``name_zh``, lower case."""
    syllables: list[str] = []
    for run in _HAN.findall(name_zh):
        syllables += [s for s in lazy_pinyin(run, style=Style.NORMAL, errors="ignore") if s]
    return "".join(syllables).lower(), "".join(s[0] for s in syllables).lower()


def type_entry(t: IncidentType) -> dict[str, Any]:
    """An incident type as the API serves it: its fields plus ``pinyin`` and ``initials``."""
    full, initials = spell(t.name_zh)
    return {**t.__dict__, "pinyin": full, "initials": initials}
