"""Translation catalogues: zh-CN and en cover the same keys; part files add keys and may not redefine them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jingwu.web import i18n


def test_both_languages_define_the_same_keys() -> None:
    zh, en = i18n.catalog("zh-CN"), i18n.catalog("en")
    assert set(zh) - set(en) == set() and set(en) - set(zh) == set()


def test_part_files_add_keys_and_may_not_redefine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "en.json").write_text(json.dumps({"a": "A"}), encoding="utf-8")
    (tmp_path / "cases.en.json").write_text(json.dumps({"b": "B"}), encoding="utf-8")
    monkeypatch.setattr(i18n, "_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        assert i18n.catalog("en") == {"a": "A", "b": "B"}
        (tmp_path / "more.en.json").write_text(json.dumps({"a": "again"}), encoding="utf-8")
        i18n.catalog.cache_clear()
        with pytest.raises(ValueError, match="redefines"):
            i18n.catalog("en")
    finally:
        i18n.catalog.cache_clear()
