"""docs/methods/cases.md against the code: the transition tables are exactly ``TRANSITIONS``; every rule of the
legal table is documented with its period and source; the access-code entropy stated is the code's."""

from __future__ import annotations

import math
import re

from jingwu.cases.domain import CODE_ALPHABET, CODE_LENGTH, RULES, TRANSITIONS, State, Track
from support import REPO

DOC = (REPO / "docs" / "methods" / "cases.md").read_text(encoding="utf-8")


def documented_transitions(track: str) -> dict[str, set[str]]:
    section = DOC.split(f"### {track}\n", 1)[1].strip().split("\n\n")[0]
    out = {}
    for line in section.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return out


def test_transition_tables_match_the_code() -> None:
    for track, table in TRANSITIONS.items():
        assert documented_transitions(track.value) == {s.value: {n.value for n in nxt} for s, nxt in table.items()}


def test_every_state_is_on_some_track_and_closed_is_final() -> None:
    on = {s for table in TRANSITIONS.values() for s in table}
    assert on == set(State)
    assert all(TRANSITIONS[t][State.CLOSED] == () for t in Track)


def test_every_rule_is_documented_with_period_and_source() -> None:
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_.0-9]+)` .*$", DOC, re.M)}
    for r in RULES:
        assert r.name in rows, r.name
        assert r.source in rows[r.name] and r.period.label("en") in rows[r.name], r.name
        assert f"`{r.event}`" in rows[r.name]


def test_entropy_statement() -> None:
    bits = CODE_LENGTH * math.log2(len(CODE_ALPHABET))
    assert bits >= 40 and f"{int(bits)} bits of entropy" in DOC
