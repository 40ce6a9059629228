"""Rows to domain objects: the one place that knows the job columns, for every store."""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Protocol

from ..domain.jobs import Dialect, GenerationOptions, Job, JobKind, JobStatus, Media, NewJob, Produced

JOB_ID = re.compile(r"job_[0-9a-f]{24}")


def list_filter(
    *,
    status: JobStatus | None,
    before_seq: int | None,
    after_seq: int | None,
    owner: str | None,
    text: str | None,
    cancelled: bool | None,
    like: str,
    media: Media | None = None,
    not_cancelled: str,
    steps: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and named parameters of a job listing; `like` and `not_cancelled` are the dialect's
    case-insensitive match and its null-safe "error_code is not 'cancelled'"."""
    conditions = ["deleted_at IS NULL"]
    if not steps:
        conditions.append("parent_id IS NULL")  # a long video's steps show on their parent
    params: dict[str, Any] = {}
    if text and JOB_ID.fullmatch(text):
        conditions.append("id = :text")  # a pasted id: one index lookup instead of a scan of every prompt
        params["text"] = text
    elif text:
        conditions.append(f"(prompt {like} :like ESCAPE '\\' OR id = :text)")
        params["like"] = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
        params["text"] = text
    if owner is not None:
        conditions.append("owner = :owner")
        params["owner"] = owner
    if status is not None:
        conditions.append("status = :status")
        params["status"] = status.value
    if cancelled:
        conditions.append("status = 'failed' AND error_code = 'cancelled'")
    elif cancelled is not None:
        conditions.append(not_cancelled)
    if media is not None:
        conditions.append("media = :media")
        params["media"] = media.value
    if before_seq is not None:
        conditions.append("seq < :before")
        params["before"] = before_seq
    if after_seq is not None:
        conditions.append("seq > :after")
        params["after"] = after_seq
    return " AND ".join(conditions), params


class Row(Protocol):
    """A row read by column name: sqlite3.Row and asyncpg.Record both are."""

    def __getitem__(self, key: str) -> Any: ...


def _loads(text: str) -> Any:
    """JSON, with the empty list and object (most rows) spared the parser."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def job_from_row(row: Row) -> Job:
    return Job(
        id=row["id"],
        seq=row["seq"],
        model=row["model"],
        prompt=row["prompt"],
        status=JobStatus(row["status"]),
        options=GenerationOptions.from_dict(json.loads(row["options"])),
        image_mime=row["image_mime"],
        image_size=row["image_size"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        claimed_at=row["claimed_at"],
        completed_at=row["completed_at"],
        progress=row["progress"],
        claim_token=row["claim_token"],
        lease_expires_at=row["lease_expires_at"],
        last_contact_at=row["last_contact_at"],
        worker_id=row["worker_id"],
        attempts=row["attempts"],
        error=row["error"],
        error_code=row["error_code"],
        video_size=row["video_size"],
        video_expired_at=row["video_expired_at"],
        dialect=Dialect(row["dialect"]),
        owner=row["owner"],
        kind=JobKind(row["kind"]),
        source_job_id=row["source_job_id"],
        source_url=row["source_url"],
        source_size=row["source_size"],
        requested=_loads(row["requested"]),
        produced=Produced(**json.loads(row["produced"])) if row["produced"] else None,
        deleted_at=row["deleted_at"],
        adjustments=_loads(row["adjustments"]),
        needs=_loads(row["needs"]),
        grok_post_id=row["grok_post_id"],
        output_mismatch=json.loads(row["output_mismatch"]) if row["output_mismatch"] else None,
        media=Media(row["media"]),
        n=row["n"],
        images=json.loads(row["images"]) if row["images"] else [],
        hd_size=row["hd_size"],
        hd_produced=Produced(**json.loads(row["hd_produced"])) if row["hd_produced"] else None,
        attempt_log=_loads(row["attempt_log"]),
        max_attempts=row["max_attempts"],
        avoid_workers=json.loads(row["avoid_workers"]) if row["avoid_workers"] else [],
        avoid_until=row["avoid_until"],
        parent_id=row["parent_id"],
        chain=json.loads(row["chain"]) if row["chain"] else None,
    )


def new_job_params(new: NewJob) -> dict[str, Any]:
    """The `insert_job` parameters of a NewJob, as both stores write them."""
    return {
        "id": new.id,
        "model": new.model,
        "prompt": new.prompt,
        "options": json.dumps(new.options.to_dict()),
        "image_mime": new.image.mime if new.image else None,
        "image_size": len(new.image.data) if new.image else None,
        "created_at": new.created_at,
        "dialect": new.dialect.value,
        "owner": new.owner,
        "kind": new.kind.value,
        "source_job_id": new.source_job_id,
        "source_url": new.source_url,
        "source_size": new.source_size,
        "requested": json.dumps(new.requested),
        "adjustments": json.dumps(new.adjustments),
        "needs": needs_key(new.needs),
        "unmatched_since": new.unmatched_since,
        "media": new.media.value,
        "n": new.n,
        "max_attempts": new.max_attempts,
        "parent_id": new.parent_id,
        "chain": json.dumps(new.chain) if new.chain is not None else None,
        # A long video is never claimed: it is processing from the start, without a lease (docs/long-videos.md).
        "status": "processing" if new.chain is not None else "pending",
    }


@functools.lru_cache(maxsize=1024)
def needs_of(stored: str) -> frozenset[str]:
    """A stored needs value as a set (jobs share a handful of distinct values)."""
    return frozenset(json.loads(stored))


def needs_key(needs: list[str]) -> str:
    """The stored form of a job's needs: one canonical string, so jobs with the same needs group together."""
    return json.dumps(sorted(set(needs)))
