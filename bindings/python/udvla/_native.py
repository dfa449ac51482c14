"""ctypes declarations of udvla.h and the loading of libudvla.so.1.

Every function of the C ABI is declared here with its argtypes and restype; the structs mirror the
header field by field (the library checks each struct_size, so a mismatch is refused, not
misread).
"""

import ctypes
import ctypes.util
import os
import threading

ABI_VERSION = 1

# Status codes (udvla.h).
OK = 0
ERR_NULL_POINTER = 1
ERR_STRUCT_SIZE = 2
ERR_INVALID_ARGUMENT = 3
ERR_OUT_OF_RANGE = 4
ERR_BUFFER_TOO_SMALL = 5
ERR_INVALID_HANDLE = 6
ERR_CLOSED = 7
ERR_NOT_FOUND = 8
ERR_MODEL = 9
ERR_DEVICE = 10
ERR_UNSUPPORTED = 11
ERR_ENGINE = 12
ERR_INTERNAL = 13
ERR_CANCELLED = 14
ERR_FORKED = 15

BACKEND_VULKAN, BACKEND_REFERENCE = 0, 1
MODE_JD3P, MODE_AR_RESTRICTED, MODE_ID, MODE_AR = 0, 1, 2, 3
MASK_MODEL_DEFAULT, MASK_RELEASE, MASK_PAPER, MASK_CAUSAL, MASK_RELEASE_KV = 0, 1, 2, 3, 4
VALIDATE_FROM_ENV, VALIDATE_ON = 0, 1

c_int32_p = ctypes.POINTER(ctypes.c_int32)


class OpenOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("backend", ctypes.c_int32),
        ("device", ctypes.c_char_p),
        ("validate", ctypes.c_int32),
        ("max_instruction", ctypes.c_int32),
    ]


class Frame(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("width", ctypes.c_uint32),
        ("height", ctypes.c_uint32),
        ("stride", ctypes.c_uint32),
        ("pixels", ctypes.c_void_p),
        ("pixels_len", ctypes.c_size_t),
    ]


class Request(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("mode", ctypes.c_int32),
        ("instruction", c_int32_p),
        ("instruction_len", ctypes.c_size_t),
        ("instruction_text", ctypes.c_char_p),
        ("codes", ctypes.POINTER(c_int32_p)),
        ("code_counts", ctypes.POINTER(ctypes.c_size_t)),
        ("num_cameras", ctypes.c_size_t),
        ("seed", ctypes.c_uint64),
        ("steps", ctypes.c_int32),
        ("mask", ctypes.c_int32),
        ("no_cache", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("budget_us", ctypes.c_uint64),
        ("action_steps", ctypes.c_int32),
        ("reserved3", ctypes.c_int32),
        ("frames", ctypes.POINTER(ctypes.POINTER(Frame))),
        ("decode_future", ctypes.c_int32),
        ("reserved4", ctypes.c_int32),
    ]


class Result(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("region", c_int32_p),
        ("region_capacity", ctypes.c_size_t),
        ("future_codes", c_int32_p),
        ("future_codes_capacity", ctypes.c_size_t),
        ("action_tokens", c_int32_p),
        ("action_tokens_capacity", ctypes.c_size_t),
        ("actions", ctypes.POINTER(ctypes.c_float)),
        ("actions_capacity", ctypes.c_size_t),
        ("region_len", ctypes.c_size_t),
        ("future_codes_len", ctypes.c_size_t),
        ("action_tokens_len", ctypes.c_size_t),
        ("actions_len", ctypes.c_size_t),
        ("action_horizon", ctypes.c_int32),
        ("action_dims", ctypes.c_int32),
        ("actions_complete", ctypes.c_int32),
        ("eoa_found", ctypes.c_int32),
        ("generated", ctypes.c_int32),
        ("reserved2", ctypes.c_int32),
        ("total_ns", ctypes.c_uint64),
        ("loop_ns", ctypes.c_uint64),
        ("prefill_ns", ctypes.c_uint64),
        ("gpu_ns", ctypes.c_uint64),
        ("early", ctypes.c_int32),
        ("steps_run", ctypes.c_int32),
        ("future_frames", ctypes.c_void_p),
        ("future_frames_capacity", ctypes.c_size_t),
        ("future_frames_len", ctypes.c_size_t),
    ]


class VocabLayout(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in (
        "text_size", "pad", "boa", "eoa", "eol", "eof", "mask", "bos", "eos", "img", "boi", "eoi",
        "visual_offset", "codebook_size", "fast_base", "fast_size", "fast_reversed")] + [
        ("digits", ctypes.c_int32 * 10),
        ("star", ctypes.c_int32),
        ("num_header_ids", ctypes.c_int32),
        ("header_ids", ctypes.c_int32 * 16),
    ]


class ModelInfo(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("has_layout", ctypes.c_int32),
        ("has_text_vocab", ctypes.c_int32),
        ("has_actions", ctypes.c_int32),
        ("has_action_stats", ctypes.c_int32),
        ("layers", ctypes.c_int32),
        ("hidden", ctypes.c_int32),
        ("heads", ctypes.c_int32),
        ("kv_heads", ctypes.c_int32),
        ("head_dim", ctypes.c_int32),
        ("ffn", ctypes.c_int32),
        ("vocab_size", ctypes.c_int32),
        ("rope_theta", ctypes.c_double),
        ("rms_eps", ctypes.c_double),
        ("vocab", VocabLayout),
        ("default_steps", ctypes.c_int32),
        ("action_len", ctypes.c_int32),
        ("default_mask", ctypes.c_int32),
        ("num_cameras", ctypes.c_int32),
        ("region_size", ctypes.c_size_t),
        ("future_codes_size", ctypes.c_size_t),
        ("action_tokens_max", ctypes.c_size_t),
        ("actions_size", ctypes.c_size_t),
        ("action_horizon", ctypes.c_int32),
        ("action_dims", ctypes.c_int32),
        ("max_instruction", ctypes.c_int32),
        ("backend", ctypes.c_int32),
        ("backend_name", ctypes.c_char * 128),
    ]


class CameraInfo(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("height", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("name", ctypes.c_char * 64),
    ]


class DeviceInfo(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("index", ctypes.c_int32),
        ("type", ctypes.c_int32),
        ("vendor_id", ctypes.c_uint32),
        ("device_id", ctypes.c_uint32),
        ("usable", ctypes.c_int32),
        ("chosen", ctypes.c_int32),
        ("subgroup_size", ctypes.c_int32),
        ("max_allocation_size", ctypes.c_uint64),
        ("device_local_bytes", ctypes.c_uint64),
        ("name", ctypes.c_char * 256),
        ("vendor", ctypes.c_char * 32),
        ("driver", ctypes.c_char * 256),
        ("api_version", ctypes.c_char * 32),
    ]


def new(struct):
    """A zeroed struct with its struct_size set."""
    s = struct()
    s.struct_size = ctypes.sizeof(struct)
    return s


# name: (restype, argtypes) of every function of udvla.h
_PROTOTYPES = {
    "udvla_abi_version": (ctypes.c_uint32, []),
    "udvla_version": (ctypes.c_char_p, []),
    "udvla_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "udvla_last_error": (ctypes.c_char_p, []),
    "udvla_list_devices": (ctypes.c_int, [ctypes.POINTER(DeviceInfo), ctypes.c_size_t,
                                          ctypes.POINTER(ctypes.c_size_t)]),
    "udvla_open": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(OpenOptions),
                                  ctypes.POINTER(ctypes.c_uint64)]),
    "udvla_close": (ctypes.c_int, [ctypes.c_uint64]),
    "udvla_get_model_info": (ctypes.c_int, [ctypes.c_uint64, ctypes.POINTER(ModelInfo)]),
    "udvla_get_camera_info": (ctypes.c_int, [ctypes.c_uint64, ctypes.c_size_t,
                                             ctypes.POINTER(CameraInfo)]),
    "udvla_step": (ctypes.c_int, [ctypes.c_uint64, ctypes.POINTER(Request), ctypes.POINTER(Result)]),
    "udvla_step_alloc": (ctypes.c_int, [ctypes.c_uint64, ctypes.POINTER(Request),
                                        ctypes.POINTER(ctypes.POINTER(Result))]),
    "udvla_result_free": (ctypes.c_int, [ctypes.POINTER(Result)]),
    "udvla_validation_messages": (ctypes.c_int, [ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64)]),
    "udvla_cancel": (ctypes.c_int, [ctypes.c_uint64]),
    "udvla_live_engines": (ctypes.c_uint64, []),
    "udvla_live_results": (ctypes.c_uint64, []),
}

LIBRARY_NAMES = ("libudvla.so.1", "libudvla.so")

_lock = threading.Lock()
_lib = None
_lib_path = None


class LibraryNotFoundError(OSError):
    """libudvla.so.1 could not be found or loaded."""


def _candidates():
    env = os.environ.get("UDVLA_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for name in LIBRARY_NAMES:
        path = os.path.join(here, name)
        if os.path.exists(path):
            yield path
    found = ctypes.util.find_library("udvla")
    if found:
        yield found
    yield from LIBRARY_NAMES  # the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache)


def load(path=None):
    """Loads libudvla (once): path, else $UDVLA_LIBRARY, else the copy beside this package, else
    the system's. Returns the ctypes library with every function declared."""
    global _lib, _lib_path
    with _lock:
        if _lib is not None:
            # one process holds one copy: a second Go runtime in the same process would not work
            if path is not None and os.path.realpath(path) != os.path.realpath(_lib_path):
                raise LibraryNotFoundError(f"libudvla is already loaded from {_lib_path}, not {path}")
            return _lib
        errors = []
        for cand in ([path] if path else _candidates()):
            try:
                lib = ctypes.CDLL(cand)
            except OSError as e:
                errors.append(f"{cand}: {e}")
                continue
            for name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(lib, name)
                fn.restype = restype
                fn.argtypes = argtypes
            if lib.udvla_abi_version() != ABI_VERSION:
                errors.append(f"{cand}: ABI version {lib.udvla_abi_version()}, this package needs {ABI_VERSION}")
                continue
            _lib, _lib_path = lib, cand
            return lib
        raise LibraryNotFoundError(
            "cannot load libudvla.so.1 (set UDVLA_LIBRARY to its path): " + "; ".join(errors))
