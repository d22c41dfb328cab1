"""Cases domain: the two lifecycle state machines, the legal deadline table (registered in the platform's
rule book), parties, access codes and masking. Standard library only.

The transition tables here are the single source: docs/methods/cases.md prints them and a test checks the
document against ``TRANSITIONS``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from jingwu.platform.deadlines import DeadlineRule, Extension, RuleBook, days, hours, months
from jingwu.platform.errors import Conflict, InvalidInput


class Track(StrEnum):
    CRIMINAL = "criminal"  # 刑事
    ADMINISTRATIVE = "administrative"  # 行政（治安）


class State(StrEnum):
    ACCEPTED = "accepted"  # 受理
    FILED = "filed"  # 立案
    NOT_FILED = "not_filed"  # 不予立案
    INVESTIGATING = "investigating"  # 侦查 / 调查
    SOLVED = "solved"  # 破案
    SUSPENDED = "suspended"  # 中止侦查
    WITHDRAWN = "withdrawn"  # 撤销案件
    TRANSFERRED_FOR_PROSECUTION = "transferred_for_prosecution"  # 移送起诉
    DECISION = "decision"  # 作出处理决定
    PENALTY_EXECUTED = "penalty_executed"  # 处罚执行完毕
    CLOSED = "closed"  # 结案


S = State
TRANSITIONS: dict[Track, dict[State, tuple[State, ...]]] = {
    Track.CRIMINAL: {
        S.ACCEPTED: (S.FILED, S.NOT_FILED),
        S.NOT_FILED: (S.FILED, S.CLOSED),  # filed after 复议/复核 or on the procuratorate's notice; else closed
        S.FILED: (S.INVESTIGATING,),
        S.INVESTIGATING: (S.SOLVED, S.SUSPENDED, S.WITHDRAWN),
        S.SUSPENDED: (S.INVESTIGATING, S.WITHDRAWN),
        S.SOLVED: (S.TRANSFERRED_FOR_PROSECUTION, S.WITHDRAWN),
        S.TRANSFERRED_FOR_PROSECUTION: (S.INVESTIGATING, S.CLOSED),  # returned for supplementary investigation
        S.WITHDRAWN: (S.CLOSED,),
        S.CLOSED: (),
    },
    Track.ADMINISTRATIVE: {
        S.ACCEPTED: (S.INVESTIGATING,),
        S.INVESTIGATING: (S.DECISION,),
        S.DECISION: (S.PENALTY_EXECUTED, S.CLOSED),  # closed directly: a decision without a penalty to execute
        S.PENALTY_EXECUTED: (S.CLOSED,),
        S.CLOSED: (),
    },
}

STATE_LABELS: dict[State, tuple[str, str]] = {
    S.ACCEPTED: ("已受理", "Accepted"), S.FILED: ("已立案", "Filed"), S.NOT_FILED: ("不予立案", "Not filed"),
    S.INVESTIGATING: ("侦查/调查中", "Investigating"), S.SOLVED: ("已破案", "Solved"),
    S.SUSPENDED: ("中止侦查", "Suspended"), S.WITHDRAWN: ("已撤销", "Withdrawn"),
    S.TRANSFERRED_FOR_PROSECUTION: ("已移送起诉", "Transferred for prosecution"),
    S.DECISION: ("已作出处理决定", "Decision made"), S.PENALTY_EXECUTED: ("处罚已执行", "Penalty executed"),
    S.CLOSED: ("已结案", "Closed"),
}


def state_event(state: State) -> str:
    return f"case.{state.value}"


def parse_state(value: str) -> State:
    try:
        return State(value)
    except ValueError:
        raise InvalidInput(f"unknown case state {value!r}; states: {', '.join(s.value for s in State)}",
                           code="illegal_transition") from None


def check_transition(track: Track, current: State, target: State, reason: str) -> str:
    """The stripped reason when ``current → target`` is allowed on ``track``; else ``illegal_transition``."""
    if target not in TRANSITIONS[track]:
        raise InvalidInput(f"state {target.value!r} is not on the {track.value} track", code="illegal_transition")
    allowed = TRANSITIONS[track][current]
    if target not in allowed:
        nxt = ", ".join(s.value for s in allowed) or "none (the case is closed)"
        raise Conflict(f"a {track.value} case cannot go from {current.value!r} to {target.value!r}; "
                       f"allowed next: {nxt}", code="illegal_transition")
    r = reason.strip()
    if not r:
        raise InvalidInput("every transition needs a reason", code="reason_required")
    return r


# ----------------------------------------------------------------- parties and access codes

class PartyRole(StrEnum):
    REPORTER = "reporter"  # 报案人
    VICTIM = "victim"  # 被害人 / 被侵害人
    SUSPECT = "suspect"  # 犯罪嫌疑人 / 违法嫌疑人
    SUSPECT_FAMILY = "suspect_family"  # 嫌疑人家属
    LAWYER = "lawyer"  # 律师


class Contact(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    NONE = "none"


LANGS = ("zh-CN", "en")
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 10  # 10 symbols × 5 bits = 50 bits of entropy
CODE_BITS = CODE_LENGTH * 5


def new_access_code() -> str:
    """A fresh access code, 50 random bits, shown as XXXXX-XXXXX."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


_LOOKALIKES = str.maketrans("ILO", "110")


def normalise_code(code: str) -> str:
    """Upper case without separators; the look-alikes I/L → 1 and O → 0 (Crockford)."""
    s = "".join(ch for ch in code.upper() if ch not in "- ")
    return s.translate(_LOOKALIKES)[:64]


def code_hash(key: str, case_number: str, code: str) -> str:
    """HMAC-SHA256 keyed by the deployment secret over case number and code: stored instead of the code, and
    computed for every lookup, whether the case number exists or not (same cost either way)."""
    msg = f"{case_number.strip().upper()[:64]}\n{normalise_code(code)}".encode()
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def mask_account(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isalnum())
    return "**** " + digits[-4:] if len(digits) > 4 else "****"


def valid_account(number: str) -> str:
    s = "".join(ch for ch in number if ch not in " -")
    if not (6 <= len(s) <= 34) or not s.isalnum():
        raise InvalidInput("an account number has 6 to 34 letters or digits", code="invalid_account")
    return s


# ----------------------------------------------------------------- registers

class PropertyStatus(StrEnum):
    IN_CUSTODY = "in_custody"  # 在库保管
    TRANSFERRED = "transferred"  # 已移交
    RETURNED = "returned"  # 已发还
    DISPOSED = "disposed"  # 已处置


PROPERTY_ACTIONS: dict[str, tuple[tuple[PropertyStatus, ...], PropertyStatus | None]] = {
    # action: (allowed from, status after; None keeps it)
    "transfer": ((PropertyStatus.IN_CUSTODY, PropertyStatus.TRANSFERRED), PropertyStatus.TRANSFERRED),
    "store": ((PropertyStatus.IN_CUSTODY, PropertyStatus.TRANSFERRED), PropertyStatus.IN_CUSTODY),
    "found_unrelated": ((PropertyStatus.IN_CUSTODY, PropertyStatus.TRANSFERRED), None),
    "return": ((PropertyStatus.IN_CUSTODY, PropertyStatus.TRANSFERRED), PropertyStatus.RETURNED),
    "dispose": ((PropertyStatus.IN_CUSTODY, PropertyStatus.TRANSFERRED), PropertyStatus.DISPOSED),
}


def property_next(status: PropertyStatus, action: str) -> PropertyStatus:
    if action not in PROPERTY_ACTIONS:
        raise InvalidInput(f"unknown property action {action!r}; actions: {', '.join(PROPERTY_ACTIONS)}",
                           code="invalid_action")
    allowed, after = PROPERTY_ACTIONS[action]
    if status not in allowed:
        raise Conflict(f"property that is {status.value} cannot be given the action {action!r}",
                       code="illegal_transition")
    return after or status


class AccountStatus(StrEnum):
    FROZEN = "frozen"
    RELEASED = "released"


# ----------------------------------------------------------------- the legal deadline table

PSAPL_2025_IN_FORCE = date(2026, 1, 1)

EVENTS: dict[str, str] = {
    **{state_event(s): f"the case reached the state {s.value}" for s in State},
    "filing_review.extended_7": "filing review extended to 7 days (leads need checking)",
    "filing_review.extended_30": "filing review extended to 30 days (approved by a county-level PSB head)",
    "not_filed.notice_served": "不予立案通知书 served on the complainant",
    "suspect.detained": "a suspect detained (拘留)",
    "suspect.in_detention_house": "a detainee delivered to the detention house",
    "suspect.interrogated": "first interrogation after detention or arrest",
    "family.notified": "the family of a detained or arrested suspect notified",
    "family.not_notifiable": "the family cannot be notified (reason recorded)",
    "arrest.requested": "arrest approval requested from the procuratorate",
    "arrest_request.extended": "arrest request period extended by up to 4 days",
    "arrest_request.extended_30": "arrest request period extended to 30 days (roaming/repeated/gang)",
    "suspect.arrested": "a suspect arrested (逮捕)",
    "suspect.released": "a suspect released or the measure changed",
    "custody.extended_1": "investigation custody extended by 1 month (CPL Art. 156)",
    "custody.extended_2": "investigation custody extended by 2 months (CPL Art. 158)",
    "custody.extended_3": "investigation custody extended by 2 months (CPL Art. 159)",
    "withdrawal.notice_served": "notice of cancellation served",
    "property.found_unrelated": "seized property found unrelated to the case",
    "property.returned": "seized property returned",
    "account.found_unrelated": "frozen assets found unrelated to the case",
    "account.released": "a frozen account released",
    "bail.granted": "取保候审 decided",
    "bail.lifted": "取保候审 lifted",
    "surveillance.started": "监视居住 decided",
    "surveillance.lifted": "监视居住 lifted",
    "intake_review.extended": "administrative intake review extended to 3 days",
    "handling.extended": "administrative handling period extended by 30 days (approved)",
    "suspect.summoned": "a person summoned for questioning (传唤)",
    "questioning.extended_12": "questioning extended to 12 h (many people or identity unknown)",
    "questioning.extended_24": "questioning extended to 24 h (complex; detention possible)",
    "questioning.ended": "questioning ended",
    "decision.served": "decision served on the offender",
    "decision.victim_served": "decision served on the victim",
    "fine.imposed": "a fine imposed",
    "fine.paid": "a fine paid",
}

C, A = Track.CRIMINAL.value, Track.ADMINISTRATIVE.value
CPL = "刑事诉讼法 (2018)"
CR = "公安机关办理刑事案件程序规定 (2020)"
RULES: tuple[DeadlineRule, ...] = (
    DeadlineRule("crim.filing_review", "case.accepted", days(3), ("case.filed", "case.not_filed"),
                 "立案审查", "Filing review", "公通字〔2015〕32号 §二(一)2", track=C, public=True,
                 extensions=(Extension("filing_review.extended_7", total=days(7)),
                             Extension("filing_review.extended_30", total=days(30)))),
    DeadlineRule("crim.not_filed_notice", "case.not_filed", days(3), ("not_filed.notice_served",),
                 "送达不予立案通知书", "Serve the notice of non-filing", f"{CR} Art. 178; {CPL} Art. 112",
                 track=C, public=True),
    DeadlineRule("crim.detention_house", "suspect.detained", hours(24), ("suspect.in_detention_house",
                 "suspect.released"), "送看守所羁押", "Deliver to the detention house", f"{CPL} Art. 85 ¶2",
                 track=C, custody=True),
    DeadlineRule("crim.family_notice_detention", "suspect.detained", hours(24),
                 ("family.notified", "family.not_notifiable"), "拘留后通知家属", "Notify the family after detention",
                 f"{CPL} Art. 85; {CR} Art. 127", track=C, custody=True),
    DeadlineRule("crim.interrogation_detention", "suspect.detained", hours(24),
                 ("suspect.interrogated", "suspect.released"), "拘留后讯问", "Interrogate after detention",
                 f"{CPL} Art. 86; {CR} Art. 128", track=C, custody=True),
    DeadlineRule("crim.arrest_request", "suspect.detained", days(3), ("arrest.requested", "suspect.released"),
                 "提请批准逮捕", "Request arrest approval", f"{CPL} Art. 91; {CR} Art. 129", track=C, custody=True,
                 extensions=(Extension("arrest_request.extended", add=days(4)),
                             Extension("arrest_request.extended_30", total=days(30)))),
    DeadlineRule("crim.family_notice_arrest", "suspect.arrested", hours(24),
                 ("family.notified", "family.not_notifiable"), "逮捕后通知家属", "Notify the family after arrest",
                 f"{CPL} Art. 93; {CR} Art. 145", track=C, custody=True),
    DeadlineRule("crim.interrogation_arrest", "suspect.arrested", hours(24),
                 ("suspect.interrogated", "suspect.released"), "逮捕后讯问", "Interrogate after arrest",
                 f"{CPL} Art. 94; {CR} Art. 144", track=C, custody=True),
    DeadlineRule("crim.custody", "suspect.arrested", months(2),
                 ("case.transferred_for_prosecution", "suspect.released"), "侦查羁押期限", "Investigation custody",
                 f"{CPL} Arts. 156, 158, 159; {CR} Arts. 148-150", track=C, custody=True, warn=days(7),
                 extensions=(Extension("custody.extended_1", add=months(1)),
                             Extension("custody.extended_2", add=months(2)),
                             Extension("custody.extended_3", add=months(2)))),
    DeadlineRule("crim.withdrawal_notice", "case.withdrawn", days(3), ("withdrawal.notice_served",),
                 "撤销案件通知", "Notice of cancellation", f"{CR} Art. 189", track=C, public=True),
    DeadlineRule("crim.property_unrelated", "property.found_unrelated", days(3), ("property.returned",),
                 "解除查封扣押并发还", "Return unrelated seized property", f"{CPL} Art. 145; {CR} Art. 233",
                 track=C, public=True),
    DeadlineRule("crim.account_unrelated", "account.found_unrelated", days(3), ("account.released",),
                 "通知解除冻结", "Release unrelated frozen assets", f"{CR} Art. 247", track=C, public=True),
    DeadlineRule("crim.bail", "bail.granted", months(12), ("bail.lifted",), "取保候审期限", "Bail (取保候审)",
                 f"{CPL} Art. 79", track=C),
    DeadlineRule("crim.surveillance", "surveillance.started", months(6), ("surveillance.lifted",),
                 "监视居住期限", "Residential surveillance", f"{CPL} Art. 79", track=C),
    DeadlineRule("adm.intake_review", "case.accepted", hours(24), ("case.investigating",), "受案审查",
                 "Intake review", "公通字〔2015〕32号 §二(一)2", track=A, public=True,
                 extensions=(Extension("intake_review.extended", total=days(3)),)),
    DeadlineRule("adm.handling_2025", "case.investigating", days(30), ("case.decision",), "办案期限",
                 "Handling period", "治安管理处罚法 (2025) Art. 118", track=A, public=True,
                 extensions=(Extension("handling.extended", add=days(30), max_times=2),),
                 effective_from=PSAPL_2025_IN_FORCE),
    DeadlineRule("adm.handling_2012", "case.accepted", days(30), ("case.decision",), "办案期限（2012年法）",
                 "Handling period (2012 law)", "治安管理处罚法 (2012) Art. 99; 公安机关办理行政案件程序规定 Art. 165",
                 track=A, public=True, extensions=(Extension("handling.extended", add=days(30), max_times=1),),
                 effective_until=date(2025, 12, 31)),
    DeadlineRule("adm.questioning", "suspect.summoned", hours(8), ("questioning.ended",), "询问查证时限",
                 "Questioning after summons", "治安管理处罚法 (2025) Art. 97", track=A, custody=True, warn=hours(1),
                 extensions=(Extension("questioning.extended_12", total=hours(12)),
                             Extension("questioning.extended_24", total=hours(24)))),
    DeadlineRule("adm.decision_service", "case.decision", days(2), ("decision.served",), "送达处罚决定书",
                 "Serve the decision on the offender", "治安管理处罚法 (2025) Art. 116", track=A),
    DeadlineRule("adm.decision_victim", "case.decision", days(2), ("decision.victim_served",),
                 "决定书送达被侵害人", "Serve the decision on the victim",
                 "治安管理处罚法 (2025) Arts. 116 ¶2, 120; 公安机关办理行政案件程序规定 Art. 172",
                 track=A, public=True),
    DeadlineRule("adm.fine_payment", "fine.imposed", days(15), ("fine.paid", "case.penalty_executed"),
                 "缴纳罚款", "Pay the fine", "治安管理处罚法 (2025) Art. 123", track=A),
)

CUSTODY_EVENTS = ("suspect.detained", "suspect.arrested")


def register_case_rules(book: RuleBook) -> RuleBook:
    for name, desc in EVENTS.items():
        book.register_event(name, desc)
    for r in RULES:
        book.register(r)
    return book


@dataclass(frozen=True)
class Transition:
    from_state: State | None
    to_state: State
    at: datetime
    actor: str
    reason: str
