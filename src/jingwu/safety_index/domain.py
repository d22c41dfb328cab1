"""Safety Index domain: the method's constants and scalar formulas, categories and
sub-indices, harm weights, colour bands, the supervision-ticket state machine.

Standard library only. Every number here is documented in
docs/methods/safety-index.md; the vectorised engine (engine.py) implements the
same formulas over arrays and is tested against these scalar versions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from jingwu.platform.errors import Conflict, InvalidInput


class Category(StrEnum):
    CRIME = "crime"
    PUBLIC_ORDER = "public_order"
    TRAFFIC = "traffic"
    FIRE = "fire"
    DRUGS = "drugs"
    FRAUD = "fraud"
    HELP = "help"
    DISPUTE = "dispute"
    OTHER = "other"


class SubIndex(StrEnum):
    ORDER = "order"  # 治安 (public order and crime)
    FIRE = "fire"  # 消防
    TRAFFIC = "traffic"  # 交通
    DRUGS = "drugs"  # 禁毒
    FRAUD = "fraud"  # 反诈


SUB_INDICES: tuple[SubIndex, ...] = (SubIndex.ORDER, SubIndex.FIRE, SubIndex.TRAFFIC, SubIndex.DRUGS,
                                     SubIndex.FRAUD)

# Which sub-index an incident category feeds; help requests and "other" carry no harm.
CATEGORY_SUBINDEX: dict[Category, SubIndex | None] = {
    Category.CRIME: SubIndex.ORDER,
    Category.PUBLIC_ORDER: SubIndex.ORDER,
    Category.DISPUTE: SubIndex.ORDER,
    Category.FIRE: SubIndex.FIRE,
    Category.TRAFFIC: SubIndex.TRAFFIC,
    Category.DRUGS: SubIndex.DRUGS,
    Category.FRAUD: SubIndex.FRAUD,
    Category.HELP: None,
    Category.OTHER: None,
}

# Default sub-index weights: the crime family (order + drugs + fraud) keeps Huizhou's 60 %,
# fire and traffic keep 20 % each. Deaths are deducted separately (DEATH_PENALTY).
DEFAULT_SUBINDEX_WEIGHTS: dict[SubIndex, float] = {
    SubIndex.ORDER: 0.45, SubIndex.DRUGS: 0.05, SubIndex.FRAUD: 0.10, SubIndex.FIRE: 0.20, SubIndex.TRAFFIC: 0.20,
}

# Harm weights by suggested incident-type code (reference/incident-types.md §4). Longest prefix wins;
# a category default applies when no prefix matches. Unit: "harm points" ≈ months of the typical
# starting sanction (criminal: starting-point sentence in months; administrative: 0.5 for 5–15 days'
# detention, 1.0 for violence against a person, 0.2 for warning/fine only). Rationale: docs/methods §3.1.
DEFAULT_HARM_WEIGHTS: dict[str, float] = {
    "0101": 120.0,  # 故意杀人: ≥10 years
    "0102": 36.0,  # 故意伤害 (criminal): ≤3 years for minor injury → 36
    "0103": 60.0,  # 强奸: 3–10 years, starting 5
    "0104": 48.0,  # 抢劫: 3–10 years, typical 4
    "0105": 12.0,  # 抢夺
    "0106": 6.0,  # 盗窃 (criminal)
    "010601": 12.0,  # 入室盗窃
    "010602": 9.0,  # 盗窃机动车
    "010603": 3.0,  # 盗窃自行车/电动车
    "0107": 6.0,  # 诈骗 (contact)
    "0108": 6.0,  # 电信网络诈骗
    "0109": 12.0,  # 敲诈勒索
    "0110": 120.0,  # 绑架
    "0111": 120.0,  # 拐卖
    "0112": 12.0,  # 非法拘禁
    "0113": 60.0,  # 放火
    "0114": 120.0,  # 爆炸/投毒
    "0115": 120.0,  # 恐怖活动
    "0116": 36.0,  # 贩毒
    "0117": 24.0,  # 聚众斗殴/寻衅滋事 (criminal)
    "0118": 12.0,  # 开设赌场
    "0199": 6.0,
    "0201": 1.0,  # 殴打他人: 5–10 days detention
    "0202": 1.0,
    "0203": 0.5,
    "0204": 0.5,
    "0205": 0.5,
    "0206": 0.5,
    "0207": 0.5,
    "0208": 0.5,
    "0209": 0.5,  # 吸毒: 10–15 days
    "0210": 0.5,
    "0211": 1.0,  # 家庭暴力
    "0212": 0.5,
    "0213": 0.5,
    "0214": 0.2,  # 噪声扰民: warning / fine
    "0215": 0.2,
    "0299": 0.5,
    "0301": 6.0,  # 交通事故有人伤亡
    "0302": 0.5,  # 财产损失事故
    "0303": 12.0,  # 逃逸
    "0304": 3.0,  # 酒驾/醉驾 (危险驾驶: ≤6 months)
    "0305": 0.1,
    "0306": 0.1,
    "0401": 6.0,  # 建筑火灾
    "0402": 2.0,
    "0403": 4.0,
    "0404": 1.0,
    "06": 0.2,  # 纠纷
}
CATEGORY_DEFAULT_WEIGHT: dict[Category, float] = {
    Category.CRIME: 6.0, Category.PUBLIC_ORDER: 0.5, Category.TRAFFIC: 0.5, Category.FIRE: 2.0,
    Category.DRUGS: 0.5, Category.FRAUD: 6.0, Category.DISPUTE: 0.2, Category.HELP: 0.0, Category.OTHER: 0.0,
}
INJURY_WEIGHT = 2.0  # harm points added per injured person

# Windows (days) and smoothing
CURRENT_DAYS = 7  # current window: day d and the 6 days before
BASELINE_DAYS = 84  # baseline: the 84 days before the current window (12 weeks)
HISTORY_DAYS = CURRENT_DAYS + BASELINE_DAYS  # days of history a score needs
MOM_DAYS = 28  # month-on-month windows: 28 days vs the 28 before
SMOOTHING = 2.0  # ε: harm points per day added to current and baseline means
SCORE_SLOPE = 50.0  # points lost per doubling of harm vs baseline
DEATH_PENALTY = 10.0  # points per death in the current window
DEATH_PENALTY_CAP = 30.0
RATE_PER = 10_000  # rates per 10,000 residents

# Trend warnings: exact conditional (binomial) test of two Poisson rates, one-sided
WARNING_ALPHA = 0.001  # false-alarm probability per test per town-day under a stationary rate
WARNING_MIN_COUNT = 3  # never warn on fewer than 3 incidents in the current window
MIN_PUBLIC_COUNT = 3  # public outputs suppress counts below this

# Method versions (docs/methods/safety-index.md): v1 = §4–§7 exactly; v2 = §13 (season, dispersion,
# events counted once, fed sub-indices, small-number cap, band/warning notes).
METHOD_VERSIONS = ("v1", "v2")
DEPLOYMENT_DEFAULT_VERSION = "v2"  # a deployment without a method file (or without "version") runs v2
SEASON_LAG = 364  # v2: "last year" = 52 weeks earlier (same weekdays)
SEASON_HALF_WIDTH = 14  # v2: last year's current week widened by 14 days each side (35 days)
SEASON_CLAMP = (0.5, 2.0)  # v2: a seasonal factor is kept within these bounds
DISPERSION_WEEKS = 52  # v2: weeks of a town's own history its dispersion is estimated from (at most)
EVENT_LOSS_CAP = 10.0  # v2: composite points one event in the current window can cost at most


class Band(StrEnum):
    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


# lower bounds (score >= bound) from best to worst
BAND_THRESHOLDS: tuple[tuple[Band, float], ...] = (
    (Band.GREEN, 90.0), (Band.BLUE, 80.0), (Band.YELLOW, 70.0), (Band.ORANGE, 60.0), (Band.RED, -math.inf),
)


def band_for(score: float) -> Band:
    for band, lower in BAND_THRESHOLDS:
        if score >= lower:
            return band
    return Band.RED


def category_for_code(type_code: str) -> Category:
    """Default category of a suggested 6-digit code (used by imports without a category column)."""
    if type_code.startswith(("0107", "0108", "0205")):
        return Category.FRAUD
    if type_code.startswith(("0116", "0209")):
        return Category.DRUGS
    head = type_code[:2]
    return {"01": Category.CRIME, "02": Category.PUBLIC_ORDER, "03": Category.TRAFFIC, "04": Category.FIRE,
            "05": Category.HELP, "06": Category.DISPUTE}.get(head, Category.OTHER)


@dataclass(frozen=True)
class Method:
    """The tunable parameters of the method (defaults = the documented method)."""

    harm_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HARM_WEIGHTS))
    category_weights: dict[Category, float] = field(default_factory=lambda: dict(CATEGORY_DEFAULT_WEIGHT))
    subindex_weights: dict[SubIndex, float] = field(default_factory=lambda: dict(DEFAULT_SUBINDEX_WEIGHTS))
    injury_weight: float = INJURY_WEIGHT
    smoothing: float = SMOOTHING
    slope: float = SCORE_SLOPE
    death_penalty: float = DEATH_PENALTY
    death_penalty_cap: float = DEATH_PENALTY_CAP
    alpha: float = WARNING_ALPHA
    version: str = "v1"  # the dataclass default keeps v1 bit for bit; deployments default to v2 (config)
    fed: tuple[SubIndex, ...] | None = None  # v2: sub-indices the deployment feeds (None: detected)
    event_loss_cap: float = EVENT_LOSS_CAP  # v2

    def __post_init__(self) -> None:
        total = sum(self.subindex_weights.get(s, 0.0) for s in SUB_INDICES)
        if abs(total - 1.0) > 1e-9:
            raise InvalidInput(f"sub-index weights must sum to 1 (got {total:g})")
        if any(w < 0 for w in self.harm_weights.values()):
            raise InvalidInput("harm weights must be non-negative")
        if self.version not in METHOD_VERSIONS:
            raise InvalidInput(f"version must be one of {', '.join(METHOD_VERSIONS)} (got {self.version!r})")
        if self.fed is not None:
            if not self.fed or len(set(self.fed)) != len(self.fed):
                raise InvalidInput("fed must list at least one sub-index, each once")
            if sum(self.subindex_weights[s] for s in self.fed) <= 0:
                raise InvalidInput("the fed sub-indices must carry a positive weight")
        if not (self.event_loss_cap > 0 and 0 < self.alpha < 1):
            raise InvalidInput("event_loss_cap must be positive and alpha in (0, 1)")

    def composite_weights(self, fed: tuple[SubIndex, ...] | None = None) -> dict[SubIndex, float]:
        """v1: the sub-index weights as they are. v2: renormalised over the fed sub-indices (the method
        file's ``fed``, else ``fed`` as detected from the data), 0 for the others (§13.4)."""
        if self.version == "v1":
            return dict(self.subindex_weights)
        use = self.fed or fed or SUB_INDICES
        total = sum(self.subindex_weights[s] for s in use)
        if total <= 0:
            use, total = SUB_INDICES, 1.0
        return {s: (self.subindex_weights[s] / total if s in use else 0.0) for s in SUB_INDICES}

    def harm_weight(self, type_code: str, category: Category) -> float:
        """Harm of one incident (without injuries): longest matching code prefix, else the category default."""
        if CATEGORY_SUBINDEX[category] is None:
            return 0.0
        for n in range(len(type_code), 1, -1):
            w = self.harm_weights.get(type_code[:n])
            if w is not None:
                return w
        return self.category_weights[category]

    def incident_harm(self, type_code: str, category: Category, injuries: int) -> float:
        harmful = CATEGORY_SUBINDEX[category] is not None
        return float(harm(1, self.harm_weight(type_code, category), max(0, injuries), harmful, self.injury_weight))


def harm(count: Any, weight: Any, injuries: Any, harmful: Any, injury_weight: float) -> Any:
    """THE harm formula, for ``count`` incidents of one type with ``injuries`` injured people in all:
    ``harmful · (count · weight + injury_weight · injuries)``, where ``harmful`` is 1 (true) when the
    category feeds a sub-index and 0 (false) when it carries no harm (help, other).

    Plain arithmetic, so the one definition serves scalars (``Method.incident_harm``), numpy arrays
    and pandas columns (the services' cubes and deltas), and SQL (``columnar`` renders it with
    ``SqlExpr`` operands). Multiplying by ``harmful`` = 1 and by ``count`` = 1 is exact in floating
    point, so every form gives the same bits."""
    return harmful * (count * weight + injury_weight * injuries)


def fed_from_categories(categories: Any) -> tuple[SubIndex, ...]:
    """The sub-indices that incidents of these categories feed, in the order of SUB_INDICES (§13.4)."""
    fed = set()
    for c in categories:
        if c in Category.__members__.values():
            s = CATEGORY_SUBINDEX[Category(c)]
            if s is not None:
                fed.add(s)
    return tuple(s for s in SUB_INDICES if s in fed)


def subindex_score(current_mean: float, baseline_mean: float, method: Method) -> float:
    """100 − slope·log2((C+ε)/(B+ε)), clamped to [0, 100]."""
    ratio = (current_mean + method.smoothing) / (baseline_mean + method.smoothing)
    return min(100.0, max(0.0, 100.0 - method.slope * math.log2(ratio)))


def composite_score(sub_scores: dict[SubIndex, float], deaths_in_window: int, method: Method) -> float:
    raw = sum(method.subindex_weights[s] * sub_scores[s] for s in SUB_INDICES)
    raw -= min(method.death_penalty_cap, method.death_penalty * deaths_in_window)
    return round(min(100.0, max(0.0, raw)), 2)


def suppress(count: int | None) -> int | None:
    """Public outputs: counts below MIN_PUBLIC_COUNT are withheld (None)."""
    if count is None or count < MIN_PUBLIC_COUNT:
        return None
    return count


# ---------------------------------------------------------------- supervision tickets

class TicketStatus(StrEnum):
    OPEN = "open"  # opened by the system, waiting for an owner
    IN_PROGRESS = "in_progress"  # owner assigned, actions being taken
    CLOSED = "closed"


TICKET_DEADLINE_DAYS = 7
ESCALATION_EXTENSION_DAYS = 3


@dataclass(frozen=True)
class TicketAction:
    at: datetime
    actor: str
    text: str


@dataclass(frozen=True)
class Ticket:
    id: str
    town_id: str
    agency_id: str  # responsible agency now (moves up on escalation)
    home_agency_id: str  # the town's own agency
    day: date
    reasons: tuple[str, ...]
    status: TicketStatus
    owner: str | None
    opened_at: datetime
    deadline: datetime
    escalation_level: int = 0
    actions: tuple[TicketAction, ...] = ()
    closed_at: datetime | None = None
    closure: str | None = None

    def assign(self, owner: str) -> Ticket:
        if self.status is TicketStatus.CLOSED:
            raise Conflict("The ticket is closed.", code="ticket_closed")
        if not owner.strip():
            raise InvalidInput("owner must not be empty")
        return replace(self, owner=owner.strip(), status=TicketStatus.IN_PROGRESS)

    def add_action(self, action: TicketAction) -> Ticket:
        if self.status is TicketStatus.CLOSED:
            raise Conflict("The ticket is closed.", code="ticket_closed")
        if not action.text.strip():
            raise InvalidInput("an action needs a description")
        status = TicketStatus.IN_PROGRESS if self.status is TicketStatus.OPEN else self.status
        return replace(self, actions=(*self.actions, action), status=status)

    def close(self, at: datetime, closure: str) -> Ticket:
        if self.status is TicketStatus.CLOSED:
            raise Conflict("The ticket is already closed.", code="ticket_closed")
        if not self.actions:
            raise Conflict("Record at least one action before closing the ticket.", code="no_actions")
        if not closure.strip():
            raise InvalidInput("closure summary must not be empty")
        return replace(self, status=TicketStatus.CLOSED, closed_at=at, closure=closure.strip())

    def overdue(self, now: datetime) -> bool:
        return self.status is not TicketStatus.CLOSED and now > self.deadline

    def escalate(self, parent_agency_id: str | None) -> Ticket:
        """Overdue: responsibility moves to the parent agency (if any) and the deadline is extended."""
        return replace(self, escalation_level=self.escalation_level + 1,
                       agency_id=parent_agency_id or self.agency_id,
                       deadline=self.deadline + timedelta(days=ESCALATION_EXTENSION_DAYS))

    @property
    def closed_on_time(self) -> bool | None:
        if self.closed_at is None:
            return None
        return self.escalation_level == 0 and self.closed_at <= self.deadline
