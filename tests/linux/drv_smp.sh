# moat.ko with two vCPUs, one thread each (tests/integration/test_linux_driver.py): the smp guest's
# PSCI CPU_ON / CPU_OFF, protected and normal.
rc=0
moattest run -p -c 2 smp || rc=1
moattest run -n -c 2 smp || rc=1
exit $rc
