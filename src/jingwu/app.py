"""The web application, built from the registered features (``jingwu.features``): their routers, bus
subscriptions, jobs and navigation, plus the platform's error shape, metrics, static assets and the
start-up checks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from jingwu import __version__
from jingwu.features import FEATURES
from jingwu.platform.container import Container, build_container
from jingwu.platform.feature import Feature, Job, NavEntry
from jingwu.platform.http import (
    install_body_limit,
    install_error_handlers,
    install_metrics,
    install_security_headers,
)
from jingwu.platform.settings import Settings, get_settings
from jingwu.web.ui import STATIC_DIR

log = logging.getLogger("jingwu")


class InsecureConfiguration(RuntimeError):
    pass


def check_settings(settings: Settings, features: Sequence[Feature] = FEATURES) -> None:
    if settings.uses_default_secret() and not settings.demo_mode:
        raise InsecureConfiguration(
            "Refusing to start with the default secret: set JINGWU_SECRET_KEY (or run the demo: jingwu demo)."
        )
    for f in features:  # every section is read (and validated) at start, not on first use
        if f.settings is not None:
            settings.section(f.settings)


def navigation(features: Sequence[Feature]) -> list[NavEntry]:
    return sorted((e for f in features for e in f.nav), key=lambda e: e.order)


async def subscribe_features(c: Container, features: Sequence[Feature]) -> None:
    """Make every feature's bus subscriptions (batches from a durable consumer when one is named)."""
    for f in features:
        for sub in f.subscriptions:
            handler: Any = sub.make(c)
            if sub.durable is not None:
                await c.bus.subscribe_batch(sub.pattern, handler, durable=sub.durable)
            else:
                await c.bus.subscribe(sub.pattern, handler)


def start_jobs(c: Container, features: Sequence[Feature]) -> list[Job]:
    """Start every feature's jobs in list order (a factory returning None is switched off by settings)."""
    started: list[Job] = []
    for f in features:
        for make in f.jobs:
            job = make(c)
            if job is not None:
                job.start()
                started.append(job)
    return started


async def stop_jobs(jobs: list[Job]) -> None:
    for job in reversed(jobs):
        try:
            await job.stop()
        except Exception:
            log.exception("job did not stop cleanly", extra={"job": type(job).__name__})


# routes that take uploads larger than the default body limit: town boundaries in the administration API
LARGE_BODY_PATHS = ("/api/v1/admin/",)


def create_app(settings: Settings | None = None, container: Container | None = None,
               features: Sequence[Feature] = FEATURES) -> FastAPI:
    settings = settings or (container.settings if container else get_settings())
    check_settings(settings, features)
    c = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Few worker threads per process: request handlers are CPU-bound Python, and many threads
        # only convoy on the GIL while one of them holds a database lock (the audit head).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        await c.bus.start()
        if c.relay is not None:
            c.relay.start()
        await subscribe_features(c, features)
        jobs = start_jobs(c, features)
        log.info("jingwu started", extra={"version": __version__, "db": c.engine.url.get_backend_name(),
                                          "bus": type(c.bus).__name__, "features": [f.name for f in features]})
        try:
            yield
        finally:
            await stop_jobs(jobs)
            if c.relay is not None:
                await c.relay.stop()
            await c.bus.close()

    app = FastAPI(
        title="Jingwu 警务 API",
        version=__version__,
        description="Open-source public-safety operations platform. Errors: {\"error\": {\"code\", \"message\"}}.",
        lifespan=lifespan,
        docs_url=None,  # /docs is served by web/ui.py from our own copy of Swagger UI (no CDN)
        redoc_url=None,
    )
    app.state.container = c
    app.state.nav = navigation(features)
    app.state.links = [link for f in features for link in f.links]
    install_error_handlers(app)
    install_metrics(app, settings.metrics_token)
    install_security_headers(app)
    # outermost: an oversized body is refused before metrics, routing, authentication or parsing
    install_body_limit(app, settings.body_limit_bytes, settings.large_body_limit_bytes, LARGE_BODY_PATHS)
    for f in features:
        for router in f.routers:
            app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app
