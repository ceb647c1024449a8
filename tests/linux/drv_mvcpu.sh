# moat.ko with four vCPUs on their own threads (tests/integration/test_linux_driver.py): the mvcpu
# guest's spinlock, SGIs between vCPUs (KICK exits: wake or IPI the target) and virtual timer ticks.
rc=0
moattest run -p -c 4 mvcpu || rc=1
moattest run -n -c 4 mvcpu || rc=1
exit $rc
