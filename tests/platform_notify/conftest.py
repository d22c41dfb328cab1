"""Fixtures of the notification tests: settings with the delivery job off (tests run passes themselves),
a recording gateway, templates registered once."""

from __future__ import annotations

from pathlib import Path

import pytest

from jingwu.platform import notify
from jingwu.platform.notify_gateways import Accepted, DeliveryError, Gateways, Message, NotifySettings, OutboxGateway
from jingwu.platform.settings import Settings
from support import make_settings

notify.register_template(
    "test.case_update",
    zh=("案件{{ case_number }}进展", "您好，案件{{ case_number }}状态更新为：{{ status }}。查询码 {{ code }}。"),
    en=("Case {{ case_number }} update", "Case {{ case_number }} is now: {{ status }}. Access code {{ code }}."),
)


@pytest.fixture
def settings(tmp_path: Path, backend: str) -> Settings:
    return make_settings(tmp_path, backend).with_sections(NotifySettings(interval_s=0))


class Recorder:
    """A gateway that records what it was asked to send and fails as told (a fake, for unit tests)."""

    name = "fake"

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.fail: DeliveryError | None = None

    def send(self, msg: Message) -> Accepted:
        if self.fail is not None:
            raise self.fail
        self.sent.append(msg)
        return Accepted(f"ref-{len(self.sent)}")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gateways(recorder: Recorder) -> Gateways:
    return Gateways(sms=recorder, email=recorder, outbox=OutboxGateway())


