"""Engines, requests and results over the C ABI."""

import array
import ctypes
import dataclasses
import os
from typing import List, Optional

from . import _native as n
from ._buffers import Int32View, int32_view
from ._frames import Frame, frame_struct
from ._errors import InvalidArgumentError, NotFoundError, OutOfRangeError, check

_BACKENDS = {"vulkan": n.BACKEND_VULKAN, "reference": n.BACKEND_REFERENCE}
_MODES = {"jd3p": n.MODE_JD3P, "id": n.MODE_ID, "ar": n.MODE_AR, "ar-restricted": n.MODE_AR_RESTRICTED}
# "model" (the default) runs the model file's rule: release for every released checkpoint.
# "paper" is an opt-in speed mode whose outputs differ from what the weights were trained for.
# "release-kv" is the release's KV-cached variant, opt-in, whose outputs differ from "release".
# "default" is the earlier spelling of "model".
_MASKS = {"model": n.MASK_MODEL_DEFAULT, "default": n.MASK_MODEL_DEFAULT, "release": n.MASK_RELEASE,
          "paper": n.MASK_PAPER, "release-kv": n.MASK_RELEASE_KV}
_MASK_NAMES = {n.MASK_RELEASE: "release", n.MASK_PAPER: "paper", n.MASK_CAUSAL: "causal"}


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
    return [_by_name(Device, d) for d in raw[: count.value]]


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

    @property
    def mask_rule(self) -> str:
        """The model's mask rule, the one mask="model" runs: "release", "paper" or "causal"."""
        return _MASK_NAMES.get(self.default_mask, "")


def _by_name(cls, raw, **given):
    """An instance of the dataclass cls whose fields are taken by name from the ctypes struct raw,
    except those given; each value is converted to the field's annotated type (bool, str, tuple),
    so that the order of the fields on either side does not matter."""
    kw = {}
    for f in dataclasses.fields(cls):
        if f.name in given:
            kw[f.name] = given[f.name]
            continue
        v = getattr(raw, f.name)
        if f.type in (bool, "bool"):
            v = bool(v)
        elif f.type in (str, "str"):
            v = v.decode(errors="replace")
        elif f.type in (tuple, "tuple"):
            v = tuple(v)
        kw[f.name] = v
    return cls(**kw)


def _vocab(v) -> VocabLayout:
    return _by_name(VocabLayout, v, header_ids=tuple(v.header_ids[: v.num_header_ids]))


class Result:
    """The outputs of a step. Token arrays are array.array('i'); actions is a flat
    array.array('f') of horizon x dims (row-major); action(t, d) and action_chunk() index it."""

    __slots__ = ("region", "future_codes", "action_tokens", "actions", "horizon", "dims",
                 "actions_complete", "eoa_found", "generated", "total_ns", "loop_ns", "prefill_ns",
                 "gpu_ns", "_cameras", "_tokens", "early", "steps_run", "future_frames")

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
        # early: a budget stopped JD3P after steps_run steps (the tokens are that step's samples)
        self.early, self.steps_run = False, 0
        # future_frames: per camera a udvla.Frame (packed RGB8) when the step asked for them
        self.future_frames = []
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


def _need(value, types, what):
    """value, when it is one of types (bool never counts as int); TypeError otherwise."""
    if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
        return value
    names = " or ".join("None" if t is type(None) else t.__name__ for t in types)
    raise TypeError(f"{what}: want {names}, not {type(value).__name__}")


def _c_string(value, what) -> bytes:
    """value (str, bytes or os.PathLike) as the bytes of a C string; ValueError for a NUL inside,
    which C would read as the end."""
    try:
        b = os.fsencode(value)
    except TypeError:
        raise TypeError(f"{what}: want a str, bytes or os.PathLike, not {type(value).__name__}") from None
    if b"\0" in b:
        raise ValueError(f"{what}: contains a NUL character")
    return b


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

    UDVLA_DEVICE chooses the device when device is None, read from os.environ when the engine is
    opened. In a process forked after the library was loaded every call raises ForkedError: give
    multiprocessing workers the "spawn" start method and open engines in them.
    """

    def __init__(self, model_path, *, backend: str = "vulkan", device: Optional[str] = None,
                 validate: bool = False, max_instruction: int = 0):
        self._handle, self._closed = 0, False
        path = _c_string(model_path, "model_path")
        if _need(backend, (str,), "backend") not in _BACKENDS:
            raise InvalidArgumentError(f"backend {backend!r}: want one of {sorted(_BACKENDS)}")
        _need(device, (str, int, type(None)), "device")
        _need(validate, (bool,), "validate")
        _need(max_instruction, (int,), "max_instruction")
        lib = _lib()
        opts = n.new(n.OpenOptions)
        opts.backend = _BACKENDS[backend]
        opts.device = _c_string(str(device), "device") if device is not None and device != "" else None
        opts.validate = n.VALIDATE_ON if validate else n.VALIDATE_FROM_ENV
        if not -2**31 <= max_instruction < 2**31:
            raise InvalidArgumentError(f"max_instruction {max_instruction}: outside int32")
        opts.max_instruction = max_instruction
        h = ctypes.c_uint64()
        try:
            check(lib, lib.udvla_open(path, ctypes.byref(opts), ctypes.byref(h)))
        except NotFoundError as e:
            e.filename = os.fsdecode(path)  # as the FileNotFoundError it also is
            raise
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

    def cancel(self):
        """Makes the steps in progress on this engine, or waiting for it, raise CancelledError at
        their next denoising step; call it from another thread. Steps started later run normally,
        and the engine stays usable."""
        check(self._lib, self._lib.udvla_cancel(self._handle))

    def validation_messages(self) -> int:
        """The Vulkan validation messages this engine's device has reported since it was opened
        (zero unless validation is on: validate=True or UDVLA_VALIDATE=1)."""
        count = ctypes.c_uint64()
        check(self._lib, self._lib.udvla_validation_messages(self._handle, ctypes.byref(count)))
        return count.value

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
        return _by_name(ModelInfo, mi, vocab=_vocab(mi.vocab) if mi.has_layout else None,
                        cameras=tuple(cams), backend=backend)

    def _codes(self, codes):
        """Per-camera Int32Views from a sequence of per-camera inputs or one flat buffer of every
        camera's codes in order."""
        cams = self.info.cameras
        per_camera = isinstance(codes, (list, tuple)) and len(codes) > 0 and all(
            not isinstance(c, int) for c in codes)
        if per_camera:  # None: a camera that takes a frame
            return [Int32View(None, None, 0) if c is None else int32_view(c, f"codes[{i}]")
                    for i, c in enumerate(codes)]
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

    def step(self, codes=None, instruction=None, *, seed: int = 0, steps: int = 0, mode: str = "jd3p",
             mask: str = "model", no_cache: bool = False, out: Optional[Result] = None,
             budget_us: int = 0, action_steps: int = 0, frames=None,
             future_frames: bool = False) -> Result:
        """Runs one control step.

        codes: per camera (in the model's order) H*W visual codes, as lists, array.array or int32
            buffers (numpy arrays of any shape are read in C order), or one flat buffer of every
            camera's codes in order. None (or a None entry) for cameras that take frames.
        frames: per camera a camera frame (a udvla.Frame, or a numpy array (height, width, 3) of
            uint8, passed without a copy), or None for a camera that takes codes. The model's
            vision tokenizer turns each into the camera's codes (resized as Pillow does to the
            camera's grid times its spatial factor).
        future_frames: decode the future codes into result.future_frames (per camera a
            udvla.Frame of packed RGB8).
        instruction: text token ids (a sequence or buffer), or a str when the model packs a text
            vocabulary.
        mode: "jd3p"; "id" (independent diffusion as the release runs it: steps image steps, 0
            taking 64, then action_steps action steps, 0 taking 28); "ar" (the release's AR for an
            AR checkpoint: unconstrained greedy, nothing pre-filled); "ar-restricted" (greedy AR
            over each position's decoding space).
        mask: "model" (the model file's rule, ModelInfo.mask_rule: "release" for every released
            checkpoint), "release" (its text prefix cached exactly), "paper": an opt-in speed mode
            whose prefix is cached exactly, with outputs that differ from what the weights were
            trained for, or "release-kv": the release's KV-cached variant, opt-in, whose prefix
            attends only to itself (outputs differ from "release"). A model whose rule is
            "causal" runs only the AR modes unless a rule is named.
        out: a Result of this engine to reuse (its buffers are kept).
        budget_us: a time budget in microseconds (0: none). JD3P stops before a step that would
            not finish in time and returns the last step's sampled tokens with result.early set
            and result.steps_run steps; other modes raise once it has passed.
        action_steps: the action loop of mode "id" (0: the release's 28).

        Raises a udvla.Error subclass for a refused request or a failed step (CancelledError when
        cancel() stopped it), and TypeError for arguments of the wrong type.
        """
        _need(budget_us, (int,), "budget_us")
        _need(action_steps, (int,), "action_steps")
        if not 0 <= budget_us < 1 << 64:
            raise InvalidArgumentError(f"budget_us {budget_us}: want microseconds, 0 for none")
        if not -2**31 <= action_steps < 2**31:
            raise OutOfRangeError(f"action_steps {action_steps}: outside [0, 1024]")
        if _need(mode, (str,), "mode") not in _MODES:
            raise InvalidArgumentError(f"mode {mode!r}: want one of {sorted(_MODES)}")
        if _need(mask, (str,), "mask") not in _MASKS:
            raise InvalidArgumentError(f"mask {mask!r}: want one of {sorted(_MASKS)}")
        _need(seed, (int,), "seed")
        _need(steps, (int,), "steps")
        _need(no_cache, (bool,), "no_cache")
        _need(out, (Result, type(None)), "out")
        if not -2**31 <= steps < 2**31:
            raise OutOfRangeError(f"steps {steps}: outside [0, 1024]")
        req = n.new(n.Request)
        req.mode = _MODES[mode]
        req.mask = _MASKS[mask]
        req.seed = seed & 0xFFFFFFFFFFFFFFFF
        req.steps = steps
        req.no_cache = 1 if no_cache else 0
        req.budget_us = budget_us
        req.action_steps = action_steps
        keep = []
        if isinstance(instruction, str):
            req.instruction_text = instruction.encode()
        elif instruction is not None:
            iv = int32_view(instruction, "instruction")
            keep.append(iv)
            req.instruction = iv.ptr
            req.instruction_len = iv.n
        if codes is None and frames is None:
            raise TypeError("codes: want per-camera codes (or frames), not None")
        _need(future_frames, (bool,), "future_frames")
        req.decode_future = 1 if future_frames else 0
        if codes is not None:
            views = self._codes(codes)
            keep.append(views)
            ptrs = (n.c_int32_p * max(len(views), 1))(*[v.ptr for v in views])
            counts = (ctypes.c_size_t * max(len(views), 1))(*[v.n for v in views])
            req.codes = ptrs
            req.code_counts = counts
            req.num_cameras = len(views)
        if frames is not None:
            if not isinstance(frames, (list, tuple)):
                raise TypeError(f"frames: want a list with one frame (or None) per camera, not {type(frames).__name__}")
            structs = [None if f is None else frame_struct(f, f"frames[{i}]") for i, f in enumerate(frames)]
            keep.append(structs)
            fp = (ctypes.POINTER(n.Frame) * max(len(frames), 1))(
                *[ctypes.pointer(s[0]) if s else None for s in structs])
            keep.append(fp)
            req.frames = fp
            req.num_cameras = len(frames)

        r = out if out is not None else Result(self.info)
        if len(r.region) != self.info.region_size:  # a Result of another model: size it anew
            r.__init__(self.info)
        res = n.new(n.Result)
        res.region, res.region_capacity = _ptr(r.region, ctypes.c_int32), len(r.region)
        res.future_codes, res.future_codes_capacity = _ptr(r.future_codes, ctypes.c_int32), len(r.future_codes)
        res.action_tokens, res.action_tokens_capacity = _ptr(r._tokens, ctypes.c_int32), len(r._tokens)
        res.actions, res.actions_capacity = _ptr(r.actions, ctypes.c_float), len(r.actions)
        pixels = None
        if future_frames:
            pixels = bytearray(self._future_frame_bytes(req, res))
            if pixels:
                res.future_frames = ctypes.addressof((ctypes.c_uint8 * len(pixels)).from_buffer(pixels))
                res.future_frames_capacity = len(pixels)
        status = self._lib.udvla_step(self._handle, ctypes.byref(req), ctypes.byref(res))
        check(self._lib, status)
        r.future_frames = self._split_frames(pixels) if pixels else []
        r.action_tokens = r._tokens[:res.action_tokens_len]
        r.horizon, r.dims = res.action_horizon, res.action_dims
        r.actions_complete, r.eoa_found = bool(res.actions_complete), bool(res.eoa_found)
        r.generated = res.generated
        r.total_ns, r.loop_ns, r.prefill_ns, r.gpu_ns = res.total_ns, res.loop_ns, res.prefill_ns, res.gpu_ns
        r.early, r.steps_run = bool(res.early), res.steps_run
        return r

    def _future_frame_bytes(self, req, res) -> int:
        """The bytes of a step's future frames: the library names them when a one-byte buffer is
        too small, before anything runs. 0 when the request is refused for another reason (the
        step itself then reports it)."""
        probe = ctypes.c_uint8()
        res.future_frames, res.future_frames_capacity = ctypes.addressof(probe), 1
        status = self._lib.udvla_step(self._handle, ctypes.byref(req), ctypes.byref(res))
        res.future_frames, res.future_frames_capacity = None, 0
        del status  # BUFFER_TOO_SMALL, or a refusal the step itself reports
        return res.future_frames_len

    def _split_frames(self, pixels):
        """The frames buffer cut per camera: each camera's frame is square in its pixel grid of
        H*f x W*f, f the tokenizer's spatial factor, found from the bytes each camera takes."""
        cams = self.info.cameras
        area = sum(c.size for c in cams)
        f2 = len(pixels) // (3 * area)  # f*f pixels per code
        f = int(round(f2 ** 0.5))
        out, at = [], 0
        for c in cams:
            w, h = c.width * f, c.height * f
            out.append(Frame(bytes(pixels[at:at + 3 * w * h]), w, h))
            at += 3 * w * h
        return out

    def __repr__(self):
        state = "closed" if self.closed else self.info.backend_name
        return f"udvla.Engine({state})"
