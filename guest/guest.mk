# Guest SDK (guest/lib) and the test guests (guest/<name>/): included by the
# top-level Makefile, which defines B, CC_EL, OBJCOPY, BARE_CFLAGS,
# BARE_LDFLAGS and msg.
#
# Each guest is every .c/.S file in guest/<name>/ plus guest/lib, linked at
# IPA 0x40000000 (guest/lib/guest.lds) into $(B)/guest/<name>.elf and
# flattened into $(B)/guest/<name>.bin, the image a VMM loads at RAM base.

GUEST_NAMES := hello memtouch canary regs fault mmio_sizes fpsimd bench idregs refuse share smp vgic mvcpu pmu debug kbench \
	       mmioguard
GUEST_IMAGES := $(patsubst %,$(B)/guest/%.bin,$(GUEST_NAMES))
GUEST_ELFS := $(patsubst %,$(B)/guest/%.elf,$(GUEST_NAMES))

GUEST_LDS := guest/lib/guest.lds
GUEST_CFLAGS := $(BARE_CFLAGS) -Iguest/lib -Iinclude -Icore/include -Ilib/el1
GUEST_LIB_SRCS := guest/lib/start.S guest/lib/secondary.S guest/lib/vectors.S guest/lib/exception.c \
		  guest/lib/console.c guest/lib/mmu.c lib/el1/console.c lib/el1/el1_idregs.c core/fmt.c core/lib.c
GUEST_LIB_OBJS := $(patsubst %,$(B)/guest/obj/%.o,$(GUEST_LIB_SRCS))

# kbench also hashes its workload with the core's SHA-256 (compiled with the guest flags).
GUEST_EXTRA_kbench := core/sha256.c
guest_srcs = $(sort $(wildcard guest/$(1)/*.c guest/$(1)/*.S)) $(GUEST_EXTRA_$(1))
guest_objs = $(patsubst %,$(B)/guest/obj/%.o,$(call guest_srcs,$(1)))

# fpsimd tests the vector registers, so its own code may use them; the
# library stays general-registers-only and never disturbs them.
$(B)/guest/obj/guest/fpsimd/%: GUEST_CFLAGS := $(filter-out -mgeneral-regs-only,$(GUEST_CFLAGS))

$(B)/guest/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(GUEST_CFLAGS) -c $< -o $@
$(B)/guest/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC_EL) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

define guest_link
$(B)/guest/$(1).elf: $(call guest_objs,$(1)) $(GUEST_LIB_OBJS) $(GUEST_LDS)
	$$(call msg,LD,$$@)$$(CC_EL) $$(BARE_LDFLAGS) -T $(GUEST_LDS) $(call guest_objs,$(1)) \
		$(GUEST_LIB_OBJS) -lgcc -o $$@
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_link,$(g))))

# A static pattern rule, so it wins over any generic %.bin rule.
$(GUEST_IMAGES): $(B)/guest/%.bin: $(B)/guest/%.elf
	$(call msg,OBJCOPY,$@)$(OBJCOPY) -O binary $< $@

.PHONY: guests
guests: $(GUEST_IMAGES)
