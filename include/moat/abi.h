/*
 * moat host ABI: function IDs and result conventions, shared verbatim by the
 * core, the test host, the Linux driver, the VMM and guests.
 *
 * SMCCC fast calls, SMC64, owner 6 (vendor hypervisor), issued with HVC #0
 * from EL1: x0 = function ID, x1..x6 = arguments. On return x0 = 0 or a
 * negative enum moat_error, x1..x3 = results, and every other register holds
 * the caller's own value. docs/ABI.md documents each call.
 */
#ifndef MOAT_ABI_H
#define MOAT_ABI_H

#include "errors.h"

#define MOAT_ABI_VERSION_MAJOR 1
#define MOAT_ABI_VERSION_MINOR 0

/* (fixed) 0xC6000000 | (0x100 + n): host calls live at n >= 0. */
#define MOAT_FN(n) (0xC6000000UL | (0x100UL + (n)))
#define MOAT_FN_NUMBER(fid) ((unsigned long)(fid)&0xFFFFUL)

#define MOAT_FN_VERSION MOAT_FN(0) /* -> x1 = (major << 16) | minor */

#endif
