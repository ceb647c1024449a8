"""pytest fixtures for the QEMU integration tests (DESIGN.md §15).

The `boot` fixture runs one QEMU boot and returns a moat_qemu.BootResult:

    b = boot(test="own_ram", mem="4G", smp=2)
    assert b.passed("own_ram"), b.describe()

Every boot runs with -no-reboot (a reset ends QEMU) unless reboot=True: then a
reset restarts the machine and the same test runs again (the reset attacks).

Each boot's UART output is saved as build/test-logs/<test id>[-N].log. A boot
that hits its timeout is killed and fails the test with the tail of its
output, unless the caller passes fail_on_timeout=False.

A boot without cpu= runs on moat_qemu.DEFAULT_CPU: cortex-a72, or the model named by
the environment variable MOAT_TEST_CPU (scripts/run-integration.sh runs the suite a second
time with MOAT_TEST_CPU="max,pauth-impdef=on"). A test that pins its CPU keeps it; a test
parametrized over CPU models (a "cpu" parameter) already covers each model it names in
the baseline pass, so the second pass deselects it instead of running the same boot twice.

Run from the repository root: /usr/bin/python3 -m pytest tests/integration
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from moat_qemu import (  # noqa: E402
    BASELINE_CPU, DEFAULT_CPU, LOG_DIR, QEMU_LOG_DIR, ROOT, BootResult, qemu_command, run_qemu)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Keep --junitxml (pytest.ini) under the repository's build/ whatever the cwd."""
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath and not os.path.isabs(xmlpath):
        config.option.xmlpath = str(ROOT / xmlpath)


def pytest_report_header(config):
    return f"moat default CPU model: {DEFAULT_CPU}"


def pytest_collection_modifyitems(config, items):
    """In a pass on another CPU model, leave out the tests that pin their model through a
    "cpu" parameter: they boot exactly what the baseline pass already booted."""
    if DEFAULT_CPU == BASELINE_CPU:
        return
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        (drop if callspec is not None and "cpu" in callspec.params else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _safe_name(nodeid: str) -> str:
    name = nodeid.split("::", 1)[-1] if "::" in nodeid else nodeid
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name).strip("_")[:150]


@pytest.fixture
def boot(request):
    """Return a function that boots QEMU once per call (see the module docstring)."""
    base = _safe_name(request.node.nodeid)
    counter = itertools.count()

    def _boot(test: str | None = None, mem: str = "1G", smp: int = 1, kernel: str = "build/moat.bin",
              host: bool = True, append: str = "", extra=(), timeout: float = 60, *,
              cpu: str | None = None, virtualization: bool = True, reboot: bool = False,
              fail_on_timeout: bool = True, secret=True) -> BootResult:
        n = next(counter)
        name = base if n == 0 else f"{base}-{n}"
        needed = [kernel] + (["build/testhost.bin"] if host else [])
        needed += ["build/device-secret.bin"] if secret is True else []
        for path in needed:
            if not (ROOT / path).is_file():
                pytest.fail(f"{path} is missing: run `make` first")
        qemu_log = QEMU_LOG_DIR / f"{name}.log"
        cmd = qemu_command(test=test, mem=mem, smp=smp, kernel=kernel, host=host, append=append,
                           extra=extra, qemu_log=qemu_log, cpu=cpu, virtualization=virtualization,
                           reboot=reboot, secret=secret)
        result = run_qemu(cmd, LOG_DIR / f"{name}.log", qemu_log, timeout)
        if result.timed_out and fail_on_timeout:
            pytest.fail(f"QEMU did not finish within {timeout} s and was killed\n{result.describe()}",
                        pytrace=False)
        return result

    return _boot
