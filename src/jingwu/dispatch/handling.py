"""Call handling types (处置方式, ADR 0019): how a call is handled when it needs no units. The 110
reference (../shared/reference/incident-types.md) grades 咨询 (consultation), 社会联动 (non-police matters
transferred to 12345 or the competent department) and duplicate calls (重复报警) P4 "transfer to 12345 /
close"; such calls are handled without sending units by default. Standard library only, like domain.py.

- ``None`` (the column is NULL): an ordinary call, units are recommended and sent.
- consultation: answered on the phone; never a fire engine, not even with an override.
- transfer_12345: a non-police matter handed to the 12345 citizen hotline (recorded as a transfer).
- transfer_agency: handed to another agency or department (recorded as a transfer with its target).
- duplicate: another call about an incident already being handled.

A dispatcher may still send a unit to such an incident when the situation calls for it, with a reason
(audited); the incident then goes on like any other.
"""

from __future__ import annotations

from enum import StrEnum

from jingwu.platform.errors import Conflict, InvalidInput


class Handling(StrEnum):
    CONSULTATION = "consultation"  # 咨询
    TRANSFER_12345 = "transfer_12345"  # 社会联动：转 12345
    TRANSFER_AGENCY = "transfer_agency"  # 转其他部门 / 单位
    DUPLICATE = "duplicate"  # 重复报警


# transfers recorded on the incident's transfers (target and outcome)
TRANSFER_HANDLINGS = frozenset({Handling.TRANSFER_12345, Handling.TRANSFER_AGENCY})
# kinds of unit a handling never takes, override or not
NEVER_SENT: dict[Handling, frozenset[str]] = {Handling.CONSULTATION: frozenset({"fire_engine"})}
HOTLINE_12345 = ("12345 政务服务便民热线", "12345")  # the target recorded for transfer_12345


def parse_handling(value: str | None) -> Handling | None:
    """A handling code, or None for an ordinary call ("" and "dispatch" mean the same); 422 otherwise."""
    if value is None or value in ("", "dispatch"):
        return None
    try:
        return Handling(value)
    except ValueError:
        raise InvalidInput(f"Unknown handling '{value}'; known: dispatch, {', '.join(h.value for h in Handling)}.",
                           code="unknown_handling") from None


def check_send(handling: str | None, unit_kind: str, override_reason: str | None) -> bool:
    """May a unit of ``unit_kind`` be sent to an incident handled as ``handling``? True when this is an
    override (a no-unit handling, sent with a reason); refuses with 409 otherwise."""
    h = parse_handling(handling)
    if h is None:
        return False
    if unit_kind in NEVER_SENT.get(h, frozenset()):
        raise Conflict(f"A {unit_kind} is never sent to a {h.value} call.", code="handling_no_fire_engine")
    if not (override_reason or "").strip():
        raise Conflict(f"This call is handled as {h.value}: no units are sent unless a dispatcher overrides "
                       "with a reason.", code="handling_no_units")
    return True
