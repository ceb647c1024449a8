/*
 * hello: the smallest guest. Proves the image is entered, the console
 * reaches the VMM and PSCI/SMCCC calls are answered.
 *
 * Output:
 *   guest: hello from a moat VM
 *   guest: PSCI version 0x<major << 16 | minor>
 *   guest: SMCCC version 0x<major << 16 | minor>
 * then PSCI SYSTEM_OFF (from start.S when guest_main returns).
 */
#include "guest.h"

void guest_main(uint64_t x0)
{
	printf("guest: hello from a moat VM\n");
	printf("guest: PSCI version 0x%x\n", psci_version());
	printf("guest: SMCCC version 0x%x\n", smccc_version());
}
