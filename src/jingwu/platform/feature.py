"""The ``Feature`` declaration: what one feature package plugs into the product.

Each feature package (routing, dispatch, safety_index, ...) exports one
``Feature`` from its ``feature.py``: its HTTP routers, its tables, the jobs it
runs while the app serves, its bus subscriptions, its navigation entries, its
settings section and its CLI commands. The composition root (``jingwu.features``)
lists the features; ``jingwu.app`` and ``jingwu.cli`` build the app, the command
line, the navigation, the database metadata and the job runner from that list.
The platform itself knows no feature: it only defines the shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fastapi import APIRouter
    from pydantic_settings import BaseSettings
    from sqlalchemy import Table

    from jingwu.platform.container import Container

BatchHandler = Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]]
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class Job(Protocol):
    """Work that runs while the app serves: started in order, stopped in reverse order."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


JobFactory = Callable[["Container"], "Job | None"]  # None: the job is switched off by settings


@dataclass(frozen=True)
class Subscription:
    """A bus subscription made when the app starts. ``make`` builds the handler from the container.

    With ``durable`` set the handler receives batches from a durable consumer (at-least-once; handlers are
    idempotent); without it, one event at a time from an ephemeral subscription (e.g. live board fan-out).
    """

    pattern: str
    make: Callable[[Container], BatchHandler] | Callable[[Container], Handler]
    durable: str | None = None


@dataclass(frozen=True)
class NavEntry:
    """One entry of the page shell's navigation. ``ready=False`` shows a "coming" page."""

    slug: str
    label_key: str  # translation key in web/translations
    order: int = 100
    ready: bool = True
    labels: tuple[tuple[str, str], ...] = ()  # (lang, label) carried by the feature itself, before label_key
    permission: str | None = None  # a Permission value: shown only to users who hold it

    def label_in(self, lang: str) -> str | None:
        return dict(self.labels).get(lang)

    @property
    def href(self) -> str:
        return f"/{self.slug}" if self.ready else f"/m/{self.slug}"


@dataclass(frozen=True)
class ObjectLink:
    """A link a feature adds to another feature's object page without either importing the other: the page
    of an object of ``object_type`` (e.g. "incident") shows ``label_key`` linking to ``href`` with ``{id}``
    replaced by the object's id, to users holding ``permission`` (a Permission value; None: everyone)."""

    object_type: str
    label_key: str
    href: str
    permission: str | None = None


@dataclass(frozen=True)
class CliGroup:
    name: str
    help: str


@dataclass(frozen=True)
class CliCommand:
    """A command of the ``jingwu`` CLI: top level when ``group`` is None, else under that group."""

    name: str
    callback: Callable[..., Any]
    help: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Feature:
    name: str
    routers: Sequence[APIRouter] = ()
    tables: Sequence[Table] = ()
    jobs: Sequence[JobFactory] = ()
    subscriptions: Sequence[Subscription] = ()
    nav: Sequence[NavEntry] = ()
    settings: type[BaseSettings] | None = None
    cli_groups: Sequence[CliGroup] = ()
    cli: Sequence[CliCommand] = ()
    links: Sequence[ObjectLink] = ()
