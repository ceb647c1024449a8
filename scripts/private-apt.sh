# Sourced by scripts/linux-deps.sh and scripts/guest-kernel.sh: apt-get/apt-cache with a private
# configuration under "$apt_dir" (sources list, package lists, downloaded .debs) so that fetching
# Debian's packages needs no root and changes nothing on the system: no `dpkg --add-architecture`,
# no system sources, nothing installed (the caller unpacks the .debs with dpkg-deb -x).
# Set apt_dir and apt_archs (e.g. "amd64 arm64") before sourcing; then use "${apt_opts[@]}" and
# apt_update.
apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
	-o "Dir::State=$apt_dir/state" -o "Dir::Cache=$apt_dir/cache"
	-o "Debug::NoLocking=1" -o "Acquire::Retries=3" -o "APT::Sandbox::User=$(id -un)" -q
)
for a in $apt_archs; do
	apt_opts+=(-o "APT::Architectures::=$a")
done

# bookworm for the tools, bookworm-backports for the 6.12 kernel packages.
apt_update() {
	mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/none"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	cat >"$apt_dir/sources.list" <<EOT
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main
EOT
	apt-get "${apt_opts[@]}" update >&2
}
