# moat.ko basics (tests/integration/test_linux_driver.py): API and extensions, bad arguments and
# out-of-order calls, the unprivileged open, one protected and one normal bare-metal guest.
rc=0
moattest api || rc=1
moattest badargs || rc=1
moattest unpriv || rc=1
moattest run -p hello || rc=1
moattest run -n hello || rc=1
exit $rc
