"""Tests of the udvla Python package against libudvla and the Go engine's expected results.

Environment: UDVLA_MODEL (the tiny model), UDVLA_GOLDEN (a file of capi/golden), and the library
through UDVLA_LIBRARY or beside the installed package.
"""

import array
import ctypes
import os
import random
import tempfile
import threading
import unittest

import udvla
from udvla import _native

import golden

MODEL = os.environ.get("UDVLA_MODEL", "testdata/tiny.udvla")
GOLDEN = os.environ["UDVLA_GOLDEN"]

try:
    import numpy
except ImportError:
    numpy = None


class UdvlaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cases = golden.load(GOLDEN)
        cls.engine = udvla.Engine(MODEL)

    @classmethod
    def tearDownClass(cls):
        cls.engine.close()

    def assertMatches(self, case, result):
        why = golden.mismatch(case, result)
        if why:
            self.fail(why)

    def test_memory_hook(self):
        """UDVLA_TEST_MEMORY, set around one open: device-local memory the host cannot map (a
        discrete card) gives the golden results through the staging ring; a heap too small for the
        model raises DeviceError naming the buffer and the bytes short, and the engine open before
        carries on."""
        c = self.cases[0]
        try:
            os.environ["UDVLA_TEST_MEMORY"] = "hide-hvdl"
            staged = udvla.Engine(MODEL)
            os.environ["UDVLA_TEST_MEMORY"] = "hide-hvdl,heap=64K"
            with self.assertRaises(udvla.DeviceError) as cm:
                udvla.Engine(MODEL)
        finally:
            os.environ.pop("UDVLA_TEST_MEMORY", None)
        with staged:
            self.assertMatches(c, staged.step(c.codes, c.instruction, **golden.step_kwargs(c)))
        self.assertIn("upload embeddings", str(cm.exception))
        self.assertIn("65536 bytes of budget left", str(cm.exception))
        self.assertIn("bytes short", str(cm.exception))
        self.assertMatches(c, self.engine.step(c.codes, c.instruction, **golden.step_kwargs(c)))

    def test_versions(self):
        self.assertEqual(udvla.abi_version(), udvla.ABI_VERSION)
        self.assertTrue(udvla.version().startswith("1."))

    def test_devices(self):
        devs = udvla.devices()
        self.assertGreaterEqual(len(devs), 1)
        self.assertEqual(sum(d.chosen for d in devs), 1)
        self.assertTrue(all(d.name for d in devs))

    def test_info(self):
        info = self.engine.info
        c = self.cases[0]
        self.assertTrue(info.has_layout)
        self.assertEqual([cam.size for cam in info.cameras], [len(x) for x in c.codes])
        self.assertEqual(info.region_size, len(c.region))
        self.assertEqual(info.future_codes_size, len(c.future))
        self.assertEqual((info.action_horizon, info.action_dims), (c.rows, c.dims))
        self.assertEqual(info.action_tokens_max, info.action_len - 1)
        self.assertEqual(c.region[0], info.vocab.boi)
        self.assertEqual(info.backend, "vulkan")

    def test_default_mask_is_models_rule(self):
        # tiny.udvla is byte for byte the conversion of a checkpoint whose config.json sets
        # use_blockwise_attn_mask (TestConvertCommand): it records the release rule, and a step
        # with no mask argument runs it.
        info = self.engine.info
        self.assertEqual(info.mask_rule, "release")
        self.assertEqual(info.default_mask, _native.MASK_RELEASE)
        differs = False
        for c in self.cases[:3]:
            run = lambda **kw: self.engine.step(c.codes, c.instruction, seed=c.seed, steps=c.steps, **kw).region.tolist()
            default = run()
            self.assertEqual(default, run(mask="release"))
            self.assertEqual(default, run(mask="default"))
            differs = differs or default != run(mask="paper")
        self.assertTrue(differs, "the default and the paper mode agree: the test cannot tell the rules apart")

    def test_golden_lists(self):
        for c in self.cases:
            r = self.engine.step(c.codes, c.instruction, **golden.step_kwargs(c))
            self.assertMatches(c, r)

    def test_golden_buffers_and_reuse(self):
        out = None
        for c in self.cases:
            codes = [array.array("i", x) for x in c.codes]
            instr = array.array("i", c.instruction)
            r = self.engine.step(codes, instr, out=out, **golden.step_kwargs(c))
            if out is not None:
                self.assertIs(r, out)
            out = r
            self.assertMatches(c, r)
            # every camera's codes in one flat buffer, read-only (copied), and as a memoryview
            flat = array.array("i", [x for cam in c.codes for x in cam])
            r2 = self.engine.step(memoryview(flat.tobytes()).cast("i"), memoryview(instr),
                                  **golden.step_kwargs(c))
            self.assertMatches(c, r2)
            # a tuple of tuples
            r3 = self.engine.step(tuple(tuple(x) for x in c.codes), tuple(c.instruction), **golden.step_kwargs(c))
            self.assertMatches(c, r3)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_golden_numpy(self):
        for c in self.cases:
            codes = [numpy.array(x, dtype=numpy.int32) for x in c.codes]
            r = self.engine.step(codes, numpy.array(c.instruction, dtype=numpy.int64), **golden.step_kwargs(c))
            self.assertMatches(c, r)
            self.assertEqual(r.actions_ndarray().shape, (c.rows, c.dims))

    def test_result_helpers(self):
        c = self.cases[0]
        r = self.engine.step(c.codes, c.instruction, **golden.step_kwargs(c))
        chunk = r.action_chunk()
        self.assertEqual(len(chunk), r.horizon)
        self.assertEqual(chunk[1][2], r.action(1, 2))
        with self.assertRaises(IndexError):
            r.action(r.horizon, 0)
        cams = self.engine.info.cameras
        self.assertEqual(list(r.camera_future_codes(len(cams) - 1)), c.future[-cams[-1].size:])

    def test_threads(self):
        """Steps from four Python threads (ctypes releases the GIL) equal the sequential ones."""
        cases = [c for c in self.cases if c.mode not in (1, 3)]  # AR is slow
        failures = []

        def work(t):
            for i in range(6):
                c = cases[(t * 5 + i) % len(cases)]
                r = self.engine.step(c.codes, c.instruction, **golden.step_kwargs(c))
                why = golden.mismatch(c, r)
                if why:
                    failures.append(why)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])

    def test_errors(self):
        c = self.cases[0]
        e = self.engine
        kw = golden.step_kwargs(c)
        with self.assertRaises(udvla.NotFoundError):
            udvla.Engine("/nonexistent/model.udvla")
        with tempfile.NamedTemporaryFile(suffix=".udvla") as f:
            f.write(bytes(random.randrange(256) for _ in range(777)))
            f.flush()
            with self.assertRaises(udvla.ModelError):
                udvla.Engine(f.name)
        with self.assertRaises(udvla.DeviceError):
            udvla.Engine(MODEL, device="no-such-device-anywhere")
        with self.assertRaises(udvla.InvalidArgumentError):
            udvla.Engine(MODEL, backend="opencl")
        with self.assertRaises(udvla.InvalidArgumentError):
            udvla.Engine(MODEL, max_instruction=-4)
        vocab = e.info.vocab
        bad = [list(x) for x in c.codes]
        bad[-1][-1] = vocab.codebook_size
        with self.assertRaises(udvla.OutOfRangeError):
            e.step(bad, c.instruction, **kw)
        bad[-1][-1] = 2 ** 40  # does not fit int32
        with self.assertRaises(udvla.OutOfRangeError):
            e.step(bad, c.instruction, **kw)
        with self.assertRaises(udvla.OutOfRangeError):
            e.step(c.codes, [vocab.text_size], **kw)
        with self.assertRaises(udvla.OutOfRangeError):
            e.step(c.codes, list(range(e.info.max_instruction + 1)), **kw)
        with self.assertRaises(udvla.OutOfRangeError):
            e.step(c.codes, c.instruction, seed=1, steps=1025)
        with self.assertRaises(udvla.InvalidArgumentError):
            e.step(c.codes[:-1], c.instruction, **kw)
        with self.assertRaises(udvla.InvalidArgumentError):
            e.step([c.codes[0], c.codes[1][:-1]], c.instruction, **kw)
        with self.assertRaises(udvla.InvalidArgumentError):
            e.step(c.codes, c.instruction, mode="beam")
        with self.assertRaises(TypeError):
            e.step(c.codes, [1.5, 2.5], **kw)
        if not e.info.has_text_vocab:
            with self.assertRaises(udvla.UnsupportedError):
                e.step(c.codes, "open the drawer", **kw)
        try:
            e.step(c.codes, [-1], **kw)
        except udvla.Error as err:
            self.assertEqual(err.status, _native.ERR_OUT_OF_RANGE)
            self.assertEqual(err.status_name, "UDVLA_ERR_OUT_OF_RANGE")
            self.assertIn("-1", str(err))
        # the engine still gives the expected result after the refusals
        self.assertMatches(c, e.step(c.codes, c.instruction, **kw))

    def test_budget(self):
        """budget_us: below one step JD3P runs its first step only and marks the result early; a
        generous budget runs every step, unmarked, with the golden result."""
        c = next(c for c in self.cases if c.mode == 0 and c.steps > 1)
        kw = golden.step_kwargs(c)
        r = self.engine.step(c.codes, c.instruction, **kw, budget_us=1)
        self.assertTrue(r.early)
        self.assertEqual(r.steps_run, 1)
        self.assertEqual(len(r.region), self.engine.info.region_size)
        r = self.engine.step(c.codes, c.instruction, **kw, budget_us=600 * 1000000)
        self.assertFalse(r.early)
        self.assertEqual(r.steps_run, c.steps)
        self.assertMatches(c, r)
        with self.assertRaises(udvla.InvalidArgumentError):
            self.engine.step(c.codes, c.instruction, budget_us=-1)
        # the release's AR and the restricted AR are distinct modes
        free = self.engine.step(c.codes, c.instruction, seed=c.seed, mode="ar")
        restricted = self.engine.step(c.codes, c.instruction, seed=c.seed, mode="ar-restricted")
        self.assertFalse(free.early)
        self.assertNotEqual(list(free.region), list(restricted.region))

    def test_close(self):
        c = self.cases[0]
        before = udvla.live_engines()
        with udvla.Engine(MODEL, backend="reference") as ref:
            self.assertEqual(ref.info.backend, "reference")
            self.assertEqual(udvla.live_engines(), before + 1)
            r = ref.step(c.codes, c.instruction, **golden.step_kwargs(c))
            self.assertEqual(list(r.region), c.region)
        self.assertTrue(ref.closed)
        self.assertEqual(udvla.live_engines(), before)
        with self.assertRaises(udvla.ClosedError):
            ref.step(c.codes, c.instruction)
        ref.close()  # a second close does nothing

    def test_low_level_alloc(self):
        """udvla_step_alloc and udvla_result_free through the raw declarations."""
        lib = udvla.load_library()
        c = self.cases[0]
        req = _native.new(_native.Request)
        instr = (ctypes.c_int32 * max(len(c.instruction), 1))(*c.instruction)
        req.instruction, req.instruction_len = instr, len(c.instruction)
        cams = [(ctypes.c_int32 * len(x))(*x) for x in c.codes]
        ptrs = (_native.c_int32_p * len(cams))(*[ctypes.cast(a, _native.c_int32_p) for a in cams])
        counts = (ctypes.c_size_t * len(cams))(*[len(x) for x in c.codes])
        req.codes, req.code_counts, req.num_cameras = ptrs, counts, len(cams)
        req.seed, req.steps, req.mode, req.mask, req.no_cache = c.seed, c.steps, c.mode, c.mask, c.no_cache
        out = ctypes.POINTER(_native.Result)()
        self.assertEqual(lib.udvla_step_alloc(self.engine.handle, ctypes.byref(req), ctypes.byref(out)), 0)
        res = out.contents
        self.assertEqual(res.region[: res.region_len], c.region)
        self.assertEqual(res.action_tokens[: res.action_tokens_len], c.tokens)
        self.assertEqual(udvla.live_results(), 1)
        self.assertEqual(lib.udvla_result_free(out), 0)
        self.assertEqual(lib.udvla_result_free(out), _native.ERR_INVALID_ARGUMENT)
        self.assertEqual(udvla.live_results(), 0)
        req.struct_size = 8
        self.assertEqual(lib.udvla_step_alloc(self.engine.handle, ctypes.byref(req), ctypes.byref(out)),
                         _native.ERR_STRUCT_SIZE)
        self.assertIn("struct_size", lib.udvla_last_error().decode())


class BuffersTest(unittest.TestCase):
    """Inputs are read without a copy where the buffer allows it, converted otherwise."""

    def test_zero_copy(self):
        from udvla._buffers import int32_view
        a = array.array("i", [random.randrange(-2**31, 2**31) for _ in range(37)])
        v = int32_view(a, "a")
        self.assertEqual(ctypes.addressof(v.ptr), a.buffer_info()[0])
        self.assertEqual(v.tolist(), list(a))
        b = bytearray(4 * 23)
        mv = memoryview(b).cast("i")
        mv[5] = -77
        v = int32_view(mv, "mv")
        self.assertEqual(ctypes.addressof(v.ptr), ctypes.addressof(ctypes.c_char.from_buffer(b)))
        self.assertEqual(v.tolist()[5], -77)
        # a 2-D int32 buffer (as a numpy image would be) is read in C order, still in place
        grid = memoryview(bytearray(4 * 15)).cast("B").cast("i", (3, 5))
        grid[2, 4] = 99
        v = int32_view(grid, "grid")
        self.assertEqual(v.n, 15)
        self.assertEqual(v.tolist()[14], 99)

    def test_converted(self):
        from udvla._buffers import int32_view
        vals = [random.randrange(-2**31, 2**31) for _ in range(19)]
        ro = memoryview(array.array("i", vals).tobytes()).cast("i")  # read-only: copied
        self.assertEqual(int32_view(ro, "ro").tolist(), vals)
        wide = array.array("q", vals)  # int64, as numpy's default integer: converted
        self.assertEqual(int32_view(wide, "wide").tolist(), vals)
        self.assertEqual(int32_view(range(5), "range").tolist(), [0, 1, 2, 3, 4])
        self.assertEqual(int32_view([], "empty").n, 0)
        with self.assertRaises(udvla.OutOfRangeError):
            int32_view(array.array("q", [2**31]), "big")
        with self.assertRaises(TypeError):
            int32_view(array.array("d", [0.5]), "float")


if __name__ == "__main__":
    unittest.main()
