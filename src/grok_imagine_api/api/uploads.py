"""Streaming multipart parsing for video uploads: the file part goes straight to a temp file in the
storage directory, counted against the size limit and checked to be MP4 as soon as its head arrives. An image
job's images (parts named `image`) are small and few: they are collected in memory, each within its limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from python_multipart.multipart import MultipartParser, parse_options_header

from ..domain.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ..files.media import HEAD_CHECK_BYTES, is_iso_bmff
from ..files.storage import Upload

MAX_FIELD_BYTES = 64 * 1024
IMAGE_FIELDS = ("image", "image[]", "images")
MAX_IMAGE_PARTS = 10


def multipart_boundary(content_type: str | None) -> bytes:
    if not content_type:
        raise UnsupportedMediaType("Expected a multipart/form-data body", code="expected_multipart")
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("Expected a multipart/form-data body with a boundary", code="expected_multipart")
    if len(boundary) > 70:  # RFC 2046's limit
        raise InvalidRequest("Multipart boundary is longer than 70 characters", code="invalid_multipart")
    return boundary


class VideoForm:
    """Collects text fields and streams the part named `file_field` into an Upload (and `hd_field`, the upscaled
    video of a job that asked for HD, into another: docs/hd.md)."""

    def __init__(
        self,
        *,
        boundary: bytes,
        file_field: str,
        max_bytes: int,
        open_upload: Callable[[], Upload],
        max_image_bytes: int | None = None,
        hd_field: str | None = None,
    ):
        self.file_field = file_field
        self.hd_field = hd_field
        self.hd_upload: Upload | None = None
        self._current: Upload | None = None  # the file part being streamed
        self._current_field = file_field
        self.max_bytes = max_bytes
        self.max_image_bytes = max_image_bytes  # None: image parts are ignored like any other
        self.images: list[bytearray] = []
        self.job_id_in_query = False
        self.open_upload = open_upload
        self.fields: dict[str, str] = {}
        self.upload: Upload | None = None
        self.filename: str | None = None
        self._field_bytes = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value = bytearray()
        self._target: str | None = None  # "field", "file" or None (ignored part)
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field_data,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )
        self.ended = False

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except ValueError as exc:  # MultipartParseError and the parser's other complaints
            raise InvalidRequest(f"Malformed multipart body: {exc}", code="invalid_multipart") from None

    def close(self) -> None:
        """The body is over: it must have reached its closing boundary, or the video may be cut short."""
        self._parser.finalize()
        if not self.ended:
            raise InvalidRequest(
                "Multipart body ended before its closing boundary (truncated upload)", code="incomplete_body"
            )

    def _end(self) -> None:
        self.ended = True

    def discard(self) -> None:
        if self.upload is not None:
            self.upload.discard()
        if self.hd_upload is not None:
            self.hd_upload.discard()

    # -- parser callbacks -------------------------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._target = None
        self._value = bytearray()

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        self._name = name.decode("utf-8", "replace") if name is not None else None
        if self._name == self.file_field:
            if self.upload is not None:
                raise InvalidRequest(f"More than one '{self.file_field}' part", param=self.file_field)
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename else None
            self.upload = self.open_upload()
            self._current, self._current_field = self.upload, self.file_field
            self._target = "file"
        elif self.hd_field is not None and self._name == self.hd_field:
            if self.hd_upload is not None:
                raise InvalidRequest(f"More than one '{self.hd_field}' part", param=self.hd_field)
            if not (self.fields.get("job_id") or self.job_id_in_query):
                raise InvalidRequest(
                    f"Send job_id (and claim_token) before '{self.hd_field}', or in the query string",
                    param="job_id",
                    code="missing_parameter",
                )
            self.hd_upload = self.open_upload()
            self._current, self._current_field = self.hd_upload, self.hd_field
            self._target = "file"
        elif self.max_image_bytes is not None and self._name in IMAGE_FIELDS:
            if not self.images and not (self.fields.get("job_id") or self.job_id_in_query):
                # Images are held in memory: the job and its lease are checked before any of them is read.
                raise InvalidRequest(
                    "Send job_id (and claim_token) before the images, or in the query string",
                    param="job_id",
                    code="missing_parameter",
                )
            if len(self.images) >= MAX_IMAGE_PARTS:
                raise InvalidRequest(f"More than {MAX_IMAGE_PARTS} image parts", param="image", code="too_many_images")
            self.images.append(bytearray())
            self._target = "image"
        elif self._name is not None and b"filename" not in options:
            self._target = "field"
        else:
            self._target = None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target == "image":
            image = self.images[-1]
            assert self.max_image_bytes is not None
            if len(image) + (end - start) > self.max_image_bytes:
                raise PayloadTooLarge(
                    f"Image {len(self.images)} is larger than the limit of {self.max_image_bytes} bytes "
                    "(MAX_IMAGE_BYTES)",
                    param="image",
                    code="image_too_large",
                )
            image += data[start:end]
        elif self._target == "file":
            upload = self._current
            assert upload is not None
            if upload.size + (end - start) > self.max_bytes:
                raise PayloadTooLarge(
                    f"Video is larger than the limit of {self.max_bytes} bytes (MAX_UPLOAD_BYTES)",
                    param=self._current_field,
                    code="video_too_large",
                )
            had = upload.size
            upload.write(data[start:end])
            if had < HEAD_CHECK_BYTES <= upload.size and not is_iso_bmff(upload.head()):
                raise UnsupportedMediaType(
                    "Video must be an MP4 (ISO-BMFF, starting with an 'ftyp' box)",
                    param=self._current_field,
                    code="not_mp4",
                )
        else:
            # Text fields and any other part count against one small allowance.
            self._field_bytes += end - start
            if self._field_bytes > MAX_FIELD_BYTES:
                raise PayloadTooLarge("Form fields other than the video are too large", code="fields_too_large")
            if self._target == "field":
                self._value += data[start:end]

    def _part_end(self) -> None:
        if self._target == "field" and self._name is not None:
            self.fields[self._name] = self._value.decode("utf-8", "replace")
        elif self._target == "file" and self._current is not None and self._current.size < HEAD_CHECK_BYTES:
            if self._current.size == 0:
                raise InvalidRequest("Video is empty", param=self._current_field, code="empty_video")
            raise UnsupportedMediaType(
                "Video must be an MP4 (ISO-BMFF, starting with an 'ftyp' box)",
                param=self._current_field,
                code="not_mp4",
            )
        self._target = None


async def read_video_form(
    stream: AsyncIterator[bytes],
    form: VideoForm,
    on_progress: Callable[[VideoForm], Awaitable[None]],
) -> None:
    """Feed the body into `form`, awaiting `on_progress` after each chunk; on any error the
    partial upload is deleted before the error propagates."""
    try:
        async for chunk in stream:
            if chunk:
                form.feed(chunk)
                await on_progress(form)
        form.close()
    except BaseException:
        form.discard()
        raise
