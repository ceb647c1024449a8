# Pages a protected guest shares, mapped into the VMM (tests/integration/test_linux_driver.py):
# guest/share under moattest with the VM fd mmap()ed. The shared page reads and writes through the
# mapping; once the guest unshares it, an access is SIGBUS (the driver unmapped it before the
# unshare completed), never an external abort; the guest's private pages are SIGBUS throughout.
rc=0
. /tests/drv_lib.sh
t share
drv_report
exit $rc
