# A host driver reading a protected guest's page through the kernel's linear map
# (tests/integration/test_linux_driver.py): the test module moat_peek.ko does it on an ioctl; the
# core refuses the access (external abort, logged with page and owner), the kernel Oopses that task
# only, and the guest and the host live on.
rc=0
. /tests/drv_lib.sh
insmod /lib/moat/moat_peek.ko || exit 1
t peek
echo "drv_peek: host alive after the Oops" >>$out
drv_report
exit $rc
