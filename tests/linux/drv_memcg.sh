# Guest memory is charged to the VMM's memory cgroup (tests/integration/test_linux_driver.py): a VMM
# limited to 32 MiB cannot give its protected guest 64 MiB; it is OOM-killed and every page comes back.
rc=0
. /tests/drv_lib.sh
mount -t cgroup2 none /sys/fs/cgroup || exit 1
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
t memcg
drv_report
exit $rc
