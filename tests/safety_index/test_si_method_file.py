"""The method file (JINGWU_SAFETY_INDEX_METHOD_FILE) is taken whole or refused with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jingwu.platform.errors import InvalidInput
from jingwu.safety_index.config import load_method
from jingwu.safety_index.domain import Method, SubIndex


def _file(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "method.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def test_overrides_are_applied(tmp_path: Path) -> None:
    base = Method().subindex_weights
    a, b = list(base)[:2]
    moved = {a.value: base[a] + 0.05, b.value: base[b] - 0.05}
    m = load_method(_file(tmp_path, {"subindex_weights": moved, "alpha": 0.01}))
    assert m.subindex_weights[a] == pytest.approx(base[a] + 0.05) and m.alpha == 0.01


@pytest.mark.parametrize(("data", "says"), [
    ({"subindex_weights": {"order": 0.9}}, "sum to 1"),
    ({"subindex_weights": {"weather": 0.1}}, "weather"),
    ({"subindex_wieghts": {}}, "unknown key"),
    ({"category_weights": {"aliens": 1}}, "aliens"),
    ([1, 2], "one JSON object"),
])
def test_bad_method_files_are_refused(tmp_path: Path, data: object, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as e:
        load_method(_file(tmp_path, data))
    assert e.value.code == "invalid_method"


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as e:
        load_method(tmp_path / "missing.json")
    assert e.value.code == "invalid_method"


def test_version_and_fed(tmp_path: Path) -> None:
    assert load_method(None).version == "v2"  # a new deployment runs method v2
    assert load_method(_file(tmp_path, {"alpha": 0.002})).version == "v2"
    m1 = load_method(_file(tmp_path, {"version": "v1"}))
    assert m1 == Method()  # v1 is today's method, bit for bit
    m2 = load_method(_file(tmp_path, {"version": "v2", "fed": ["order", "fraud"], "event_loss_cap": 5}))
    assert m2.fed == (SubIndex.ORDER, SubIndex.FRAUD) and m2.event_loss_cap == 5.0


@pytest.mark.parametrize(("data", "says"), [
    ({"version": "v3"}, "version"),
    ({"version": 2}, "version"),
    ({"fed": ["order", "weather"]}, "weather"),
    ({"fed": "order"}, "list"),
    ({"fed": []}, "fed"),
    ({"version": "v1", "fed": ["order"]}, "v2 only"),
    ({"event_loss_cap": -1}, "event_loss_cap"),
])
def test_bad_version_or_fed_is_refused(tmp_path: Path, data: object, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as e:
        load_method(_file(tmp_path, data))
    assert e.value.code == "invalid_method"
