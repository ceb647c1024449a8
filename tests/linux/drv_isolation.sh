# What the VMM process can reach of its guest (tests/integration/test_linux_driver.py): fork() while
# the guest runs; /proc/self/mem and process_vm_readv of the whole VMM during the canary guest's
# checkpoint find the secret in a normal VM's memory (the scanner works) and never in a protected one.
rc=0
. /tests/drv_lib.sh
t run -p -f -q memtouch
t run -n -f -q memtouch
t run -p -x 0x1234 canary
t run -n -x 0x1234 canary
drv_report
exit $rc
