# moat.ko demand paging (tests/integration/test_linux_driver.py): memtouch backs 16384 pages through
# MEM_FAULT exits handled in the kernel, protected (DONATE_VM) and normal (pinned VMM pages, SHARE_VM).
rc=0
moattest run -p memtouch || rc=1
moattest run -n memtouch || rc=1
exit $rc
