"""The server as users start it, with DATABASE_URL: every job row in PostgreSQL, none in SQLite."""

from __future__ import annotations

from pathlib import Path

import httpx

from pg import Cluster
from support import DEMO_MP4, claim, create_job, process_server, upload


def test_a_job_goes_through_a_server_on_postgres(tmp_path: Path, database_url: str, pg_cluster: Cluster) -> None:
    with process_server(tmp_path, database_url=database_url) as server, httpx.Client(base_url=server.url) as client:
        job = create_job(client, "A cat on PostgreSQL")
        work = claim(client)
        assert work["job_id"] == job["id"]
        assert upload(client, work["job_id"], token=work["claim_token"]).status_code == 200
        done = client.get(f"/v1/videos/generations/{job['id']}").json()
        assert done["status"] == "completed"
        assert client.get(f"/videos/{job['id']}.mp4").content == DEMO_MP4
        assert client.get("/health").json()["jobs"]["completed"] == 1
    database = database_url.rsplit("/", 1)[1]
    assert pg_cluster.psql(f"SELECT status FROM jobs WHERE id = '{job['id']}'", database).strip() == "completed"
    assert not (tmp_path / "jobs.db").exists()
    assert not (tmp_path / "jobs.db.lock").exists()
