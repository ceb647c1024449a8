#!/usr/bin/env python3
"""Build a Linux initramfs (newc cpio, uncompressed) from a static busybox, an /init script and extra
files, with no root and no cpio binary (Debian 12 does not install cpio by default).

  tools/mkinitramfs.py --busybox PATH --init SCRIPT -o OUT [--file DEST=SRC ...] [--mode DEST=0755 ...]

The archive holds /bin/busybox, /init (mode 0755), /dev/console (char 5:1: the kernel opens it for
init's stdin/stdout/stderr before /init runs, and devtmpfs is not mounted yet), the empty
directories /dev /proc /sys /tmp /mnt /root, and each --file at DEST (directories created). /init
should start with `#!/bin/busybox sh` and may run `/bin/busybox --install -s` for applet links.
Entries are written in sorted order with mtime 0 so that the same inputs give the same bytes.
"""
import argparse
import os
import stat
import sys

DIRS = ["bin", "dev", "proc", "sys", "tmp", "mnt", "root", "sbin", "usr", "usr/bin", "usr/sbin"]


class Writer:
    def __init__(self, out):
        self.out = out
        self.ino = 1
        self.pos = 0

    def _write(self, data):
        self.out.write(data)
        self.pos += len(data)

    def _pad(self):
        if self.pos % 4:
            self._write(b"\0" * (4 - self.pos % 4))

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_bytes = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
        self.ino += 1
        self._write(b"070701" + b"".join(b"%08X" % f for f in fields))
        self._write(name_bytes)
        self._pad()
        self._write(data)
        self._pad()

    def trailer(self):
        self.entry("TRAILER!!!", 0)
        # The kernel reads whole 512-byte blocks of some archives; pad as cpio does.
        if self.pos % 512:
            self._write(b"\0" * (512 - self.pos % 512))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busybox", required=True, help="static arm64 busybox binary")
    parser.add_argument("--init", required=True, help="the /init script")
    parser.add_argument("-o", "--output", required=True, help="archive to write")
    parser.add_argument("--file", action="append", default=[], metavar="DEST=SRC",
                        help="add SRC at path DEST inside the archive")
    parser.add_argument("--mode", action="append", default=[], metavar="DEST=OCTAL",
                        help="permission bits for DEST (default: 0755 if SRC is executable, else 0644)")
    args = parser.parse_args()

    files = {"bin/busybox": (args.busybox, 0o755), "init": (args.init, 0o755)}
    for spec in args.file:
        dest, sep, src = spec.partition("=")
        if not sep or not dest.strip("/") or not src:
            parser.error(f"--file wants DEST=SRC, got {spec!r}")
        if not os.path.isfile(src):
            parser.error(f"--file {spec}: no such file: {src}")
        files[dest.strip("/")] = (src, 0o755 if os.access(src, os.X_OK) else 0o644)
    for spec in args.mode:
        dest, sep, mode = spec.partition("=")
        if not sep or dest.strip("/") not in files:
            parser.error(f"--mode {spec!r}: name a file added with --file")
        files[dest.strip("/")] = (files[dest.strip("/")][0], int(mode, 8))
    for src, _ in files.values():
        if not os.path.isfile(src):
            parser.error(f"no such file: {src}")

    dirs = set(DIRS)
    for dest in files:
        parent = os.path.dirname(dest)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as out:
        w = Writer(out)
        for d in sorted(dirs):
            w.entry(d, stat.S_IFDIR | 0o755)
        w.entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
        for dest in sorted(files):
            src, mode = files[dest]
            with open(src, "rb") as f:
                w.entry(dest, stat.S_IFREG | mode, f.read())
        w.trailer()
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
