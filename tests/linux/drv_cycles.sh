# moat.ko: 100 create/run/destroy cycles, then a SIGKILL mid-run; no page leaks (core STATS and the
# driver's counters equal before and after).
rc=0
moattest cycles 100 || rc=1
moattest kill || rc=1
exit $rc
