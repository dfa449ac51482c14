"""Engines, requests and results over the C ABI."""

import array
import ctypes
import dataclasses
from typing import List, Optional

from . import _native as n
from ._buffers import int32_view
from ._errors import InvalidArgumentError, check

_BACKENDS = {"vulkan": n.BACKEND_VULKAN, "reference": n.BACKEND_REFERENCE}
_MODES = {"jd3p": n.MODE_JD3P, "ar": n.MODE_AR, "id": n.MODE_ID}
_MASKS = {"paper": n.MASK_PAPER, "release": n.MASK_RELEASE, "release-kv": n.MASK_RELEASE_KV,
          "default": n.MASK_MODEL_DEFAULT}


def _lib():
    return n.load()


def abi_version() -> int:
    """The ABI version of the loaded library."""
    return _lib().udvla_abi_version()


def version() -> str:
    """The loaded library's release."""
    return _lib().udvla_version().decode()


def live_engines() -> int:
    """Engines open in this process."""
    return _lib().udvla_live_engines()


def live_results() -> int:
    """Library-owned results not yet freed in this process."""
    return _lib().udvla_live_results()


@dataclasses.dataclass(frozen=True)
class Device:
    index: int
    name: str
    vendor: str
    type: int  # Vulkan's device type: 0 other, 1 integrated, 2 discrete, 3 virtual, 4 cpu
    vendor_id: int
    device_id: int
    driver: str
    api_version: str
    usable: bool
    chosen: bool
    subgroup_size: int
    max_allocation_size: int
    device_local_bytes: int


def devices() -> List[Device]:
    """The Vulkan devices; chosen marks the one a default open uses."""
    lib = _lib()
    count = ctypes.c_size_t()
    check(lib, lib.udvla_list_devices(None, 0, ctypes.byref(count)))
    raw = (n.DeviceInfo * count.value)()
    if count.value:
        raw[0].struct_size = ctypes.sizeof(n.DeviceInfo)
        check(lib, lib.udvla_list_devices(raw, count.value, ctypes.byref(count)))
    return [Device(d.index, d.name.decode(errors="replace"), d.vendor.decode(errors="replace"), d.type,
                   d.vendor_id, d.device_id, d.driver.decode(errors="replace"), d.api_version.decode(),
                   bool(d.usable), bool(d.chosen), d.subgroup_size, d.max_allocation_size,
                   d.device_local_bytes) for d in raw[: count.value]]


@dataclasses.dataclass(frozen=True)
class Camera:
    name: str
    height: int
    width: int

    @property
    def size(self) -> int:
        return self.height * self.width


@dataclasses.dataclass(frozen=True)
class VocabLayout:
    text_size: int
    pad: int
    boa: int
    eoa: int
    eol: int
    eof: int
    mask: int
    bos: int
    eos: int
    img: int
    boi: int
    eoi: int
    visual_offset: int
    codebook_size: int
    fast_base: int
    fast_size: int
    fast_reversed: bool
    digits: tuple
    star: int
    header_ids: tuple


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    has_layout: bool
    has_text_vocab: bool
    has_actions: bool
    has_action_stats: bool
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab_size: int
    rope_theta: float
    rms_eps: float
    vocab: Optional[VocabLayout]
    default_steps: int
    action_len: int
    default_mask: int
    cameras: tuple
    region_size: int
    future_codes_size: int
    action_tokens_max: int
    actions_size: int
    action_horizon: int
    action_dims: int
    max_instruction: int
    backend: str
    backend_name: str


def _vocab(v) -> VocabLayout:
    return VocabLayout(v.text_size, v.pad, v.boa, v.eoa, v.eol, v.eof, v.mask, v.bos, v.eos, v.img,
                       v.boi, v.eoi, v.visual_offset, v.codebook_size, v.fast_base, v.fast_size,
                       bool(v.fast_reversed), tuple(v.digits), v.star,
                       tuple(v.header_ids[: v.num_header_ids]))


class Result:
    """The outputs of a step. Token arrays are array.array('i'); actions is a flat
    array.array('f') of horizon x dims (row-major); action(t, d) and action_chunk() index it."""

    __slots__ = ("region", "future_codes", "action_tokens", "actions", "horizon", "dims",
                 "actions_complete", "eoa_found", "generated", "total_ns", "loop_ns", "prefill_ns",
                 "gpu_ns", "_cameras", "_tokens")

    def __init__(self, info: ModelInfo):
        # region, future codes and actions have fixed sizes and are written in place by every
        # step that reuses this result; action_tokens is a fresh slice of the most there can be
        self.region = array.array("i", bytes(4 * info.region_size))
        self.future_codes = array.array("i", bytes(4 * info.future_codes_size))
        self._tokens = array.array("i", bytes(4 * info.action_tokens_max))
        self.action_tokens = array.array("i")
        self.actions = array.array("f", bytes(4 * info.actions_size))
        self.horizon = self.dims = self.generated = 0
        self.actions_complete = self.eoa_found = False
        self.total_ns = self.loop_ns = self.prefill_ns = self.gpu_ns = 0
        self._cameras = info.cameras

    def action(self, t: int, d: int) -> float:
        if not (0 <= t < self.horizon and 0 <= d < self.dims):
            raise IndexError(f"action ({t}, {d}) outside {self.horizon}x{self.dims}")
        return self.actions[t * self.dims + d]

    def action_chunk(self) -> List[List[float]]:
        """The actions as horizon rows of dims floats."""
        return [list(self.actions[t * self.dims:(t + 1) * self.dims]) for t in range(self.horizon)]

    def camera_future_codes(self, camera: int) -> array.array:
        """The future codes of one camera (H*W, row-major; -1 where not a visual token)."""
        start = sum(c.size for c in self._cameras[:camera])
        return self.future_codes[start:start + self._cameras[camera].size]

    def actions_ndarray(self):
        """The actions as a numpy array of shape (horizon, dims), sharing this result's memory.
        Needs numpy."""
        import numpy
        return numpy.frombuffer(self.actions, dtype=numpy.float32).reshape(self.horizon, self.dims)

    def __repr__(self):
        return (f"udvla.Result({len(self.region)} region tokens, {len(self.action_tokens)} action tokens, "
                f"actions {self.horizon}x{self.dims}{'' if self.actions_complete else ' incomplete'})")


def _ptr(a, ctype):
    """A pointer to an array.array's first element (None when empty)."""
    if len(a) == 0:
        return None
    return ctypes.cast((ctype * len(a)).from_buffer(a), ctypes.POINTER(ctype))


class Engine:
    """An opened model. Use it as a context manager, or call close(); steps on one engine run one
    at a time, from any thread.

        with udvla.Engine("model.udvla") as e:
            r = e.step(codes=[main, wrist], instruction=[...], seed=7)
    """

    def __init__(self, model_path, *, backend: str = "vulkan", device: Optional[str] = None,
                 validate: bool = False, max_instruction: int = 0):
        lib = _lib()
        self._handle, self._closed = 0, False
        if backend not in _BACKENDS:
            raise InvalidArgumentError(f"backend {backend!r}: want one of {sorted(_BACKENDS)}")
        opts = n.new(n.OpenOptions)
        opts.backend = _BACKENDS[backend]
        opts.device = device.encode() if device else None
        opts.validate = n.VALIDATE_ON if validate else n.VALIDATE_FROM_ENV
        opts.max_instruction = max_instruction
        h = ctypes.c_uint64()
        check(lib, lib.udvla_open(str(model_path).encode(), ctypes.byref(opts), ctypes.byref(h)))
        self._handle = h.value
        self._lib = lib
        try:
            self.info = self._load_info()
        except BaseException:
            self.close()
            raise

    @property
    def handle(self) -> int:
        return self._handle

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self):
        """Frees the engine; later steps raise ClosedError. Closing twice does nothing."""
        if self._handle and not self._closed:
            self._closed = True
            check(self._lib, self._lib.udvla_close(self._handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_handle", 0) and not self._closed:
                self._closed = True
                self._lib.udvla_close(self._handle)
        except Exception:
            pass

    def _load_info(self) -> ModelInfo:
        lib, h = self._lib, self._handle
        mi = n.new(n.ModelInfo)
        check(lib, lib.udvla_get_model_info(h, ctypes.byref(mi)))
        cams = []
        for c in range(mi.num_cameras):
            ci = n.new(n.CameraInfo)
            check(lib, lib.udvla_get_camera_info(h, c, ctypes.byref(ci)))
            cams.append(Camera(ci.name.decode(errors="replace"), ci.height, ci.width))
        backend = {v: k for k, v in _BACKENDS.items()}.get(mi.backend, str(mi.backend))
        return ModelInfo(
            bool(mi.has_layout), bool(mi.has_text_vocab), bool(mi.has_actions), bool(mi.has_action_stats),
            mi.layers, mi.hidden, mi.heads, mi.kv_heads, mi.head_dim, mi.ffn, mi.vocab_size,
            mi.rope_theta, mi.rms_eps, _vocab(mi.vocab) if mi.has_layout else None, mi.default_steps,
            mi.action_len, mi.default_mask, tuple(cams), mi.region_size, mi.future_codes_size,
            mi.action_tokens_max, mi.actions_size, mi.action_horizon, mi.action_dims,
            mi.max_instruction, backend, mi.backend_name.decode(errors="replace"))

    def _codes(self, codes):
        """Per-camera Int32Views from a sequence of per-camera inputs or one flat buffer of every
        camera's codes in order."""
        cams = self.info.cameras
        per_camera = isinstance(codes, (list, tuple)) and len(codes) > 0 and all(
            not isinstance(c, int) for c in codes)
        if per_camera:
            return [int32_view(c, f"codes[{i}]") for i, c in enumerate(codes)]
        flat = int32_view(codes, "codes")
        if flat.n != sum(c.size for c in cams):
            # let the library report the mismatch with its documented status
            return [flat]
        views, at = [], 0
        base = ctypes.cast(flat.ptr, ctypes.c_void_p).value if flat.n else None
        for c in cams:
            p = ctypes.cast(base + 4 * at, n.c_int32_p) if base else None
            views.append(type(flat)(flat, p, c.size))
            at += c.size
        return views

    def step(self, codes, instruction=None, *, seed: int = 0, steps: int = 0, mode: str = "jd3p",
             mask: str = "paper", no_cache: bool = False, out: Optional[Result] = None) -> Result:
        """Runs one control step.

        codes: per camera (in the model's order) H*W visual codes, as lists, array.array or int32
            buffers (numpy arrays of any shape are read in C order), or one flat buffer of every
            camera's codes in order.
        instruction: text token ids (a sequence or buffer), or a str when the model packs a text
            vocabulary.
        mode: "jd3p", "ar" or "id"; mask: "paper", "release", "release-kv" or "default" (the model's).
        out: a Result of this engine to reuse (its buffers are kept).
        """
        if mode not in _MODES:
            raise InvalidArgumentError(f"mode {mode!r}: want one of {sorted(_MODES)}")
        if mask not in _MASKS:
            raise InvalidArgumentError(f"mask {mask!r}: want one of {sorted(_MASKS)}")
        req = n.new(n.Request)
        req.mode = _MODES[mode]
        req.mask = _MASKS[mask]
        req.seed = seed & 0xFFFFFFFFFFFFFFFF
        req.steps = steps
        req.no_cache = 1 if no_cache else 0
        keep = []
        if isinstance(instruction, str):
            req.instruction_text = instruction.encode()
        elif instruction is not None:
            iv = int32_view(instruction, "instruction")
            keep.append(iv)
            req.instruction = iv.ptr
            req.instruction_len = iv.n
        views = self._codes(codes)
        keep.append(views)
        ptrs = (n.c_int32_p * max(len(views), 1))(*[v.ptr for v in views])
        counts = (ctypes.c_size_t * max(len(views), 1))(*[v.n for v in views])
        req.codes = ptrs
        req.code_counts = counts
        req.num_cameras = len(views)

        r = out if out is not None else Result(self.info)
        if len(r.region) != self.info.region_size:  # a Result of another model: size it anew
            r.__init__(self.info)
        res = n.new(n.Result)
        res.region, res.region_capacity = _ptr(r.region, ctypes.c_int32), len(r.region)
        res.future_codes, res.future_codes_capacity = _ptr(r.future_codes, ctypes.c_int32), len(r.future_codes)
        res.action_tokens, res.action_tokens_capacity = _ptr(r._tokens, ctypes.c_int32), len(r._tokens)
        res.actions, res.actions_capacity = _ptr(r.actions, ctypes.c_float), len(r.actions)
        status = self._lib.udvla_step(self._handle, ctypes.byref(req), ctypes.byref(res))
        check(self._lib, status)
        r.action_tokens = r._tokens[:res.action_tokens_len]
        r.horizon, r.dims = res.action_horizon, res.action_dims
        r.actions_complete, r.eoa_found = bool(res.actions_complete), bool(res.eoa_found)
        r.generated = res.generated
        r.total_ns, r.loop_ns, r.prefill_ns, r.gpu_ns = res.total_ns, res.loop_ns, res.prefill_ns, res.gpu_ns
        return r

    def __repr__(self):
        state = "closed" if self.closed else self.info.backend_name
        return f"udvla.Engine({state})"
