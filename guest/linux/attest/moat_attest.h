/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/moat-attest: the ioctls of moat_attest.ko, a protected Linux guest's way to moat's guest
 * calls (include/moat/abi.h MOAT_GFN_*; docs/attestation.md "From a Linux guest"). Shared by the
 * module and the guest tool moat-attest. Each ioctl makes one call to the core and copies its
 * answer out; on a refusal it fails with the errno the core's error maps to:
 *   EOPNOTSUPP  NOT_SUPPORTED: not a protected VM of moat, or a core without these calls
 *   ENOKEY      NO_IDENTITY: the core has no device secret, so no report and no sealing key
 *   EPERM       PERM: the core refused the page (it must be the guest's own, unshared)
 *   EINVAL      INVAL or ALIGN, ERANGE RANGE, ENOMEM NOMEM, EIO anything else (or an answer of the
 *               wrong length)
 * The device is root's only (mode 0600): the sealing key is a secret of the VM.
 */
#ifndef MOAT_ATTEST_H
#define MOAT_ATTEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MOAT_ATTEST_DEVICE "/dev/moat-attest"
#define MOAT_ATTEST_MEASUREMENT_SIZE 32
#define MOAT_ATTEST_CHALLENGE_SIZE 64
#define MOAT_ATTEST_SEALING_KEY_SIZE 32
/* The core writes the report into one 4 KiB page: no report is longer. */
#define MOAT_ATTEST_REPORT_MAX 4096

struct moat_attest_measurement {
	__u8 measurement[MOAT_ATTEST_MEASUREMENT_SIZE]; /* out: the VM's measurement (SHA-256) */
};

struct moat_attest_report {
	__u8 challenge[MOAT_ATTEST_CHALLENGE_SIZE]; /* in: the verifier's challenge (nonce) */
	__u32 size;				    /* out: bytes of report[] the core wrote */
	__u32 reserved;				    /* in: zero */
	__u8 report[MOAT_ATTEST_REPORT_MAX];	    /* out: the signed report (include/moat/attest.h) */
};

struct moat_attest_sealing_key {
	__u8 key[MOAT_ATTEST_SEALING_KEY_SIZE]; /* out: the VM's sealing key: keep it secret */
};

/* 0xB7 is moat.ko's ioctl type too; these numbers are apart from its (0x00.., 0x7f). */
#define MOAT_ATTEST_IOCTL_MAGIC 0xB7
#define MOAT_ATTEST_GET_MEASUREMENT _IOR(MOAT_ATTEST_IOCTL_MAGIC, 0x40, struct moat_attest_measurement)
#define MOAT_ATTEST_GET_REPORT _IOWR(MOAT_ATTEST_IOCTL_MAGIC, 0x41, struct moat_attest_report)
#define MOAT_ATTEST_GET_SEALING_KEY _IOR(MOAT_ATTEST_IOCTL_MAGIC, 0x42, struct moat_attest_sealing_key)

#endif
