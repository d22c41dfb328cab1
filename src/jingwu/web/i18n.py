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
    data: dict[str, str] = json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def pick_lang(query: str | None, cookie: str | None) -> str:
    for cand in (query, cookie):
        if cand in LANGS:
            return cand
    return DEFAULT_LANG


def translate(lang: str, key: str) -> str:
    return catalog(lang).get(key) or catalog(DEFAULT_LANG).get(key) or key
