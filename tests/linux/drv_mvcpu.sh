# moat.ko with four vCPUs on their own threads (tests/integration/test_linux_driver.py): the mvcpu
# guest's spinlock, SGIs between vCPUs (KICK exits: wake or IPI the target) and virtual timer ticks.
rc=0
. /tests/drv_lib.sh
t run -p -c 4 mvcpu
t run -n -c 4 mvcpu
drv_report
exit $rc
