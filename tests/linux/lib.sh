# Sourced by the scripts the Linux host runs for the tests (/tests/NAME.sh, `. /tests/lib.sh`): one
# "ok: ..." or "FAIL: ..." line per check, rc the script's exit status (1 after any FAIL).
rc=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; rc=1; }

# vmm NAME WANT ARGS...: moat-vmm run ARGS, stdout/stderr kept in /tmp/NAME.out/.err and echoed with a
# "NAME|" prefix, exit status checked against WANT.
vmm() {
	name=$1 want=$2
	shift 2
	moat-vmm run "$@" >/tmp/$name.out 2>/tmp/$name.err </dev/null
	got=$?
	sed "s/^/$name| /" /tmp/$name.out /tmp/$name.err | tr -d '\r'
	if [ $got -eq $want ]; then ok "$name: exit status $got"; else bad "$name: exit status $got, want $want"; fi
}
# has / lacks NAME out|err TEXT: the run's stdout/stderr holds / does not hold TEXT (a fixed string)
has() {
	if grep -qF -- "$3" /tmp/$1.$2; then ok "$1: $2 has '$3'"; else bad "$1: $2 lacks '$3'"; fi
}
lacks() {
	if grep -qF -- "$3" /tmp/$1.$2; then bad "$1: $2 has '$3'"; else ok "$1: $2 lacks '$3'"; fi
}
