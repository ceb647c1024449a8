/*
 * The core's EL2 stacks: one per CPU (MAX_CPUS), each above an unmapped guard
 * page that turns an overflow into a fault instead of a silent overwrite.
 * moat.lds.S reserves them, head.S and cpu.c point SP_EL2 at them, mmu.c
 * unmaps the guards. Plain numbers: included by C, assembly and the linker
 * script.
 */
#ifndef MOAT_ARM64_STACK_H
#define MOAT_ARM64_STACK_H

#include "config.h"

#define STACK_SIZE 0x4000
#define GUARD_SIZE 0x1000

#endif
