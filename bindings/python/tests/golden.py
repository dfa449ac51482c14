"""Reads the expected results that capi/golden writes (the Go engine's, for random requests)."""

import array


class Case:
    pass


def load(path):
    with open(path) as f:
        tok = f.read().split()
    pos = 0

    def word(expect):
        nonlocal pos
        if tok[pos] != expect:
            raise ValueError(f"{path}: expected {expect!r} at token {pos}, got {tok[pos]!r}")
        pos += 1

    def num():
        nonlocal pos
        pos += 1
        return int(tok[pos - 1])

    def ints(key):
        word(key)
        n = num()
        return [num() for _ in range(n)]

    word("udvla-golden")
    if num() != 1:
        raise ValueError(f"{path}: unknown version")
    word("cases")
    cases = []
    for _ in range(num()):
        c = Case()
        word("case")
        c.seed, c.steps, c.mode, c.mask, c.no_cache = num(), num(), num(), num(), num()
        c.instruction = ints("instruction")
        word("cameras")
        c.codes = [ints("codes") for _ in range(num())]
        c.region, c.future, c.tokens = ints("region"), ints("future"), ints("tokens")
        word("flags")
        c.eoa_found, c.actions_complete, c.generated = num(), num(), num()
        word("actions")
        c.rows, c.dims = num(), num()
        c.action_bits = array.array("I", [num() for _ in range(c.rows * c.dims)])
        cases.append(c)
    return cases


MODES = {0: "jd3p", 1: "ar-restricted", 2: "id", 3: "ar"}
MASKS = {0: "model", 2: "paper"}


def step_kwargs(c):
    return dict(seed=c.seed, steps=c.steps, mode=MODES[c.mode], mask=MASKS[c.mask], no_cache=bool(c.no_cache))


def mismatch(c, r):
    """Why result r differs from case c, or None."""
    if list(r.region) != c.region:
        return f"region {list(r.region)} != {c.region}"
    if list(r.future_codes) != c.future:
        return f"future codes {list(r.future_codes)} != {c.future}"
    if list(r.action_tokens) != c.tokens:
        return f"action tokens {list(r.action_tokens)} != {c.tokens}"
    if (r.eoa_found, r.actions_complete, r.generated) != (bool(c.eoa_found), bool(c.actions_complete), c.generated):
        return "flags differ"
    if (r.horizon, r.dims) != (c.rows, c.dims):
        return f"actions {r.horizon}x{r.dims} != {c.rows}x{c.dims}"
    if r.actions.tobytes() != c.action_bits.tobytes():
        return "action values differ"
    return None
