"""udvla: UD-VLA robot policies on Vulkan, through libudvla's C ABI (ctypes, standard library only).

    import udvla
    with udvla.Engine("model.udvla") as engine:
        cams = engine.info.cameras                  # names and token grids
        r = engine.step(codes=[main, wrist], instruction=[...], seed=1)
        r.action_chunk()                            # horizon x dims floats
        r = engine.step(frames=[udvla.Frame(rgb, w, h), wrist_array], instruction=[...],
                        future_frames=True)         # camera frames in, r.future_frames out

Failures raise udvla.Error subclasses named after the C statuses (NotFoundError, which is also a
FileNotFoundError, OutOfRangeError, ...); wrong argument types raise TypeError. Engine.cancel(),
from another thread, makes a step in progress raise CancelledError. docs/EXAMPLES.md has a
complete example.

The library is found through UDVLA_LIBRARY, else beside this package, else the system's loader
paths; it is loaded on first use, so importing udvla never fails for want of it.

UDVLA_DEVICE, UDVLA_VALIDATE and UDVLA_DEBUG are read when each call is made, so os.environ
changes after import take effect at the next Engine().

Processes: a process forked after the library was loaded (multiprocessing's "fork" start method,
the default on Linux before Python 3.14, or os.fork) cannot use it: every call in the child raises
ForkedError at once. Start workers with multiprocessing.get_context("spawn") (or "forkserver")
and open their engines there.
"""

from ._engine import (Camera, Device, Engine, ModelInfo, Result, VocabLayout, abi_version, devices,
                      live_engines, live_results, version)
from ._frames import Frame
from ._errors import (BufferTooSmallError, CancelledError, ClosedError, DeviceError, EngineError, Error,
                      ForkedError, InternalError, InvalidArgumentError, InvalidHandleError, ModelError,
                      NotFoundError, NullPointerError, OutOfRangeError, StructSizeError,
                      UnsupportedError)
from ._native import ABI_VERSION, LibraryNotFoundError, load as load_library

__version__ = "1.0.0"

__all__ = [
    "ABI_VERSION", "BufferTooSmallError", "Camera", "CancelledError", "ClosedError", "Device", "DeviceError",
    "Engine", "EngineError", "Error", "ForkedError", "Frame", "InternalError", "InvalidArgumentError", "InvalidHandleError",
    "LibraryNotFoundError", "ModelError", "ModelInfo", "NotFoundError", "NullPointerError",
    "OutOfRangeError", "Result", "StructSizeError", "UnsupportedError", "VocabLayout", "abi_version",
    "devices", "live_engines", "live_results", "load_library", "version",
]
