# moat.ko and interrupts (tests/integration/test_linux_driver.py): mvcpu with four vCPUs on their
# own threads (spinlock, SGIs between vCPUs = KICK exits: wake or IPI the target, virtual timer
# ticks), and vgic (its GIC, timer ticks, an SGI to itself, SPI 33 raised and lowered with IRQ_LINE,
# SPI 34 refused), each protected and normal.
rc=0
. /tests/drv_lib.sh
t run -p -c 4 mvcpu
t run -n -c 4 mvcpu
t run -p -s 0x2 vgic
t run -n -s 0x2 vgic
drv_report
exit $rc
