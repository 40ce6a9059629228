"""Builds the ASGI app: settings, store, storage, routes, middleware, and the maintenance loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from . import __version__
from .api import dashboard, extension, images, jobs, metrics, monitoring, openai, seed, shared, videos, webhooks
from .api.auth import Auth, warn_once_listening
from .api.early_auth import EarlyAuthMiddleware
from .api.errors import install_error_handlers
from .api.idempotency import IdempotencyKeys
from .api.limits import BodyBudget, BodyLimitMiddleware
from .api.nul import NulGuardMiddleware
from .api.openapi import install_openapi
from .api.signing import UrlSigner, new_secret
from .chains import Chains
from .clock import Clock, SystemClock
from .config import Settings, load_settings
from .files.backend import storage_for
from .files.lock import DataInUse
from .files.storage import VideoStorage
from .maintenance.cleanup import cleanup_forever, run_cleanup
from .metrics import Metrics
from .reqlog import RequestLog, RequestLogMiddleware
from .service import JobService
from .signals import on_stop_signal
from .store.base import JobStore, KeyStore
from .store.factory import build_stores
from .store.outbox import outbox_for
from .webhooks.delivery import Webhooks
from .webhooks.endpoints import Endpoints
from .worker.sharing import joined, replication

log = logging.getLogger("grok_imagine_api")
if not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)


async def open_data(service: JobService, opened: contextlib.AsyncExitStack) -> None:
    """Take the video directory, then the database: each refuses a second server before it touches anything
    (and before the start-up sweep, which would delete the other server's uploads in flight)."""
    try:
        await service.open_storage()
        opened.push_async_callback(service.close_storage)
        await service.open_store()
        opened.push_async_callback(service.close_store)
    except DataInUse as exc:
        log.error("%s", exc)
        logging.getLogger("uvicorn.error").addFilter(quiet_data_in_use)
        raise


def quiet_data_in_use(record: logging.LogRecord) -> bool:
    """uvicorn then logs the failed start-up's traceback, sixty lines of framework frames; the line above says
    all there is to say."""
    return f"{DataInUse.__module__}.{DataInUse.__name__}: " not in record.getMessage()


async def stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    stores: tuple[JobStore, KeyStore] | None = None,
    storage: VideoStorage | None = None,
    run_maintenance: bool = True,
) -> FastAPI:
    settings = settings or load_settings()
    settings.prepare_paths()
    app_metrics = Metrics(settings.instance_id)
    store, keys = stores or build_stores(settings)
    notifier, worker_table = replication(settings)
    video_storage = storage or storage_for(settings)
    service = JobService(
        store=store,
        keys=keys,
        storage=video_storage,
        clock=clock or SystemClock(),
        settings=settings,
        metrics=app_metrics,
        notifier=notifier,
    )
    Chains(service, store, video_storage).install()  # long videos (docs/long-videos.md)
    request_log = RequestLog(settings.log_path)
    gate = Auth(settings)
    outbox = outbox_for(store)
    hooks = None
    if outbox is not None:
        endpoints = Endpoints.for_settings(settings)
        hooks = Webhooks(outbox, endpoints, clock=service.clock, settings=settings, metrics=app_metrics)
        service.on_finished.append(hooks.woken)  # a job of this replica ended: send its events now, not at the poll

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as opened:
            opened.callback(request_log.close)
            await open_data(service, opened)
            await opened.enter_async_context(
                joined(notifier, service.dispatcher.notify_all, service.workers, worker_table, service.clock, service)
            )
            if gate.clients_need_keys:
                secret = settings.url_signing_secret or await service.server_value("url_signing_secret", new_secret)
                app.state.signer = UrlSigner(secret, settings.video_url_ttl_seconds)
            opened.push_async_callback(stop_task, asyncio.create_task(warn_once_listening(gate)))
            swept = await service.sweep_orphans()
            if swept:
                log.info("start-up: removed %d orphaned upload or video files", swept)
            if hooks is not None:
                opened.push_async_callback(stop_task, asyncio.create_task(hooks.run_forever()))
            if run_maintenance:
                await run_cleanup(service, request_log)
                opened.push_async_callback(stop_task, asyncio.create_task(cleanup_forever(service, request_log)))
            # A stop signal ends the open long polls at once: uvicorn waits for them before the shutdown below.
            with on_stop_signal(service.dispatcher.close):
                yield

    app = FastAPI(
        title="grok-imagine-api",
        version=__version__,
        summary="OpenAI-compatible video generation API backed by Grok Imagine browser workers",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.request_log = request_log
    app.state.metrics = app_metrics
    app.state.auth = gate
    app.state.signer = None
    app.state.idempotency = IdempotencyKeys()
    app.state.webhooks = hooks
    install_error_handlers(app)
    for module in (seed, openai, shared, videos, images, extension, monitoring, jobs, dashboard, metrics, webhooks):
        app.include_router(module.router)
    install_openapi(app)
    # Routes that stream uploads enforce their own limits.
    streaming = ("/extension/complete", "/v1/videos/extensions", "/v1/videos/edits")
    app.state.body_budget = BodyBudget(settings.body_budget_bytes)
    app.add_middleware(
        BodyLimitMiddleware, limit=settings.max_request_bytes, budget=app.state.body_budget, streaming=streaming
    )
    app.add_middleware(NulGuardMiddleware)
    # Outside the body limit: a caller without the credentials its route needs is refused before any body is read.
    app.add_middleware(EarlyAuthMiddleware, auth=gate, routes=app.routes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Content-Range", "Content-Length", "Accept-Ranges", "ETag", "Last-Modified"],
    )
    app.add_middleware(RequestLogMiddleware, log=request_log, observe=app_metrics.request)
    return app
