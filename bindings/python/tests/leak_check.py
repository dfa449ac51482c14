"""Opens, steps and closes an engine N times (default 100) in one process and checks that the
process does not grow: the library's live-engine count returns to zero and the resident set after
the last cycle stays within a bound of what it was after the warm-up cycles.

    python3 leak_check.py MODEL [CYCLES] [BACKEND]
"""

import random
import sys
import time

import udvla


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def cycle(model, backend, rng):
    with udvla.Engine(model, backend=backend) as e:
        codes = [[rng.randrange(e.info.vocab.codebook_size) for _ in range(c.size)] for c in e.info.cameras]
        r = e.step(codes, [rng.randrange(e.info.vocab.text_size) for _ in range(5)], seed=rng.getrandbits(64),
                   steps=1)
        assert len(r.region) == e.info.region_size


def main():
    model = sys.argv[1]
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    backend = sys.argv[3] if len(sys.argv) > 3 else "vulkan"
    # the first cycles grow the process as the driver, the allocators and the Go heap settle
    warmup = max(cycles // 5, 5)
    rng = random.Random()
    t0 = time.monotonic()
    for _ in range(warmup):
        cycle(model, backend, rng)
    base = rss_kib()
    half = (cycles - warmup) // 2
    mid = base
    for i in range(cycles - warmup):
        cycle(model, backend, rng)
        if i + 1 == half:
            mid = rss_kib()
    end = rss_kib()
    dt = time.monotonic() - t0
    # One engine of the tiny model holds over a megabyte (weights, activations, pipelines), so a
    # leak of anything like an engine per cycle passes these bounds within a few cycles; what
    # stays below them is allocator noise (a few hundred KiB up and down between cycles).
    limit_total, limit_half = 8 * 1024, 3 * 1024
    print(f"leak_check: {cycles} open/step/close cycles ({backend}) in {dt:.1f} s; RSS after {warmup} "
          f"warm-up cycles {base} KiB, half-way {mid} KiB, at the end {end} KiB "
          f"({end - base:+d} KiB, second half {end - mid:+d} KiB); live engines {udvla.live_engines()}, "
          f"live results {udvla.live_results()}")
    if udvla.live_engines() != 0 or udvla.live_results() != 0:
        sys.exit("leak_check: handles left open")
    if end - base > limit_total or end - mid > limit_half:
        sys.exit(f"leak_check: the process grew (limits {limit_total} KiB overall, {limit_half} KiB over the second half)")


if __name__ == "__main__":
    main()
