# moat.ko runs bare-metal guests to SYSTEM_OFF (tests/integration/test_linux_driver.py): hello on
# one vCPU, regs (MMIO read completion, GET/SET_REG during the exit), smp on two vCPUs (one thread
# per vCPU), each protected and normal.
rc=0
. /tests/drv_lib.sh
t run -p hello
t run -n hello
t run -p regs
t run -n regs
t run -p -c 2 smp
t run -n -c 2 smp
drv_report
exit $rc
