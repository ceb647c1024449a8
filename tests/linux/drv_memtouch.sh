# moat.ko demand paging (tests/integration/test_linux_driver.py): memtouch backs 16384 pages through
# MEM_FAULT exits handled in the kernel, protected (DONATE_VM) and normal (pinned VMM pages, SHARE_VM).
# Then again, with SIGUSR1 to the vCPU thread every 2 ms: RUN returns EINTR (exit INTR), the guest goes on.
rc=0
. /tests/drv_lib.sh
t run -p memtouch
t run -n memtouch
t run -p -i -q memtouch
drv_report
exit $rc
