# moat.ko's API (tests/integration/test_linux_driver.py): version and extensions, bad arguments and
# out-of-order calls (defined errnos, nothing changed), an unprivileged open of /dev/moat.
rc=0
. /tests/drv_lib.sh
t api
t badargs
t unpriv
drv_report
exit $rc
