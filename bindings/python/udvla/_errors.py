"""Exceptions raised for the statuses of the C ABI."""

from . import _native as n


class Error(Exception):
    """A failed udvla call. status is the UDVLA_ERR_* code, status_name its name."""

    status = None
    status_name = "UDVLA_ERR_UNKNOWN"

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class NullPointerError(Error, ValueError):
    status, status_name = n.ERR_NULL_POINTER, "UDVLA_ERR_NULL_POINTER"


class StructSizeError(Error):
    status, status_name = n.ERR_STRUCT_SIZE, "UDVLA_ERR_STRUCT_SIZE"


class InvalidArgumentError(Error, ValueError):
    status, status_name = n.ERR_INVALID_ARGUMENT, "UDVLA_ERR_INVALID_ARGUMENT"


class OutOfRangeError(Error, ValueError):
    status, status_name = n.ERR_OUT_OF_RANGE, "UDVLA_ERR_OUT_OF_RANGE"


class BufferTooSmallError(Error, ValueError):
    status, status_name = n.ERR_BUFFER_TOO_SMALL, "UDVLA_ERR_BUFFER_TOO_SMALL"


class InvalidHandleError(Error):
    status, status_name = n.ERR_INVALID_HANDLE, "UDVLA_ERR_INVALID_HANDLE"


class ClosedError(Error):
    status, status_name = n.ERR_CLOSED, "UDVLA_ERR_CLOSED"


class NotFoundError(Error, FileNotFoundError):
    status, status_name = n.ERR_NOT_FOUND, "UDVLA_ERR_NOT_FOUND"


class ModelError(Error):
    status, status_name = n.ERR_MODEL, "UDVLA_ERR_MODEL"


class DeviceError(Error):
    status, status_name = n.ERR_DEVICE, "UDVLA_ERR_DEVICE"


class UnsupportedError(Error):
    status, status_name = n.ERR_UNSUPPORTED, "UDVLA_ERR_UNSUPPORTED"


class EngineError(Error):
    status, status_name = n.ERR_ENGINE, "UDVLA_ERR_ENGINE"


class InternalError(Error):
    status, status_name = n.ERR_INTERNAL, "UDVLA_ERR_INTERNAL"


class CancelledError(Error):
    """Engine.cancel stopped the step."""
    status, status_name = n.ERR_CANCELLED, "UDVLA_ERR_CANCELLED"


_BY_STATUS = {cls.status: cls for cls in (
    NullPointerError, StructSizeError, InvalidArgumentError, OutOfRangeError, BufferTooSmallError,
    InvalidHandleError, ClosedError, NotFoundError, ModelError, DeviceError, UnsupportedError,
    EngineError, InternalError, CancelledError)}


def check(lib, status):
    """Raises the exception of a failed status, with the library's message for this thread."""
    if status == n.OK:
        return
    msg = lib.udvla_last_error().decode("utf-8", "replace")
    cls = _BY_STATUS.get(status)
    if cls is None:
        raise Error(f"status {status}: {msg}", status)
    raise cls(msg)
