"""The feature registry: an example feature (tests/example_feature, docs/adding-a-feature.md) plugs in by
its package and one entry in the list of features: routes, table, navigation, settings section, CLI,
job and bus subscription."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from example_feature.feature import FEATURE as DUTY_NOTES
from example_feature.feature import SEEN, DutyNotesSettings
from jingwu.app import create_app, navigation, subscribe_features
from jingwu.cli import build_cli
from jingwu.contracts.events import IncidentRecorded
from jingwu.features import FEATURES, database_metadata
from jingwu.platform.container import Container
from support import Org, login

WITH_EXAMPLE = (*FEATURES, DUTY_NOTES)


def _create_example_tables(c: Container) -> None:
    # a product feature ships an Alembic migration; the test creates its one table directly
    for table in DUTY_NOTES.tables:
        table.create(c.engine)


def test_the_product_list_does_not_hold_the_example() -> None:
    assert "duty_notes" not in {f.name for f in FEATURES}
    assert "example_duty_notes" not in database_metadata().tables
    assert "example_duty_notes" in database_metadata(WITH_EXAMPLE).tables
    assert set(database_metadata().tables) < set(database_metadata(WITH_EXAMPLE).tables)


def test_example_routes_settings_audit_and_navigation(container: Container, org: Org) -> None:
    _create_example_tables(container)
    container.settings = container.settings.with_sections(DutyNotesSettings(max_length=20))
    app = create_app(container.settings, container, features=WITH_EXAMPLE)
    with TestClient(app) as client:
        h = login(client, "disp_a", org.passwords["disp_a"])
        r = client.post("/api/v1/duty-notes", json={"text": "夜班交接：一切正常"}, headers=h)
        assert r.status_code == 201, r.text
        too_long = client.post("/api/v1/duty-notes", json={"text": "x" * 21}, headers=h)
        assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "invalid_input"
        notes = client.get("/api/v1/duty-notes", headers=h).json()
        assert [n["text"] for n in notes] == ["夜班交接：一切正常"]
        assert client.get("/api/v1/duty-notes").status_code == 401
        page = client.get("/map", headers=h).text
        assert 'data-module="duty-notes"' in page and "值班记录" in page
        assert "Duty notes" in client.get("/map?lang=en", headers=h).text
        assert client.get("/duty-notes", headers=h).status_code == 200
    with container.uow() as uow:
        actions = [e.action for e in uow.audit_entries()]
    assert actions.count("duty_note.write") == 1


def test_navigation_is_ordered_and_comes_from_the_features() -> None:
    nav = navigation(WITH_EXAMPLE)
    assert [e.order for e in nav] == sorted(e.order for e in nav)
    assert nav[-1].slug == "duty-notes"
    assert {e.slug for e in navigation(FEATURES)} >= {"map", "dispatch", "incidents", "safety-index", "cases"}


def test_example_job_runs_with_the_app_and_its_subscription_receives_events(container: Container) -> None:
    _create_example_tables(container)
    app = create_app(container.settings, container, features=WITH_EXAMPLE)
    with TestClient(app):
        assert container.get(SEEN).started == 1
        assert container.get(SEEN).stopped == 0
    assert container.get(SEEN).stopped == 1

    async def go() -> None:
        await subscribe_features(container, [DUTY_NOTES])
        ev = IncidentRecorded("inc-1", datetime(2026, 11, 30, 8, tzinfo=UTC), "110101", "crime")
        await container.bus.publish(IncidentRecorded.SUBJECT, ev.to_payload())

    asyncio.run(go())
    assert container.get(SEEN).incidents == ["inc-1"]


def test_example_cli_command_is_registered_under_its_group(container: Container, org: Org, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _create_example_tables(container)
    from jingwu.platform.settings import get_settings

    monkeypatch.setenv("JINGWU_DATABASE_URL", container.settings.db_url)
    monkeypatch.setenv("JINGWU_DATA_DIR", str(container.settings.data_dir))
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(build_cli(WITH_EXAMPLE), ["duty-notes", "count"])
        assert res.exit_code == 0, res.output
        assert "0 duty notes" in res.output
        missing = CliRunner().invoke(build_cli(FEATURES), ["duty-notes", "count"])
        assert missing.exit_code != 0
    finally:
        get_settings.cache_clear()


def test_inspect_sees_the_example_table_only_when_created(container: Container) -> None:
    assert "example_duty_notes" not in inspect(container.engine).get_table_names()
    _create_example_tables(container)
    assert "example_duty_notes" in inspect(container.engine).get_table_names()
