"""Camera frames for the C ABI's udvla_frame: RGB8 pixels, 3 bytes per pixel, rows stride bytes apart.

A frame is a udvla.Frame (bytes-like pixels with a width and height) or, where numpy is present,
an array of shape (height, width, 3) and dtype uint8. Both are passed without a copy when their
memory allows: bytes, writable buffers, and numpy arrays whose pixels are packed within each row
(rows may be padded, as in a crop img[:, x0:x1]). numpy is never imported here.
"""

import ctypes
import sys

from . import _native as n


class Frame:
    """An RGB8 frame: width x height pixels, 3 bytes each (R, G, B), row y starting at byte
    y * stride (stride 0: 3 * width). pixels is any bytes-like object and is not copied."""

    __slots__ = ("width", "height", "stride", "pixels")

    def __init__(self, pixels, width: int, height: int, stride: int = 0):
        for v, what in ((width, "width"), (height, "height"), (stride, "stride")):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"Frame {what}: want int, not {type(v).__name__}")
        self.pixels, self.width, self.height, self.stride = pixels, width, height, stride

    def ndarray(self):
        """The pixels as a numpy array of shape (height, width, 3), sharing this frame's memory.
        Needs numpy."""
        import numpy
        stride = self.stride or 3 * self.width
        flat = numpy.frombuffer(self.pixels, dtype=numpy.uint8)
        return numpy.lib.stride_tricks.as_strided(flat, (self.height, self.width, 3), (stride, 3, 1))

    def __repr__(self):
        return f"udvla.Frame({self.width}x{self.height})"


def _address(obj):
    """The address of a bytes-like object's first byte and the object that keeps it alive,
    without a copy when the object allows."""
    if isinstance(obj, bytes):
        return ctypes.cast(ctypes.c_char_p(obj), ctypes.c_void_p).value, obj
    mv = memoryview(obj)
    if not mv.c_contiguous:
        raise TypeError("frame pixels: want a contiguous bytes-like object")
    if mv.nbytes == 0:
        return None, obj
    if mv.readonly:
        b = mv.tobytes()
        return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value, b
    arr = (ctypes.c_uint8 * mv.nbytes).from_buffer(mv.cast("B"))
    return ctypes.addressof(arr), arr


def frame_struct(obj, what):
    """A udvla_frame for obj (a Frame or a (height, width, 3) uint8 array) and the objects that
    keep its pixels alive."""
    f = n.new(n.Frame)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        if obj.ndim != 3 or obj.shape[2] != 3 or obj.dtype != np.uint8:
            raise TypeError(f"{what}: want an array of shape (height, width, 3) and dtype uint8, "
                            f"not {obj.shape} {obj.dtype}")
        h, w = obj.shape[0], obj.shape[1]
        if obj.strides[1:] != (3, 1) or obj.strides[0] < 3 * w:
            obj = np.ascontiguousarray(obj)  # pixels not packed within rows: one copy
        f.width, f.height, f.stride = w, h, obj.strides[0]
        f.pixels = obj.__array_interface__["data"][0] if h and w else None
        f.pixels_len = (h - 1) * obj.strides[0] + 3 * w if h and w else 0
        return f, obj
    if not isinstance(obj, Frame):
        raise TypeError(f"{what}: want a udvla.Frame or a numpy array (height, width, 3) of uint8, "
                        f"not {type(obj).__name__}")
    if not (0 <= obj.width < 1 << 32 and 0 <= obj.height < 1 << 32 and 0 <= obj.stride < 1 << 32):
        from ._errors import InvalidArgumentError
        raise InvalidArgumentError(f"{what}: size {obj.width}x{obj.height}, stride {obj.stride} out of range")
    try:
        addr, keep = _address(obj.pixels)
    except TypeError as e:
        raise TypeError(f"{what}: pixels: want a bytes-like object ({e})") from None
    f.width, f.height, f.stride = obj.width, obj.height, obj.stride
    f.pixels = addr
    f.pixels_len = memoryview(keep).nbytes if addr else 0
    return f, keep
