from __future__ import annotations


class APIError(Exception):
    """An error that reaches the client in the OpenAI error envelope with its own HTTP status."""

    status_code = 400
    error_type = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        if code is not None:
            self.code = code

    def body(self) -> dict[str, object]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(APIError):
    status_code = 400
    code = "invalid_request"


class NotFound(APIError):
    status_code = 404
    code = "not_found"


class Gone(APIError):
    status_code = 410
    code = "gone"


class Conflict(APIError):
    """A worker report that does not fit the job's current state or lease."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(APIError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(APIError):
    status_code = 415
    code = "unsupported_media_type"


class Unavailable(APIError):
    status_code = 503
    error_type = "server_error"
    code = "unavailable"


class InvalidVideo(UnsupportedMediaType):
    """An upload that starts like an MP4 but has no decodable video stream or no length."""

    code = "invalid_video"


class InvalidImage(UnsupportedMediaType):
    """A worker's image upload that does not decode whole as PNG, JPEG or WebP."""

    code = "invalid_image"

    def __init__(self, message: str) -> None:
        super().__init__(message, param="image")


class InsufficientStorage(APIError):
    """The disk of the video storage is full: nothing was kept, and the same request may be retried later."""

    status_code = 507
    error_type = "server_error"
    code = "insufficient_storage"
