# What the VMM process can reach of its guest (tests/integration/test_linux_driver.py): fork() while
# the guest runs; /proc/self/mem and process_vm_readv of the whole VMM during the canary guest's
# checkpoint find the secret in a normal VM's memory (the scanner works) and never in a protected one.
rc=0
moattest run -p -f -q memtouch || rc=1
moattest run -n -f -q memtouch || rc=1
moattest run -p -x 0x1234 canary || rc=1
moattest run -n -x 0x1234 canary || rc=1
exit $rc
