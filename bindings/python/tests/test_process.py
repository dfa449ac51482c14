"""Tests of the library's process-level behaviour through the Python package: settings read from
os.environ at the time of the call, the max_instruction bound, and forked children that raise
ForkedError instead of hanging.

Environment: UDVLA_MODEL (the tiny model), the library through UDVLA_LIBRARY or beside the package.
"""

import multiprocessing
import os
import unittest

import udvla

MODEL = os.environ.get("UDVLA_MODEL", "testdata/tiny.udvla")

# Seconds a forked child may take before the test calls it hung.
CHILD_TIMEOUT = 60

# The most tokens one forward embeds.
MAX_SEQUENCE = 65535


class EnvironmentTest(unittest.TestCase):
    def setUp(self):
        self.saved = os.environ.get("UDVLA_DEVICE")

    def tearDown(self):
        if self.saved is None:
            os.environ.pop("UDVLA_DEVICE", None)
        else:
            os.environ["UDVLA_DEVICE"] = self.saved

    def test_device_read_when_opening(self):
        os.environ["UDVLA_DEVICE"] = "no-such-device"
        with self.assertRaises(udvla.DeviceError) as cm:
            udvla.Engine(MODEL)
        self.assertIn("no-such-device", str(cm.exception))
        # a device named by the caller wins over UDVLA_DEVICE
        with udvla.Engine(MODEL, device="0") as e:
            self.assertTrue(e.info.backend_name.startswith("vulkan"))
        os.environ.pop("UDVLA_DEVICE")
        with udvla.Engine(MODEL) as e:
            self.assertGreater(e.handle, 0)


class MaxInstructionTest(unittest.TestCase):
    def test_bound_refused_at_open_naming_the_limit(self):
        with udvla.Engine(MODEL, backend="reference") as e:
            info = e.info
        blocks = info.region_size - info.action_len
        limit = MAX_SEQUENCE - 1 - blocks - info.region_size
        for n in (limit + 1, 65536):
            with self.assertRaises(udvla.OutOfRangeError) as cm:
                udvla.Engine(MODEL, max_instruction=n)
            self.assertIn(str(limit), str(cm.exception))
        with udvla.Engine(MODEL, backend="reference", max_instruction=limit) as e:
            self.assertEqual(e.info.max_instruction, limit)


def _forked_child(model, handle):
    """Runs in a forked worker: every call must raise ForkedError. Returns what each call did."""
    out = []
    try:
        udvla.Engine(model)
        out.append("open: no error")
    except udvla.ForkedError as e:
        out.append("open: ForkedError: " + str(e))
    except Exception as e:  # noqa: BLE001 - reported to the parent as a failure
        out.append(f"open: {type(e).__name__}: {e}")
    lib = udvla.load_library()
    out.append(f"close: status {lib.udvla_close(handle)}")
    out.append(f"live engines: {udvla.live_engines()}")
    return out


class ForkTest(unittest.TestCase):
    def test_fork_start_method_raises_instead_of_hanging(self):
        # two engines open in the parent, as a controller with several models would have
        engines = [udvla.Engine(MODEL), udvla.Engine(MODEL)]
        try:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(2) as pool:
                pending = [pool.apply_async(_forked_child, (MODEL, e.handle)) for e in engines]
                try:
                    results = [p.get(timeout=CHILD_TIMEOUT) for p in pending]
                except multiprocessing.TimeoutError:
                    pool.terminate()
                    self.fail(f"a forked worker hung for {CHILD_TIMEOUT} s")
            for out in results:
                self.assertTrue(out[0].startswith("open: ForkedError: "), out)
                self.assertIn("spawn", out[0])
                self.assertEqual(out[1], f"close: status {udvla.ForkedError.status}", out)
                self.assertEqual(out[2], "live engines: 0", out)
            # the parent's engines are unaffected
            self.assertEqual(udvla.live_engines(), 2)
            for e in engines:
                self.assertGreater(e.info.region_size, 0)
        finally:
            for e in engines:
                e.close()

    def test_spawn_start_method_works(self):
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            n = pool.apply_async(_spawned_child, (MODEL,)).get(timeout=CHILD_TIMEOUT)
        self.assertGreater(n, 0)


def _spawned_child(model):
    with udvla.Engine(model) as e:
        return e.info.region_size


if __name__ == "__main__":
    unittest.main()
