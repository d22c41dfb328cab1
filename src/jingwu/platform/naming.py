"""Names of things taken from OpenStreetMap tags, in Chinese and English.

One rule for everything named from OSM (stations, fire stations, the areas
built on them; docs/methods/demo-city.md, "Names"):

Chinese name
    ``name:zh``, else ``name:zh-Hans``, else ``name`` (whatever its script).
English name
    ``name:en``, else ``name`` when it is written in Latin script, else the
    kind's English label with the Chinese name in brackets:
    ``Police station (成都二仙桥派出所)``. No romanisation is guessed.
No name at all
    the kind with the nearest named street: ``派出所（四道街附近）`` /
    ``Police station near 四道街`` (the street's ``name:en`` when it has one:
    ``Police station near Shaocheng Road``); the bare kind when there is no
    street either.

An OSM id (``node/4831111722``) is never part of a name: ids are sources, not
names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True)
class Names:
    zh: str
    en: str


@dataclass(frozen=True)
class Kind:
    """What a thing is, in both languages, for names built when OSM has none (``派出所`` / ``Police station``)."""

    zh: str
    en: str


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def is_latin(text: str) -> bool:
    """Written in Latin script: has Latin letters and no CJK characters."""
    return bool(_LATIN_LETTER.search(text)) and not has_cjk(text)


def _tag(tags: Mapping[str, str], key: str) -> str:
    return (tags.get(key) or "").strip()


def zh_name(tags: Mapping[str, str]) -> str | None:
    """The Chinese name OSM gives, or None: ``name:zh``, ``name:zh-Hans``, ``name``."""
    for key in ("name:zh", "name:zh-Hans", "name"):
        if v := _tag(tags, key):
            return v
    return None


def en_name(tags: Mapping[str, str]) -> str | None:
    """The English name OSM gives, or None: ``name:en``, else ``name`` when it is in Latin script."""
    if v := _tag(tags, "name:en"):
        return v
    v = _tag(tags, "name")
    return v if v and is_latin(v) else None


def osm_names(tags: Mapping[str, str], kind: Kind, near: Mapping[str, str] | None = None) -> Names:
    """Chinese and English names of an OSM object of ``kind`` (module docstring for the rule).

    ``near``: the tags (``name``, ``name:zh``, ``name:en`` …) of the nearest
    named street, used only when the object itself has no name.
    """
    zh = zh_name(tags)
    en = en_name(tags)
    if zh is None and en is None:
        street_zh = zh_name(near or {})
        street_en = en_name(near or {}) or street_zh
        if street_zh is None or street_en is None:
            return Names(kind.zh, kind.en)
        return Names(f"{kind.zh}（{street_zh}附近）", f"{kind.en} near {street_en}")
    if zh is None:  # only an English name (name:en without name)
        return Names(en or kind.zh, en or kind.en)
    return Names(zh, en or f"{kind.en} ({zh})")
