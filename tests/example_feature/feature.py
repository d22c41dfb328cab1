"""Duty notes as a feature: settings section, a use case, two routes, a table, a navigation entry, a CLI
command, a job and a bus subscription — each piece the registry knows, in one small package."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import Annotated, Any

import typer
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from example_feature.store import TABLES, DutyNotesUnitOfWork
from jingwu.contracts.events import IncidentRecorded
from jingwu.platform.container import Container, Slot
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.feature import CliCommand, CliGroup, Feature, NavEntry, Subscription
from jingwu.platform.http import ContainerDep, PrincipalDep, requires
from jingwu.platform.settings import get_settings


class DutyNotesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JINGWU_DUTY_NOTES_", env_file=None, extra="ignore")

    max_length: int = Field(default=500, ge=1)


def uow(c: Container) -> DutyNotesUnitOfWork:
    return DutyNotesUnitOfWork(c.session_factory, c.clock)


# --- use case
def write_note(p: Principal, text: str, *, c: Container) -> str:
    limit = c.settings.section(DutyNotesSettings).max_length
    if not text.strip() or len(text) > limit:
        raise InvalidInput(f"a duty note has 1 to {limit} characters")
    p.require(Permission.READ_ORG, None)
    with uow(c) as u:
        nid = u.notes.add(agency_id=p.agency_id, at=c.clock.now(), author=p.username, text=text)
        u.audit.write(actor=p.username, action="duty_note.write", object_type="duty_note", object_id=nid,
                      agency_id=p.agency_id)
        u.commit()
    return nid


# --- HTTP
router = APIRouter(prefix="/api/v1/duty-notes", tags=["duty-notes"])
page_router = APIRouter(include_in_schema=False)


class NoteCreate(BaseModel):
    text: str


@router.post("", status_code=201)
def post_note(body: NoteCreate, p: Annotated[Principal, Depends(requires(Permission.READ_ORG))],
              c: ContainerDep) -> dict[str, str]:
    return {"id": write_note(p, body.text, c=c)}


@router.get("")
def list_notes(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    with uow(c) as u:
        return [{"id": n["id"], "author": n["author"], "text": n["text"]} for n in u.notes.in_subtree(p.agency_path)]


@page_router.get("/duty-notes", response_class=HTMLResponse)
def notes_page(p: PrincipalDep, c: ContainerDep) -> str:
    with uow(c) as u:
        items = "".join(f"<li>{escape(str(n['author']))}: {escape(str(n['text']))}</li>"
                        for n in u.notes.in_subtree(p.agency_path))
    return f"<!doctype html><title>值班记录</title><ul>{items}</ul>"


# --- a job and a subscription (what they saw is kept in a typed slot, for the test to read)
class Seen:
    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0
        self.incidents: list[str] = []


SEEN: Slot[Seen] = Slot("duty_notes.seen", lambda c: Seen())


class ShiftClock:
    def __init__(self, c: Container) -> None:
        self.seen = c.get(SEEN)

    def start(self) -> None:
        self.seen.started += 1

    async def stop(self) -> None:
        self.seen.stopped += 1


def on_incidents(c: Container) -> Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]]:
    async def handle(events: list[tuple[str, dict[str, Any]]]) -> None:
        for _subject, payload in events:
            c.get(SEEN).incidents.append(IncidentRecorded.from_payload(payload).incident_id)

    return handle


# --- CLI
def count_cmd(agency_path: Annotated[str, typer.Option(help="agency subtree")] = "/") -> None:
    """Print how many duty notes the subtree holds."""
    from jingwu.platform.container import build_container

    c = build_container(get_settings())
    try:
        with uow(c) as u:
            typer.echo(f"{len(u.notes.in_subtree(agency_path))} duty notes")
    finally:
        c.dispose()


FEATURE = Feature(
    name="duty_notes",
    routers=(router, page_router),
    tables=TABLES,
    jobs=(ShiftClock,),
    subscriptions=(Subscription(IncidentRecorded.SUBJECT, on_incidents, durable="duty-notes"),),
    nav=(NavEntry("duty-notes", "nav_duty_notes", order=90, labels=(("zh-CN", "值班记录"), ("en", "Duty notes"))),),
    settings=DutyNotesSettings,
    cli_groups=(CliGroup("duty-notes", "Duty notes (值班记录)."),),
    cli=(CliCommand("count", count_cmd, group="duty-notes"),),
)
