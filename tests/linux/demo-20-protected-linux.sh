# make run, inside the Linux host (tests/linux/demo.sh runs every demo-*.sh): Debian's same kernel as a
# protected guest of moat-vmm on 2 vCPUs, console over the emulated PL011: it prints its marker, reads
# a line typed on moat-vmm's stdin and powers off (tests/linux/vmm-linux.sh, one case). Needs the
# host initramfs with the Linux guest (build/linux/host-initramfs-linux.cpio).
VMM_LINUX_CASES=protected:2 sh /tests/vmm-linux.sh
