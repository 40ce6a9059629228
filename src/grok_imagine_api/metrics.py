"""Prometheus metrics: job events the service records, request latency per route, and scrape-time gauges."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from .domain.jobs import ErrorCode, Job, JobStatus
from .files.storage import VideoStorage
from .worker.registry import WorkerInfo

# A `<name>_created` timestamp beside every counter and histogram series doubles the series for little use,
# and makes `grok_imagine_jobs_created_created`. This switch is process-wide in prometheus_client.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX = "grok_imagine_"
QUEUE_WAIT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
GENERATION_BUCKETS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800)
# Requests take milliseconds, except long polls (up to 30 s) and streamed uploads.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Any other method (clients may send anything) is counted as "other": label values stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class Metrics:
    """Every metric of one app, on a registry of its own (tests build many apps in one process)."""

    def __init__(self, instance_id: str | None = None) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        on = self.registry
        self.jobs_created = Counter(PREFIX + "jobs_created", "Jobs created", registry=on)
        self.jobs_completed = Counter(PREFIX + "jobs_completed", "Jobs completed with a video", registry=on)
        self.jobs_failed = Counter(PREFIX + "jobs_failed", "Jobs failed, by error code", ["code"], registry=on)
        self.upload_bytes = Counter(PREFIX + "upload_bytes", "Video bytes received from workers", registry=on)
        self.queue_wait = Histogram(
            PREFIX + "queue_wait_seconds",
            "From a job's creation to its claim by a worker",
            buckets=QUEUE_WAIT_BUCKETS,
            registry=on,
        )
        self.generation = Histogram(
            PREFIX + "generation_seconds",
            "From a job's claim to its completion",
            buckets=GENERATION_BUCKETS,
            registry=on,
        )
        self.queue_depth = Gauge(PREFIX + "queue_depth", "Jobs in each state", ["state"], registry=on)
        self.workers_online = Gauge(PREFIX + "workers_online", "Workers in contact now", registry=on)
        self.workers_busy = Gauge(PREFIX + "workers_busy", "Workers online and holding a job", registry=on)
        self.workers_cooling = Gauge(
            PREFIX + "workers_cooling_down",
            "Workers resting after a Grok rate limit (no jobs until it ends)",
            registry=on,
        )
        self.cooldown_remaining = Gauge(
            PREFIX + "worker_cooldown_remaining_seconds",
            "Seconds until a rate-limited worker takes jobs again, per worker",
            ["worker"],
            registry=on,
        )
        self.jobs_retried = Counter(
            PREFIX + "jobs_retried", "Failed attempts sent back to the queue, by error code", ["code"], registry=on
        )
        self.request_seconds = Histogram(
            PREFIX + "http_request_duration_seconds",
            "HTTP request latency by method, route template and status class",
            ["method", "route", "status"],
            buckets=REQUEST_BUCKETS,
            registry=on,
        )
        self.output_mismatches = Counter(
            PREFIX + "output_mismatches",
            "Uploaded videos that differ from what the job promised, by option",
            ["param"],
            registry=on,
        )
        self.webhook_deliveries = Counter(
            PREFIX + "webhook_deliveries",
            "Webhook deliveries finished: delivered (a 2xx), or failed (given up on)",
            ["outcome"],
            registry=on,
        )
        self.webhook_retries = Counter(PREFIX + "webhook_retries", "Webhook attempts to be tried again", registry=on)
        self.webhook_queue = Gauge(
            PREFIX + "webhook_queue_depth", "Webhook deliveries waiting to be sent (first try or retry)", registry=on
        )
        for outcome in ("delivered", "failed"):
            self.webhook_deliveries.labels(outcome)
        for code in ErrorCode:
            self.jobs_failed.labels(code.value)
            self.jobs_retried.labels(code.value)
        for param in ("aspect_ratio", "duration", "video"):
            self.output_mismatches.labels(param)
        self._request_series: dict[tuple[str, str, int], Histogram] = {}
        if instance_id is not None:
            # Which replica answers a scrape: Prometheus labels each scraped target `instance` itself (host:port),
            # so the series carry no instance label of their own; this joins that to INSTANCE_ID.
            replica = Info(PREFIX + "replica", "This replica's INSTANCE_ID", registry=on)
            replica.info({"instance_id": instance_id})

    # -- job events (JobService) -------------------------------------------------------------

    def created(self) -> None:
        self.jobs_created.inc()

    def claimed(self, job: Job) -> None:
        if job.claimed_at is not None:
            self.queue_wait.observe(max(0.0, job.claimed_at - job.created_at))

    def completed(self, job: Job, video_bytes: int) -> None:
        self.jobs_completed.inc()
        self.upload_bytes.inc(video_bytes)
        if job.claimed_at is not None and job.completed_at is not None:
            self.generation.observe(max(0.0, job.completed_at - job.claimed_at))

    def mismatched(self, mismatch: list[dict[str, Any]]) -> None:
        for item in mismatch:
            self.output_mismatches.labels(item["param"]).inc()

    def failed(self, job: Job) -> None:
        self.jobs_failed.labels(job.error_code or ErrorCode.WORKER_ERROR.value).inc()

    def retried(self, code: str) -> None:
        self.jobs_retried.labels(code).inc()

    def webhook_attempt(self, status: str) -> None:
        """One webhook attempt recorded: the delivery is now `delivered`, `failed` or (retried) `pending`."""
        if status == "pending":
            self.webhook_retries.inc()
        else:
            self.webhook_deliveries.labels(status).inc()

    # -- scrape time ---------------------------------------------------------------------------

    def refresh(self, counts: Mapping[JobStatus, int], online: Iterable[WorkerInfo]) -> None:
        for status in JobStatus:
            self.queue_depth.labels(status.value).set(counts.get(status, 0))
        listed = list(online)
        self.workers_online.set(len(listed))
        self.workers_busy.set(sum(1 for info in listed if info.state == "busy"))

    def refresh_cooling(self, cooling: Mapping[str, float]) -> None:
        """Workers resting now, with the seconds left of each rest."""
        self.workers_cooling.set(len(cooling))
        self.cooldown_remaining.clear()
        for worker_id, seconds in cooling.items():
            self.cooldown_remaining.labels(worker_id).set(seconds)

    def watch_storage(self, storage: VideoStorage) -> None:
        """Report the video storage's free space and refused writes, read from it at each scrape."""
        self.registry.register(StorageCollector(storage))

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)

    # -- requests ------------------------------------------------------------------------------

    def request(self, method: str, route: object, status: int, seconds: float) -> None:
        """One finished request; `route` is what routing left in scope["route"] (None when nothing matched)."""
        path = getattr(route, "path", None) or UNMATCHED
        if method not in METHODS:
            method = "other"
        key = (method, path, status // 100)
        series = self._request_series.get(key)
        if series is None:
            # labels() takes a lock and builds a tuple each call: look each series up once.
            series = self._request_series[key] = self.request_seconds.labels(method, path, f"{status // 100}xx")
        series.observe(seconds)


class StorageCollector:
    """The video storage's own numbers, read at scrape time: what an operator alerts on before and when the
    disk fills up."""

    def __init__(self, storage: VideoStorage) -> None:
        self.storage = storage

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            PREFIX + "storage_full",
            "Writes refused because the video storage was full (answered 507 insufficient_storage)",
            value=self.storage.disk_full_count(),
        )
        free = self.storage.free_bytes()
        if free is not None:
            yield GaugeMetricFamily(
                PREFIX + "storage_free_bytes", "Free bytes on the file system of VIDEO_STORAGE_PATH", value=free
            )
