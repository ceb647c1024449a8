# moat — one Makefile for the core, the test host, guests and every test suite.
#
#   make            build/moat.bin, build/moat.elf, the test host and test images, build/tools/*
#   make run        the whole chain: install missing packages, build, fetch Debian's arm64 kernel
#                   (make linux, cached), boot moat -> the test host's demo, then moat -> Debian's
#                   kernel as the host running /tests/demo.sh (tools/run-chain.sh)
#   make run-testhost   only the bare-metal test host's demo (tools/run-demo.sh)
#   make linux      Debian's kernel + the host initramfs (mk/linux.mk)
#   make guest-kernel   the protected-guest kernel from Debian's linux-source-6.12, built once per
#                   machine (cached) into build/linux/guest-kernel/Image (mk/linux.mk)
#   make test       install missing packages, build, make linux, run every suite, one summary line
#   make unit       host-native cmocka tests (ARCH=fake, ASan + UBSan)
#   make bench      deterministic instruction counts under QEMU -icount, the Linux host's
#                   boot time under moat against bare QEMU, and guest/kbench on moat, KVM nVHE,
#                   pKVM and bare QEMU (tools/bench-kvm.py; build/bench.json)
#
# ARCH=arm64 (default) builds the EL2 image with CROSS_COMPILE; ARCH=fake builds
# the generic core natively (unit tests, fuzzer) against core/arch/fake.

ARCH ?= arm64
CROSS_COMPILE ?= aarch64-linux-gnu-
B := build
V ?= 0
ifeq ($(V),0)
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
else
Q :=
msg :=
endif
PYTHON := /usr/bin/python3
comma := ,

CC_EL := $(CROSS_COMPILE)gcc
LD_EL := $(CROSS_COMPILE)ld
OBJCOPY := $(CROSS_COMPILE)objcopy
HOSTCC ?= gcc

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wvla \
	    -Wimplicit-fallthrough -Wno-unused-parameter
# Flags shared by everything that runs on the emulated Arm machine (core, test host, guests):
# freestanding, no FP/SIMD in C (the core switches FP lazily; EL1 images keep it simple too),
# no stack protector runtime, code linked at a fixed address.
BARE_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-builtin-printf -nostdlib -mgeneral-regs-only -mno-outline-atomics \
	       -mstrict-align -fno-stack-protector -fno-pic -fno-pie -fno-omit-frame-pointer \
	       -fno-common -fno-tree-loop-distribute-patterns -MMD -MP $(WARNINGS) -Iinclude
BARE_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

# ---------------------------------------------------------------- core (EL2)
# Generic modules: no inline assembly, built for EL2 and natively.
CORE_GENERIC := core/boot.c core/log.c core/fmt.c core/fdt.c core/fdt_write.c core/pgtable.c core/alloc.c \
		core/pagedb.c core/host_s2.c core/host_fault.c core/psci.c core/host_call.c \
		core/inject.c core/parse.c core/sha256.c core/sha512.c core/ed25519.c core/kdf.c core/mem.c core/memcache.c core/vm.c core/vcpu.c \
		core/hc_vm.c core/hc_vcpu.c core/hc_mem.c core/hc_diag.c core/cpu_power.c \
		core/guest_exit.c core/guest_call.c core/guest_mem.c core/guest_psci.c core/invariants.c core/host_mmio.c core/host_pmu.c core/guest_pmu.c core/guest_debug.c core/idregs.c core/guest_refuse.c \
		core/host_timer.c core/vgic.c core/hc_irq.c core/policy.c core/sign.c
# Issue 14, attestation and the guests' TRNG.
CORE_GENERIC += core/attest.c core/trng.c
CORE_ARM64 := core/arch/arm64/head.S core/arch/arm64/vectors.S core/arch/arm64/exception.c \
	      core/arch/arm64/mmu.c core/arch/arm64/cpu.c core/arch/arm64/uart_pl011.c core/lib.c \
	      core/arch/arm64/guest.c core/arch/arm64/switch.S core/arch/arm64/fpsimd.S core/arch/arm64/device.c \
	      core/arch/arm64/pmu.c core/arch/arm64/timer.c core/arch/arm64/debug.c
CORE_LDS := $(B)/core/moat.lds
CORE_CFLAGS := $(BARE_CFLAGS) -Icore/include -Icore/arch/arm64/include -I$(B)/include -DMOAT_EL2

core_objs = $(patsubst %,$(B)/$(1)/%.o,$(CORE_GENERIC) $(CORE_ARM64))

# Structure offsets for the .S files, generated from C (never typed by hand).
ASM_OFFSETS := $(B)/include/asm-offsets.h
$(ASM_OFFSETS): core/arch/arm64/asm-offsets.c core/include/regs.h core/include/vcpu.h \
		core/arch/arm64/include/percpu.h include/moat/abi.h
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)$(CC_EL) $(filter-out -MMD -MP,$(CORE_CFLAGS)) -S -o $@.s $<
	$(Q)sed -n 's/.*@@OFFSET \([A-Z0-9_]*\) #\{0,1\}\([0-9]*\).*/#define \1 \2/p' $@.s > $@.tmp
	$(Q)mv $@.tmp $@
$(call core_objs,core): | $(ASM_OFFSETS)

# The linker script, preprocessed: MAX_CPUS and the stack sizes come from the headers the C and .S files use.
$(CORE_LDS): core/arch/arm64/moat.lds.S core/include/config.h core/arch/arm64/include/stack.h
	@mkdir -p $(dir $@)
	$(call msg,CPP,$@)$(CC_EL) -E -P -undef -x c -Icore/include -Icore/arch/arm64/include -D__ASSEMBLY__ $< -o $@

$(B)/core/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(CORE_CFLAGS) -c $< -o $@
$(B)/core/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(CORE_CFLAGS) -D__ASSEMBLY__ -c $< -o $@
# Test variants of the same core: panictest faults deliberately after boot;
# poison fills every register the core must initialise with garbage first;
# allgicr emulates every redistributor frame of the DTB's window, present or
# not, so the host can make the core's own device access fault at EL2 (the
# exception-fixup test: the real core never touches an absent frame).
CORE_VARIANTS := panictest poison allgicr
variant_flag_panictest := -DMOAT_PANIC_TEST
variant_flag_poison := -DMOAT_POISON_SYSREGS
variant_flag_allgicr := -DMOAT_GICR_ALL_FRAMES

define core_variant
$(B)/core-$(1)/%.c.o: %.c
	@mkdir -p $$(dir $$@)
	$$(call msg,CC,$$@)$$(CC_EL) $$(CORE_CFLAGS) $$(variant_flag_$(1)) -c $$< -o $$@
$(B)/core-$(1)/%.S.o: %.S
	@mkdir -p $$(dir $$@)
	$$(call msg,CC,$$@)$$(CC_EL) $$(CORE_CFLAGS) $$(variant_flag_$(1)) -D__ASSEMBLY__ -c $$< -o $$@
$(call core_objs,core-$(1)): | $$(ASM_OFFSETS)
$(B)/moat-$(1).elf: $(call core_objs,core-$(1)) $$(CORE_LDS)
	$$(call msg,LD,$$@)$$(CC_EL) $$(BARE_LDFLAGS) -T $$(CORE_LDS) $(call core_objs,core-$(1)) -lgcc -o $$@
endef
$(foreach v,$(CORE_VARIANTS),$(eval $(call core_variant,$(v))))

$(B)/moat.elf: $(call core_objs,core) $(CORE_LDS)
	$(call msg,LD,$@)$(CC_EL) $(BARE_LDFLAGS) -T $(CORE_LDS) $(call core_objs,core) -lgcc -o $@
$(B)/%.bin: $(B)/%.elf
	$(call msg,OBJCOPY,$@)$(OBJCOPY) -O binary $< $@

# ---------------------------------------------------------------- guests (EL1 in a VM)
include guest/guest.mk

# ---------------------------------------------------------------- test host (EL1)
TESTHOST_SRCS := $(wildcard host/testhost/*.c host/testhost/*.S host/testhost/tests/*.c) \
		 core/fdt.c core/fdt_write.c core/fmt.c core/lib.c core/parse.c lib/el1/console.c \
		 lib/el1/el1_idregs.c
TESTHOST_CFLAGS := $(BARE_CFLAGS) -Ihost/testhost -Icore/include -Ilib/el1 -DMOAT_TESTHOST
TESTHOST_OBJS := $(patsubst %,$(B)/testhost/%.o,$(TESTHOST_SRCS))

$(B)/testhost/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(TESTHOST_CFLAGS) -c $< -o $@
$(B)/testhost/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(TESTHOST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@
# The test guests are embedded in the test host (host/testhost/guest_images.S).
$(B)/testhost/host/testhost/guest_images.S.o: $(GUEST_IMAGES)
$(B)/testhost.elf: $(TESTHOST_OBJS) host/testhost/testhost.lds
	$(call msg,CC,$@)$(CC_EL) $(BARE_LDFLAGS) -T host/testhost/testhost.lds $(TESTHOST_OBJS) -lgcc -o $@

# ---------------------------------------------------------------- test-only boot shim
# An ELF that QEMU enters at EL2 with no register set-up: it points x0 at a DTB
# of the test's choosing (corrupt, truncated) and jumps to the core.
$(B)/dtbshim.elf: tests/integration/dtbshim.S
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(BARE_CFLAGS) -D__ASSEMBLY__ $(BARE_LDFLAGS) -Wl,-Ttext=0x4f000000 $< -o $@

# ---------------------------------------------------------------- host tools (build/tools/)
# Host-native C; moat-sign signs with OpenSSL's libcrypto (libssl-dev, scripts/deps.sh).
TOOLS_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -Iinclude
TOOLS := $(B)/tools/moat-sign
$(B)/tools/moat-sign: tools/moat-sign.c tools/hex.h include/moat/sign.h
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(TOOLS_CFLAGS) $< -lcrypto -o $@
# moat-provision (the device's public identity, the expected core measurement) and moat-verify (reports):
# docs/attestation.md; also OpenSSL's libcrypto, so that the core's own crypto is checked independently.
TOOLS += $(B)/tools/moat-provision $(B)/tools/moat-verify
$(B)/tools/moat-provision: tools/moat-provision.c tools/report_check.c tools/attest_tool.h tools/hex.h include/moat/attest.h
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(TOOLS_CFLAGS) tools/moat-provision.c tools/report_check.c -lcrypto -o $@
$(B)/tools/moat-verify: tools/moat-verify.c tools/report_check.c tools/attest_tool.h tools/hex.h include/moat/attest.h
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(TOOLS_CFLAGS) tools/moat-verify.c tools/report_check.c -lcrypto -o $@

# TEST-ONLY device secret (docs/attestation.md): 32 random bytes made once per build tree, which QEMU's
# loader puts at 0x40100000 for the core (bootargs moat.secret=0x40100000) in the tests and `make run`.
# A real device's secret comes from its firmware, never from a file in a build directory.
$(B)/device-secret.bin:
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)head -c 32 /dev/urandom > $@.tmp && mv $@.tmp $@

IMAGES := $(B)/moat.bin $(B)/moat.elf $(B)/device-secret.bin $(B)/moat-panictest.bin $(B)/moat-poison.bin $(B)/moat-allgicr.bin $(B)/testhost.bin $(B)/dtbshim.elf $(GUEST_IMAGES)

# ---------------------------------------------------------------- Linux host chain
include mk/linux.mk

# ---------------------------------------------------------------- Linux test guest (make linux-guest)
# Debian's stock arm64 kernel as a guest of the test host's VMM (tests/integration/test_linux_guest.py):
# its initramfs (busybox + /init, tools/mkinitramfs.py) and one DTB per vCPU count (guest/linux/guest.dts
# through cpp). The kernel Image and busybox come from Debian's archive through scripts/linux-deps.sh
# (cached; the first run fetches about 60 MB), so only this target and the tests that need it touch the
# network, never `make all`. $(LINUX_VARS) holds the script's variables (LINUX_IMAGE, BUSYBOX, ...).
LG := $(B)/linux-guest
LG_CPUS := 1 2
LG_DTBS := $(patsubst %,$(LG)/guest-%cpu.dtb,$(LG_CPUS))

$(LG)/initramfs.cpio: tools/mkinitramfs.py guest/linux/init.sh $(LINUX_VARS)
	@mkdir -p $(dir $@)
	$(call msg,CPIO,$@)$(PYTHON) tools/mkinitramfs.py --busybox $(BUSYBOX) --init guest/linux/init.sh -o $@
# The DTB names the initramfs's end, so it depends on the archive's size.
$(LG)/guest-%cpu.dtb: guest/linux/guest.dts guest/linux/layout.h $(LG)/initramfs.cpio
	$(call msg,DTC,$@)size=$$(stat -c %s $(LG)/initramfs.cpio); \
	cpp -nostdinc -undef -x assembler-with-cpp -P -Iguest/linux -DNR_CPUS=$* \
		-DINITRD_SIZE=$$size $< | dtc -q -I dts -O dtb -o $@ -
linux-guest: $(LG)/initramfs.cpio $(LG_DTBS)

# ---------------------------------------------------------------- host-native (ARCH=fake)
FAKE_CFLAGS := -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	       -fno-omit-frame-pointer $(WARNINGS) -Iinclude -Icore/include -Icore/arch/fake -Itests/common \
	       -DMOAT_FAKE -MMD -MP
FAKE_GENERIC := $(filter-out core/boot.c,$(CORE_GENERIC)) core/arch/fake/fake_arch.c
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
# moat-vmm's host-native tests (tests/vmm/): the VMM's parts that need no hypervisor (vmm/ without
# main.c and the backends), with the host compiler and the system libfdt; run and counted with the unit
# tests. $(B)/vmm-host/moat-vmm is the whole VMM built the same way, for --dump-dtb checks (test_vmm.py).
VMM_PURE_SRCS := $(filter-out vmm/main.c vmm/backend_%.c,$(wildcard vmm/*.c))
VMM_HOST_CFLAGS := -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer $(WARNINGS) -Iinclude -Ivmm
UNIT_TESTS += $(patsubst tests/vmm/%.c,$(B)/vmm-unit/%,$(wildcard tests/vmm/test_*.c))
# At -O2, as the VMM ships: gmem.c's SIGBUS guard once worked at -O1 only (a dead-store elimination).
$(B)/vmm-unit/test_vmm_virtio: VMM_HOST_CFLAGS += -O2
$(B)/vmm-unit/%: tests/vmm/%.c $(VMM_PURE_SRCS) $(wildcard vmm/*.h tests/vmm/*.h include/moat/*.h)
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(VMM_HOST_CFLAGS) $< $(VMM_PURE_SRCS) -lcmocka -lfdt -o $@
$(B)/vmm-host/moat-vmm: $(wildcard vmm/*.c vmm/*.h include/moat/*.h)
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(VMM_HOST_CFLAGS) $(wildcard vmm/*.c) -lfdt -o $@

$(B)/fake/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(FAKE_CFLAGS) -c $< -o $@
# Shared host-native test fixtures (a fake machine: RAM backed by real memory, page database, host stage 2).
TEST_COMMON := $(wildcard tests/common/*.c)
FAKE_OBJS := $(patsubst %,$(B)/fake/%.o,$(FAKE_GENERIC) $(TEST_COMMON))
# Kept between runs (not intermediates make deletes), so that a second `make unit` relinks nothing.
.SECONDARY: $(FAKE_OBJS)
# $< and the objects, never $^: the -MMD dependency file adds every source a test #includes to $^
# (test_ed25519_internal includes core/ed25519.c under other names), and a relink would compile it again.
$(B)/unit/%: tests/unit/%.c $(FAKE_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(FAKE_CFLAGS) $< $(FAKE_OBJS) -lcmocka $(if $(filter test_fdt,$*),-lfdt) \
		$(if $(filter test_ed25519_openssl,$*),-lcrypto) \
		$(if $(filter test_sign,$*),-lcrypto -Wl$(comma)--wrap=mem_copy_from_core_shared) -o $@

# ---------------------------------------------------------------- host tools (build/tools/)
# tools/moat-measure predicts a VM's measurement from moat-vmm's own plan code (vmm/plan.c and the pure
# vmm/ files it needs) and OpenSSL's libcrypto for SHA-256.
TOOLS += $(B)/tools/moat-measure
$(B)/tools/moat-measure: tools/moat-measure.c $(VMM_PURE_SRCS) $(wildcard vmm/*.h include/moat/*.h)
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(TOOLS_CFLAGS) -Ivmm -MMD -MP tools/moat-measure.c $(VMM_PURE_SRCS) -lfdt -lcrypto -o $@
tools: $(TOOLS)

# ---------------------------------------------------------------- top-level targets
.PHONY: all deps run run-testhost test unit integration bench clean format linux-guest tools
.DEFAULT_GOAL := all

ifeq ($(ARCH),fake)
all: $(UNIT_TESTS)
else
all: $(IMAGES) $(TOOLS)
endif

deps:
	@scripts/deps.sh

# The chain's first step installs only what it needs (scripts/deps.sh run).
run:
	@tools/run-chain.sh

run-testhost: deps
	@$(MAKE) --no-print-directory all
	@tools/run-demo.sh

unit: $(UNIT_TESTS)
	@scripts/run-unit.sh $(UNIT_TESTS)

integration: $(IMAGES)
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory guest-kernel
	@$(PYTHON) -m pytest tests/integration

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory guest-kernel
	@$(MAKE) --no-print-directory ARCH=fake all
	@scripts/run-all-tests.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory linux
	@$(MAKE) --no-print-directory guest-kernel
	@tools/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
