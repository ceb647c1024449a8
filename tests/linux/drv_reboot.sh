# moat.ko's reboot notifier (tests/integration/test_linux_driver.py): a protected guest is still
# running when /init powers the machine off; the notifier stops its vCPU and destroys the VM, and
# every page comes back before the kernel goes down.
moattest run -p -q memtouch &
sleep 1.5
echo "drv_reboot: powering off with the guest running"
exit 0
