# make run, inside the Linux host (tests/linux/demo.sh runs every demo-*.sh): a protected bare-metal
# guest through moat-vmm on /dev/moat. Its console, then its measurement on stderr; exit 0 = the guest's
# PSCI SYSTEM_OFF.
moat-vmm run --kernel /guests/hello.bin --protected </dev/null
