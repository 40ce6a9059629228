"""Schemathesis against the real app under uvicorn, every check, with API keys on and with an open server: the
OpenAPI document must say what the app does (statuses, media types, bodies), and the app must take what the
document says it takes. Seeded and derandomized, so every run sends the same requests. This drives the engine
`st run` drives; its run-level hints (operations that mostly met 404s or 400s) are the CLI's, not checked here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import Status, StopReason, events, from_schema

if __name__ != "__main__":
    from support import ThreadServer, settings_for

KEY = "sk-contract-test"
WORKER_TOKEN = "wt-contract-test"
MAX_EXAMPLES = 10

# positive_data_acceptance sends requests the document calls valid and wants them taken. For these operations
# the document cannot say enough for that, so the check is off for them alone; every other check stays on.
UNDESCRIBED_BODY = [
    # Their bodies are described (api/schemas/bodies.py), but what they take depends on more than a schema
    # says: a source video or a lease that exists, a file part that decodes as an image or a video.
    "POST /v1/videos",
    "POST /v1/videos/{video_id}/remix",
    "POST /v1/videos/extensions",
    "POST /v1/videos/edits",
    "POST /extension/complete",
]
BEYOND_THE_SCHEMA = [
    # A create takes a prompt with text in it (not only spaces), option values from the accepted tables
    # (docs/options.md) and images that decode; a schema of strings cannot say that.
    "POST /v1/videos/generations",
    "POST /v1/video/generations",
    # `after` must name a video that exists (400 invalid_cursor otherwise), which no schema can say.
    "GET /v1/videos",
    # A prompt with text in it, again; and edits take images that decode, which no schema can say.
    "POST /v1/images/generations",
    "POST /v1/images/edits",
]


def config(*, keys: bool) -> schemathesis.Config:
    operations: list[dict[str, Any]] = [
        {
            "include-name": UNDESCRIBED_BODY + BEYOND_THE_SCHEMA,
            "checks": {"positive_data_acceptance": {"enabled": False}},
        }
    ]
    # A good Images request waits for a worker, and none comes here: asked to answer at once, it is checked whole
    # without a 504 image_timeout for every case (tests/api/test_images_api.py covers the waiting).
    images: dict[str, Any] = {"Prefer": "respond-async"}
    if keys:  # client routes take the API key, worker routes the worker token
        images["Authorization"] = f"Bearer {KEY}"
        operations.append(
            {"include-path-regex": "^/extension/", "headers": {"Authorization": f"Bearer {WORKER_TOKEN}"}}
        )
    operations.append({"include-path-regex": "^/v1/images/", "headers": images})
    return schemathesis.Config.from_dict(
        {
            "seed": 12,
            "workers": 1,
            "cache": {"enabled": False},
            # Health checks judge how fast data is generated, which on a shared machine is luck, not the API.
            "suppress-health-check": ["all"],
            "generation": {"deterministic": True, "max-examples": MAX_EXAMPLES, "database": "none", "allow-x00": False},
            "checks": {"enabled": True},
            "headers": {"Authorization": f"Bearer {KEY}"} if keys else {},
            "operations": operations,
        }
    )


@dataclass
class Report:
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        figures = f"{len(self.operations)} operations, {self.cases} cases, {self.seconds:.1f} s"
        return f"{figures}, {len(self.problems)} problems"


def run_schemathesis(url: str, settings: schemathesis.Config) -> Report:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=settings)
    report = Report()
    seen: set[tuple[str, str, str]] = set()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            record(report, event, seen)
        elif isinstance(event, events.SchemaAnalysisWarnings):
            report.problems += [f"schema warning: {warning.message}" for warning in event.warnings]
        elif isinstance(event, events.NonFatalError):
            report.problems.append(f"error in {event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished) and event.stop_reason is not StopReason.COMPLETED:
            report.problems.append(f"the run stopped early: {event.stop_reason}")
    report.seconds = time.monotonic() - started
    return report


def record(report: Report, event: events.ScenarioFinished, seen: set[tuple[str, str, str]]) -> None:
    recorder = event.recorder
    if event.label and event.label != "Stateful tests":
        report.operations.add(event.label)
    if event.skip_warning is not None:
        report.problems.append(f"{event.label}: {event.skip_warning} ({event.skip_reason})")
    report.cases += len(recorder.cases)
    for case_id, interaction in recorder.interactions.items():
        operation = recorder.cases[case_id].value.operation.label if case_id in recorder.cases else recorder.label
        if interaction.response is not None:
            report.statuses.setdefault(operation, Counter())[interaction.response.status_code] += 1
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status is not Status.FAILURE or check.failure_info is None:
                continue
            failure = check.failure_info.failure
            if (recorder.label, check.name, failure.title) in seen:
                continue
            seen.add((recorder.label, check.name, failure.title))
            response = recorder.find_response(case_id=case_id)
            answer = f"{response.status_code} {response.content[:300]!r}" if response is not None else "no answer"
            report.problems.append(
                f"{recorder.label}: {check.name}: {failure.title}\n{failure.message}\n"
                f"{check.failure_info.code_sample}\n=> {answer}"
            )


@pytest.mark.parametrize("keys", [True, False], ids=["api-keys", "open"])
def test_schemathesis_finds_nothing(tmp_path: Path, keys: bool) -> None:
    credentials = {"api_keys": [KEY], "worker_token": WORKER_TOKEN} if keys else {}
    # Long polls answer at once: a generated `wait` must not hold the run for 30 s.
    settings = settings_for(tmp_path, max_poll_wait_seconds=0, **credentials)
    with ThreadServer(settings) as server:
        report = run_elsewhere(server.url, keys=keys)
    print(f"schemathesis ({'api keys' if keys else 'open'}): {report.summary()}")
    assert not report.problems, "\n\n".join(report.problems)
    paths = server.app.openapi()["paths"]
    assert report.operations == {f"{method.upper()} {path}" for path in paths for method in paths[path]}
    if keys:  # the credentials were taken: no operation saw only refusals
        refused = [op for op, seen in report.statuses.items() if set(seen) <= {401, 403}]
        assert not refused, refused


def run_elsewhere(url: str, *, keys: bool) -> Report:
    command = [sys.executable, __file__, url, "keys" if keys else "open"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    data = json.loads(done.stdout.splitlines()[-1])
    statuses = {op: Counter({int(k): v for k, v in seen.items()}) for op, seen in data.pop("statuses").items()}
    return Report(operations=set(data.pop("operations")), statuses=statuses, **data)


if __name__ == "__main__":
    found = run_schemathesis(sys.argv[1], config(keys=sys.argv[2] == "keys"))
    statuses = {op: dict(seen) for op, seen in found.statuses.items()}
    print(json.dumps({**vars(found), "operations": sorted(found.operations), "statuses": statuses}))
