#!/usr/bin/python3
"""Write the seed corpus of tests/fuzz/fuzz_host_abi.c into tests/fuzz/corpus/.

Each seed is a short script of the harness's operations (the byte format is
described at the top of fuzz_host_abi.c; the opcodes and operand orders here
must match it) that walks a VM through its life: create, memcache, vCPU, load,
boot entry, finalize, runs with scripted guest exits (demand paging, MMIO,
PSCI, WFI, faults), destroy and reclaim -- so the fuzzer starts from deep
states instead of having to discover the call sequence.

Run from anywhere: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import struct
import sys

# Operations (fuzz_host_abi.c: raw calls are MOAT_FN numbers 0..MOAT_FN_COUNT - 1, the harness's own
# operations follow from MOAT_FN_COUNT on: keep FN_COUNT in step with include/moat/abi.h).
VERSION, CAPS, VM_CREATE, VM_DESTROY, VCPU_CREATE, DONATE_CORE, SHARE_CORE, UNSHARE_CORE = range(8)
DONATE_VM, LOAD, SHARE_VM, SET_BOOT, FINALIZE, VCPU_RUN, GET_REG, SET_REG = range(8, 16)
RECLAIM, STATS, CHECK, MEASUREMENT, VM_SET_SPIS, IRQ_LINE, GUEST_SHARED = range(16, 23)
FN_COUNT = 23
(OP_UNKNOWN_FID, OP_CREATE, OP_DONATE_CORE, OP_VCPU, OP_LOAD, OP_DONATE_VM, OP_SHARE_VM, OP_SET_BOOT,
 OP_FINALIZE, OP_RUN, OP_FAULT_DONATE, OP_DESTROY, OP_RECLAIM, OP_UNSHARE, OP_CPU, OP_REG,
 OP_FINALIZE_SIGNED) = range(FN_COUNT, FN_COUNT + 17)

# Config byte: bit 7 = the big layout (a whole 2 MiB host block), else the small one;
# (config & 0x7f) < 0x20 = a tiny boot pool of what boot needs + (config & 3) pages.
CONFIG_FULL_POOL = 0x40
CONFIG_BIG = 0x80
CONFIG_TINY_POOL = 0x00

# Guest exits (queue_exits): kind selectors and sync-exit EC selectors.
K_SYNC, K_IRQ, K_SERROR, K_FIQ = 0, 10, 11, 12
E_HVC, E_WFI, E_SYSREG, E_DABT, E_DABT_ISV, E_IABT, E_SMC = 0, 1, 2, 3, 3 | 8, 5, 6
# x0 selectors: index into psci_ids[] in the harness.
PSCI = {"VERSION": 0, "FEATURES": 1, "CPU_SUSPEND": 3, "CPU_ON": 6, "AFFINITY_INFO": 8,
        "SYSTEM_OFF": 10, "SYSTEM_RESET": 11, "SMCCC_VERSION": 12, "ARCH_FEATURES": 13}

# Data-abort ISS fields.
SAS = {1: 0, 2: 1, 4: 2, 8: 3}


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v & (2**64 - 1))


# ---- operations; h = handle selector (0 = newest handle, 1 = the one before) ----

def create(protected=True, max_vcpus=1, page=0, corrupt=b"\0"):
    return bytes([OP_CREATE, (max_vcpus - 1) << 1 | int(protected), page]) + corrupt


def donate_core(npages=4, page=8, h=0, corrupt=b"\0"):
    return bytes([OP_DONATE_CORE, h, npages - 1, page]) + corrupt


def vcpu(index=0, page=16, h=0, corrupt=b"\0"):
    return bytes([OP_VCPU, h, index, page]) + corrupt


def load(ipa_page=0, page=20, fill=0x11, h=0, corrupt=b"\0"):
    return bytes([OP_LOAD, h, ipa_page, page, fill]) + corrupt


def donate_vm(ipa_page=1, page=24, h=0, corrupt=b"\0"):
    return bytes([OP_DONATE_VM, h, ipa_page, page, 0x33]) + corrupt


def share_vm(ipa_page=2, page=28, h=0, corrupt=b"\0"):
    return bytes([OP_SHARE_VM, h, ipa_page, page, 0x44]) + corrupt


def set_boot(pc_word=0, x0=0, h=0, corrupt=b"\0"):
    return bytes([OP_SET_BOOT, h, pc_word, x0]) + corrupt


def finalize(h=0, corrupt=b"\0"):
    return bytes([OP_FINALIZE, h]) + corrupt


def finalize_signed(kind, page=0, h=0, extra=b"", corrupt=b"\0"):
    """FINALIZE with a blob in a page shared with the core: kind 0 the owner's signature of the VM's
    measurement, 1 of another measurement, 2 that with a bit flipped (extra: where), 3 raw (extra)."""
    return bytes([OP_FINALIZE_SIGNED, h, 0xc0 | kind, page]) + extra + corrupt


def destroy(h=0, corrupt=b"\0"):
    return bytes([OP_DESTROY, h]) + corrupt


def reclaim(count=8, start=0):
    return bytes([OP_RECLAIM, start, count - 1])


def fault_donate(page=40, corrupt=b"\0"):
    return bytes([OP_FAULT_DONATE, page]) + corrupt


def unshare(page=0):
    return bytes([OP_UNSHARE, page])


def cpu(n):
    return bytes([OP_CPU, n])


def vcpu_sel(index):
    """VCPU_RUN / GET_REG / SET_REG take vCPU 0 below 0xc0, else index % 8."""
    return 0xc0 | index if index else 0


def reg(index=0, reg_id=0, value=None, h=0, corrupt=b"\0"):
    if value is None:
        return bytes([OP_REG, h, vcpu_sel(index), reg_id, 0]) + corrupt
    return bytes([OP_REG, h, vcpu_sel(index), reg_id, 3]) + u64(value) + corrupt


# Argument kinds of the harness's corruption (gen_any: kind = 1 + selector % 7).
HANDLE, PA, IPA, SMALL, SIZE, RAW, MMIO = range(1, 8)


def bad(arg, kind, payload=b""):
    """A recipe's closing byte that replaces argument `arg` with a value of `kind`."""
    return bytes([0xe0 | arg, kind - 1]) + payload


def raw(n, *arg_bytes, unused=0):
    return bytes([n]) + b"".join(arg_bytes) + bytes([unused])


def raw_unused(n, *arg_bytes, slot=0, value=1):
    """A call with a non-zero unused argument (the slot-th unused one): must be INVAL."""
    nargs = [0, 0, 6, 1, 3, 3, 1, 1, 3, 3, 3, 3, 1, 2, 3, 4, 1, 1, 0, 2, 2, 3, 2][n]
    u = next(u for u in range(0xf0, 0x100) if u % (6 - nargs) == slot)
    if u & 1:  # odd: the value is 1 << (next byte % 64)
        return bytes([n]) + b"".join(arg_bytes) + bytes([u, value.bit_length() - 1])
    return bytes([n]) + b"".join(arg_bytes) + bytes([u]) + u64(value)


# ---- guest exits for run() ----

def hvc(fn, x1=0):
    return bytes([K_SYNC, E_HVC, PSCI[fn], x1])


# x0 selectors of the KVM vendor service: the harness's vendor_ids[] (x0 % 32 in 16..30 -> [x0 % 8]).
VENDOR = {"MEM_SHARE": 16 + 3, "MEM_UNSHARE": 16 + 4, "MEM_RELINQUISH": 16 + 6}


def hvc_mem(fn, page):
    """A guest memory call on RAM page `page` (x1 selector 0x60..0x9f: a generated guest IPA)."""
    return bytes([K_SYNC, E_HVC, VENDOR[fn], 0x60]) + ipa_ram(page)


def wfi():
    return bytes([K_SYNC, E_WFI])


def sysreg(rt=3, read=True):
    return bytes([K_SYNC, E_SYSREG]) + u16(rt << 5 | int(read))


def ipa_ram(page, off8=0):
    return bytes([off8 << 2, page])


def ipa_mmio(off8=0):
    return bytes([2, off8])


def dabt(ipa, size=4, write=False, srt=1, sse=False, sf=False, fill=None):
    iss = SAS[size] << 22 | srt << 16 | (1 << 21 if sse else 0) | (1 << 15 if sf else 0) | (1 << 6 if write else 0)
    tail = bytes([1]) + u64(fill) if fill is not None else bytes([0])
    return bytes([K_SYNC, E_DABT_ISV]) + u32(iss) + ipa + tail


def dabt_no_isv(ipa):
    return bytes([K_SYNC, E_DABT]) + u32(1 << 6) + ipa + bytes([0])


def iabt(ipa):
    return bytes([K_SYNC, E_IABT, 0x07]) + ipa


def smc():
    return bytes([K_SYNC, E_SMC])


def irq():
    return bytes([K_IRQ])


def serror():
    return bytes([K_SERROR]) + u32(0)


def run(*exits, index=0, mmio_value=None, h=0, corrupt=b"\0"):
    if mmio_value is None:
        value = bytes([0])
    else:
        value = bytes([0xff]) + u64(mmio_value)
    return bytes([OP_RUN, h, vcpu_sel(index)]) + value + bytes([len(exits)]) + b"".join(exits) + corrupt


# ---- seeds ----

def setup(protected=True, max_vcpus=1, pages=2):
    """create, memcache, vCPU 0, an image of `pages` pages, boot entry."""
    s = create(protected, max_vcpus) + donate_core(8) + vcpu(0)
    for i in range(pages):
        s += load(ipa_page=i, page=20 + 4 * i)
    return s + set_boot()


def seeds():
    full = bytes([CONFIG_FULL_POOL])
    big = bytes([CONFIG_BIG | CONFIG_FULL_POOL])
    tiny = bytes([CONFIG_BIG | CONFIG_TINY_POOL | 3])
    tinier = bytes([CONFIG_BIG | CONFIG_TINY_POOL | 2])
    life = setup() + finalize()
    return {
        "lifecycle-protected": full + life + run(dabt(ipa_ram(8))) + fault_donate() + run(hvc("SYSTEM_OFF"))
        + destroy() + reclaim(8) + reclaim(8),
        "lifecycle-normal": full + setup(protected=False) + share_vm() + reg(0, 32, 0x40000000)
        + reg(0, 33, 0x3c5) + reg(0, 0) + finalize() + run(wfi()) + run() + destroy() + reclaim(8),
        "demand-paging": full + life + run(dabt(ipa_ram(9), write=True, fill=7)) + fault_donate(44)
        + run(iabt(ipa_ram(10))) + fault_donate(48) + run(dabt(ipa_ram(200))) + fault_donate(52)
        + run(dabt(ipa_ram(9))),
        "mmio-read": full + life + run(dabt(ipa_mmio(2), size=2, sse=True, srt=5))
        + run(dabt(ipa_mmio(0), size=8, sf=True, srt=31), mmio_value=0x8000) + run(mmio_value=0x1234),
        "mmio-write": full + life + run(dabt(ipa_mmio(1), size=1, write=True, srt=3, fill=0x1ff))
        + run(dabt(ipa_mmio(3), size=8, write=True, srt=31)) + run(dabt_no_isv(ipa_mmio(4))),
        "psci": full + life + run(hvc("VERSION"), hvc("FEATURES", 1), hvc("AFFINITY_INFO"), hvc("CPU_ON"),
                                   hvc("SMCCC_VERSION"), hvc("ARCH_FEATURES"), hvc("CPU_SUSPEND"))
        + run(hvc("SYSTEM_RESET")) + run() + destroy(),
        "traps": full + life + run(sysreg(3), sysreg(31), smc(), irq()) + run(serror())
        + run(bytes([K_SYNC, 7 | 0x07 << 3]) + u16(0), wfi()),
        "guest-fault": full + life + run(dabt(bytes([3]) + u64(0x7000000000))) + run(iabt(ipa_mmio(0)))
        + measurement_calls(),
        "two-vms": full + setup() + finalize() + create(False, 2, page=64) + donate_core(8, page=70)
        + vcpu(1, page=90) + vcpu(0, page=94) + load(0, page=100) + set_boot() + finalize()
        + run(index=1) + cpu(1) + run(hvc("VERSION")) + destroy(h=1) + run(h=1) + reclaim(8),
        "stale-handle": full + life + destroy() + create(page=0) + run() + destroy(h=1) + finalize(h=0)
        + raw(VM_DESTROY, bytes([0xe1])),
        "reclaim-refused": full + life + reclaim(2) + destroy() + reclaim(8, start=0) + unshare(4)
        + unshare(4) + reclaim(8),
        "share-core": full + raw(SHARE_CORE, bytes([0]) + u16(3)) + raw(SHARE_CORE, bytes([0]) + u16(3))
        + raw(UNSHARE_CORE, bytes([0]) + u16(3)) + raw(UNSHARE_CORE, bytes([0]) + u16(3))
        + raw(UNSHARE_CORE, bytes([8, 0]))
        + raw(SHARE_CORE, bytes([12, 0])) + raw(RECLAIM, bytes([9]) + u16(7) + u16(5)),
        "run-page-busy": full + create() + donate_core(4) + vcpu(0, page=16) + vcpu(0, page=16)
        + unshare(4) + destroy() + unshare(4) + reclaim(8),
        "memcache-empty": full + create() + donate_core(1) + vcpu(0) + load(0) + donate_vm(1)
        + donate_core(2) + donate_vm(200) + donate_core(4) + vcpu(1) + destroy() + reclaim(8) + reclaim(8),
        "tiny-pool": tiny + create() + donate_core(8, page=200) + donate_core(8, page=100)
        + donate_core(8, page=50) + vcpu(0, page=120) + load(0, page=130) + set_boot() + finalize()
        + run(dabt(ipa_ram(3))) + fault_donate(150) + destroy() + reclaim(8) + reclaim(8),
        "tiny-pool-donate": tinier + create(page=140) + donate_core(8, page=10) + donate_core(4, page=160)
        + vcpu(0, page=170) + load(0, page=180) + destroy() + reclaim(8, start=140) + reclaim(8, start=0),
        # The big layout: donations split the host's 2 MiB block, reclaiming everything re-forms it.
        "block-split-merge": big + setup() + finalize() + run(dabt(ipa_ram(5))) + fault_donate(100)
        + donate_core(8, page=60) + destroy() + reclaim(8) + reclaim(8) + reclaim(8) + unshare(0) + reclaim(8),
        "big-two-vms": big + create(page=10) + create(False, 1, page=120) + donate_core(8, page=30)
        + donate_core(8, page=130, h=1) + vcpu(0, page=140) + vcpu(0, page=50, h=1) + destroy(h=1)
        + destroy() + reclaim(8) + reclaim(8) + reclaim(8),
        # 33 VMs: the 33rd finds the VM table full (NOMEM); a destroy frees a slot again.
        "vm-table-full": big + b"".join(create(page=2 * i) for i in range(33)) + destroy(h=5) + create(page=100)
        + raw(STATS, bytes([2])),
        "corrupt-args": full + create(corrupt=bad(2, PA, bytes([9]) + u16(2) + u16(5)))  # unaligned root
        + create(corrupt=bad(3, SIZE, bytes([4, 1])))  # RAM beyond the IPA space
        + create(corrupt=bad(5, RAW, bytes([0, 1])))  # MMIO size 1
        + create(corrupt=bad(4, MMIO, bytes([2, 0])))  # MMIO window over RAM
        + create() + donate_core(8, corrupt=bad(2, SMALL, bytes([0])))  # 0 pages
        + donate_core(8, corrupt=bad(1, PA, bytes([8, 3])))  # a core page
        + donate_core(8) + vcpu(corrupt=bad(1, SMALL, bytes([9])))  # index >= max_vcpus
        + vcpu(corrupt=bad(2, PA, bytes([12, 0])))  # MMIO run page
        + vcpu(corrupt=bad(0, HANDLE, bytes([0xe0])))  # generation not issued yet
        + vcpu() + load(corrupt=bad(2, IPA, bytes([4, 0])))  # IPA below RAM
        + load(corrupt=bad(1, PA, bytes([10, 0])))  # PA below the bank
        + load() + set_boot(corrupt=bad(1, IPA, bytes([6, 0, 1])))  # unaligned PC
        + set_boot(corrupt=bad(3, RAW, bytes([0, 9])))  # unused argument
        + set_boot(1) + finalize(corrupt=bad(0, HANDLE, bytes([0xe3])))  # handle with upper bits
        + finalize() + run(corrupt=bad(1, SMALL, bytes([3]))),  # no such vCPU
        "unused-args": full + raw_unused(VERSION, slot=1) + raw_unused(CAPS, slot=5, value=1 << 63)
        + raw_unused(CHECK, value=5) + life + raw_unused(FINALIZE, bytes([0]), slot=2, value=7)
        + raw_unused(VCPU_RUN, bytes([0]), bytes([0]), slot=3) + bytes([0]) + raw_unused(STATS, bytes([0]), slot=4),
        "unknown-ids": full + bytes([OP_UNKNOWN_FID, 0, 0, OP_UNKNOWN_FID, 2, 3, OP_UNKNOWN_FID, 3, 0,
                                     OP_UNKNOWN_FID, 4, 1, OP_UNKNOWN_FID, 5, 10, OP_UNKNOWN_FID, 0x87]) + u64(0)
        + u64(1),
        "raw-create": full + raw(VM_CREATE, bytes([1, 1]), bytes([5]) + u16(2), bytes([0]), bytes([0]),
                                 bytes([0])) + raw(STATS, bytes([2])) + raw(STATS, bytes([0xf1]))
        + raw(CAPS) + raw(CHECK) + raw(MEASUREMENT, bytes([0]), bytes([3])),
        "raw-flow": full + create() + raw(DONATE_CORE, bytes([0]), bytes([6]) + u16(8), bytes([8]))
        + raw(SHARE_CORE, bytes([6]) + u16(30)) + raw(VCPU_CREATE, bytes([0]), bytes([0]), bytes([13, 0, 0]))
        + raw(LOAD, bytes([0]), bytes([6]) + u16(40), bytes([0, 0])) + raw(SET_BOOT, bytes([0]), bytes([0, 0]),
                                                                            bytes([0, 0]))
        + raw(FINALIZE, bytes([0])) + raw(VCPU_RUN, bytes([0]), bytes([0]), unused=0) + bytes([1]) + wfi()
        + raw(GET_REG, bytes([0]), bytes([0]), bytes([0])) + raw(MEASUREMENT, bytes([0]), bytes([2])),
        # MEM_SHARE of the image page (a WFI ends each run that should not end the VM); MEM_UNSHARE: the
        # UNSHARE exit, GUEST_SHARED refused meanwhile; a MEM_SHARE before the retry asks again; the
        # retry completes; shared again, and the VM destroyed with it shared.
        "guest-share-unshare": full + life + run(hvc_mem("MEM_SHARE", 0), wfi())
        + raw(GUEST_SHARED, bytes([0]), bytes([0, 0])) + run(hvc_mem("MEM_UNSHARE", 0))
        + raw(GUEST_SHARED, bytes([0]), bytes([0, 0])) + run(hvc_mem("MEM_SHARE", 1), hvc_mem("MEM_UNSHARE", 0))
        + run(hvc_mem("MEM_UNSHARE", 0), wfi()) + raw(GUEST_SHARED, bytes([0]), bytes([0, 0]))
        + run(hvc_mem("MEM_SHARE", 0), wfi()) + destroy() + reclaim(8),
        "off-then-donate": full + life + run() + fault_donate() + donate_vm(5) + run() + set_boot() + destroy()
        + destroy() + reclaim(8),
        # The owner's signature (open mode with the harness's owner key): another measurement, a flipped
        # bit, raw bytes (refused), then the right one (finalized) and a run.
        "signed-protected": full + setup() + finalize_signed(1) + finalize_signed(2, extra=bytes([60]))
        + finalize_signed(3, extra=bytes(range(112))) + finalize_signed(0) + run(hvc("SYSTEM_OFF")) + destroy()
        + reclaim(8),
    }


def measurement_calls():
    return b"".join(raw(MEASUREMENT, bytes([0]), bytes([w])) for w in (0, 1, 2, 3, 4))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.remove(os.path.join(out, old))
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds())} seeds to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
