"""Translations: zh-CN by default, English by switch (cookie ``lang`` or ``?lang=``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"
_DIR = Path(__file__).resolve().parent / "translations"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The language's catalogue: ``{lang}.json`` and, after it, every part file ``{part}.{lang}.json``
    (one per feature area, so that features add keys without touching the shared file). A key defined
    twice is a packaging error and raises."""
    data: dict[str, str] = json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    for part in sorted(_DIR.glob(f"*.{lang}.json")):
        extra: dict[str, str] = json.loads(part.read_text(encoding="utf-8"))
        twice = sorted(set(extra) & set(data))
        if twice:
            raise ValueError(f"{part.name} redefines translation keys {twice[:5]}")
        data.update(extra)
    return data


def pick_lang(query: str | None, cookie: str | None) -> str:
    for cand in (query, cookie):
        if cand in LANGS:
            return cand
    return DEFAULT_LANG


def translate(lang: str, key: str) -> str:
    return catalog(lang).get(key) or catalog(DEFAULT_LANG).get(key) or key
