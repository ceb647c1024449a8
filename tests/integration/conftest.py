"""pytest fixtures for the QEMU integration tests (DESIGN.md §15).

The `boot` fixture runs one QEMU boot and returns a moat_qemu.BootResult:

    b = boot(test="own_ram", mem="4G", smp=2)
    assert b.passed("own_ram"), b.describe()

Every boot runs with -no-reboot (a reset ends QEMU) unless reboot=True: then a
reset restarts the machine and the same test runs again (the reset attacks).

Each boot's UART output is saved as build/test-logs/<test id>[-N].log. A boot
that hits its timeout is killed and fails the test with the tail of its
output, unless the caller passes fail_on_timeout=False.

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

from moat_qemu import LOG_DIR, QEMU_LOG_DIR, ROOT, BootResult, qemu_command, run_qemu  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Keep --junitxml (pytest.ini) under the repository's build/ whatever the cwd."""
    xmlpath = getattr(config.option, "xmlpath", None)
    if xmlpath and not os.path.isabs(xmlpath):
        config.option.xmlpath = str(ROOT / xmlpath)


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
              cpu: str = "cortex-a72", virtualization: bool = True, reboot: bool = False,
              fail_on_timeout: bool = True) -> BootResult:
        n = next(counter)
        name = base if n == 0 else f"{base}-{n}"
        for path in [kernel] + (["build/testhost.bin"] if host else []):
            if not (ROOT / path).is_file():
                pytest.fail(f"{path} is missing: run `make` first")
        qemu_log = QEMU_LOG_DIR / f"{name}.log"
        cmd = qemu_command(test=test, mem=mem, smp=smp, kernel=kernel, host=host, append=append,
                           extra=extra, qemu_log=qemu_log, cpu=cpu, virtualization=virtualization,
                           reboot=reboot)
        result = run_qemu(cmd, LOG_DIR / f"{name}.log", qemu_log, timeout)
        if result.timed_out and fail_on_timeout:
            pytest.fail(f"QEMU did not finish within {timeout} s and was killed\n{result.describe()}",
                        pytrace=False)
        return result

    return _boot
