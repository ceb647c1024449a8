/*
 * moattest: drives /dev/moat (host/linux/moat.ko) from inside the Linux host for the driver's
 * integration tests (tests/integration/test_linux_driver.py, through the tests/linux scripts). A small
 * VMM of its own -- one thread per vCPU, the PL011 console, the canary's checkpoint -- so the
 * driver's tests do not depend on moat-vmm.
 *
 *   moattest api                         API version, extensions, STATS
 *   moattest run [-p|-n] [-c CPUS] [-m MIB] [-x X0] [-s SPIMASK] [-f] [-q] [-i] GUEST
 *                                        run /guests/GUEST.bin to SYSTEM_OFF (-p protected, the
 *                                        default; -n normal; -f fork while it runs; -i signal
 *                                        vCPU 0's thread every 2 ms)
 *   moattest cycles N                    N create/run/destroy cycles; STATS equal before/after
 *   moattest kill [-n]                   a child runs memtouch (protected; -n normal), SIGKILL mid-run;
 *                                        STATS equal
 *   moattest badargs                     out-of-order calls and bad arguments: defined errnos
 *   moattest peek                        moat_peek.ko reads guest pages through the linear map:
 *                                        a normal VM's works, a protected VM's Oopses the reader
 *   moattest memcg                       a protected VM's pages are charged to the VMM's memory cgroup
 *   moattest peek-pid PID IPA            moat_peek.ko reads guest page IPA of the VM another process
 *                                        (PID, e.g. moat-vmm) runs, through a copy of its VM fd
 *                                        (pidfd_getfd): exit 0 if the reader was killed by the
 *                                        refusal, 1 if the read worked (make run's demo)
 *   moattest unpriv                      as uid 65534, open("/dev/moat") fails with EACCES
 *   moattest canary                      protected canary guest: /proc/self/mem and
 *                                        process_vm_readv of this process never find the secret
 *   moattest share                       protected share guest with the VM fd mmap()ed: its shared
 *                                        page is readable and writable there, SIGBUS once it is
 *                                        unshared; every other page SIGBUS throughout
 *
 * Every check prints "ok: ..." or "FAIL: ..."; the exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "moat/ioctl.h"

#define UART 0x09000000UL
#define CHECKPOINT 0x0a000000UL
#define DEV_RAISE 0x0a000044UL
#define REGS_MMIO 0x0a000010UL
#define REGS_X21 0x2121212121212121ULL
#define DEV_ACK 0x0a000048UL
#define MMIO_BASE 0x08000000UL
#define MMIO_SIZE 0x08000000UL
#define MAX_VCPUS 8
/* guest/share's layout (guest/share/main.c) */
#define SHARE_CHECKPOINT 0x0a000040UL
#define SHARE_IPA (MOAT_GUEST_RAM_BASE + 0x200000UL)
#define RELQ_IPA (MOAT_GUEST_RAM_BASE + 0x201000UL)
#define SHARE_MASK 0x5a4152454d4f4154ULL
#define HOST_REPLY 0x686f73747265706cULL
#define SHARE_WORDS 512

static int failures;
static uint64_t build_spi_mask; /* spi_mask of the VMs vm_build() makes */

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "ok: " : "FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures += !ok;
}

/* ioctl that is expected to fail with errno `want`. */
static void expect_errno(int fd, unsigned long cmd, unsigned long arg, int want, const char *what)
{
	errno = 0;
	int r = ioctl(fd, cmd, arg);

	check(r == -1 && errno == want, "%s -> %d errno %d (%s), want %d (%s)", what, r, errno, strerror(errno), want,
	      strerror(want));
}

static int open_moat(void)
{
	int fd = open("/dev/moat", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("FAIL: open /dev/moat: %s\n", strerror(errno));
		exit(99);
	}
	return fd;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool get_stats(int dev, struct moat_stats *s)
{
	memset(s, 0, sizeof(*s));
	return ioctl(dev, MOAT_GET_STATS, s) == 0;
}

static void print_stats(const char *tag, const struct moat_stats *s)
{
	printf("%s: owners host=%" PRIu64 " core=%" PRIu64 " vms=%" PRIu64 " states scrub=%" PRIu64
	       " core_shared=%" PRIu64 " vm_shared=%" PRIu64 " objects vms=%" PRIu64 " vcpus=%" PRIu64
	       " pool=%" PRIu64 " check=%" PRIu64 " driver vms=%" PRIu64 " held=%" PRIu64 " leaked=%" PRIu64 "\n",
	       tag, s->core[0][0], s->core[0][1], s->core[0][2], s->core[1][0], s->core[1][1], s->core[1][2],
	       s->core[2][0], s->core[2][1], s->core[2][2], s->core_check, s->vms, s->pages_held, s->pages_leaked);
}

static bool stats_equal(const struct moat_stats *a, const struct moat_stats *b)
{
	return !memcmp(a->core, b->core, sizeof(a->core)) && a->core_check == b->core_check && a->vms == b->vms &&
	       a->pages_held == b->pages_held && a->pages_leaked == b->pages_leaked;
}

/* ---- the guest image ---- */

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	if (!f) {
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? n : 1);
	if (fread(buf, 1, n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*size = n;
	return buf;
}

/* ---- a VM ---- */

struct vm;

struct vcpu {
	struct vm *vm;
	int index, fd;
	struct moat_vcpu_run *run;
	pthread_t thread;
	uint32_t last_exit;
	char line[256]; /* this vCPU's console line: two vCPUs printing at once interleave on a PL011 */
	size_t line_len;
};

struct vm {
	int dev, fd;
	bool protected, quiet;
	unsigned int nr_vcpus;
	uint64_t mem_size;
	void *ram; /* normal VMs */
	struct vcpu vcpus[MAX_VCPUS];
	pthread_mutex_t lock;
	unsigned int lines;
	char last_line[256];
	unsigned long checkpoints, guest_faults, mmio_exits;
	void (*on_checkpoint)(struct vm *vm);
	void (*on_share)(struct vm *vm, uint64_t value); /* guest/share's checkpoint writes */
	bool spi_dev; /* the vgic guest's device: raise/lower SPI 33 with IRQ_LINE */
	bool regs_dev; /* the regs guest: GET/SET_REG during its MMIO read */
	int get_errno, set_errno;
	unsigned long intr_exits, intr_bad, signals_sent;
	volatile bool done;
	uint64_t x19, x20;
	unsigned int raises, lowers, irq_errors;
	int raise34_errno;
	uint8_t measurement[32];
};

static void console_putc(struct vcpu *v, char c)
{
	struct vm *vm = v->vm;

	if (c == '\r') {
		return;
	}
	if (c != '\n' && v->line_len + 1 < sizeof(v->line)) {
		v->line[v->line_len++] = c;
		return;
	}
	v->line[v->line_len] = 0;
	pthread_mutex_lock(&vm->lock);
	if (!vm->quiet) {
		printf("%s\n", v->line);
	}
	memcpy(vm->last_line, v->line, v->line_len + 1);
	vm->lines++;
	pthread_mutex_unlock(&vm->lock);
	v->line_len = 0;
}

/*
 * The vgic guest's interrupt device (guest/vgic): a write of 33 to DEV_RAISE raises SPI 33 with
 * IRQ_LINE, 34 asks for SPI 34 (not in the VM's spi_mask: must be refused), a write of 33 to DEV_ACK
 * lowers SPI 33.
 */
static void spi_dev_write(struct vm *vm, uint64_t ipa, uint64_t val)
{
	struct moat_irq_level l = { (uint32_t)val, ipa == DEV_RAISE };

	if (ipa == DEV_RAISE && val == 34) {
		vm->raise34_errno = ioctl(vm->fd, MOAT_VM_IRQ_LINE, &l) ? errno : 0;
		return;
	}
	if (val != 33 || (ipa != DEV_RAISE && ipa != DEV_ACK)) {
		return;
	}
	if (ioctl(vm->fd, MOAT_VM_IRQ_LINE, &l)) {
		vm->irq_errors++;
	} else if (l.level) {
		vm->raises++;
	} else {
		vm->lowers++;
	}
}

/* The regs guest's read of REGS_MMIO: its x19/x20 are live, x21 is set to REGS_X21. */
static void regs_dev_read(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct moat_one_reg r19 = { MOAT_REG_X(19), 0 }, r20 = { MOAT_REG_X(20), 0 };
	struct moat_one_reg r21 = { MOAT_REG_X(21), REGS_X21 };

	vm->get_errno = ioctl(v->fd, MOAT_VCPU_GET_REG, &r19) || ioctl(v->fd, MOAT_VCPU_GET_REG, &r20) ? errno : 0;
	vm->set_errno = ioctl(v->fd, MOAT_VCPU_SET_REG, &r21) ? errno : 0;
	vm->x19 = r19.value;
	vm->x20 = r20.value;
	v->run->u.mmio.data = 0xc0ffee42;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	for (;;) {
		if (ioctl(v->fd, MOAT_VCPU_RUN, 0) < 0) {
			if (errno == EINTR) {
				/* A signal: RUN says so in the run page too, and the guest goes on at the next RUN. */
				if (v->run->exit_reason == MOAT_EXIT_INTR) {
					__atomic_add_fetch(&vm->intr_exits, 1, __ATOMIC_RELAXED);
				} else {
					__atomic_add_fetch(&vm->intr_bad, 1, __ATOMIC_RELAXED);
				}
				continue;
			}
			printf("vcpu%d: RUN failed: %s (core error %d)\n", v->index, strerror(errno),
			       ioctl(vm->fd, MOAT_VM_LAST_ERROR, 0));
			v->last_exit = ~0U;
			return NULL;
		}
		v->last_exit = v->run->exit_reason;
		switch (v->run->exit_reason) {
		case MOAT_EXIT_MMIO:
			__atomic_add_fetch(&vm->mmio_exits, 1, __ATOMIC_RELAXED);
			if (v->run->u.mmio.is_write) {
				if (v->run->u.mmio.ipa == UART) {
					console_putc(v, (char)v->run->u.mmio.data);
				} else if (vm->spi_dev && (v->run->u.mmio.ipa == DEV_RAISE ||
							   v->run->u.mmio.ipa == DEV_ACK)) {
					spi_dev_write(vm, v->run->u.mmio.ipa, v->run->u.mmio.data);
				} else if (v->run->u.mmio.ipa == CHECKPOINT && vm->on_checkpoint) {
					vm->checkpoints++;
					vm->on_checkpoint(vm);
				} else if (v->run->u.mmio.ipa == SHARE_CHECKPOINT && vm->on_share) {
					vm->checkpoints++;
					vm->on_share(vm, v->run->u.mmio.data);
				}
			} else if (vm->regs_dev && v->run->u.mmio.ipa == REGS_MMIO) {
				regs_dev_read(v);
			} else {
				v->run->u.mmio.data = 0; /* PL011 FR: never full; unknown devices read 0 */
			}
			break;
		case MOAT_EXIT_GUEST_FAULT:
			__atomic_add_fetch(&vm->guest_faults, 1, __ATOMIC_RELAXED);
			break;
		case MOAT_EXIT_SYSTEM_OFF:
		case MOAT_EXIT_SYSTEM_RESET:
			return NULL;
		default:
			printf("vcpu%d: unexpected exit %u\n", v->index, v->run->exit_reason);
			return NULL;
		}
	}
}

/* Builds the VM up to FINALIZE. Returns 0 or -errno (and prints which step failed). */
static int vm_build(struct vm *vm, int dev, bool protected, unsigned int nr_vcpus, uint64_t mem_mib, const char *guest,
		    uint64_t x0)
{
	char path[256];
	size_t size;
	void *image;
	struct moat_vm_config cfg = { 0 };
	struct moat_load_image li = { 0 };
	struct moat_boot boot = { MOAT_GUEST_RAM_BASE, x0 };

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->lock, NULL);
	vm->dev = dev;
	vm->protected = protected;
	vm->nr_vcpus = nr_vcpus;
	vm->mem_size = mem_mib << 20;
	snprintf(path, sizeof(path), "/guests/%s.bin", guest);
	image = read_file(path, &size);
	if (!image) {
		printf("cannot read %s\n", path);
		return -ENOENT;
	}
	vm->fd = ioctl(dev, MOAT_CREATE_VM, protected ? MOAT_VM_PROTECTED : MOAT_VM_NORMAL);
	if (vm->fd < 0) {
		printf("CREATE_VM: %s\n", strerror(errno));
		return -errno;
	}
	cfg.mem_size = vm->mem_size;
	cfg.mmio_base = MMIO_BASE;
	cfg.mmio_size = MMIO_SIZE;
	cfg.max_vcpus = nr_vcpus;
	cfg.spi_mask = build_spi_mask;
	if (!protected) {
		vm->ram = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (vm->ram == MAP_FAILED) {
			return -ENOMEM;
		}
		madvise(vm->ram, vm->mem_size, MADV_DONTFORK);
		madvise(vm->ram, vm->mem_size, MADV_DONTDUMP);
		cfg.user_addr = (uintptr_t)vm->ram;
	}
	if (ioctl(vm->fd, MOAT_VM_CONFIGURE, &cfg)) {
		printf("CONFIGURE: %s\n", strerror(errno));
		return -errno;
	}
	li.guest_addr = MOAT_GUEST_RAM_BASE;
	li.user_addr = (uintptr_t)image;
	li.size = size;
	if (ioctl(vm->fd, MOAT_VM_LOAD_IMAGE, &li)) {
		printf("LOAD_IMAGE: %s\n", strerror(errno));
		return -errno;
	}
	free(image);
	if (ioctl(vm->fd, MOAT_VM_SET_BOOT, &boot)) {
		printf("SET_BOOT: %s\n", strerror(errno));
		return -errno;
	}
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->index = i;
		v->fd = ioctl(vm->fd, MOAT_VM_CREATE_VCPU, i);
		if (v->fd < 0) {
			printf("CREATE_VCPU %u: %s\n", i, strerror(errno));
			return -errno;
		}
		v->run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			printf("mmap vcpu %u: %s\n", i, strerror(errno));
			return -errno;
		}
	}
	if (ioctl(vm->fd, MOAT_VM_FINALIZE, vm->measurement)) {
		printf("FINALIZE: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* -i: SIGUSR1 (no SA_RESTART) to vCPU 0's thread every 2 ms while the guest runs. */
static void *interrupter(void *arg)
{
	struct vm *vm = arg;

	while (!vm->done) {
		usleep(2000);
		if (!vm->done) {
			pthread_kill(vm->vcpus[0].thread, SIGUSR1);
			vm->signals_sent++;
		}
	}
	return NULL;
}

static void vm_run(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		pthread_join(vm->vcpus[i].thread, NULL);
	}
}

static void vm_close(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].run && vm->vcpus[i].run != MAP_FAILED) {
			munmap(vm->vcpus[i].run, 4096);
		}
		if (vm->vcpus[i].fd > 0) {
			close(vm->vcpus[i].fd);
		}
	}
	close(vm->fd);
	if (vm->ram) {
		munmap(vm->ram, vm->mem_size);
	}
}

static const char *exit_name(uint32_t e)
{
	switch (e) {
	case MOAT_EXIT_SYSTEM_OFF:
		return "SYSTEM_OFF";
	case MOAT_EXIT_SYSTEM_RESET:
		return "SYSTEM_RESET";
	case MOAT_EXIT_MMIO:
		return "MMIO";
	case MOAT_EXIT_GUEST_FAULT:
		return "GUEST_FAULT";
	case MOAT_EXIT_INTR:
		return "INTR";
	default:
		return "?";
	}
}

/* ---- canary: scan what this process can reach ---- */

static uint64_t canary_word0(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t canary_secret;
static unsigned long canary_hits, canary_bytes;

static bool buf_has_secret(const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		if (!memcmp(buf + i, &canary_secret, 8)) {
			return true;
		}
	}
	return false;
}

/* Every readable mapping of this process, through /proc/self/mem and process_vm_readv. */
static void canary_scan(struct vm *vm)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);
	static uint8_t buf[65536];
	char line[512];

	(void)vm;
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perm[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) != 3 || perm[0] != 'r' || strstr(line, "[vvar]")) {
			continue;
		}
		if ((uintptr_t)buf >= lo && (uintptr_t)buf < hi) {
			continue; /* our own scratch buffer */
		}
		for (unsigned long a = lo; a < hi; a += sizeof(buf)) {
			size_t n = hi - a < sizeof(buf) ? hi - a : sizeof(buf);
			struct iovec local = { buf, n }, remote = { (void *)a, n };
			ssize_t got = pread(mem, buf, n, (off_t)a);

			if (got > 0) {
				canary_bytes += got;
				canary_hits += buf_has_secret(buf, got);
			}
			got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
			if (got > 0) {
				canary_bytes += got;
				canary_hits += buf_has_secret(buf, got);
			}
		}
	}
	if (maps) {
		fclose(maps);
	}
	if (mem >= 0) {
		close(mem);
	}
}

/* ---- commands ---- */

static int cmd_api(void)
{
	int dev = open_moat();
	struct moat_stats s;
	struct stat st;
	long v;

	check(stat("/dev/moat", &st) == 0 && (st.st_mode & 0777) == 0600 && S_ISCHR(st.st_mode),
	      "/dev/moat is a char device with mode 0%o", st.st_mode & 0777);
	v = ioctl(dev, MOAT_GET_API_VERSION, 0);
	check(v == MOAT_DRIVER_API_VERSION, "GET_API_VERSION = %ld", v);
	v = ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_VM_NORMAL);
	check(v == 1, "CAP_VM_NORMAL = %ld", v);
	v = ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_VM_PROTECTED);
	check(v == 1, "CAP_VM_PROTECTED = %ld", v);
	v = ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_CORE_ABI);
	check(v == ((MOAT_ABI_VERSION_MAJOR << 16) | MOAT_ABI_VERSION_MINOR), "CAP_CORE_ABI = 0x%lx", v);
	v = ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_IRQ_LINE);
	check(v == 1, "CAP_IRQ_LINE = %ld", v);
	printf("caps: max_vcpus=%d max_vms=%d max_mem_mib=%d\n", ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_MAX_VCPUS),
	       ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_MAX_VMS),
	       ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_MAX_MEM_MIB));
	check(ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_MAX_VCPUS) >= 4, "CAP_MAX_VCPUS >= 4");
	check(ioctl(dev, MOAT_CHECK_EXTENSION, MOAT_CAP_MAX_VMS) >= 1, "CAP_MAX_VMS >= 1");
	check(ioctl(dev, MOAT_CHECK_EXTENSION, 9999) == 0, "unknown extension = 0");
	check(ioctl(dev, MOAT_GET_VCPU_MMAP_SIZE, 0) == 4096, "GET_VCPU_MMAP_SIZE = 4096");
	check(get_stats(dev, &s), "GET_STATS");
	print_stats("stats", &s);
	check(s.core[2][0] == 0 && s.vms == 0 && s.pages_held == 0 && s.core_check == 0,
	      "no VM, no page held, core invariants hold");
	return failures;
}

static int cmd_run(int argc, char **argv)
{
	bool protected = true, do_fork = false, quiet = false, interrupt = false;
	unsigned int cpus = 1;
	uint64_t mib = 0, x0 = 0;
	struct moat_vm_stats vs;
	struct moat_stats before, after;
	struct vm vm;
	double t0;
	int opt, dev;
	const char *guest;

	while ((opt = getopt(argc, argv, "pnc:m:x:s:fqi")) != -1) {
		switch (opt) {
		case 'p': protected = true; break;
		case 'n': protected = false; break;
		case 'c': cpus = atoi(optarg); break;
		case 'm': mib = strtoull(optarg, NULL, 0); break;
		case 'x': x0 = strtoull(optarg, NULL, 0); break;
		case 's': build_spi_mask = strtoull(optarg, NULL, 0); break;
		case 'f': do_fork = true; break;
		case 'q': quiet = true; break;
		case 'i': interrupt = true; break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		return 2;
	}
	guest = argv[optind];
	if (!mib) {
		mib = !strcmp(guest, "memtouch") ? 68 : !strcmp(guest, "mvcpu") ? 16 : 4;
	}
	dev = open_moat();
	get_stats(dev, &before);
	t0 = now_s();
	if (vm_build(&vm, dev, protected, cpus, mib, guest, x0)) {
		check(false, "building the %s guest", guest);
		return failures;
	}
	vm.quiet = quiet;
	vm.spi_dev = !strcmp(guest, "vgic");
	vm.regs_dev = !strcmp(guest, "regs");
	if (!strcmp(guest, "canary")) {
		canary_secret = canary_word0(x0);
		vm.on_checkpoint = canary_scan;
	}
	printf("run: %s %s guest, %u vCPU(s), %" PRIu64 " MiB, measurement %02x%02x%02x%02x...\n", guest,
	       protected ? "protected" : "normal", cpus, mib, vm.measurement[0], vm.measurement[1], vm.measurement[2],
	       vm.measurement[3]);
	if (do_fork) {
		/* The fork happens while the guest runs: the child's copy of the fds is inert, and the
		 * guest's memory is never in this process's page tables to be copied-on-write. */
		for (unsigned int i = 0; i < cpus; i++) {
			pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread, &vm.vcpus[i]);
		}
		usleep(20000);
		pid_t child = fork();

		if (child == 0) {
			struct moat_vm_stats cs;
			int r = ioctl(vm.fd, MOAT_VM_GET_STATS, &cs);

			/* A child's RUN/ioctls are refused (-EIO), as KVM's. */
			_exit(r == -1 && errno == EIO ? 0 : 1);
		}
		int st;

		waitpid(child, &st, 0);
		check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "forked child: its VM ioctl got EIO (status 0x%x)", st);
		for (unsigned int i = 0; i < cpus; i++) {
			pthread_join(vm.vcpus[i].thread, NULL);
		}
	} else if (interrupt) {
		struct sigaction sa = { .sa_handler = on_sigusr1 }; /* no SA_RESTART: RUN returns EINTR */
		pthread_t irq_thread;

		sigaction(SIGUSR1, &sa, NULL);
		for (unsigned int i = 0; i < cpus; i++) {
			pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread, &vm.vcpus[i]);
		}
		pthread_create(&irq_thread, NULL, interrupter, &vm);
		for (unsigned int i = 0; i < cpus; i++) {
			pthread_join(vm.vcpus[i].thread, NULL);
		}
		vm.done = true;
		pthread_join(irq_thread, NULL);
		printf("signals: sent=%lu intr_exits=%lu bad=%lu\n", vm.signals_sent, vm.intr_exits, vm.intr_bad);
		check(vm.intr_exits > 10 && !vm.intr_bad, "RUN returned EINTR with exit INTR on signals (%lu times)",
		      vm.intr_exits);
	} else {
		vm_run(&vm);
	}
	ioctl(vm.fd, MOAT_VM_GET_STATS, &vs);
	printf("run: exit=%s time=%.2fs lines=%u mmio_exits=%lu guest_faults=%lu mem_faults=%" PRIu64
	       " exits_user=%" PRIu64 " pages_donated=%" PRIu64 " pages_pinned=%" PRIu64 " pages_core=%" PRIu64
	       " wfi_sleeps=%" PRIu64 " kicks=%" PRIu64 "\n",
	       exit_name(vm.vcpus[0].last_exit), now_s() - t0, vm.lines, vm.mmio_exits, vm.guest_faults, vs.mem_faults,
	       vs.exits_user, vs.pages_donated, vs.pages_pinned, vs.pages_core, vs.wfi_sleeps, vs.kicks);
	printf("run: last guest line: %s\n", vm.last_line);
	check(vm.vcpus[0].last_exit == MOAT_EXIT_SYSTEM_OFF, "vcpu0 ended with SYSTEM_OFF");
	for (unsigned int i = 1; i < cpus; i++) {
		check(vm.vcpus[i].last_exit == MOAT_EXIT_SYSTEM_OFF, "vcpu%u's RUN returned SYSTEM_OFF too", i);
	}
	if (vm.regs_dev) {
		printf("regs-dev: get=%s set=%s x19=0x%" PRIx64 " x20=0x%" PRIx64 "\n", strerror(vm.get_errno),
		       strerror(vm.set_errno), vm.x19, vm.x20);
		if (protected) {
			check(vm.get_errno == EPERM && vm.set_errno == EPERM && !vm.x19 && !vm.x20,
			      "GET_REG/SET_REG of a protected vCPU -> EPERM, nothing read");
		} else {
			check(!vm.get_errno && !vm.set_errno && vm.x19 == 0x1111222233334444ULL &&
				      vm.x20 == 0x5555666677778888ULL,
			      "GET_REG read the guest's live x19/x20, SET_REG wrote x21");
		}
	}
	if (vm.spi_dev) {
		printf("spi-dev: raises=%u lowers=%u errors=%u raise34=%s\n", vm.raises, vm.lowers, vm.irq_errors,
		       strerror(vm.raise34_errno));
		check(vm.raises == 3 && vm.lowers == 3 && !vm.irq_errors,
		      "IRQ_LINE raised and lowered SPI 33 three times");
		check(vm.raise34_errno == EPERM, "IRQ_LINE of SPI 34 (not in spi_mask) -> EPERM");
	}
	if (vm.on_checkpoint) {
		printf("canary: scans=%lu bytes=%lu hits=%lu\n", vm.checkpoints, canary_bytes, canary_hits);
		check(vm.checkpoints == 1 && canary_bytes > (1 << 20),
		      "canary: the whole VMM was scanned at the checkpoint");
		/* A normal VM's RAM is the VMM's own memory: finding the secret there shows the scan works. */
		check(protected ? canary_hits == 0 : canary_hits > 0, "canary: %s", protected
			? "the secret is nowhere in the VMM's memory (/proc/self/mem, process_vm_readv)"
			: "the secret is in the normal VM's RAM, which is VMM memory");
	}
	vm_close(&vm);
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	check(stats_equal(&before, &after), "core STATS and driver counters equal before and after");
	return failures;
}

static int cmd_cycles(int n)
{
	int dev = open_moat();
	struct moat_stats before, after;
	double t0 = now_s();
	int good = 0;

	get_stats(dev, &before);
	for (int i = 0; i < n; i++) {
		struct vm vm;
		bool protected = i % 2 == 0;

		if (vm_build(&vm, dev, protected, 1, 2, "hello", 0) == 0) {
			vm.quiet = true;
			vm_run(&vm);
			good += vm.vcpus[0].last_exit == MOAT_EXIT_SYSTEM_OFF &&
				!strcmp(vm.last_line, "guest: SMCCC version 0x10001");
		} else {
			printf("cycle %d: build failed\n", i);
		}
		vm_close(&vm);
	}
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	printf("cycles: %d in %.2fs\n", n, now_s() - t0);
	check(good == n, "%d of %d cycles ran hello to SYSTEM_OFF", good, n);
	check(stats_equal(&before, &after), "core STATS and driver counters equal after %d cycles", n);
	return failures;
}

static int cmd_kill(bool protected)
{
	int dev = open_moat();
	struct moat_stats before, mid, after;
	int pfd[2], st;
	char c;
	pid_t child;

	get_stats(dev, &before);
	if (pipe(pfd)) {
		return 99;
	}
	child = fork();
	if (child == 0) {
		struct vm vm;

		close(pfd[0]);
		if (vm_build(&vm, dev, protected, 1, 68, "memtouch", 0)) {
			_exit(3);
		}
		vm.quiet = true;
		if (write(pfd[1], "r", 1) != 1) {
			_exit(4);
		}
		vm_run(&vm);
		_exit(5); /* should have been killed first */
	}
	close(pfd[1]);
	check(read(pfd[0], &c, 1) == 1, "child built a %s memtouch VM", protected ? "protected" : "normal");
	/* Let it demand-page a while, then kill it in the middle of RUN. */
	for (int i = 0; i < 200; i++) {
		usleep(10000);
		get_stats(dev, &mid);
		if (mid.pages_held > before.pages_held + 2000) {
			break;
		}
	}
	print_stats("mid", &mid);
	check(mid.vms == before.vms + 1 && mid.pages_held > before.pages_held + 100,
	      "mid-run: one more VM, %" PRIu64 " more pages held", mid.pages_held - before.pages_held);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child died of SIGKILL (status 0x%x)", st);
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	check(stats_equal(&before, &after), "every page reclaimed: STATS equal before and after the kill");
	return failures;
}

static int cmd_badargs(void)
{
	int dev = open_moat();
	struct moat_stats before, after;
	struct moat_vm_config cfg = {
		.mem_size = 2 << 20, .mmio_base = MMIO_BASE, .mmio_size = MMIO_SIZE, .max_vcpus = 2
	};
	struct moat_vm_config bad;
	struct moat_load_image li = { .guest_addr = MOAT_GUEST_RAM_BASE, .size = 4096 };
	struct moat_boot boot = { MOAT_GUEST_RAM_BASE, 0 };
	struct moat_irq_level irq = { 33, 1 };
	struct moat_one_reg reg = { MOAT_REG_PC, 0 };
	struct moat_measurement m;
	struct moat_finalize fin;
	static uint8_t sig[112];			      /* all zero: not a signature blob */
	static uint8_t page[4096] = { 0x1f, 0x20, 0x03, 0xd5 }; /* nop */
	int vm, vm2, vcpu;
	void *p;

	li.user_addr = (uintptr_t)page;
	get_stats(dev, &before);
	expect_errno(dev, MOAT_CREATE_VM, 7, EINVAL, "CREATE_VM(type 7)");
	expect_errno(dev, 0xB7ff, 0, ENOTTY, "unknown /dev/moat ioctl");
	expect_errno(dev, MOAT_GET_API_VERSION, 1, EINVAL, "GET_API_VERSION(1)");

	vm = ioctl(dev, MOAT_CREATE_VM, MOAT_VM_PROTECTED);
	check(vm >= 0, "CREATE_VM(protected)");
	/* Before CONFIGURE: not yet possible. */
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, EINVAL, "LOAD_IMAGE before CONFIGURE");
	expect_errno(vm, MOAT_VM_SET_BOOT, (uintptr_t)&boot, EINVAL, "SET_BOOT before CONFIGURE");
	expect_errno(vm, MOAT_VM_CREATE_VCPU, 0, EINVAL, "CREATE_VCPU before CONFIGURE");
	expect_errno(vm, MOAT_VM_FINALIZE, (uintptr_t)&m, EINVAL, "FINALIZE before CONFIGURE");
	expect_errno(vm, MOAT_VM_IRQ_LINE, (uintptr_t)&irq, EINVAL, "IRQ_LINE before FINALIZE");
	/* Bad configurations: the driver's checks, then the core's (RANGE -> ERANGE). */
	bad = cfg, bad.flags = 1;
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE flags=1");
	bad = cfg, bad.mem_size = 0;
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE mem_size=0");
	bad = cfg, bad.mem_size = 4097;
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE mem_size=4097");
	bad = cfg, bad.max_vcpus = 0;
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE max_vcpus=0");
	bad = cfg, bad.user_addr = (uintptr_t)page;
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE protected with user_addr");
	bad = cfg, bad.mmio_base = MOAT_GUEST_RAM_BASE;
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&bad, ERANGE, "CONFIGURE MMIO window over RAM");
	check(ioctl(vm, MOAT_VM_LAST_ERROR, 0) == -MOAT_E_RANGE, "LAST_ERROR = %d (MOAT_E_RANGE negated)",
	      ioctl(vm, MOAT_VM_LAST_ERROR, 0));
	expect_errno(vm, MOAT_VM_CONFIGURE, 16, EFAULT, "CONFIGURE from a bad pointer");
	get_stats(dev, &after);
	check(stats_equal(&before, &after), "failed CONFIGUREs changed nothing");

	check(ioctl(vm, MOAT_VM_CONFIGURE, &cfg) == 0, "CONFIGURE");
	expect_errno(vm, MOAT_VM_CONFIGURE, (uintptr_t)&cfg, EBUSY, "CONFIGURE again");
	/* LOAD_IMAGE arguments. */
	li.guest_addr = MOAT_GUEST_RAM_BASE + 1;
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, EINVAL, "LOAD_IMAGE unaligned");
	li.guest_addr = MOAT_GUEST_RAM_BASE + cfg.mem_size;
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, ERANGE, "LOAD_IMAGE past RAM");
	li.guest_addr = MOAT_GUEST_RAM_BASE - 4096;
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, ERANGE, "LOAD_IMAGE below RAM");
	li.guest_addr = MOAT_GUEST_RAM_BASE, li.user_addr = 16;
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, EFAULT, "LOAD_IMAGE from a bad pointer");
	li.user_addr = (uintptr_t)page;
	check(ioctl(vm, MOAT_VM_LOAD_IMAGE, &li) == 0, "LOAD_IMAGE");
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, EEXIST, "LOAD_IMAGE over a loaded page");
	/* LOADs in strictly ascending IPA order (docs/measurement.md): a gap is fine, going back is not. */
	li.guest_addr = MOAT_GUEST_RAM_BASE + 2 * 4096;
	check(ioctl(vm, MOAT_VM_LOAD_IMAGE, &li) == 0, "LOAD_IMAGE above a gap");
	li.guest_addr = MOAT_GUEST_RAM_BASE + 4096;
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, EINVAL, "LOAD_IMAGE below the previous one (core ORDER)");
	check(ioctl(vm, MOAT_VM_LAST_ERROR, 0) == -MOAT_E_ORDER, "LAST_ERROR = MOAT_E_ORDER negated");
	li.guest_addr = MOAT_GUEST_RAM_BASE;
	/* vCPUs. */
	expect_errno(vm, MOAT_VM_CREATE_VCPU, 2, EINVAL, "CREATE_VCPU(2) of max_vcpus 2");
	expect_errno(vm, MOAT_VM_FINALIZE, (uintptr_t)&m, EINVAL, "FINALIZE without vCPU 0 and SET_BOOT");
	vcpu = ioctl(vm, MOAT_VM_CREATE_VCPU, 0);
	check(vcpu >= 0, "CREATE_VCPU(0)");
	expect_errno(vm, MOAT_VM_CREATE_VCPU, 0, EEXIST, "CREATE_VCPU(0) again");
	expect_errno(vcpu, MOAT_VCPU_RUN, 0, EINVAL, "RUN before FINALIZE");
	expect_errno(vcpu, MOAT_VCPU_GET_REG, (uintptr_t)&reg, EPERM, "GET_REG of a protected vCPU");
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, vcpu, 0);
	check(p == MAP_FAILED && errno == EINVAL, "mmap of 2 pages of a vCPU fd -> EINVAL");
	expect_errno(vm, MOAT_VM_FINALIZE, (uintptr_t)&m, EINVAL, "FINALIZE without SET_BOOT");
	boot.pc = MOAT_GUEST_RAM_BASE + 2;
	expect_errno(vm, MOAT_VM_SET_BOOT, (uintptr_t)&boot, EINVAL, "SET_BOOT pc unaligned (core ALIGN)");
	check(ioctl(vm, MOAT_VM_LAST_ERROR, 0) == -MOAT_E_ALIGN, "LAST_ERROR = MOAT_E_ALIGN negated");
	boot.pc = 0x1000;
	expect_errno(vm, MOAT_VM_SET_BOOT, (uintptr_t)&boot, ERANGE, "SET_BOOT pc outside RAM (core RANGE)");
	boot.pc = MOAT_GUEST_RAM_BASE;
	check(ioctl(vm, MOAT_VM_SET_BOOT, &boot) == 0, "SET_BOOT");
	/* FINALIZE_SIGNED (API 3): the driver's argument checks, then a blob the core refuses (CORRUPT). */
	fin = (struct moat_finalize){ .signature = (uintptr_t)sig, .signature_len = sizeof(sig), .flags = 1 };
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EINVAL, "FINALIZE_SIGNED flags=1");
	fin.flags = 0, fin.signature_len = 0;
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EINVAL, "FINALIZE_SIGNED pointer, length 0");
	fin.signature = 0, fin.signature_len = sizeof(sig);
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EINVAL, "FINALIZE_SIGNED length, no pointer");
	fin.signature = (uintptr_t)page, fin.signature_len = 4097;
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EINVAL, "FINALIZE_SIGNED length 4097");
	fin.signature = 16, fin.signature_len = sizeof(sig);
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EFAULT, "FINALIZE_SIGNED from a bad pointer");
	fin.signature = (uintptr_t)sig;
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EBADMSG, "FINALIZE_SIGNED with a zeroed blob");
	check(ioctl(vm, MOAT_VM_LAST_ERROR, 0) == -MOAT_E_CORRUPT, "LAST_ERROR = MOAT_E_CORRUPT negated");
	check(ioctl(vm, MOAT_VM_FINALIZE, &m) == 0, "FINALIZE (after a refused FINALIZE_SIGNED)");
	expect_errno(vm, MOAT_VM_FINALIZE_SIGNED, (uintptr_t)&fin, EBUSY, "FINALIZE_SIGNED after FINALIZE");
	/* After FINALIZE: already done. */
	expect_errno(vm, MOAT_VM_FINALIZE, (uintptr_t)&m, EBUSY, "FINALIZE again");
	expect_errno(vm, MOAT_VM_LOAD_IMAGE, (uintptr_t)&li, EBUSY, "LOAD_IMAGE after FINALIZE");
	expect_errno(vm, MOAT_VM_CREATE_VCPU, 1, EBUSY, "CREATE_VCPU after FINALIZE");
	expect_errno(vm, MOAT_VM_SET_BOOT, (uintptr_t)&boot, EBUSY, "SET_BOOT after FINALIZE");
	expect_errno(vm, MOAT_VM_IRQ_LINE, (uintptr_t)&irq, EPERM, "IRQ_LINE of an SPI not in spi_mask");
	irq.level = 2;
	expect_errno(vm, MOAT_VM_IRQ_LINE, (uintptr_t)&irq, EINVAL, "IRQ_LINE level 2");
	expect_errno(vcpu, MOAT_VCPU_RUN, 1, EINVAL, "RUN(1)");
	expect_errno(vcpu, 0xB7ff, 0, ENOTTY, "unknown vCPU ioctl");
	expect_errno(vm, 0xB7ff, 0, ENOTTY, "unknown VM ioctl");
	/* A normal VM's memory must be the caller's. */
	vm2 = ioctl(dev, MOAT_CREATE_VM, MOAT_VM_NORMAL);
	bad = cfg;
	expect_errno(vm2, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE normal without user_addr");
	bad.user_addr = (uintptr_t)page + 1;
	expect_errno(vm2, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EINVAL, "CONFIGURE normal, user_addr unaligned");
	bad.user_addr = 0xffff000000000000ULL;
	expect_errno(vm2, MOAT_VM_CONFIGURE, (uintptr_t)&bad, EFAULT, "CONFIGURE normal, kernel user_addr");
	close(vm2);
	close(vcpu);
	close(vm);
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	check(stats_equal(&before, &after), "after closing: core STATS and driver counters equal before and after");
	return failures;
}

/* moat_peek.ko's ioctl (host/linux/moat_peek.c). */
struct moat_peek {
	int32_t vm_fd;
	uint32_t pad;
	uint64_t ipa;
	uint64_t value;
};
#define MOAT_PEEK _IOWR(0xB7, 0x7f, struct moat_peek)

/* A child process reads a guest page through the kernel's linear map (moat_peek.ko). */
static int peek_child(int vm_fd, uint64_t ipa, uint64_t *value)
{
	int pfd[2], st;
	pid_t child;

	if (pipe(pfd)) {
		return -1;
	}
	child = fork();
	if (child == 0) {
		struct moat_peek p = { .vm_fd = vm_fd, .ipa = ipa };
		int fd = open("/dev/moat_peek", O_RDWR);

		if (fd < 0 || ioctl(fd, MOAT_PEEK, &p)) {
			_exit(3);
		}
		if (write(pfd[1], &p.value, 8) != 8) {
			_exit(4);
		}
		_exit(0);
	}
	close(pfd[1]);
	waitpid(child, &st, 0);
	if (read(pfd[0], value, 8) != 8) {
		*value = 0;
	}
	close(pfd[0]);
	return st;
}

static int cmd_peek(void)
{
	int dev = open_moat();
	struct moat_stats before, after;
	struct vm vm, nvm;
	uint64_t value = 0;
	int st;

	get_stats(dev, &before);
	/* Control: a normal VM's page lent with SHARE_VM is the host's and reads fine. */
	if (vm_build(&nvm, dev, false, 1, 4, "canary", 0x1234)) {
		check(false, "building the normal canary guest");
		return failures;
	}
	nvm.quiet = true;
	vm_run(&nvm);
	st = peek_child(nvm.fd, 0x40200000, &value);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && value == canary_word0(0x1234),
	      "normal VM: linear-map read of its page at 0x40200000 works: 0x%" PRIx64 " (status 0x%x)", value, st);
	vm_close(&nvm);

	/* A protected VM's page: the child's read takes the external abort, the guest runs on. */
	if (vm_build(&vm, dev, true, 1, 68, "memtouch", 0)) {
		check(false, "building the protected memtouch guest");
		return failures;
	}
	for (unsigned int i = 0; i < vm.nr_vcpus; i++) {
		pthread_create(&vm.vcpus[i].thread, NULL, vcpu_thread, &vm.vcpus[i]);
	}
	usleep(300000);
	value = 0;
	st = peek_child(vm.fd, MOAT_GUEST_RAM_BASE, &value);
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "protected VM: the reading task was killed by the Oops "
	      "(status 0x%x, value 0x%" PRIx64 ")", st, value);
	for (unsigned int i = 0; i < vm.nr_vcpus; i++) {
		pthread_join(vm.vcpus[i].thread, NULL);
	}
	check(vm.vcpus[0].last_exit == MOAT_EXIT_SYSTEM_OFF && !strcmp(vm.last_line, "guest: memtouch 16384 pages ok"),
	      "the guest lived on: '%s', exit %s", vm.last_line, exit_name(vm.vcpus[0].last_exit));
	vm_close(&vm);
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	check(stats_equal(&before, &after), "core STATS and driver counters equal before and after");
	return failures;
}

/*
 * The VM fd of another process (moat-vmm): the fd whose /proc/PID/fd link names the driver's
 * "moat-vm" anonymous file, copied into this process with pidfd_getfd (root: ptrace access).
 */
static int foreign_vm_fd(pid_t pid)
{
	char path[64], link[64];
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0) {
		return -1;
	}
	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			/*
			 * "anon_inode:[moat-vm]" since the VM file has an inode of its own (moat_vm.c, for
			 * mmap); "anon_inode:moat-vm" from a driver that used the shared anonymous inode.
			 */
			if (!strcmp(link, "anon_inode:[moat-vm]") || !strcmp(link, "anon_inode:moat-vm")) {
				int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);

				close(pidfd);
				return copy;
			}
		}
	}
	close(pidfd);
	errno = ENOENT;
	return -1;
}

static int cmd_peek_pid(int argc, char **argv)
{
	uint64_t value = 0;
	int vm_fd, st;

	if (argc != 3) {
		fprintf(stderr, "usage: moattest peek-pid PID IPA\n");
		return 2;
	}
	vm_fd = foreign_vm_fd((pid_t)atoi(argv[1]));
	if (vm_fd < 0) {
		fprintf(stderr, "moattest: no moat VM fd in process %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	st = peek_child(vm_fd, strtoull(argv[2], NULL, 0), &value);
	close(vm_fd);
	if (WIFSIGNALED(st)) {
		printf("peek: the host's read of guest page %s was refused: the reading task died of signal %d\n",
		       argv[2], WTERMSIG(st));
		return 0;
	}
	printf("peek: the host read guest page %s: 0x%" PRIx64 " (status 0x%x)\n", argv[2], value, st);
	return 1;
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0) {
		close(fd);
	}
	return ok;
}

static long read_count(const char *path, const char *key)
{
	char buf[4096], *p;
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f) {
		fclose(f);
	}
	buf[n] = 0;
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/*
 * Guest memory is charged to the VMM's memory cgroup: a child in a cgroup with memory.max = 32 MiB
 * runs memtouch in a protected VM (64 MiB of guest pages, all allocated by the driver, none mapped
 * in the process). The charge fails before the guest is done: the memcg OOM killer kills the VMM
 * (or RUN fails with ENOMEM), and every page comes back.
 */
static int cmd_memcg(void)
{
	const char *cg = "/sys/fs/cgroup/moat-test";
	int dev = open_moat();
	struct moat_stats before, after;
	char path[256];
	int st;
	pid_t child;

	mkdir(cg, 0755);
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	if (!write_file(path, "33554432")) {
		printf("FAIL: cannot set %s: %s\n", path, strerror(errno));
		return 99;
	}
	get_stats(dev, &before);
	child = fork();
	if (child == 0) {
		struct vm vm;
		char pid[32];

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		snprintf(pid, sizeof(pid), "%d", getpid());
		if (!write_file(path, pid)) {
			_exit(3);
		}
		if (vm_build(&vm, dev, true, 1, 68, "memtouch", 0)) {
			_exit(4);
		}
		vm.quiet = true;
		vm_run(&vm);
		/* RUN failed (ENOMEM): vcpu_thread printed it. */
		_exit(vm.vcpus[0].last_exit == MOAT_EXIT_SYSTEM_OFF ? 5 : 6);
	}
	waitpid(child, &st, 0);
	snprintf(path, sizeof(path), "%s/memory.events", cg);
	printf("memcg: child status 0x%x, oom_kill %ld, max %ld\n", st, read_count(path, "oom_kill "),
	       read_count(path, "max "));
	check((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) || (WIFEXITED(st) && WEXITSTATUS(st) == 6),
	      "the VMM over its memory.max was OOM-killed or its RUN failed (status 0x%x)", st);
	check(read_count(path, "max ") > 0, "the cgroup hit memory.max: guest pages are charged to it");
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	check(stats_equal(&before, &after), "every page reclaimed: STATS equal before and after");
	rmdir(cg);
	return failures;
}

/* ---- share: the guest's shared page through mmap() of the VM fd ---- */

static __thread sigjmp_buf probe_jmp;
static __thread volatile int probing;
static __thread volatile int bus_code;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!probing) {
		/* Not one of our probes: die of it as if unhandled. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	bus_code = si->si_code;
	siglongjmp(probe_jmp, 1);
}

/* One access to p: 0 if it worked (a read stores into *v), 1 on SIGBUS. */
static int probe(volatile uint64_t *p, uint64_t *v, bool write)
{
	if (sigsetjmp(probe_jmp, 1)) {
		probing = 0;
		return 1;
	}
	probing = 1;
	if (write) {
		*p = *v;
	} else {
		*v = *p;
	}
	probing = 0;
	return 0;
}

static uint8_t *share_map;	/* the VM fd's mapping of guest RAM */
static int share_proc_mem = -1; /* /proc/self/mem */

static volatile uint64_t *share_word(uint64_t ipa, unsigned int i)
{
	return (volatile uint64_t *)(share_map + (ipa - MOAT_GUEST_RAM_BASE)) + i;
}

/*
 * A second thread reads the shared page without pause from checkpoint 1 until after the unshare, so
 * that some read races the driver's unmap: every read either sees the guest's word or is SIGBUS
 * from the driver (BUS_ADRERR). A read that reached the page after the core took it would be an
 * external abort instead (SIGBUS with BUS_OBJERR, and the core's log line).
 */
static volatile bool reader_stop;
static volatile unsigned long reader_ok, reader_adrerr, reader_other;
static pthread_t reader_thread;

static void *share_reader(void *arg)
{
	uint64_t v;

	(void)arg;
	while (!reader_stop) {
		bus_code = 0;
		if (!probe(share_word(SHARE_IPA, 0), &v, false)) {
			reader_ok += v == (SHARE_IPA ^ SHARE_MASK);
			reader_other += v != (SHARE_IPA ^ SHARE_MASK);
		} else if (bus_code == BUS_ADRERR) {
			reader_adrerr++;
		} else {
			reader_other++;
		}
	}
	return NULL;
}

static void share_checkpoint(struct vm *vm, uint64_t value)
{
	struct moat_vm_stats vs;
	uint64_t v = 0;
	unsigned int good = 0;

	if (value == 1) {
		for (unsigned int i = 0; i < SHARE_WORDS; i++) {
			good += !probe(share_word(SHARE_IPA, i), &v, false) && v == (SHARE_IPA ^ SHARE_MASK ^ i);
		}
		check(good == SHARE_WORDS, "share: read %u of %u words of the shared page through the VM fd's mapping",
		      good, SHARE_WORDS);
		v = HOST_REPLY;
		check(!probe(share_word(SHARE_IPA, SHARE_WORDS - 1), &v, true), "share: wrote the reply into it");
		/* Private pages of the same VM in the same mapping: never there. */
		check(probe(share_word(MOAT_GUEST_RAM_BASE, 0), &v, false) == 1 && bus_code == BUS_ADRERR,
		      "share: the guest's private image page -> SIGBUS (si_code %d)", bus_code);
		check(probe(share_word(RELQ_IPA, 0), &v, false) == 1, "share: an unbacked page -> SIGBUS");
		/* Mapped, but still no page for GUP: /proc/self/mem cannot read even a shared page. */
		errno = 0;
		check(pread(share_proc_mem, &v, 8, (off_t)(uintptr_t)share_word(SHARE_IPA, 0)) != 8,
		      "share: /proc/self/mem read of the mapped shared page fails (errno %d)", errno);
		ioctl(vm->fd, MOAT_VM_GET_STATS, &vs);
		check(vs.share_faults >= 1 && vs.unshare_exits == 0,
		      "share: share_faults=%" PRIu64 " unshare_exits=%" PRIu64, vs.share_faults, vs.unshare_exits);
		pthread_create(&reader_thread, NULL, share_reader, NULL);
		/* The guest unshares only once the reader is at it (bounded: a broken reader fails below). */
		for (double t = now_s(); !reader_ok && !reader_adrerr && !reader_other && now_s() - t < 5;) {
			sched_yield();
		}
		printf("share: reader started: %lu reads, %lu SIGBUS, %lu other\n", reader_ok, reader_adrerr, reader_other);
	} else if (value == 2) {
		reader_stop = true;
		pthread_join(reader_thread, NULL);
		printf("share: reader: %lu reads of the guest's word, %lu SIGBUS (BUS_ADRERR), %lu other\n", reader_ok,
		       reader_adrerr, reader_other);
		check(reader_ok > 0 && reader_adrerr > 0 && reader_other == 0,
		      "share: a reader racing the unshare saw the page, then SIGBUS from the driver, nothing else");
		/* Unshared: the driver took the page out of the mapping before the guest's call returned. */
		bus_code = 0;
		check(probe(share_word(SHARE_IPA, 0), &v, false) == 1 && bus_code == BUS_ADRERR,
		      "share: after the unshare the page -> SIGBUS (si_code %d), not an external abort", bus_code);
		v = 0;
		check(probe(share_word(SHARE_IPA, 1), &v, true) == 1, "share: a write -> SIGBUS too");
		ioctl(vm->fd, MOAT_VM_GET_STATS, &vs);
		check(vs.unshare_exits == 1, "share: unshare_exits=%" PRIu64, vs.unshare_exits);
	} else if (value == 3) {
		check(probe(share_word(RELQ_IPA, 0), &v, false) == 1, "share: the relinquished page -> SIGBUS");
	}
}

static int cmd_share(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };
	struct moat_stats before, after;
	struct vm vm;
	int dev = open_moat(), fd;
	uint64_t mib = 4, len = mib << 20;
	void *p;

	sigaction(SIGBUS, &sa, NULL);
	share_proc_mem = open("/proc/self/mem", O_RDONLY);
	get_stats(dev, &before);
	/* Before CONFIGURE there is no RAM to map. */
	fd = ioctl(dev, MOAT_CREATE_VM, MOAT_VM_PROTECTED);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p == MAP_FAILED && errno == EINVAL, "share: mmap before CONFIGURE -> EINVAL (%s)", strerror(errno));
	close(fd);
	if (vm_build(&vm, dev, true, 1, mib, "share", 0)) {
		check(false, "building the share guest");
		return failures;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, vm.fd, 0);
	check(p == MAP_FAILED && errno == EPERM, "share: mmap PROT_EXEC -> EPERM (%s)", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, vm.fd, 0);
	check(p == MAP_FAILED && errno == EINVAL, "share: mmap MAP_PRIVATE -> EINVAL (%s)", strerror(errno));
	p = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vm.fd, 0);
	check(p == MAP_FAILED && errno == EINVAL, "share: mmap beyond RAM -> EINVAL (%s)", strerror(errno));
	share_map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, vm.fd, 0);
	check(share_map != MAP_FAILED, "share: mmap of the VM fd, %" PRIu64 " MiB (%s)", mib,
	      share_map == MAP_FAILED ? strerror(errno) : "mapped");
	if (share_map == MAP_FAILED) {
		return failures;
	}
	check(mprotect(share_map, 4096, PROT_READ | PROT_EXEC) == -1, "share: mprotect PROT_EXEC refused");
	vm.on_share = share_checkpoint;
	vm_run(&vm);
	check(vm.checkpoints == 3 && vm.vcpus[0].last_exit == MOAT_EXIT_SYSTEM_OFF,
	      "share: 3 checkpoints, then SYSTEM_OFF (%lu, exit %s)", vm.checkpoints, exit_name(vm.vcpus[0].last_exit));
	munmap(share_map, len);
	vm_close(&vm);
	get_stats(dev, &after);
	print_stats("before", &before);
	print_stats("after", &after);
	check(after.core_check == 0, "core CHECK: %" PRIu64 " violations", after.core_check);
	check(stats_equal(&before, &after), "core STATS and driver counters equal before and after");
	return failures;
}

static int cmd_unpriv(void)
{
	int fd;

	if (setgid(65534) || setuid(65534)) {
		printf("FAIL: setuid: %s\n", strerror(errno));
		return 99;
	}
	errno = 0;
	fd = open("/dev/moat", O_RDWR);
	check(fd < 0 && errno == EACCES, "uid %d: open(/dev/moat) -> %d errno %d (%s), want EACCES", getuid(), fd,
	      errno, strerror(errno));
	return failures;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: moattest api|run|cycles N|kill|badargs|unpriv\n");
		return 2;
	}
	if (!strcmp(argv[1], "api")) {
		return cmd_api();
	}
	if (!strcmp(argv[1], "run")) {
		return cmd_run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "cycles")) {
		return cmd_cycles(argc > 2 ? atoi(argv[2]) : 100);
	}
	if (!strcmp(argv[1], "kill")) {
		return cmd_kill(!(argc > 2 && !strcmp(argv[2], "-n")));
	}
	if (!strcmp(argv[1], "badargs")) {
		return cmd_badargs();
	}
	if (!strcmp(argv[1], "memcg")) {
		return cmd_memcg();
	}
	if (!strcmp(argv[1], "peek")) {
		return cmd_peek();
	}
	if (!strcmp(argv[1], "peek-pid")) {
		return cmd_peek_pid(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "unpriv")) {
		return cmd_unpriv();
	}
	if (!strcmp(argv[1], "share")) {
		return cmd_share();
	}
	fprintf(stderr, "moattest: unknown command %s\n", argv[1]);
	return 2;
}
