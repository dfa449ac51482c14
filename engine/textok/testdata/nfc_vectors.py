#!/usr/bin/env python3
"""Writes nfc_vectors.json: texts and their NFC by Python's unicodedata, which the reference
tokenizer applies, for engine/textok's NFC to equal. Runs of more than 30 combining marks are the
point: Go's x/text inserts U+034F there (stream-safe format) and Python does not.

    python3 engine/textok/testdata/nfc_vectors.py > engine/textok/testdata/nfc_vectors.json
"""
import json
import random
import sys
import unicodedata

# Combining marks of several classes (all in Unicode 3.2, so every Unicode version agrees):
# 220 below, 230 above, 216 attached right, 202 attached below, 1 overlay, 240 below double.
MARKS = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u0323", "\u0327", "\u031b", "\u0316",
         "\u0334", "\u0345", "\u0328", "\u030a"]
STARTERS = ["a", "e", "o", "u", "A", "O", "\u1100", "\uac00", "x", " ", "\u05d0"]

fixed = [
    "",
    "push the blue block",
    "caf\u00e9 cafe\u0301 \u212b A\u030a",
    "a" + "\u0301" * 31,
    "a" + "\u0302" * 35 + "\u0323",
    "e" + "\u0301" * 29 + "\u0323" + "\u0302" * 3,
    "o" + ("\u0323\u0301\u031b" * 12),
    "\u1100\u1161\u11a8" + "\u0300" * 40 + "\u1100\u1161",
    "\u0301" * 33 + "a",
    "x" + "\u034f" + "\u0301" * 31,
    "pick " + "u" + "\u0308" * 31 + "\u0301" + " up",
]

rng = random.Random(20261206)
texts = list(fixed)
for _ in range(60):
    parts = []
    for _ in range(rng.randint(1, 4)):
        parts.append(rng.choice(STARTERS))
        parts.extend(rng.choice(MARKS) for _ in range(rng.choice([0, 1, 3, 29, 30, 31, 32, 45, 70])))
    texts.append("".join(parts))

json.dump({"unidata_version": unicodedata.unidata_version,
           "vectors": [[t, unicodedata.normalize("NFC", t)] for t in texts]}, sys.stdout, indent=0)
sys.stdout.write("\n")
