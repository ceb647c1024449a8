# moat.ko runs bare-metal guests to SYSTEM_OFF (tests/integration/test_linux_driver.py): hello on
# one vCPU, smp on two (one thread per vCPU), each protected and normal.
rc=0
moattest run -p hello || rc=1
moattest run -n hello || rc=1
moattest run -p -c 2 smp || rc=1
moattest run -n -c 2 smp || rc=1
exit $rc
