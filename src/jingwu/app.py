"""The FastAPI application: wiring of every feature router, the web pages,
static assets, error shape, metrics and the start-up checks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from jingwu import __version__
from jingwu.dispatch import api as dispatch_api
from jingwu.dispatch import jobs as dispatch_jobs
from jingwu.dispatch import ui as dispatch_ui
from jingwu.dispatch import wiring as dispatch_wiring
from jingwu.platform import api as platform_api
from jingwu.platform.container import Container, build_container
from jingwu.platform.http import install_error_handlers, install_metrics
from jingwu.platform.settings import Settings, get_settings
from jingwu.safety_index import api as si_api
from jingwu.safety_index import jobs as si_jobs
from jingwu.safety_index import ui as si_ui
from jingwu.web import ui

log = logging.getLogger("jingwu")


class InsecureConfiguration(RuntimeError):
    pass


def check_settings(settings: Settings) -> None:
    if settings.uses_default_secret() and not settings.demo_mode:
        raise InsecureConfiguration(
            "Refusing to start with the default secret: set JINGWU_SECRET_KEY (or run the demo: jingwu demo)."
        )


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else get_settings())
    check_settings(settings)
    c = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Few worker threads per process: request handlers are CPU-bound Python, and many threads
        # only convoy on the GIL while one of them holds a database lock (the audit head).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        await c.bus.start()
        if c.relay is not None:
            c.relay.start()
        await si_jobs.register_handlers(c.bus, c)

        async def _to_board(subject: str, payload: dict[str, object]) -> None:
            await dispatch_api.fan_out(c, subject, payload)

        await c.bus.subscribe("jingwu.dispatch.>", _to_board)
        timers = dispatch_jobs.timer_job(c)
        timers.start()
        mqtt = dispatch_jobs.MqttBridge(c) if settings.mqtt_enabled else None
        if mqtt is not None:
            mqtt.start()
        autopilot = None
        if settings.demo_stream:
            from jingwu.dispatch.autopilot import Autopilot

            autopilot = Autopilot(c, calls_per_hour=settings.demo_calls_per_hour)
            autopilot.start()
        si_scheduler = si_jobs.DailyScheduler(c)
        si_scheduler.start()
        log.info("jingwu started", extra={"version": __version__, "db": c.engine.url.get_backend_name(),
                                          "bus": type(c.bus).__name__})
        try:
            yield
        finally:
            await si_scheduler.stop()
            await anyio.to_thread.run_sync(dispatch_wiring.stop_intake, c)
            await timers.stop()
            if autopilot is not None:
                await autopilot.stop()
            if mqtt is not None:
                mqtt.stop()
            if c.relay is not None:
                await c.relay.stop()
            await c.bus.close()

    app = FastAPI(
        title="Jingwu 警务 API",
        version=__version__,
        description="Open-source public-safety operations platform. Errors: {\"error\": {\"code\", \"message\"}}.",
        lifespan=lifespan,
    )
    app.state.container = c
    install_error_handlers(app)
    install_metrics(app)
    app.include_router(platform_api.public_router)
    app.include_router(platform_api.router)
    app.include_router(dispatch_api.router)
    app.include_router(dispatch_api.public_router)
    app.include_router(dispatch_ui.router)
    app.include_router(si_api.router)
    app.include_router(si_api.public_router)
    app.include_router(si_ui.router)
    app.include_router(ui.router)
    app.mount("/static", StaticFiles(directory=str(ui.STATIC_DIR)), name="static")
    return app
