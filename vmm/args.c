/*
 * The command line: `moat-vmm run --kernel IMG [options]` into struct vmm_args. Pure: no file is
 * opened here (main.c opens them and reports what is missing), so the host-native tests drive every
 * path. Messages go to stderr and name the argument at fault.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

const char *vmm_prog = "moat-vmm";

void vmm_usage(FILE *f)
{
	fputs("usage: moat-vmm run --kernel IMG [--initrd FILE] [--cmdline STRING] [--mem SIZE]\n"
	      "                    [--cpus N] [--protected] [--dtb FILE] [--dump-dtb FILE] [--backend moat|kvm]\n"
	      "                    [--signature FILE] [--disk FILE] [--net tap:NAME] [--virtio-console]\n"
	      "       moat-vmm --help\n"
	      "\n"
	      "Runs IMG (an arm64 Linux Image, or a raw binary entered at its first byte) in a moat VM on\n"
	      "/dev/moat, with a PL011 console on stdin/stdout.\n"
	      "\n"
	      "  --kernel IMG      the image, loaded at 0x40000000 (+ text_offset for an Image)\n"
	      "  --initrd FILE     an initramfs, passed in /chosen linux,initrd-start/end\n"
	      "  --cmdline STRING  the kernel command line (/chosen bootargs)\n"
	      "  --mem SIZE        guest RAM: 256M (default), 1G, 65536K, 4096B; no suffix means MiB\n"
	      "  --cpus N          vCPUs (default 1); vCPU 0 starts, the others wait for PSCI CPU_ON\n"
	      "  --protected       a protected VM: RAM from the driver, never mapped into this process;\n"
	      "                    the measurement is printed on stderr\n"
	      "  --dtb FILE        use FILE instead of the generated devicetree (/chosen still set)\n"
	      "  --dump-dtb FILE   write the devicetree the VM would get to FILE and exit (no VM)\n"
	      "  --backend NAME    moat (default: /dev/moat) or kvm (/dev/kvm, normal VMs, for comparison)\n"
	      "  --signature FILE  the owner's signature of the VM's measurement (moat-sign sign), passed to\n"
	      "                    the core at FINALIZE; needed for protected VMs when the core enforces\n"
	      "                    the owner's policy (moat.policy=enforce)\n"
	      "  --disk FILE       virtio-blk on a raw image file (read-only if the file is)\n"
	      "  --net tap:NAME    virtio-net on the host's tap interface NAME (created if absent)\n"
	      "  --virtio-console  a virtio-console (hvc0) whose output goes to stdout\n"
	      "\n"
	      "Exit status: 0 guest SYSTEM_OFF, 3 guest SYSTEM_RESET, 4 guest fault, 1 VMM or driver\n"
	      "error, 2 bad arguments, 128+N killed by signal N. See docs/moat-vmm.md.\n",
	      f);
}

static int suffix_shift(const char *s, unsigned int *shift)
{
	static const char units[] = "BKMGT";
	const char *u;

	if (*s == '\0') {
		*shift = 20; /* QEMU's -m: a bare number is MiB */
		return 0;
	}
	u = strchr(units, *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
	if (u == NULL) {
		return -1;
	}
	*shift = (unsigned int)(u - units) * 10;
	s++;
	/* "M", "MiB" and "MB" are all accepted, as binary units; "B" takes nothing after it. */
	if (*shift != 0 && (strcmp(s, "iB") == 0 || strcmp(s, "B") == 0)) {
		return 0;
	}
	return *s == '\0' ? 0 : -1;
}

bool vmm_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int shift;
	const char *p = s;
	int base = 10;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (*p == '\0') {
		return false;
	}
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9') {
			d = (unsigned int)(*p - '0');
		} else if (base == 16 && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')) {
			d = (unsigned int)((*p | 0x20) - 'a' + 10);
		} else {
			break;
		}
		if (v > (UINT64_MAX - d) / (uint64_t)base) {
			return false;
		}
		v = v * (uint64_t)base + d;
	}
	/* A hex number is bytes and takes no suffix ("B" would read as a digit). */
	if (base == 16) {
		if (*p != '\0') {
			return false;
		}
		shift = 0;
	} else if (suffix_shift(p, &shift) != 0) {
		return false;
	}
	if (v == 0 || (shift && v > (UINT64_MAX >> shift))) {
		return false;
	}
	*out = v << shift;
	return true;
}

static bool parse_cpus(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9') {
		return false; /* strtoul would take "-1" and " 2" */
	}
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > VMM_MAX_CPUS) {
		return false;
	}
	*out = (unsigned int)v;
	return true;
}

enum { OPT_KERNEL = 'k', OPT_HELP = 'h', OPT_INITRD = 256, OPT_CMDLINE, OPT_MEM, OPT_CPUS, OPT_PROTECTED, OPT_DTB,
       OPT_DUMP_DTB, OPT_BACKEND, OPT_SIGNATURE, OPT_DISK, OPT_NET, OPT_VIRTIO_CONSOLE };

static int parse_one(int opt, const char *val, struct vmm_args *a)
{
	switch (opt) {
	case OPT_KERNEL:
		a->kernel = val;
		return 0;
	case OPT_INITRD:
		a->initrd = val;
		return 0;
	case OPT_CMDLINE:
		a->cmdline = val;
		return 0;
	case OPT_DTB:
		a->dtb = val;
		return 0;
	case OPT_DUMP_DTB:
		a->dump_dtb = val;
		return 0;
	case OPT_SIGNATURE:
		a->signature = val;
		return 0;
	case OPT_PROTECTED:
		a->protected_vm = true;
		return 0;
	case OPT_DISK:
		a->disk = val;
		return 0;
	case OPT_NET:
		if (strncmp(val, "tap:", 4) != 0 || val[4] == '\0' || strlen(val + 4) > 15) {
			fprintf(stderr, "moat-vmm: --net '%s': want tap:NAME (a name of 1 to 15 characters)\n", val);
			return -1;
		}
		a->net_tap = val + 4;
		return 0;
	case OPT_VIRTIO_CONSOLE:
		a->virtio_console = true;
		return 0;
	case OPT_BACKEND:
		if (strcmp(val, "moat") != 0 && strcmp(val, "kvm") != 0) {
			fprintf(stderr, "%s: --backend '%s': want moat or kvm\n", vmm_prog, val);
			return -1;
		}
		a->backend = val;
		return 0;
	case OPT_MEM:
		if (!vmm_parse_size(val, &a->mem_size) || a->mem_size % VMM_PAGE_SIZE) {
			fprintf(stderr, "%s: --mem '%s': want a size such as 256M or 1G, a multiple of 4 KiB\n", vmm_prog,
				val);
			return -1;
		}
		/* The IPA space ends at 2^40 (VM_IPA_BITS); RAM starts at 1 GiB. */
		if (a->mem_size > (1ULL << 40) - VMM_RAM_BASE) {
			fprintf(stderr, "%s: --mem '%s': larger than the guest address space\n", vmm_prog, val);
			return -1;
		}
		return 0;
	case OPT_CPUS:
		if (!parse_cpus(val, &a->cpus)) {
			fprintf(stderr, "%s: --cpus '%s': want a number from 1 to %d\n", vmm_prog, val, VMM_MAX_CPUS);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

int vmm_parse_args(int argc, char **argv, struct vmm_args *a)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "protected", no_argument, NULL, OPT_PROTECTED },
		{ "dtb", required_argument, NULL, OPT_DTB },
		{ "dump-dtb", required_argument, NULL, OPT_DUMP_DTB },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "signature", required_argument, NULL, OPT_SIGNATURE },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "net", required_argument, NULL, OPT_NET },
		{ "virtio-console", no_argument, NULL, OPT_VIRTIO_CONSOLE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	a->mem_size = VMM_DEFAULT_MEM;
	a->cpus = 1;
	a->backend = "moat";
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		vmm_usage(stdout);
		return 1;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "%s: %s%s%s\n", vmm_prog, argc < 2 ? "no command" : "unknown command '",
			argc < 2 ? "" : argv[1], argc < 2 ? " (want: run)" : "' (want: run)");
		vmm_usage(stderr);
		return -1;
	}
	/* getopt keeps its place in globals: optind = 0 makes glibc start afresh (tests parse many lines). */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc - 1, argv + 1, "+k:h", opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			vmm_usage(stdout);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			/* optind counts in argv + 1 and is already past the culprit. */
			fprintf(stderr, "%s: bad option '%s' (unknown, or its value is missing); see --help\n", vmm_prog,
				argv[optind]);
			return -1;
		}
		if (parse_one(opt, optarg, a) != 0) {
			return -1;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", vmm_prog, argv[optind + 1]);
		return -1;
	}
	if (a->kernel == NULL) {
		fprintf(stderr, "%s: --kernel IMG is required\n", vmm_prog);
		return -1;
	}
	if (a->signature && strcmp(a->backend, "moat") != 0) {
		fprintf(stderr, "moat-vmm: --signature is for the moat core (--backend moat); KVM checks none\n");
		return -1;
	}
	return 0;
}
