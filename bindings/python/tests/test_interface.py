"""Tests of the Python package's promises as a user meets them: inputs of any layout, argument
types, exception classes, cancellation, and a binding for every function of the C ABI.

Environment: as test_udvla (UDVLA_MODEL, UDVLA_GOLDEN, the library), and UDVLA_HEADER, the
udvla.h the library was built from (default: the repository's capi/udvla.h).
"""

import array
import ctypes
import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

import udvla
from udvla import _native

import golden

MODEL = os.environ.get("UDVLA_MODEL", "testdata/tiny.udvla")
GOLDEN = os.environ["UDVLA_GOLDEN"]
HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.environ.get("UDVLA_HEADER", os.path.join(HERE, "..", "..", "..", "capi", "udvla.h"))

try:
    import numpy
except ImportError:
    numpy = None


def setUpModule():
    global CASES, ENGINE
    CASES = golden.load(GOLDEN)
    ENGINE = udvla.Engine(MODEL)


def tearDownModule():
    ENGINE.close()


class LayoutTest(unittest.TestCase):
    """Codes of any shape and memory layout are read in C order."""

    def check(self, case, codes):
        why = golden.mismatch(case, ENGINE.step(codes, case.instruction, **golden.step_kwargs(case)))
        if why:
            self.fail(why)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_non_contiguous(self):
        cams = ENGINE.info.cameras
        for case in CASES[:3]:
            grids = [numpy.array(x, dtype=numpy.int32).reshape(c.height, c.width) for x, c in zip(case.codes, cams)]
            # every other row and column of a larger image
            strided = []
            for g in grids:
                big = numpy.full((2 * g.shape[0], 2 * g.shape[1]), -7, dtype=numpy.int32)
                big[::2, ::2] = g
                strided.append(big[::2, ::2])
            self.assertFalse(strided[0].flags.c_contiguous)
            self.check(case, strided)
            # transposed views, int32 and int64, and Fortran order
            self.check(case, [g.T.copy().T for g in grids])
            self.check(case, [g.astype(numpy.int64).T.copy().T for g in grids])
            self.check(case, [numpy.asfortranarray(g) for g in grids])
            # a read-only non-contiguous view
            ro = [g.T.copy().T for g in grids]
            for g in ro:
                g.flags.writeable = False
            self.check(case, ro)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_zero_copy(self):
        from udvla._buffers import int32_view
        a = numpy.arange(35, dtype=numpy.int32).reshape(5, 7)
        self.assertEqual(ctypes.addressof(int32_view(a, "a").ptr), a.ctypes.data)
        t = a.T
        v = int32_view(t, "t")
        self.assertNotEqual(ctypes.addressof(v.ptr), a.ctypes.data)
        self.assertEqual(v.tolist(), t.flatten(order="C").tolist())
        with self.assertRaises(udvla.OutOfRangeError):
            int32_view(numpy.full((3, 4), 2**31, dtype=numpy.int64).T, "big")
        with self.assertRaises(TypeError):
            int32_view(numpy.zeros((3, 4)).T, "float")

    def test_strided_buffer_without_numpy(self):
        """Non-contiguous buffers need no numpy: a strided memoryview, read in order, in a process
        where importing numpy fails."""
        code = r"""
import array, os, sys
sys.modules["numpy"] = None  # import numpy raises ImportError
sys.path.insert(0, sys.argv[1])
import udvla, golden
case = golden.load(os.environ["UDVLA_GOLDEN"])[0]
codes = []
for x in case.codes:
    a = array.array("i", [-7] * (2 * len(x)))
    a[::2] = array.array("i", x)
    mv = memoryview(a)[::2]
    assert not mv.c_contiguous
    codes.append(mv)
with udvla.Engine(os.environ.get("UDVLA_MODEL", "testdata/tiny.udvla")) as e:
    r = e.step(codes, case.instruction, **golden.step_kwargs(case))
why = golden.mismatch(case, r)
assert why is None, why
print("ok")
"""
        p = subprocess.run([sys.executable, "-c", code, HERE], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "ok")

    def test_numpy_never_imported(self):
        code = ("import sys, udvla\n"
                "from udvla._buffers import int32_view\n"
                "int32_view(memoryview(bytearray(16)).cast('i')[::2], 'x'); int32_view([1, 2], 'y')\n"
                "print('numpy' in sys.modules)")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "False")


class ArgumentsTest(unittest.TestCase):
    """Arguments of the wrong type raise TypeError, before anything reaches the library."""

    def test_open_types(self):
        for bad in (None, 42, 3.5, ["model.udvla"]):
            with self.assertRaises(TypeError) as cm:
                udvla.Engine(bad)
            self.assertIn("model_path", str(cm.exception))
        with self.assertRaises(TypeError):
            udvla.Engine(MODEL, backend=1)
        with self.assertRaises(TypeError):
            udvla.Engine(MODEL, device=1.5)
        with self.assertRaises(TypeError):
            udvla.Engine(MODEL, validate="yes")
        with self.assertRaises(TypeError):
            udvla.Engine(MODEL, max_instruction="64")
        with self.assertRaises(TypeError):
            udvla.Engine(MODEL, max_instruction=True)
        with self.assertRaises(ValueError):
            udvla.Engine(MODEL + "\0.txt")
        with self.assertRaises(udvla.InvalidArgumentError):
            udvla.Engine(MODEL, max_instruction=2**40)

    def test_open_paths(self):
        """A pathlib.Path and a bytes path open the model (bytes were once read as "b'...'")."""
        for path in (pathlib.Path(MODEL), os.fsencode(MODEL)):
            with udvla.Engine(path, backend="reference") as e:
                self.assertEqual(e.info.region_size, ENGINE.info.region_size)

    def test_step_types(self):
        c = CASES[0]
        kw = golden.step_kwargs(c)
        for name, bad in (("seed", "1"), ("seed", 1.0), ("steps", 1.5), ("steps", None), ("mode", 0),
                          ("mask", None), ("no_cache", "no"), ("out", object())):
            with self.assertRaises(TypeError, msg=name) as cm:
                ENGINE.step(c.codes, c.instruction, **{**kw, name: bad})
            self.assertIn(name, str(cm.exception))
        with self.assertRaises(TypeError):
            ENGINE.step(None, c.instruction, **kw)
        # steps beyond int32 were once truncated to a valid count (2**32 + 1 ran 1 step)
        with self.assertRaises(udvla.OutOfRangeError):
            ENGINE.step(c.codes, c.instruction, **{**kw, "steps": 2**32 + 1})
        why = golden.mismatch(c, ENGINE.step(c.codes, c.instruction, **kw))
        self.assertIsNone(why)


class ErrorsTest(unittest.TestCase):
    def test_not_found_is_file_not_found(self):
        missing = os.path.join(HERE, "no-such-model.udvla")
        for catch in (FileNotFoundError, OSError, udvla.NotFoundError, udvla.Error):
            with self.assertRaises(catch):
                udvla.Engine(missing)
        try:
            udvla.Engine(missing)
        except FileNotFoundError as e:
            self.assertEqual(e.status, _native.ERR_NOT_FOUND)
            self.assertEqual(e.filename, missing)
            self.assertIn("no-such-model.udvla", str(e))

    def test_status_classes(self):
        """Every status of the header has its exception class."""
        statuses = {name: int(v) for name, v in re.findall(r"\b(UDVLA_(?:OK|ERR_\w+)) = (\d+)", _header())}
        from udvla._errors import _BY_STATUS
        for name, v in statuses.items():
            if v == 0:
                continue
            self.assertIn(v, _BY_STATUS, name)
            self.assertEqual(_BY_STATUS[v].status_name, name)
            self.assertEqual(udvla.load_library().udvla_status_string(v).decode(), name)


def _header():
    with open(HEADER) as f:
        return f.read()


class NativeTest(unittest.TestCase):
    def test_every_function_bound(self):
        """Every function of udvla.h, and every udvla_* symbol the library exports, is declared in
        _native.py with its types."""
        declared = set(re.findall(r"^UDVLA_API\b[^(;]*?\b(udvla_\w+)\s*\(", _header(), re.M))
        self.assertGreaterEqual(len(declared), 16)
        self.assertEqual(declared - set(_native._PROTOTYPES), set(), "functions of udvla.h not bound")
        self.assertEqual(set(_native._PROTOTYPES) - declared, set(), "bound but not in udvla.h")
        nm = shutil.which("nm")
        if nm is None:
            self.skipTest("nm is not installed")
        out = subprocess.run([nm, "-D", "--defined-only", udvla.load_library()._name],
                             capture_output=True, text=True, check=True).stdout
        exported = set(re.findall(r" T (udvla_\w+)$", out, re.M))
        self.assertEqual(exported, declared)

    def test_model_info_by_name(self):
        raw = _native.new(_native.ModelInfo)
        lib = udvla.load_library()
        self.assertEqual(lib.udvla_get_model_info(ENGINE.handle, ctypes.byref(raw)), 0)
        info = ENGINE.info
        for f in dataclasses.fields(info):
            if f.name in ("vocab", "cameras", "backend"):
                continue
            want = getattr(raw, f.name)
            want = want.decode() if isinstance(want, bytes) else want
            self.assertEqual(getattr(info, f.name), type(getattr(info, f.name))(want), f.name)
        for f in dataclasses.fields(info.vocab):
            if f.name != "header_ids":
                got = getattr(info.vocab, f.name)
                self.assertEqual(got, type(got)(getattr(raw.vocab, f.name)), f.name)
        self.assertEqual(info.vocab.header_ids, tuple(raw.vocab.header_ids[: raw.vocab.num_header_ids]))

    def test_validation_messages(self):
        self.assertEqual(ENGINE.validation_messages(), 0)
        e = udvla.Engine(MODEL, backend="reference")
        self.assertEqual(e.validation_messages(), 0)
        e.close()
        with self.assertRaises(udvla.ClosedError):
            e.validation_messages()


class CancelTest(unittest.TestCase):
    def test_cancel_long_step(self):
        """A step of 1024 denoising steps, cancelled from another thread, raises CancelledError;
        the engine then gives the expected results."""
        c = CASES[0]
        with udvla.Engine(MODEL) as e:
            e.cancel()  # nothing in progress: no effect on the steps that follow
            self.assertIsNone(golden.mismatch(c, e.step(c.codes, c.instruction, **golden.step_kwargs(c))))
            outcome = []

            def long_step():
                try:
                    e.step(c.codes, c.instruction, seed=1, steps=1024, no_cache=True)
                    outcome.append("finished")
                except BaseException as err:  # noqa: B902 - the test reports what it was
                    outcome.append(err)

            t = threading.Thread(target=long_step)
            t.start()
            while t.is_alive():  # until the step has registered, a cancel finds nothing to stop
                e.cancel()
                time.sleep(0.002)
            t.join()
            self.assertEqual(len(outcome), 1)
            self.assertIsInstance(outcome[0], udvla.CancelledError, outcome[0])
            self.assertEqual(outcome[0].status, _native.ERR_CANCELLED)
            self.assertIn("cancel", str(outcome[0]))
            self.assertIsNone(golden.mismatch(c, e.step(c.codes, c.instruction, **golden.step_kwargs(c))))
        with self.assertRaises(udvla.ClosedError):
            e.cancel()


if __name__ == "__main__":
    unittest.main()
