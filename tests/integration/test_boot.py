"""moat boots, hands the machine to the test host at EL1 and keeps its memory.

One QEMU boot per test: build/moat.bin as the kernel, build/testhost.bin at
0x41000000, the test host's test chosen with "test=NAME" in bootargs.

Assertions that depend on the core's log wording go through the
CORE-LOG-FORMAT helpers in moat_qemu.py; assertions on core behaviour that
is expected to change are flagged CORE-BEHAVIOUR below.
"""

from __future__ import annotations

import re

import pytest

from moat_qemu import (
    CORE_ACCESS_WORDS,
    PAGE_SIZE,
    RAM_BASE,
    core_refusal_lines,
    line_mentions_value,
    parse_dtb_info,
    parse_own_ram,
    parse_probe,
    parse_size,
)

MEM_SIZES = ["256M", "1G", "4G"]
SMP_COUNTS = [1, 2, 4]

# CORE-BEHAVIOUR: the core does not start secondary CPUs yet (DESIGN §12), so
# PSCI CPU_ON from the host is vetted and forwarded (core/cpu_power.c): secondaries start.
CPU_ON_REFUSED = False

# What each core_* test does, and the ESR_EL1.EC the host must see.
CORE_ACCESS = {
    "core_read": ("read", 0x25, 0x200),
    "core_write": ("write", 0x25, 0x200),
    "core_exec": ("execute", 0x21, 0x200),
    "core_read_el0": ("read", 0x24, 0x400),
}


def assert_passed(b, name):
    assert b.passed(name), f"test host test {name!r} did not pass: {b.failures(name)}\n{b.describe()}"


def timeout_for(mem: str) -> int:
    # own_ram touches every page: at 4 GiB that is 1 M pages under TCG.
    return 180 if parse_size(mem) > (1 << 30) else 60


@pytest.mark.parametrize("smp", [1, 2])
def test_boot_protocol(boot, smp):
    """x0..x3, PSTATE, SCTLR_EL1 at host entry; counters and GIC sysregs usable at EL1."""
    b = boot(test="boot_protocol", smp=smp)
    assert_passed(b, "boot_protocol")


@pytest.mark.parametrize("name", list(CORE_ACCESS))
def test_core_memory_refused(boot, name):
    verb, ec, vector = CORE_ACCESS[name]
    b = boot(test=name)
    assert_passed(b, name)
    probe = parse_probe(b)
    assert probe, f"no 'probe: ... refused by moat' line\n{b.describe()}"
    assert probe.esr >> 26 == ec, f"ESR_EL1 {probe.esr:#x}: EC is not {ec:#x}"
    assert probe.vector == vector
    assert probe.far == probe.pa
    region = core_region_from_probe(b)
    assert region and region[0] <= probe.pa < region[1], f"{probe.pa:#x} is not in the core region {region}"
    page = probe.pa & ~(PAGE_SIZE - 1)
    # CORE-LOG-FORMAT: a moat: line names the page, its owner (core) and the host PC.
    lines = core_refusal_lines(b, page)
    assert lines, f"no moat: line names page {page:#x} with owner core\n{b.describe()}"
    assert any(line_mentions_value(line, probe.host_pc) for line in lines), \
        f"no moat: line names the host PC {probe.host_pc:#x}: {lines}"
    word = CORE_ACCESS_WORDS[verb]
    assert any(word in line for line in lines), f"no moat: line says {word!r}: {lines}"
    assert b.lines_starting("host: still running"), "the host did not report that it carried on"


def core_region_from_probe(b):
    """(start, end) of the core region as the test host printed it, if it did."""
    m = re.search(r"^probe: core memory is \S+: (0x[0-9a-f]+)-(0x[0-9a-f]+)", b.output, re.M)
    return (int(m.group(1), 16), int(m.group(2), 16) + 1) if m else None


def test_reserved_all_refused(boot):
    b = boot(test="reserved_all")
    assert_passed(b, "reserved_all")
    refused = re.findall(r"^probe: (?:read|write) of \S+ at PA (0x[0-9a-f]+) -> refused by moat",
                         b.output, re.M)
    m = re.search(r"^reserved_all: (\d+) regions refused", b.output, re.M)
    assert m and int(m.group(1)) >= 1, b.describe()
    assert len(refused) == 4 * int(m.group(1)), b.describe()
    for pa in refused:
        # CORE-LOG-FORMAT (and the core's rate limit: these 4 x regions refusals are all logged)
        page = int(pa, 16) & ~(PAGE_SIZE - 1)
        assert core_refusal_lines(b, page), f"no moat: line for {pa}\n{b.describe()}"


@pytest.mark.parametrize("name,ec,vector", [("device_exec", 0x21, 0x200), ("device_exec_el0", 0x20, 0x400)])
def test_device_exec_refused(boot, name, ec, vector):
    """A stage-2 permission fault on a page the host owns (fetch from an XN device page) is refused, not
    retried: before the fix the host bounced between EL1 and EL2 forever and the boot timed out."""
    b = boot(test=name, timeout=30)
    assert_passed(b, name)
    probe = parse_probe(b)
    assert probe and probe.pa == 0x08000000, b.describe()
    assert probe.esr >> 26 == ec and probe.esr & 0x3F == 0x10, f"ESR_EL1 {probe.esr:#x}"
    assert probe.vector == vector and probe.far == probe.pa and probe.host_pc == probe.pa
    # CORE-LOG-FORMAT: one line says it was a permission fault, with the host's address and PC.
    lines = [line for line in b.core_lines if "permission fault" in line]
    assert lines and line_mentions_value(lines[0], probe.far), f"no moat: permission-fault line\n{b.describe()}"
    assert "instruction fetch" in lines[0], lines


def test_fw_cfg_refused(boot):
    b = boot(test="fw_cfg")
    assert_passed(b, "fw_cfg")
    probe = parse_probe(b)
    assert probe and probe.pa == 0x09020000, b.describe()
    assert probe.esr & 0x3F == 0x10, f"DFSC of ESR_EL1 {probe.esr:#x} is not 0x10"
    # CORE-LOG-FORMAT: the refusal is logged with the page.
    assert any(f"{0x09020000:#x}" in line for line in b.core_lines), \
        f"no moat: line names the fw_cfg page\n{b.describe()}"


@pytest.mark.parametrize("mem", MEM_SIZES)
def test_dtb_info_memory(boot, mem):
    b = boot(test="dtb_info", mem=mem)
    assert_passed(b, "dtb_info")
    info = parse_dtb_info(b)
    size = parse_size(mem)
    assert info.mem, b.describe()
    assert info.source == "from-x0", "the core did not pass the DTB in x0"
    assert info.mem[0][0] == RAM_BASE
    assert sum(s for _, s in info.mem) == size, f"banks {info.mem} do not add up to {mem}"
    assert info.reserved, f"no /reserved-memory child in the host DTB\n{b.describe()}"
    for base, rsize, node in info.reserved:
        assert any(b0 <= base and base + rsize <= b0 + s0 for b0, s0 in info.mem), \
            f"reserved {node} {base:#x}+{rsize:#x} is not inside RAM {info.mem}"
    assert info.bootargs is not None and "test=dtb_info" in info.bootargs
    assert info.psci == "smc"
    assert info.fw_cfg == "absent"


@pytest.mark.parametrize("mem", MEM_SIZES)
def test_own_ram(boot, mem):
    b = boot(test="own_ram", mem=mem, timeout=timeout_for(mem))
    assert_passed(b, "own_ram")
    r = parse_own_ram(b)
    size = parse_size(mem)
    assert r, f"no own_ram summary\n{b.describe()}"
    assert r.banks == 1
    assert (r.checked + r.skipped) * PAGE_SIZE == size, "checked + skipped pages do not cover RAM"
    # The core, the test host's image and the DTB are small next to RAM.
    assert r.skipped * PAGE_SIZE <= size // 4, f"{r.skipped} pages skipped"


@pytest.mark.parametrize("smp", SMP_COUNTS)
def test_dtb_info_cpus(boot, smp):
    b = boot(test="dtb_info", smp=smp)
    assert_passed(b, "dtb_info")
    assert parse_dtb_info(b).cpus == smp


@pytest.mark.parametrize("smp", SMP_COUNTS)
def test_psci(boot, smp):
    b = boot(test="psci", smp=smp)
    assert_passed(b, "psci")
    m = re.search(r"^psci: version (0x[0-9a-f]+)", b.output, re.M)
    assert m and int(m.group(1), 16) >= 0x10000, b.describe()
    if smp >= 2 and CPU_ON_REFUSED:
        assert re.search(r"^psci: CPU_ON\(mpidr 0x1\) refused: -\d+$", b.output, re.M), b.describe()
    if smp >= 2 and not CPU_ON_REFUSED:
        assert "psci: CPU_ON(mpidr 0x1) started the CPU; it turned itself off again" in b.lines, b.describe()
        assert not b.lines_starting("psci: CPU_ON(mpidr 0x1) refused"), b.describe()
        assert any(re.search(r"CPU 1 \(MPIDR 0x1\) up: entering the host at 0x", l) for l in b.core_lines), b.describe()
    assert b.lines_starting("psci: host carries on")


def test_hvc_version(boot):
    b = boot(test="hvc_version")
    assert_passed(b, "hvc_version")
    assert "hvc: MOAT_FN_VERSION -> status 0, version 0x10003" in b.lines
    assert "hvc: MOAT_FN(0x7ff) -> status -1" in b.lines
    assert "hvc: MOAT_FN_VERSION with x4..x6 non-zero -> status -2" in b.lines
    assert len([line for line in b.lines if line.endswith(", x4..x30 preserved")]) == 3, b.describe()


def test_demo(boot):
    b = boot(test="demo", timeout=30)
    assert_passed(b, "demo")
    refused = b.lines_starting("demo: ")
    assert sum("-> refused by moat" in line for line in refused) == 6, b.describe()
    assert "guest: hello from a moat VM" in b.lines
    assert sum("the protected guest's code page" in line and "refused by moat" in line for line in refused) == 2
    assert any(line.endswith("reads 0x0 (scrubbed by moat)") for line in refused), b.describe()
    assert any("owner vm0" in line for line in b.core_lines), b.describe()
    assert "demo: host kept running after 6 refused accesses" in b.lines
