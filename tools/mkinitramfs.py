#!/usr/bin/env python3
"""Write the Linux test guest's initramfs: an uncompressed cpio archive, "newc" format.

    tools/mkinitramfs.py BUSYBOX OUT

The archive holds a static busybox, /bin/sh pointing at it, /dev/console (character device 5:1,
so that the kernel can open the initial console before anything mounts devtmpfs), /proc, /sys
and /init, a shell script that mounts /proc, prints /proc/interrupts (the tests check that the
timer and the IPIs reached every CPU through the core's vGIC), then

    MOAT-GUEST-LINUX-OK cpus=N

(N = the CPUs Linux brought online, from /proc/cpuinfo) and powers the guest off with
`poweroff -f` (PSCI SYSTEM_OFF).

Written here rather than with cpio(1): Debian 12 does not install cpio by default, and cpio
cannot put /dev/console in without root (mknod first); this writer needs neither, and its output
is reproducible (fixed owners and mtimes, sorted entries). The format is the one in Linux's
Documentation/driver-api/early-userspace/buffer-format.rst: a 110-byte ASCII header per entry
("070701", then 13 eight-digit hex fields), the name with its NUL padded to 4 bytes, the data
padded to 4 bytes, and a last entry named "TRAILER!!!".
"""

from __future__ import annotations

import stat
import sys

INIT = """#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox cat /proc/interrupts
n=$(/bin/busybox grep -c '^processor' /proc/cpuinfo)
echo "MOAT-GUEST-LINUX-OK cpus=$n"
/bin/busybox poweroff -f
"""


def entry(ino: int, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> bytes:
    fields = [
        ino, mode, 0, 0,  # ino, mode, uid, gid
        2 if stat.S_ISDIR(mode) else 1,  # nlink
        0, len(data),  # mtime, filesize
        0, 0, rdev[0], rdev[1],  # dev major/minor, rdev major/minor
        len(name) + 1, 0,  # namesize (with the NUL), check
    ]
    out = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def build(busybox: bytes) -> bytes:
    entries = [
        ("bin", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("bin/busybox", stat.S_IFREG | 0o755, busybox, (0, 0)),
        ("bin/sh", stat.S_IFLNK | 0o777, b"busybox", (0, 0)),
        ("dev", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
        ("init", stat.S_IFREG | 0o755, INIT.encode(), (0, 0)),
        ("proc", stat.S_IFDIR | 0o755, b"", (0, 0)),
        ("sys", stat.S_IFDIR | 0o755, b"", (0, 0)),
    ]
    out = b"".join(entry(i + 1, n, m, d, r) for i, (n, m, d, r) in enumerate(entries))
    return out + entry(0, "TRAILER!!!", 0)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        busybox = f.read()
    with open(sys.argv[2], "wb") as f:
        f.write(build(busybox))
    return 0


if __name__ == "__main__":
    sys.exit(main())
