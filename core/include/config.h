/*
 * Build-time limits shared by the whole tree: the core (C, assembly and its
 * preprocessed linker script), the fake arch, the unit tests, the fuzzer and
 * the test host. Plain #defines only, so that every one of them can include
 * it. One definition each: change it here and nowhere else.
 */
#ifndef MOAT_CONFIG_H
#define MOAT_CONFIG_H

/*
 * Physical CPUs: per-CPU data and EL2 stacks, the CPUs a DTB may list, each
 * VM's last-vCPU-per-CPU table, the test host's secondary stacks.
 */
#define MAX_CPUS 8

#endif
