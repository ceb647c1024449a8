# moat.ko's API (tests/integration/test_linux_driver.py): version and extensions, bad arguments and
# out-of-order calls (defined errnos, nothing changed), an unprivileged open of /dev/moat.
rc=0
moattest api || rc=1
moattest badargs || rc=1
moattest unpriv || rc=1
exit $rc
