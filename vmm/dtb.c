/*
 * The guest's devicetree, built with libfdt's sequential-write API: the nodes of QEMU virt's DTB
 * (`qemu-system-aarch64 -M virt,gic-version=3,dumpdtb=f.dtb`) that match what the core and this VMM
 * emulate, and nothing else, so a stock arm64 kernel finds exactly the hardware that answers:
 *   memory      RAM at 0x40000000
 *   cpus        cpu@N with reg = MPIDR Aff0 = N (the core's VMPIDR), started with PSCI
 *   psci        PSCI 1.0+ over HVC (the core answers PSCI 1.1; QEMU virt says "smc" because its
 *               firmware is at EL3 -- here the hypervisor is the firmware)
 *   intc        GICv3 distributor and one redistributor frame per vCPU, at the core's IPAs
 *   timer       armv8-timer, PPIs 13/14/11/10 (secure phys, phys, virt, hyp) level-high as on QEMU;
 *               "always-on": the core keeps the virtual timer running across the guest's WFI
 *   apb-pclk    the fixed 24 MHz clock the PL011 names twice (uartclk, apb_pclk): Linux's AMBA bus
 *               enables apb_pclk before it reads the PrimeCell ID registers
 *   pl011       the UART at 0x09000000, SPI 1
 *   chosen      bootargs, stdout-path, linux,initrd-start/end
 *   virtio_mmio the virtio-mmio slots in use (virtio,mmio at QEMU virt's addresses and SPIs), each
 *               dma-coherent (the VMM's accesses are cacheable) and, for a protected VM, with a
 *               memory-region naming the restricted-dma-pool under /reserved-memory
 * The output depends only on the parameters (no seeds, no time): for a protected VM the DTB is
 * measured with the images, so the same command line gives the same measurement. That is also why
 * /chosen has no rng-seed or kaslr-seed (the kernel then boots without KASLR, and says so).
 */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "vmm.h"

#define PHANDLE_GIC 1
#define PHANDLE_CLK 2
#define PHANDLE_POOL 3
#define GIC_FDT_SPI 0
#define GIC_FDT_PPI 1
#define IRQ_LEVEL_HIGH 4
#define UART_CLOCK_HZ 24000000
#define UART_PATH "/pl011@9000000"

/* Every libfdt call returns 0 or a negative FDT_ERR_*: give up on the first. */
#define TRY(call)                                                                                                      \
	do {                                                                                                           \
		int err_ = (call);                                                                                     \
		if (err_ < 0) {                                                                                        \
			return err_;                                                                                   \
		}                                                                                                      \
	} while (0)

/* A "reg" of #address-cells = #size-cells = 2: big-endian (addr, size) pairs. */
static int prop_reg(void *fdt, const uint64_t *pairs, unsigned int n)
{
	fdt64_t cells[8];

	for (unsigned int i = 0; i < 2 * n && i < 8; i++) {
		cells[i] = cpu_to_fdt64(pairs[i]);
	}
	return fdt_property(fdt, "reg", cells, 2 * n * sizeof(cells[0]));
}

static int prop_cells(void *fdt, const char *name, const uint32_t *v, unsigned int n)
{
	fdt32_t cells[12];

	for (unsigned int i = 0; i < n && i < 12; i++) {
		cells[i] = cpu_to_fdt32(v[i]);
	}
	return fdt_property(fdt, name, cells, n * sizeof(cells[0]));
}

/* A string list ("a\0b\0") of known length. */
#define PROP_STRINGS(fdt, name, lit) fdt_property(fdt, name, lit, sizeof(lit))

static int add_chosen(void *fdt, const struct vmm_dtb_params *p)
{
	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "bootargs", p->cmdline ? p->cmdline : ""));
	TRY(fdt_property_string(fdt, "stdout-path", UART_PATH));
	if (p->has_initrd) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
	}
	TRY(fdt_end_node(fdt));
	TRY(fdt_begin_node(fdt, "aliases"));
	TRY(fdt_property_string(fdt, "serial0", UART_PATH));
	return fdt_end_node(fdt);
}

static int add_memory_and_cpus(void *fdt, const struct vmm_dtb_params *p)
{
	uint64_t mem[2] = { VMM_RAM_BASE, p->mem_size };
	char name[24];

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)VMM_RAM_BASE);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg(fdt, mem, 1));
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned int i = 0; i < p->cpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", i);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,armv8"));
		TRY(fdt_property_u32(fdt, "reg", i)); /* MPIDR_EL1 affinity: the core gives vCPU i Aff0 = i */
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "psci"));
	/* Linux picks the first compatible it knows: 1.0 (PSCI_FEATURES, SYSTEM_SUSPEND probing), then 0.2. */
	TRY(PROP_STRINGS(fdt, "compatible", "arm,psci-1.0\0arm,psci-0.2"));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	return fdt_end_node(fdt);
}

static int add_gic_and_timer(void *fdt, const struct vmm_dtb_params *p)
{
	uint64_t gic[4] = { VMM_GICD_BASE, VMM_GICD_SIZE, VMM_GICR_BASE, VMM_GICR_STRIDE * p->cpus };
	const uint32_t timer[12] = {
		GIC_FDT_PPI, 13, IRQ_LEVEL_HIGH, /* secure physical (INTID 29) */
		GIC_FDT_PPI, 14, IRQ_LEVEL_HIGH, /* non-secure physical (INTID 30) */
		GIC_FDT_PPI, 11, IRQ_LEVEL_HIGH, /* virtual (INTID 27): the one a guest uses */
		GIC_FDT_PPI, 10, IRQ_LEVEL_HIGH, /* hypervisor (INTID 26) */
	};

	TRY(fdt_begin_node(fdt, "intc@8000000"));
	TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_property_u32(fdt, "#redistributor-regions", 1));
	TRY(prop_reg(fdt, gic, 2));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_GIC));
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "timer"));
	TRY(PROP_STRINGS(fdt, "compatible", "arm,armv8-timer\0arm,armv7-timer"));
	TRY(prop_cells(fdt, "interrupts", timer, 12));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	return fdt_end_node(fdt);
}

static int add_uart(void *fdt)
{
	uint64_t reg[2] = { VMM_UART_BASE, VMM_UART_SIZE };
	const uint32_t irq[3] = { GIC_FDT_SPI, VMM_UART_SPI, IRQ_LEVEL_HIGH };
	const uint32_t clocks[2] = { PHANDLE_CLK, PHANDLE_CLK };

	TRY(fdt_begin_node(fdt, "apb-pclk"));
	TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
	TRY(fdt_property_u32(fdt, "#clock-cells", 0));
	TRY(fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ));
	TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_CLK));
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, UART_PATH + 1));
	TRY(PROP_STRINGS(fdt, "compatible", "arm,pl011\0arm,primecell"));
	TRY(prop_reg(fdt, reg, 1));
	TRY(prop_cells(fdt, "interrupts", irq, 3));
	TRY(PROP_STRINGS(fdt, "clock-names", "uartclk\0apb_pclk"));
	TRY(prop_cells(fdt, "clocks", clocks, 2));
	return fdt_end_node(fdt);
}

static int add_pool(void *fdt, const struct vmm_dtb_params *p)
{
	uint64_t reg[2] = { p->pool_base, p->pool_size };
	char name[40];

	TRY(fdt_begin_node(fdt, "reserved-memory"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	snprintf(name, sizeof(name), "restricted-dma@%llx", (unsigned long long)p->pool_base);
	TRY(fdt_begin_node(fdt, name));
	/* No "no-map": the guest's swiotlb copies through the linear map; no "reusable" either. */
	TRY(fdt_property_string(fdt, "compatible", "restricted-dma-pool"));
	TRY(prop_reg(fdt, reg, 1));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_POOL));
	TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

static int add_virtio(void *fdt, const struct vmm_dtb_params *p)
{
	for (unsigned int i = 0; i < p->nr_virtio; i++) {
		uint64_t reg[2] = { VMM_VIRTIO_BASE + i * VMM_VIRTIO_SLOT, VMM_VIRTIO_SLOT };
		const uint32_t irq[3] = { GIC_FDT_SPI, VMM_VIRTIO_SPI + i, IRQ_LEVEL_HIGH };
		char name[32];

		snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)reg[0]);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
		TRY(prop_reg(fdt, reg, 1));
		TRY(prop_cells(fdt, "interrupts", irq, 3));
		TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
		if (p->pool_size) {
			TRY(fdt_property_u32(fdt, "memory-region", PHANDLE_POOL));
		}
		TRY(fdt_end_node(fdt));
	}
	return 0;
}

int vmm_dtb_build(void *buf, size_t size, const struct vmm_dtb_params *p)
{
	TRY(fdt_create(buf, (int)size));
	TRY(fdt_finish_reservemap(buf));
	TRY(fdt_begin_node(buf, ""));
	TRY(fdt_property_string(buf, "compatible", "linux,dummy-virt"));
	TRY(fdt_property_string(buf, "model", "moat-vmm (QEMU virt layout)"));
	TRY(fdt_property_u32(buf, "#address-cells", 2));
	TRY(fdt_property_u32(buf, "#size-cells", 2));
	TRY(fdt_property_u32(buf, "interrupt-parent", PHANDLE_GIC));
	TRY(add_chosen(buf, p));
	TRY(add_memory_and_cpus(buf, p));
	TRY(add_gic_and_timer(buf, p));
	TRY(add_uart(buf));
	if (p->pool_size) {
		TRY(add_pool(buf, p));
	}
	TRY(add_virtio(buf, p));
	TRY(fdt_end_node(buf));
	return fdt_finish(buf);
}

int vmm_dtb_set_initrd(void *fdt, uint64_t start, uint64_t end)
{
	int chosen = fdt_path_offset(fdt, "/chosen");

	TRY(chosen);
	TRY(fdt_setprop_inplace_u64(fdt, chosen, "linux,initrd-start", start));
	return fdt_setprop_inplace_u64(fdt, chosen, "linux,initrd-end", end);
}

int vmm_dtb_adopt(const void *user, size_t len, void *buf, size_t size, const struct vmm_dtb_params *p)
{
	int chosen;

	TRY(fdt_check_full(user, len));
	TRY(fdt_open_into(user, buf, (int)size));
	chosen = fdt_path_offset(buf, "/chosen");
	if (chosen == -FDT_ERR_NOTFOUND) {
		chosen = fdt_add_subnode(buf, 0, "chosen");
	}
	TRY(chosen);
	if (p->cmdline) {
		TRY(fdt_setprop_string(buf, chosen, "bootargs", p->cmdline));
	}
	if (p->has_initrd) {
		TRY(fdt_setprop_u64(buf, chosen, "linux,initrd-start", p->initrd_start));
		TRY(fdt_setprop_u64(buf, chosen, "linux,initrd-end", p->initrd_end));
	}
	return fdt_pack(buf);
}
