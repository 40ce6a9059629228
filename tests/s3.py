"""An S3-compatible server for the tests: moto's standalone server from PyPI stands in for real S3 here. One
server per session on a free port; each test gets a bucket of its own, so tests never see each other's objects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from grok_imagine_api.files.s3 import S3VideoStorage

KEY_ID = "test-key"
SECRET = "test-secret"
REGION = "us-east-1"


class MotoS3:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> MotoS3:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )
        return self

    def stop(self) -> None:
        self._server.stop()

    def fresh_bucket(self) -> Bucket:
        name = f"t-{uuid.uuid4().hex[:20]}"
        self.client.create_bucket(Bucket=name)
        return Bucket(self, name)


@dataclass
class Bucket:
    server: MotoS3
    name: str
    prefix: str = "videos"

    @property
    def url(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def settings(self, **more: Any) -> dict[str, Any]:
        """Overrides for support.settings_for: videos in this bucket."""
        return {
            "video_storage_url": self.url,
            "s3_endpoint_url": self.server.endpoint,
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
            "aws_region": REGION,
            **more,
        }

    def env(self, **more: str) -> dict[str, str]:
        """Environment for support.ProcessServer: videos in this bucket."""
        return {name.upper(): str(value) for name, value in self.settings(**more).items()}

    def storage(self, temp_root: Path, **options: Any) -> S3VideoStorage:
        return S3VideoStorage.connect(
            self.url,
            temp_root,
            endpoint=self.server.endpoint,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            region=REGION,
            **options,
        )

    def objects(self) -> list[str]:
        """Every object under the prefix, relative to it."""
        pages = self.server.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=self.prefix)
        return sorted(
            item["Key"].removeprefix(self.prefix + "/") for page in pages for item in page.get("Contents", [])
        )

    def put(self, key: str, data: bytes) -> None:
        self.server.client.put_object(Bucket=self.name, Key=f"{self.prefix}/{key}", Body=data)

    def read(self, key: str) -> bytes:
        body: bytes = self.server.client.get_object(Bucket=self.name, Key=f"{self.prefix}/{key}")["Body"].read()
        return body
