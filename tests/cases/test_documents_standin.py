"""The documents port as the cases feature uses it (the stand-in here; the real module replaces it at merge and
must keep this behaviour): rendering refuses fields outside the allow-list; redaction masks ID numbers, phone
numbers, given names and addresses."""

from __future__ import annotations

import pytest

from jingwu.platform import documents
from jingwu.platform.errors import InvalidInput


def test_render_allow_list_and_escaping() -> None:
    html = documents.render("<p>{{ a }}</p>", {"a": "<b>x</b>", "b": "unused"}, allowed=("a", "b"))
    assert "&lt;b&gt;x" in html and "<b>" not in html and "unused" not in html
    with pytest.raises(InvalidInput) as e:
        documents.render("<p>{{ a }}{{ secret }}</p>", {"a": "1"}, allowed=("a",))
    assert e.value.code == "unknown_template_field"


def test_redact() -> None:
    text = "张三（身份证 11010119900307123X，电话 13912345678）住成都市春熙路1号。"
    out = documents.redact(text, names=["张三"], addresses=["成都市春熙路1号"])
    for s in ("张三", "11010119900307123X", "13912345678", "成都市春熙路1号"):
        assert s not in out
    assert "身份证" in out and "电话" in out
