"""GET /metrics: Prometheus text that counts what really happened, read back with Prometheus's own parser."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from grok_imagine_api.metrics import Metrics
from support import DEMO_MP4, ThreadServer, assert_error, bearer, claim, create_job, settings_for, upload

KEY = "sk-metrics-5e1f0a"
WORKER = "wt-metrics-9b7c2d"
STATES = ("pending", "processing", "completed", "failed")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client) -> Samples:
    reply = http.get("/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == CONTENT_TYPE_LATEST
    return parse(reply.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def requests_to(samples: Samples, route: str, method: str = "GET", status: str = "2xx") -> float:
    labels = {"method": method, "route": route, "status": status}
    return samples.get(("grok_imagine_http_request_duration_seconds_count", frozenset(labels.items())), 0.0)


def test_jobs_are_counted_as_they_are_created_claimed_completed_failed_and_cancelled(
    server: ThreadServer, client: httpx.Client
) -> None:
    done, moderated, cancelled = (create_job(client, f"p{i}")["id"] for i in range(3))
    server.clock.advance(5)
    work = claim(client, client_id="chrome-1")
    assert work["job_id"] == done
    server.clock.advance(40)
    assert upload(client, done, token=work["claim_token"]).status_code == 200
    work = claim(client, client_id="chrome-1")
    assert work["job_id"] == moderated
    reply = client.post(
        "/extension/error",
        json={"job_id": moderated, "error": "blocked", "code": "moderated", "claim_token": work["claim_token"]},
    )
    assert reply.status_code == 200, reply.text
    assert client.post(f"/jobs/{cancelled}/cancel").status_code == 200

    samples = scrape(client)
    assert value(samples, "grok_imagine_jobs_created_total") == 3
    assert value(samples, "grok_imagine_jobs_completed_total") == 1
    assert value(samples, "grok_imagine_jobs_failed_total", code="moderated") == 1
    assert value(samples, "grok_imagine_jobs_failed_total", code="cancelled") == 1
    assert value(samples, "grok_imagine_jobs_failed_total", code="timeout") == 0
    assert value(samples, "grok_imagine_upload_bytes_total") == len(DEMO_MP4)
    depth = {state: value(samples, "grok_imagine_queue_depth", state=state) for state in STATES}
    assert depth == {"pending": 0, "processing": 0, "completed": 1, "failed": 2}
    # Claimed 5 s and 45 s after creation; generated in 40 s.
    assert value(samples, "grok_imagine_queue_wait_seconds_count") == 2
    assert value(samples, "grok_imagine_queue_wait_seconds_sum") == 50
    assert value(samples, "grok_imagine_queue_wait_seconds_bucket", le="2.5") == 0
    assert value(samples, "grok_imagine_queue_wait_seconds_bucket", le="5.0") == 1
    assert value(samples, "grok_imagine_queue_wait_seconds_bucket", le="30.0") == 1
    assert value(samples, "grok_imagine_queue_wait_seconds_bucket", le="60.0") == 2
    assert value(samples, "grok_imagine_generation_seconds_count") == 1
    assert value(samples, "grok_imagine_generation_seconds_sum") == 40
    assert value(samples, "grok_imagine_generation_seconds_bucket", le="30.0") == 0
    assert value(samples, "grok_imagine_generation_seconds_bucket", le="45.0") == 1
    assert value(samples, "grok_imagine_workers_online") == 1
    assert value(samples, "grok_imagine_workers_busy") == 0


def test_queue_depth_and_workers_are_read_at_scrape_time(server: ThreadServer, client: httpx.Client) -> None:
    create_job(client)
    create_job(client)
    claim(client, client_id="chrome-1")
    samples = scrape(client)
    assert value(samples, "grok_imagine_queue_depth", state="pending") == 1
    assert value(samples, "grok_imagine_queue_depth", state="processing") == 1
    assert value(samples, "grok_imagine_workers_online") == 1
    assert value(samples, "grok_imagine_workers_busy") == 1
    server.clock.advance(server.settings.job_timeout_seconds + 1)  # a busy worker is online within its lease
    samples = scrape(client)
    assert value(samples, "grok_imagine_workers_online") == 0
    assert value(samples, "grok_imagine_workers_busy") == 0


def test_deleting_an_unfinished_job_counts_one_cancellation(client: httpx.Client) -> None:
    queued = create_job(client, "queued")["id"]
    assert client.delete(f"/v1/videos/{queued}").status_code == 200
    finished = create_job(client, "finished")["id"]
    work = claim(client)
    assert upload(client, finished, token=work["claim_token"]).status_code == 200
    assert client.delete(f"/v1/videos/{finished}").status_code == 200
    stopped = create_job(client, "cancelled, then deleted")["id"]
    assert client.post(f"/jobs/{stopped}/cancel").status_code == 200
    assert client.delete(f"/v1/videos/{stopped}").status_code == 200

    samples = scrape(client)
    assert value(samples, "grok_imagine_jobs_failed_total", code="cancelled") == 2
    assert value(samples, "grok_imagine_jobs_completed_total") == 1


def test_jobs_whose_worker_went_silent_count_as_timeouts(server: ThreadServer, client: httpx.Client) -> None:
    create_job(client)
    claim(client)
    server.clock.advance(server.settings.job_timeout_seconds + 1)
    assert len(server.run(server.service.fail_stale())) == 1
    samples = scrape(client)
    assert value(samples, "grok_imagine_jobs_failed_total", code="timeout") == 1
    assert value(samples, "grok_imagine_queue_depth", state="failed") == 1


def test_request_latency_is_filed_under_the_route_template(client: httpx.Client) -> None:
    job_id = create_job(client)["id"]
    assert client.get(f"/v1/videos/{job_id}").status_code == 200
    assert client.get(f"/jobs/{job_id}").status_code == 200
    assert client.get(f"/jobs/{job_id}").status_code == 200
    assert client.get("/v1/videos/job_nosuchjob").status_code == 404
    assert client.get(f"/no/such/{job_id}").status_code == 404
    assert client.request("PROPFIND", "/jobs").status_code == 405

    reply = client.get("/metrics")
    samples = parse(reply.text)
    assert requests_to(samples, "/v1/videos/{video_id}") == 1
    assert requests_to(samples, "/v1/videos/{video_id}", status="4xx") == 1
    assert requests_to(samples, "/jobs/{job_id}") == 2
    assert requests_to(samples, "/v1/videos/generations", method="POST") == 1
    assert requests_to(samples, "unmatched", status="4xx") == 1
    assert requests_to(samples, "/jobs", method="other", status="4xx") == 1
    assert job_id not in reply.text
    assert "nosuchjob" not in reply.text
    labels = {"method": "GET", "route": "/jobs/{job_id}", "status": "2xx"}
    assert value(samples, "grok_imagine_http_request_duration_seconds_bucket", **labels, le="+Inf") == 2


def test_metrics_need_a_client_key_when_keys_are_configured(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api_keys=[KEY], worker_token=WORKER)
    with ThreadServer(settings) as server, server.client() as http:
        assert_error(http.get("/metrics"), 401, "invalid_api_key")
        assert_error(http.get("/metrics", headers=bearer("sk-wrong")), 401, "invalid_api_key")
        assert_error(http.get("/metrics", headers=bearer(WORKER)), 401, "worker_token_not_allowed")
        reply = http.get("/metrics", headers=bearer(KEY))
        assert reply.status_code == 200, reply.text
        assert value(parse(reply.text), "grok_imagine_jobs_created_total") == 0


def test_metrics_are_open_without_keys(client: httpx.Client) -> None:
    samples = scrape(client)
    assert value(samples, "grok_imagine_jobs_created_total") == 0
    assert ("process_cpu_seconds_total", frozenset()) in samples
    assert any(name == "python_info" for name, _ in samples)


# -- Metrics on its own ------------------------------------------------------------------------


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.created()
    assert value(parse(first.exposition().decode()), "grok_imagine_jobs_created_total") == 1
    assert value(parse(second.exposition().decode()), "grok_imagine_jobs_created_total") == 0


def test_request_labels_stay_few_whatever_clients_send() -> None:
    metrics = Metrics()
    for method in ("BREW", "get", "X" * 50):
        metrics.request(method, None, 404, 0.01)
    metrics.request("GET", None, 200, 0.01)
    samples = parse(metrics.exposition().decode())
    assert requests_to(samples, "unmatched", method="other", status="4xx") == 3
    assert requests_to(samples, "unmatched") == 1
    routes = {labels for name, labels in samples if name == "grok_imagine_http_request_duration_seconds_count"}
    assert len(routes) == 2


def test_a_replica_names_itself_in_an_info_metric_not_in_an_instance_label() -> None:
    samples = parse(Metrics("host-a:41").exposition().decode())
    assert value(samples, "grok_imagine_replica_info", instance_id="host-a:41") == 1
    assert not any("instance" in dict(labels) for _, labels in samples)
