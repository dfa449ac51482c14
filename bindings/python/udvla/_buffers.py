"""Turning Python inputs into int32 arrays the C ABI can read.

Lists, tuples and other iterables are copied into an array.array('i'). Objects with the buffer
protocol (array.array, numpy arrays, memoryview, bytearray) are passed without a copy when they are
writable, C-contiguous int32; other buffers are converted (numpy int64 arrays, read-only buffers).
A buffer of any shape is read in C order, contiguous or not (a transposed view, img[::2, ::2]).
numpy is never imported here: a numpy array can only arrive when its caller has loaded numpy.
"""

import array
import ctypes
import sys

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


def c_contiguous(obj):
    """obj and a memoryview of it in C order, or (obj, None) when obj has no buffer protocol.

    The view is obj's own when obj is already C-contiguous (no copy). A non-contiguous numpy array
    (a transposed view, a strided slice) is copied by numpy.ascontiguousarray, keeping its dtype; any
    other non-contiguous buffer is returned as it is, and its values are read in C order by
    c_order_values. The returned object owns the view's memory: keep it alive while the view is used.
    """
    try:
        mv = memoryview(obj)
    except TypeError:
        return obj, None
    if not mv.c_contiguous:
        np = sys.modules.get("numpy")
        if np is not None and isinstance(obj, np.ndarray):
            obj = np.ascontiguousarray(obj)
            mv = memoryview(obj)
    return obj, mv


def c_order_values(mv):
    """The values of a buffer of any shape as a flat list, in C order."""
    if mv.ndim > 1 and mv.c_contiguous:
        return mv.cast("B").cast(mv.format).tolist()
    values = mv.tolist()
    for _ in range(mv.ndim - 1):  # nested lists, one level per extra dimension
        values = [x for row in values for x in row]
    return values


def int32_view(obj, what):
    """An Int32View of obj (zero-copy where the buffer allows)."""
    obj, mv = c_contiguous(obj)
    if mv is not None:
        if mv.itemsize == 4 and mv.format in _INT32_FORMATS and mv.c_contiguous and not mv.readonly:
            n = mv.nbytes // 4
            if n == 0:
                return Int32View(obj, None, 0)
            flat = mv.cast("B") if mv.ndim != 1 else mv
            return Int32View(obj, (ctypes.c_int32 * n).from_buffer(flat), n)
        try:
            values = c_order_values(mv)
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
