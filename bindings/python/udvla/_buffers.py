"""Turning Python inputs into int32 arrays the C ABI can read.

Lists, tuples and other iterables are copied into an array.array('i'). Objects with the buffer
protocol (array.array, numpy arrays, memoryview, bytearray) are passed without a copy when they are
writable, C-contiguous int32; other buffers are converted (numpy int64 arrays, read-only buffers).
numpy is never imported here.
"""

import array
import ctypes

from ._errors import OutOfRangeError

_INT32_FORMATS = {"i", "=i", "<i", "@i", "l" if ctypes.sizeof(ctypes.c_long) == 4 else "i"}


class Int32View:
    """A pointer and length over int32 data, keeping its owner alive."""

    __slots__ = ("owner", "ptr", "n")

    def __init__(self, owner, ptr, n):
        self.owner, self.ptr, self.n = owner, ptr, n

    def tolist(self):
        return self.ptr[: self.n] if self.n else []


def _from_array(a):
    n = len(a)
    if n == 0:
        return Int32View(a, None, 0)
    return Int32View(a, (ctypes.c_int32 * n).from_buffer(a), n)


def int32_view(obj, what):
    """An Int32View of obj (zero-copy where the buffer allows)."""
    try:
        mv = memoryview(obj)
    except TypeError:
        mv = None
    if mv is not None:
        if mv.itemsize == 4 and mv.format in _INT32_FORMATS and mv.c_contiguous and not mv.readonly:
            n = mv.nbytes // 4
            if n == 0:
                return Int32View(obj, None, 0)
            flat = mv.cast("B") if mv.ndim != 1 else mv
            return Int32View(obj, (ctypes.c_int32 * n).from_buffer(flat), n)
        if mv.ndim != 1 and mv.c_contiguous:
            mv = mv.cast("B").cast(mv.format)
        try:
            values = mv.tolist()
        except (NotImplementedError, TypeError, ValueError) as e:
            raise TypeError(f"{what}: cannot read a buffer of format {mv.format!r} as integers") from e
    else:
        values = obj
    try:
        a = array.array("i", values)
    except OverflowError as e:
        raise OutOfRangeError(f"{what}: a value does not fit in int32 ({e})") from None
    except TypeError as e:
        raise TypeError(f"{what}: want integers (a list, array.array or int32 buffer): {e}") from None
    return _from_array(a)
