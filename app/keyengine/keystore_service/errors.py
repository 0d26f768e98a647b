"""Typed failures of the keystore service: per-item Keystore errors and whole-request refusals."""

from __future__ import annotations

from app.keyengine.errors import KeyEngineError
from app.keyengine.proto import keystore_api_pb2

INVALID_INPUT = keystore_api_pb2.ERROR_CODE_INVALID_INPUT
NO_MATCHING_PREKEY = keystore_api_pb2.ERROR_CODE_NO_MATCHING_PREKEY
UNSPECIFIED = keystore_api_pb2.ERROR_CODE_UNSPECIFIED


class KeystoreMethodError(KeyEngineError):
    """A ``KeystoreError {message, code}``: one batch item's answer, or a whole call's (400)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def code_name(self) -> str:
        return keystore_api_pb2.ErrorCode.Name(self.code)  # type: ignore[arg-type]


class Refused(Exception):
    """The request is refused before any method runs: HTTP ``status`` with a JSON body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
