"""The incident types carry their pinyin and initials for the call-taker's type picker (ADR 0024)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jingwu.dispatch.domain import TypeTable
from jingwu.dispatch.type_pinyin import spell, type_entry
from support import login


@pytest.mark.parametrize(("name", "full", "initials"), [
    ("盗窃", "daoqie", "dq"),
    ("入室盗窃", "rushidaoqie", "rsdq"),
    ("打架斗殴", "dajiadouou", "djdo"),
    ("盗窃（治安）", "daoqiezhian", "dqza"),  # brackets dropped
    ("骚扰110/谎报警情", "saoraohuangbaojingqing", "srhbjq"),  # digits and slashes dropped
    ("其他", "qita", "qt"),
])
def test_spelling(name: str, full: str, initials: str) -> None:
    assert spell(name) == (full, initials)


def test_every_type_is_spelled_and_cached() -> None:
    types = list(TypeTable.load().types.values())
    entries = [type_entry(t) for t in types]
    assert all(e["pinyin"].isascii() and e["pinyin"].isalpha() for e in entries)
    assert all(len(e["initials"]) == sum("\u3400" <= ch <= "\u9fff" for ch in e["name_zh"]) for e in entries)
    before = spell.cache_info().hits
    [type_entry(t) for t in types]
    assert spell.cache_info().hits - before == len(types)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_api_serves_pinyin_and_initials(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "calltaker", city[1]["calltaker"])
    types = api.get("/api/v1/incident-types", headers=h).json()
    assert len(types) >= 60
    by_name = {t["name_zh"]: t for t in types}
    assert by_name["盗窃"]["pinyin"] == "daoqie" and by_name["盗窃"]["initials"] == "dq"
    assert {"code", "name_en", "priority", "pinyin", "initials"} <= set(types[0])
    # what the picker does with them: "dq" finds every theft type by initials
    hits = [t["name_zh"] for t in types if "dq" in t["initials"]]
    assert {"盗窃", "入室盗窃", "盗窃机动车", "盗窃（治安）"} <= set(hits)
