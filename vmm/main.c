/*
 * moat-vmm's main: reads the files, lays out guest RAM, builds the VM through a backend (backend.h),
 * runs one thread per vCPU and turns the guest's end into the exit status (vmm.h, VMM_EXIT_*).
 *
 * Threads:
 *  - main: builds the VM, starts the others, then waits in sigwait() for SIGINT/SIGTERM/SIGHUP or for
 *    SIGUSR2, which a vCPU thread sends once it has set the exit status; then stops the vCPUs;
 *  - one per vCPU: RUN in a loop, MMIO exits dispatched on the bus (mmio.h). vCPU 0 starts at the
 *    image's entry; the others block inside RUN until the guest's PSCI CPU_ON (the driver's job);
 *  - input: stdin into the PL011's RX FIFO (pl011.h), blocking while the FIFO is full;
 *  - one worker per virtio device (virtio_mmio.h): QueueNotify only wakes it, so a vCPU thread never
 *    does a device's I/O.
 * Stopping: a vCPU thread leaves RUN only when the guest exits to user space or a signal arrives, so
 * main sets `stopping` and sends SIGUSR1 (whose handler does nothing, installed without SA_RESTART so
 * RUN returns -EINTR) again and again until each thread is gone: a signal that lands just before a
 * thread enters RUN would otherwise be lost.
 */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <errno.h>
#include <libfdt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "gmem.h"
#include "mmio.h"
#include "pl011.h"
#include "virtio_dev.h"
#include "vmm.h"

#define GUEST_FAULTS_SHOWN 8 /* a guest faulting in a loop must not flood stderr */
#define STOP_TRIES 500 /* x 10 ms: how long main keeps kicking a vCPU thread before exiting anyway */

struct vmm {
	const struct backend_ops *ops;
	struct backend *be;
	struct backend_vcpu *vcpus[VMM_MAX_CPUS];
	pthread_t threads[VMM_MAX_CPUS];
	unsigned int nr_threads;
	pthread_t main_thread;
	struct mmio_bus bus;
	struct pl011 uart;
	atomic_int status; /* -1 until the first vCPU thread (or main) decides how the VM ended */
	atomic_bool stopping;
	atomic_uint guest_faults; /* GUEST_FAULT exits seen: if any, the exit status is VMM_EXIT_GUEST_FAULT */
	/* virtio: slots 0..nr_virtio-1 in the order disk, net, console (VMM_VIRTIO_*) */
	struct gmem gmem;
	struct virtio_mmio virtio[VMM_VIRTIO_MAX];
	unsigned int nr_virtio, nr_virtio_planned;
	uint64_t pool_base, pool_size;
	struct virtio_blk blk;
	struct virtio_net net;
	struct virtio_console vcon;
	bool has_blk, has_net, has_vcon;
};

static struct vmm vmm = { .status = -1 };
static struct termios saved_tty;
static bool tty_raw;

/* ---- files ---- */

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "moat-vmm: --dump-dtb '%s': %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the console ---- */

static void uart_tx(void *ctx, uint8_t byte)
{
	/* Unbuffered: the guest's output appears as it is written (each byte is already an MMIO exit). */
	if (write(STDOUT_FILENO, &byte, 1) < 0) {
		/* stdout gone (EPIPE with SIGPIPE ignored): the guest keeps running without a console. */
	}
}

static void uart_irq(void *ctx, bool level)
{
	struct vmm *m = ctx;

	if (m->ops->irq_line(m->be, VMM_SPI_INTID(VMM_UART_SPI), level) != 0) {
		fprintf(stderr, "moat-vmm: UART interrupt: %s\n", m->ops->error(m->be));
	}
}

static uint64_t uart_read(void *dev, uint64_t off, unsigned int size)
{
	return pl011_read(dev, off, size);
}

static void uart_write(void *dev, uint64_t off, unsigned int size, uint64_t value)
{
	pl011_write(dev, off, size, value);
}

static void *input_thread(void *arg)
{
	struct pl011 *u = arg;
	uint8_t buf[64];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		size_t done = 0;

		if (n <= 0) {
			if (n < 0 && errno == EINTR) {
				continue;
			}
			return NULL; /* EOF or no stdin: the guest simply gets no input */
		}
		while (done < (size_t)n) {
			done += pl011_receive(u, buf + done, (size_t)n - done);
			if (done < (size_t)n && !pl011_wait_rx_space(u)) {
				return NULL;
			}
		}
	}
}

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	}
}

/* A terminal on stdin goes to character-at-a-time, no echo (the guest echoes); ^C still stops the VMM. */
static void setup_tty(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
		return;
	}
	t = saved_tty;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | IEXTEN);
	t.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) {
		tty_raw = true;
		atexit(restore_tty);
	}
}

/* ---- virtio ---- */

static void virtio_irq(void *ctx, unsigned int intid, bool level)
{
	struct vmm *m = ctx;

	if (m->ops->irq_line(m->be, intid, level) != 0) {
		fprintf(stderr, "moat-vmm: virtio interrupt %u: %s\n", intid, m->ops->error(m->be));
	}
}

static uint64_t virtio_read(void *dev, uint64_t off, unsigned int size)
{
	return virtio_mmio_read(dev, off, size);
}

static void virtio_write(void *dev, uint64_t off, unsigned int size, uint64_t value)
{
	virtio_mmio_write(dev, off, size, value);
}

/* Opens what the devices stand on (image, tap) before the VM exists; prints why not. */
static int open_virtio(const struct vmm_args *a)
{
	const char *fault = getenv("MOAT_VMM_FAULT_INJECT");
	int err;

	if (fault && *fault && !vmm_fault_parse(fault)) {
		fprintf(stderr, "moat-vmm: MOAT_VMM_FAULT_INJECT '%s': want vq-index, used-idx, desc-len or "
				"desc-addr[:AFTER]\n", fault);
		return VMM_EXIT_USAGE;
	}
	if (a->disk) {
		err = virtio_blk_open(&vmm.blk, a->disk);
		if (err) {
			fprintf(stderr, "moat-vmm: --disk '%s': %s\n", a->disk, strerror(-err));
			return VMM_EXIT_USAGE;
		}
		vmm.has_blk = true;
	}
	if (a->net_tap) {
		err = virtio_net_open(&vmm.net, a->net_tap);
		if (err) {
			fprintf(stderr, "moat-vmm: --net tap:%s: %s (is tun.ko loaded?)\n", a->net_tap, strerror(-err));
			return VMM_EXIT_ERROR;
		}
		vmm.has_net = true;
	}
	if (a->virtio_console) {
		vmm.vcon.out_fd = STDOUT_FILENO;
		vmm.has_vcon = true;
	}
	return 0;
}

static int add_one_virtio(const struct virtio_device_ops *ops, void *dev)
{
	unsigned int slot = vmm.nr_virtio;
	struct virtio_mmio *t = &vmm.virtio[slot];
	struct mmio_device d = { .name = ops->name, .base = VMM_VIRTIO_BASE + slot * VMM_VIRTIO_SLOT,
				 .size = VMM_VIRTIO_SLOT, .read = virtio_read, .write = virtio_write, .dev = t };

	if (virtio_mmio_init(t, ops, dev, &vmm.gmem, VMM_SPI_INTID(VMM_VIRTIO_SPI + slot), virtio_irq, &vmm) != 0) {
		return -1;
	}
	vmm.nr_virtio++;
	if (ops == &virtio_blk_ops || ops == &virtio_blk_ro_ops) {
		virtio_blk_attach(t, dev);
	} else if (ops == &virtio_net_ops) {
		virtio_net_attach(t, dev);
	} else {
		virtio_console_attach(t, dev);
	}
	return mmio_add(&vmm.bus, &d);
}

static void start_scan(void);

/* After create_vm: the devices' view of guest memory, their slots on the bus, their threads. */
static int add_virtio(const struct vmm_args *a)
{
	void *ram;

	if (!vmm.has_blk && !vmm.has_net && !vmm.has_vcon) {
		return 0;
	}
	ram = vmm.ops->guest_map ? vmm.ops->guest_map(vmm.be) : NULL;
	if (ram == NULL) {
		fprintf(stderr, "moat-vmm: %s\n", vmm.ops->error(vmm.be));
		return -1;
	}
	gmem_install_sigbus();
	/* A protected VM's devices see the pool only; a normal VM's all of RAM (its own memory). */
	if (a->protected_vm) {
		gmem_init(&vmm.gmem, ram, VMM_RAM_BASE, a->mem_size, vmm.pool_base, vmm.pool_size);
	} else {
		gmem_init(&vmm.gmem, ram, VMM_RAM_BASE, a->mem_size, VMM_RAM_BASE, a->mem_size);
	}
	if ((vmm.has_blk && add_one_virtio(vmm.blk.read_only ? &virtio_blk_ro_ops : &virtio_blk_ops, &vmm.blk)) ||
	    (vmm.has_net && add_one_virtio(&virtio_net_ops, &vmm.net)) ||
	    (vmm.has_vcon && add_one_virtio(&virtio_console_ops, &vmm.vcon))) {
		fprintf(stderr, "moat-vmm: cannot set up the virtio devices\n");
		return -1;
	}
	for (unsigned int i = 0; i < vmm.nr_virtio; i++) {
		if (virtio_mmio_start(&vmm.virtio[i]) != 0) {
			fprintf(stderr, "moat-vmm: cannot start a virtio thread\n");
			return -1;
		}
	}
	start_scan();
	return 0;
}

/*
 * Test-only (docs/moat-vmm.md, ENVIRONMENT): MOAT_VMM_SCAN=PATTERN starts a thread that reads every
 * page of guest RAM again and again, through the same mapping the devices use but without the window
 * check, and counts which pages could be read, inside and outside the pool, and how often PATTERN (a
 * secret the guest keeps in its private memory) was seen. For a protected VM only pool pages the guest
 * shared may be readable and PATTERN must never be found; for a normal VM everything is readable
 * (its RAM is ours), which shows the scan works.
 */
static struct {
	pthread_t thread;
	atomic_bool stop, started;
	const char *pattern;
	uint64_t passes, pool_pages, other_pages, refused, hits;
	uint64_t other_first[4]; /* the first readable pages outside the pool, for the report */
	unsigned int nr_other_first;
} scan;

static void *scan_thread(void *arg)
{
	const struct gmem *g = &vmm.gmem;
	size_t plen = strlen(scan.pattern);
	uint8_t *page = malloc(2 * VMM_PAGE_SIZE);

	(void)arg;
	while (page && !atomic_load(&scan.stop)) {
		uint64_t pool = 0, other = 0;

		for (uint64_t off = 0; off < g->ram_size && !atomic_load(&scan.stop); off += VMM_PAGE_SIZE) {
			uint64_t ipa = g->ram_base + off;
			bool in_pool = vmm.pool_size && ipa >= vmm.pool_base && ipa - vmm.pool_base < vmm.pool_size;

			/* The page after the previous one's tail: a match may straddle two pages. */
			memmove(page, page + VMM_PAGE_SIZE, VMM_PAGE_SIZE);
			if (gmem_read_unchecked(g, ipa, page + VMM_PAGE_SIZE, VMM_PAGE_SIZE) != 0) {
				scan.refused++;
				memset(page + VMM_PAGE_SIZE, 0, VMM_PAGE_SIZE);
				continue;
			}
			*(in_pool ? &pool : &other) += 1;
			if (!in_pool && vmm.pool_size && scan.nr_other_first < 4) {
				bool seen = false;

				for (unsigned int i = 0; i < scan.nr_other_first; i++) {
					seen |= scan.other_first[i] == ipa;
				}
				if (!seen) {
					scan.other_first[scan.nr_other_first++] = ipa;
				}
			}
			if (memmem(page + VMM_PAGE_SIZE - plen + 1, VMM_PAGE_SIZE + plen - 1, scan.pattern, plen)) {
				scan.hits++;
			}
		}
		if (atomic_load(&scan.stop)) {
			break; /* a pass cut short is not counted */
		}
		scan.passes++;
		if (pool > scan.pool_pages) {
			scan.pool_pages = pool;
		}
		scan.other_pages += other;
		sleep(3); /* a pass reads all of RAM: leave the vCPUs most of the host */
	}
	free(page);
	return NULL;
}

static void start_scan(void)
{
	sigset_t old;

	scan.pattern = getenv("MOAT_VMM_SCAN");
	if (scan.pattern && strlen(scan.pattern) >= 8 && strlen(scan.pattern) < VMM_PAGE_SIZE && vmm.gmem.ram) {
		virtio_block_signals(&old); /* as the device threads: no signal of main's */
		if (pthread_create(&scan.thread, NULL, scan_thread, NULL) == 0) {
			atomic_store(&scan.started, true);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
}

static void stop_scan(void)
{
	if (!atomic_load(&scan.started)) {
		return;
	}
	atomic_store(&scan.stop, true);
	pthread_join(scan.thread, NULL);
	fprintf(stderr,
		"moat-vmm: scan: passes=%llu pool_pages_readable=%llu other_pages_readable=%llu refused=%llu "
		"hits=%llu\n",
		(unsigned long long)scan.passes, (unsigned long long)scan.pool_pages,
		(unsigned long long)scan.other_pages, (unsigned long long)scan.refused, (unsigned long long)scan.hits);
	for (unsigned int i = 0; i < scan.nr_other_first; i++) {
		fprintf(stderr, "moat-vmm: scan: readable outside the pool (shared by the guest): IPA 0x%llx\n",
			(unsigned long long)scan.other_first[i]);
	}
}

static void stop_virtio(void)
{
	stop_scan();
	for (unsigned int i = 0; i < vmm.nr_virtio; i++) {
		virtio_mmio_stop(&vmm.virtio[i]);
	}
	if (getenv("MOAT_VMM_VIRTIO_STATS")) {
		for (unsigned int i = 0; i < vmm.nr_virtio; i++) {
			fprintf(stderr, "moat-vmm: %s: %llu notifies, %llu interrupts\n", vmm.virtio[i].ops->name,
				(unsigned long long)vmm.virtio[i].notifies, (unsigned long long)vmm.virtio[i].interrupts);
		}
	}
	if (vmm_fault_mode != VMM_FAULT_NONE) {
		fprintf(stderr, "moat-vmm: fault injection: %llu reads outside the pool, %llu refused\n",
			(unsigned long long)vmm_fault_probes, (unsigned long long)vmm_fault_refused);
	}
}

/* ---- vCPU threads ---- */

/* The first caller decides the exit status and wakes main; later ones (other vCPUs) change nothing. */
static void finish(int status)
{
	int none = -1;

	if (atomic_compare_exchange_strong(&vmm.status, &none, status)) {
		pthread_kill(vmm.main_thread, SIGUSR2);
	}
}

static int handle_exit(struct backend_vcpu *v, unsigned int index, const struct backend_exit *e)
{
	uint64_t value;
	unsigned int n;

	switch (e->kind) {
	case BACKEND_EXIT_MMIO:
		value = mmio_access(&vmm.bus, e->u.mmio.ipa, e->u.mmio.size, e->u.mmio.is_write, e->u.mmio.value);
		if (!e->u.mmio.is_write) {
			vmm.ops->mmio_complete(v, value);
		}
		return 0;
	case BACKEND_EXIT_SYSTEM_OFF:
		return VMM_EXIT_OFF;
	case BACKEND_EXIT_SYSTEM_RESET:
		fprintf(stderr, "moat-vmm: vCPU %u: the guest asked for a reset (PSCI SYSTEM_RESET)\n", index);
		return VMM_EXIT_RESET;
	case BACKEND_EXIT_GUEST_FAULT:
		/* The guest has its abort already, as hardware would deliver it, and may well survive it
		 * (a test guest expecting it, Linux killing one process): say so now, run on, and make the
		 * exit status say so at the end. */
		n = atomic_fetch_add(&vmm.guest_faults, 1) + 1;
		if (n <= GUEST_FAULTS_SHOWN) {
			fprintf(stderr,
				"moat-vmm: vCPU %u: guest fault at IPA 0x%llx: no RAM or device there, or an access "
				"the core cannot emulate; the guest got an external abort%s\n",
				index, (unsigned long long)e->u.guest_fault.ipa,
				n == GUEST_FAULTS_SHOWN ? " (further ones are only counted)" : "");
		}
		return 0;
	case BACKEND_EXIT_AGAIN:
		return 0;
	}
	return 0;
}

static void *vcpu_thread(void *arg)
{
	unsigned int index = (unsigned int)(uintptr_t)arg;
	struct backend_vcpu *v = vmm.vcpus[index];
	struct backend_exit e;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	while (!atomic_load(&vmm.stopping)) {
		int status;

		if (vmm.ops->run(v, &e) != 0) {
			fprintf(stderr, "moat-vmm: vCPU %u: %s\n", index, vmm.ops->error(vmm.be));
			finish(VMM_EXIT_ERROR);
			break;
		}
		status = handle_exit(v, index, &e);
		if (e.kind == BACKEND_EXIT_SYSTEM_OFF || e.kind == BACKEND_EXIT_SYSTEM_RESET) {
			finish(status);
			break;
		}
	}
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig; /* only here so that the signal interrupts RUN */
}

/* Blocks the signals main waits for (every thread inherits the mask) and installs the kick. */
static void setup_signals(sigset_t *waited)
{
	struct sigaction sa;
	sigset_t all;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick; /* no SA_RESTART: RUN must come back with -EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(waited);
	sigaddset(waited, SIGINT);
	sigaddset(waited, SIGTERM);
	sigaddset(waited, SIGHUP);
	sigaddset(waited, SIGUSR2);
	all = *waited;
	sigaddset(&all, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void stop_vcpus(void)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	atomic_store(&vmm.stopping, true);
	for (unsigned int i = 0; i < vmm.nr_threads; i++) {
		int tries;

		for (tries = 0; tries < STOP_TRIES; tries++) {
			struct timespec until;

			pthread_kill(vmm.threads[i], SIGUSR1);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += tick.tv_nsec;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(vmm.threads[i], NULL, &until) == 0) {
				break;
			}
		}
		if (tries == STOP_TRIES) {
			fprintf(stderr, "moat-vmm: vCPU %u does not leave RUN; exiting anyway\n", i);
		}
	}
}

/* ---- building and running the VM ---- */

static int check_limits(const struct vmm_args *a, const struct backend_limits *lim)
{
	if (a->cpus > lim->max_vcpus) {
		fprintf(stderr, "moat-vmm: --cpus %u: %s allows at most %u vCPUs per VM\n", a->cpus, vmm.ops->who,
			lim->max_vcpus);
		return VMM_EXIT_USAGE;
	}
	if (lim->max_mem && a->mem_size > lim->max_mem) {
		fprintf(stderr, "moat-vmm: --mem: %llu bytes, %s allows at most %llu\n",
			(unsigned long long)a->mem_size, vmm.ops->who, (unsigned long long)lim->max_mem);
		return VMM_EXIT_USAGE;
	}
	if (a->protected_vm && !lim->protected_vm) {
		fprintf(stderr, "moat-vmm: --protected: %s does not run protected VMs\n", vmm.ops->who);
		return VMM_EXIT_USAGE;
	}
	return 0;
}

static void print_measurement(const uint8_t m[32])
{
	fprintf(stderr, "moat-vmm: measurement ");
	for (int i = 0; i < 32; i++) {
		fprintf(stderr, "%02x", m[i]);
	}
	fprintf(stderr, "\n");
}

/*
 * MOAT_VMM_CNTVCT set in the environment: the generic timer's virtual count right before the VM is
 * created is printed when the VM has ended (printing it at once would add the console's time to the
 * span), for the "VM create -> first guest instruction" figure of make bench: guest/kbench prints
 * CNTPCT_EL0 at its first instruction. The host kernel's CNTVOFF_EL2 is 0 under moat and on KVM's
 * host (nVHE, pKVM), so both counts share one timebase; Linux lets EL0 read it (the vDSO does).
 */
static uint64_t create_count;

static void read_create_count(void)
{
#ifdef __aarch64__
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(create_count));
#endif
}

static void print_create_count(void)
{
	if (getenv("MOAT_VMM_CNTVCT") && create_count) {
		fprintf(stderr, "moat-vmm: cntvct %llu before VM create\n", (unsigned long long)create_count);
	}
}

/*
 * The plan (plan.c, shared with tools/moat-measure) fixes the VM's configuration and its LOADs in
 * ascending IPA, the one order the core takes them in (docs/measurement.md), so a protected VM's
 * measurement is what moat-measure predicts from the same arguments.
 */
static int build_vm(const struct vmm_args *a, const struct vmm_plan *p)
{
	const struct backend_ops *ops = vmm.ops;
	uint8_t measurement[32];
	int r;

	read_create_count();
	if (ops->create_vm(vmm.be, &p->spec) != 0) {
		return -1;
	}
	for (unsigned int i = 0; i < p->nr_loads; i++) {
		if (ops->load(vmm.be, p->loads[i].ipa, p->loads[i].data, p->loads[i].size) != 0) {
			return -1;
		}
	}
	if (ops->set_boot(vmm.be, p->boot_pc, p->boot_x0) != 0) {
		return -1;
	}
	for (unsigned int i = 0; i < a->cpus; i++) {
		if (ops->create_vcpu(vmm.be, i, &vmm.vcpus[i]) != 0) {
			return -1;
		}
	}
	r = ops->finalize(vmm.be, p->signature, p->signature_len, measurement);
	if (r < 0) {
		return -1;
	}
	if (r > 0 && a->protected_vm) {
		print_measurement(measurement);
	}
	return 0;
}

static int add_devices(void)
{
	struct mmio_device uart = { .name = "pl011", .base = VMM_UART_BASE, .size = VMM_UART_SIZE,
				    .read = uart_read, .write = uart_write, .dev = &vmm.uart };

	mmio_init(&vmm.bus);
	pl011_init(&vmm.uart, uart_tx, uart_irq, &vmm);
	return mmio_add(&vmm.bus, &uart);
}

static int run_vm(const struct vmm_args *a)
{
	sigset_t waited;
	pthread_t input;
	int sig, status;
	unsigned int n;

	setup_signals(&waited);
	vmm.main_thread = pthread_self();
	setup_tty();
	if (pthread_create(&input, NULL, input_thread, &vmm.uart) == 0) {
		pthread_detach(input);
	}
	for (unsigned int i = 0; i < a->cpus; i++) {
		if (pthread_create(&vmm.threads[i], NULL, vcpu_thread, (void *)(uintptr_t)i) != 0) {
			fprintf(stderr, "moat-vmm: cannot start the thread of vCPU %u\n", i);
			finish(VMM_EXIT_ERROR);
			break;
		}
		vmm.nr_threads++;
	}
	while (atomic_load(&vmm.status) < 0) {
		if (sigwait(&waited, &sig) == 0 && sig != SIGUSR2) {
			fprintf(stderr, "moat-vmm: %s: stopping the VM\n", strsignal(sig));
			finish(128 + sig);
		}
	}
	stop_vcpus();
	pl011_close(&vmm.uart);
	status = atomic_load(&vmm.status);
	/* A signal's status wins; otherwise a guest fault outranks how the guest then ended. */
	n = atomic_load(&vmm.guest_faults);
	if (n > GUEST_FAULTS_SHOWN) {
		fprintf(stderr, "moat-vmm: %u guest faults in all\n", n);
	}
	if (status < 128 && status != VMM_EXIT_ERROR && n) {
		return VMM_EXIT_GUEST_FAULT;
	}
	return status;
}

/* Builds the VM on the backend, runs it to its end and tears it down; returns the exit status. */
static int run(const struct vmm_args *a, struct vmm_plan *p)
{
	struct backend_limits lim = { 0 };
	int r;

	vmm.ops = strcmp(a->backend, "kvm") == 0 ? &backend_kvm : &backend_moat;
	if (vmm.ops->open(&vmm.be, &lim) != 0) {
		fprintf(stderr, "moat-vmm: %s\n", vmm.ops->error(vmm.be));
		vmm.ops->destroy(vmm.be);
		return VMM_EXIT_ERROR;
	}
	r = check_limits(a, &lim);
	if (r == 0) {
		r = open_virtio(a);
	}
	vmm.nr_virtio_planned = vmm.has_blk + vmm.has_net + vmm.has_vcon;
	vmm.pool_base = p->pool_base; /* the plan placed the restricted-dma-pool (protected VMs with virtio) */
	vmm.pool_size = p->pool_size;
	if (r == 0 && (add_devices() != 0 || build_vm(a, p) != 0)) {
		fprintf(stderr, "moat-vmm: %s\n", vmm.ops->error(vmm.be));
		r = VMM_EXIT_ERROR;
	}
	if (r == 0 && add_virtio(a) != 0) {
		r = VMM_EXIT_ERROR;
	}
	vmm_plan_free(p); /* in guest RAM now (or never): a kernel's tens of MiB need not stay */
	if (r == 0) {
		r = run_vm(a);
		mmio_report(&vmm.bus, stderr);
		print_create_count();
	}
	stop_virtio(); /* before destroy: the workers use guest memory the backend maps */
	vmm.ops->destroy(vmm.be);
	return r;
}

int main(int argc, char **argv)
{
	struct vmm_args a;
	struct vmm_plan p;
	int r = vmm_parse_args(argc, argv, &a);

	if (r != 0) {
		return r > 0 ? 0 : VMM_EXIT_USAGE;
	}
	memset(&p, 0, sizeof(p));
	if (vmm_plan_build(&a, &p) != 0) {
		r = VMM_EXIT_USAGE;
	} else if (a.dump_dtb) {
		r = write_file(a.dump_dtb, p.dtb, fdt_totalsize(p.dtb)) == 0 ? 0 : VMM_EXIT_ERROR;
	} else {
		r = run(&a, &p);
	}
	vmm_plan_free(&p);
	return r;
}
