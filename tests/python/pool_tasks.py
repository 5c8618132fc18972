"""Task functions for the pool tests, in a module of their own on purpose: a job
unpickles a function by importing its module, and a test module that imports
scikit-learn at the top costs every job of trivial tasks about a second of CPU
(measured: importing test_htcondor_backend 1.08 s, this module a few ms) on the
testbed's 2 cores. Only the standard library here."""

from __future__ import annotations

import time


def slow_square(x: int) -> int:
    time.sleep(1.0)
    return x * x


def tiny(x: int) -> int:
    time.sleep(0.001)
    return x + 1
