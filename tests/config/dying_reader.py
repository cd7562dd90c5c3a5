"""A reader for the worker-crash tests: the real one, except that a worker process dies outright
(no exception, no cleanup: as a crash in C code or the kernel's OOM killer ends it) on a message
holding :data:`DIE`."""

from __future__ import annotations

import os

from config.readers import read_tasks

DIE = b"X-Test-Kill-Reader: yes"


def read_or_die(tasks, encoder, analyse, parser):
    if any(DIE in raw for _, raw, _ in tasks):
        os._exit(9)
    return read_tasks(tasks, encoder, analyse, parser)
