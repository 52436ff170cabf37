#!/bin/sh
# build.sh VERSION BINDIR OUT.deb: the Debian package of lbd, with
# dpkg-deb from the binaries in BINDIR (make deb builds them with the
# version embedded). Run from the top of the source tree; GO names the go
# command.
set -eu
version=$1 bindir=$2 out=$3
arch=$(dpkg --print-architecture)
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}" +%Y-%m-%d)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
umask 022

install -D -m 0755 "$bindir/lbd" "$root/usr/sbin/lbd"
install -D -m 0755 "$bindir/ipvsctl" "$root/usr/sbin/ipvsctl"
# keepalived's package has /usr/bin/genhash: ours installs beside it.
install -D -m 0755 "$bindir/genhash" "$root/usr/bin/lbd-genhash"
install -d "$root/lib/systemd/system"
sed 's,/usr/local/sbin/,/usr/sbin/,g; s,Installed by `make install`,Installed by the lbd package,' systemd/lbd.service > "$root/lib/systemd/system/lbd.service"
install -D -m 0644 systemd/lbd.yaml "$root/etc/lbd/lbd.yaml"
install -d -m 0700 "$root/var/lib/lbd"

# Manual pages from the commands' own --help text and docs/config.md.
man=$root/usr/share/man
install -d "$man/man1" "$man/man5" "$man/man8"
mkman="${GO:-go} run ./packaging/mkman -version $version -date $date"
"$root/usr/sbin/lbd" --help | $mkman -name lbd -section 8 > "$man/man8/lbd.8"
"$root/usr/sbin/ipvsctl" help | $mkman -name ipvsctl -section 8 > "$man/man8/ipvsctl.8"
"$root/usr/bin/lbd-genhash" --help | $mkman -name lbd-genhash -section 1 > "$man/man1/lbd-genhash.1"
$mkman -name lbd.yaml -section 5 -markdown -title "lbd's configuration file" < docs/config.md > "$man/man5/lbd.yaml.5"
gzip -9n "$man"/man*/*

# Bash completion, from the commands themselves.
comp=$root/usr/share/bash-completion/completions
install -d "$comp"
"$root/usr/sbin/lbd" completion bash > "$comp/lbd"
"$root/usr/sbin/ipvsctl" completion bash > "$comp/ipvsctl"
chmod 0644 "$comp/lbd" "$comp/ipvsctl"

doc=$root/usr/share/doc/lbd
install -d "$doc"
install -m 0644 packaging/deb/copyright "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
install -m 0644 docs/config.md docs/operations.md "$doc/"
install -d "$doc/monitoring"
install -m 0644 docs/monitoring/lbd.rules.yml docs/monitoring/lbd.dashboard.json "$doc/monitoring/"
gzip -9n "$doc/README.md" "$doc/config.md" "$doc/operations.md"
printf 'lbd (%s) unstable; urgency=medium\n\n  * Built from git %s.\n\n -- lbd developers <lbd@lbd-project.invalid>  %s\n' \
	"$version" "$(git describe --tags --always --dirty)" "$(date -u -R -d "$date")" | gzip -9n > "$doc/changelog.gz"

install -D -m 0644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/lbd"

install -d "$root/DEBIAN"
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
# The binaries need the glibc whose newest symbol version they use.
glibc=$(objdump -T "$bindir/lbd" "$bindir/ipvsctl" "$bindir/genhash" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed "s/@VERSION@/$version/; s/@ARCH@/$arch/; s/@SIZE@/$size/; s/@GLIBC@/$glibc/" packaging/deb/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's,^\./,,' | sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
