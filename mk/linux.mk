# The Linux-host chain: Debian's stock arm64 kernel as the host under the core, moat.ko, moat-vmm,
# the host initramfs. Included by the top-level Makefile (which defines B, Q, msg, PYTHON).
#
#   make linux        everything below
#   make kmod         $(B)/linux/moat.ko       (host/linux/, cross-built against Debian's headers)
#   make vmm          $(B)/linux/moat-vmm      (vmm/, static arm64 with Debian's libfdt)
#   make initramfs    $(B)/linux/host-initramfs.cpio, and host-initramfs-linux.cpio (a Linux guest too)
#   make guest-kernel $(B)/linux/guest-kernel/Image (the protected-guest kernel, scripts/guest-kernel.sh)
#                     and $(B)/linux/host-initramfs-pkvm.cpio (a host initramfs that carries it)
#
# The Debian pieces come from scripts/linux-deps.sh (fetched once into a cache outside the tree);
# its variables are read only for goals that need them, so `make unit` never touches the network.

# make run, test, integration and bench call `$(MAKE) linux` after `make deps` (so a fresh machine
# installs apt's tools first) instead of reading the variables themselves.
LINUX_GOALS := linux kmod vmm initramfs linux-tests linux-guest guest-kernel
LINUX_VARS := $(B)/linux/vars.mk
LX := $(B)/linux

ifneq ($(filter $(LINUX_GOALS),$(MAKECMDGOALS)),)
$(LINUX_VARS): scripts/linux-deps.sh
	@mkdir -p $(dir $@)
	$(call msg,FETCH,debian-arm64)scripts/linux-deps.sh >$@.tmp && mv $@.tmp $@
include $(LINUX_VARS)
endif

LINUX_CROSS := aarch64-linux-gnu-
# Static arm64 user space for the host initramfs (Debian's libc6-dev-arm64-cross).
LINUX_USER_CFLAGS := -std=gnu11 -O2 -g -static $(WARNINGS) -Iinclude
.PHONY: linux kmod vmm initramfs guest-kernel

# ---- moat.ko: kbuild writes next to its sources, so build a copy under $(LX)/kmod.
KMOD_SRCS := $(wildcard host/linux/*.c host/linux/*.h host/linux/Kbuild)
$(LX)/moat.ko: $(KMOD_SRCS) $(wildcard include/moat/*.h) $(LINUX_VARS)
	@mkdir -p $(LX)/kmod
	$(Q)cp host/linux/*.c host/linux/*.h host/linux/Kbuild $(LX)/kmod/ 2>/dev/null; true
	$(call msg,KBUILD,$@)$(MAKE) -s -C $(LINUX_KDIR) M=$(CURDIR)/$(LX)/kmod ARCH=arm64 \
		CROSS_COMPILE=$(LINUX_CROSS) MOAT_INCLUDE=$(CURDIR)/include CONFIG_DEBUG_INFO_BTF_MODULES= modules
	$(Q)cp $(LX)/kmod/*.ko $(LX)/
kmod: $(if $(wildcard host/linux/Kbuild),$(LX)/moat.ko)

# ---- moat-vmm
VMM_SRCS := $(wildcard vmm/*.c)
$(LX)/moat-vmm: $(VMM_SRCS) $(wildcard vmm/*.h include/moat/*.h) $(LINUX_VARS)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(LINUX_CROSS)gcc $(LINUX_USER_CFLAGS) -Ivmm -I$(LIBFDT_ARM64_INC) $(VMM_SRCS) \
		-L$(LIBFDT_ARM64_LIB) -lfdt -o $@
vmm: $(if $(VMM_SRCS),$(LX)/moat-vmm)

# ---- programs run inside the Linux host by the tests (tests/linux/*.c, one program each)
LINUX_TEST_PROGS := $(patsubst tests/linux/%.c,$(LX)/bin/%,$(wildcard tests/linux/*.c))
$(LX)/bin/%: tests/linux/%.c $(wildcard include/moat/*.h)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(LINUX_CROSS)gcc $(LINUX_USER_CFLAGS) $< -o $@

# ---- inside the Linux guest (guest/linux/attest/, docs/attestation.md "From a Linux guest"): the
# guest module moat_attest.ko (/dev/moat-attest, the core's guest calls) and the static tool
# moat-attest. Under $(LX)/guest/, not $(LX)/: the host initramfs takes every $(LX)/*.ko.
GATTEST_KMOD_SRCS := guest/linux/attest/moat_attest.c guest/linux/attest/moat_attest.h guest/linux/attest/Kbuild
$(LX)/guest/moat_attest.ko: $(GATTEST_KMOD_SRCS) $(wildcard include/moat/*.h) $(LINUX_VARS)
	@mkdir -p $(LX)/guest-kmod $(dir $@)
	$(Q)cp $(GATTEST_KMOD_SRCS) $(LX)/guest-kmod/
	$(call msg,KBUILD,$@)$(MAKE) -s -C $(LINUX_KDIR) M=$(CURDIR)/$(LX)/guest-kmod ARCH=arm64 \
		CROSS_COMPILE=$(LINUX_CROSS) MOAT_INCLUDE=$(CURDIR)/include CONFIG_DEBUG_INFO_BTF_MODULES= modules
	$(Q)$(LINUX_CROSS)strip --strip-debug -o $@ $(LX)/guest-kmod/moat_attest.ko
# The sealing key's ID is its SHA-256: the core's own (core/sha256.c) serves. Both stripped (-s): every
# byte of the guest's initramfs is loaded and measured on each boot.
$(LX)/guest/moat-attest: guest/linux/attest/moat-attest.c guest/linux/attest/moat_attest.h core/sha256.c \
		core/include/sha256.h tools/hex.h
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(LINUX_CROSS)gcc $(LINUX_USER_CFLAGS) -s -Iguest/linux/attest -iquote core/include -iquote tools \
		guest/linux/attest/moat-attest.c core/sha256.c -o $@

# ---- a Linux guest for moat-vmm (tests/linux/vmm-linux.sh): Debian's same kernel Image and a tiny
# busybox initramfs whose /init is tests/linux/guest/init.sh (it loads moat_attest.ko), both in
# /guests of a second host initramfs, host-initramfs-linux.cpio (tools/run-linux.sh --initrd ...).
# Kept out of the default one: 44 MB more to load and unpack add about 9 s to every host boot under TCG.
$(LX)/guest-initramfs.cpio: tests/linux/guest/init.sh tools/mkinitramfs.py $(LX)/guest/moat_attest.ko \
		$(LX)/guest/moat-attest $(LINUX_VARS)
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init $< \
		--file /lib/moat/moat_attest.ko=$(LX)/guest/moat_attest.ko --file /bin/moat-attest=$(LX)/guest/moat-attest -o $@
LINUX_GUEST_FILES = --file guests/Image=$(LINUX_IMAGE) --file guests/linux-initramfs.cpio=$(LX)/guest-initramfs.cpio

# ---- Debian's tun.ko for the host (moat-vmm --net tap:NAME; no dependencies), unpacked from the
# package's .ko.xz (busybox's insmod takes a plain .ko).
$(LX)/mods/%.ko: $(LINUX_VARS)
	@mkdir -p $(dir $@)
	$(call msg,UNXZ,$@)$(PYTHON) -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' \
		$(LINUX_MODULES)/kernel/$*.ko.xz $@
HOST_TUN := $(LX)/mods/drivers/net/tun.ko

# ---- virtio guests (tests/linux/vmm-virtio.sh, make bench): the protected-guest kernel (GK_IMAGE
# below, virtio and ext4 built in), a busybox initramfs whose /init is tests/linux/guest/virtio-init.sh,
# and an ext4 image made here with Debian's mke2fs, gzip'd (160 MiB of mostly zeros is ~0.7 MiB; the
# test unpacks it into the host's tmpfs). A fixed UUID and time: the same image every build.
$(LX)/virtio-initramfs.cpio: tests/linux/guest/virtio-init.sh tools/mkinitramfs.py $(LINUX_VARS)
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init $< -o $@
$(LX)/virtio-disk.img.gz: mk/linux.mk
	@mkdir -p $(dir $@)
	$(call msg,MKE2FS,$@)rm -f $(LX)/virtio-disk.img && truncate -s 160M $(LX)/virtio-disk.img && \
		E2FSPROGS_FAKE_TIME=1700000000 /usr/sbin/mke2fs -q -F -t ext4 -U 6d6f6174-7669-7274-696f-000000000001 \
		-E lazy_itable_init=0,lazy_journal_init=0 -L moat $(LX)/virtio-disk.img && \
		gzip -1 -n -c $(LX)/virtio-disk.img >$@.tmp && mv $@.tmp $@ && rm -f $(LX)/virtio-disk.img

# ---- the host initramfs: busybox, the /init harness, the module, the VMM, test programs and
# scripts, the bare-metal guest images. /init runs the script the kernel command line names
# (moat.run=NAME runs /tests/NAME.sh; default /tests/demo.sh).
INITRAMFS_FILES = $(foreach f,$(wildcard $(LX)/*.ko),--file lib/moat/$(notdir $(f))=$(f)) \
	$(if $(VMM_SRCS),--file bin/moat-vmm=$(LX)/moat-vmm) \
	$(foreach f,$(LINUX_TEST_PROGS),--file bin/$(notdir $(f))=$(f)) \
	$(foreach f,$(wildcard tests/linux/*.sh),--file tests/$(notdir $(f))=$(f)) \
	$(foreach f,$(GUEST_IMAGES),--file guests/$(notdir $(f))=$(f)) \
	$(foreach f,$(LINUX_EXTRA_FILES),--file $(f)) \
	--file lib/moat/$(notdir $(HOST_TUN))=$(HOST_TUN)
INITRAMFS_DEPS = kmod vmm $(HOST_TUN) $(LINUX_TEST_PROGS) $(GUEST_IMAGES) host/linux/init.sh tools/mkinitramfs.py \
	$(wildcard tests/linux/*.sh) $(LINUX_VARS)
$(LX)/host-initramfs.cpio: $(INITRAMFS_DEPS)
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init host/linux/init.sh \
		$(INITRAMFS_FILES) -o $@
$(LX)/host-initramfs-linux.cpio: $(INITRAMFS_DEPS) $(LX)/guest-initramfs.cpio
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init host/linux/init.sh \
		$(INITRAMFS_FILES) $(LINUX_GUEST_FILES) -o $@
initramfs: $(LX)/host-initramfs.cpio $(LX)/host-initramfs-linux.cpio

linux: $(B)/moat.bin initramfs

# ---- the protected-guest kernel: Debian's linux-source-6.12 with guest/linux/kernel.config on top of
# tinyconfig (ARM_PKVM_GUEST, DMA_RESTRICTED_POOL, virtio-mmio...), built once per machine into
# ~/.cache/moat/guest-kernel/<version>-<fragment hash>/Image (a cold build takes minutes: see
# docs/testing.md); the script prints that path and is quick when it is there. Copied to $(GK_IMAGE)
# only when it differs, so that what depends on it is rebuilt only then. Not part of `make linux`
# (make run needs no rebuilt kernel): make test, integration and bench make it after `make linux`.
GK_IMAGE := $(LX)/guest-kernel/Image
$(GK_IMAGE): scripts/guest-kernel.sh guest/linux/kernel.config FORCE
	@mkdir -p $(dir $@)
	$(call msg,KERNEL,$@)img=$$(scripts/guest-kernel.sh) && { cmp -s "$$img" $@ || cp "$$img" $@; }
# The host initramfs with the protected-guest kernel and the guest initramfs in /guests (tests/linux/vmm-pkvm.sh).
$(LX)/host-initramfs-pkvm.cpio: $(INITRAMFS_DEPS) $(LX)/guest-initramfs.cpio $(GK_IMAGE)
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init host/linux/init.sh \
		$(INITRAMFS_FILES) --file guests/linux-initramfs.cpio=$(LX)/guest-initramfs.cpio \
		--file guests/pkvm-Image=$(GK_IMAGE) -o $@
# The host initramfs for the virtio tests and make bench: the same guest kernel with the virtio guest's
# initramfs and disk image in /guests (tests/linux/vmm-virtio.sh).
$(LX)/host-initramfs-virtio.cpio: $(INITRAMFS_DEPS) $(LX)/virtio-initramfs.cpio $(LX)/virtio-disk.img.gz $(GK_IMAGE)
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init host/linux/init.sh \
		$(INITRAMFS_FILES) --file guests/virtio-Image=$(GK_IMAGE) \
		--file guests/virtio-initramfs.cpio=$(LX)/virtio-initramfs.cpio \
		--file guests/virtio-disk.img.gz=$(LX)/virtio-disk.img.gz -o $@
guest-kernel: $(GK_IMAGE) $(LX)/host-initramfs-pkvm.cpio $(LX)/host-initramfs-virtio.cpio
.PHONY: FORCE
FORCE:
