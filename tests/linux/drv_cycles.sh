# moat.ko: 100 create/run/destroy cycles, then a SIGKILL mid-run; no page leaks (core STATS and the
# driver's counters equal before and after).
rc=0
. /tests/drv_lib.sh
t cycles 100
t kill
t kill -n
drv_report
exit $rc
