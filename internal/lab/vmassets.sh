#!/usr/bin/env bash
# Builds the lab VM's kernel and base initramfs from Debian packages into $1
# (default build/vm). Idempotent: a directory built by this same script is
# left alone (the stamp holds the script's hash, so editing it rebuilds).
#
# The base initramfs holds busybox, the kernel modules the lab needs (with their
# dependencies, in load order), Debian's ipvsadm, keepalived and BIRD with their shared libraries, and
# /init. The Go lab appends a second archive per run with the test binary
# (the kernel unpacks concatenated cpio archives in order).
set -euo pipefail

out=${1:-build/vm}
stamp="$out/.complete"
version=$(sha256sum "$0" | cut -d' ' -f1)
[ "$(cat "$stamp" 2>/dev/null)" = "$version" ] && exit 0

need() { command -v "$1" >/dev/null 2>&1 || { echo "vmassets: $1 is missing: apt-get install $2" >&2; exit 1; }; }
need busybox busybox-static
need cpio cpio
need modinfo kmod
need ipvsadm ipvsadm
need keepalived keepalived
need bird bird2
need birdc bird2
need apt-get apt
need dpkg-deb dpkg

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The distribution kernel: linux-image-amd64 depends on the current ABI's package.
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
pkg=$(kernel_pkg)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null 2>&1 || true   # a fresh machine may have no package lists yet
  pkg=$(kernel_pkg)
fi
if [ -z "$pkg" ]; then
  echo "vmassets: cannot find Debian's kernel package (run apt-get update)" >&2
  exit 1
fi
(cd "$work" && apt-get download -qq "$pkg" 2>/dev/null) || { echo "vmassets: apt-get download $pkg failed" >&2; exit 1; }
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
moddir="$work/kernel/lib/modules/$kver"

# Modules the lab uses. Dependencies are added from each module's modinfo
# "depends" field and loaded first; crc32c is a soft dependency of libcrc32c.
# e1000 is the network card of VMOptions.Forward (qemu's user-mode network).
wanted="crc32c_generic ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
 ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_twos ip_vs_pe_sip veth dummy bridge ipip fou ip_gre ip6_tunnel
 nf_tables nft_chain_nat nft_ct e1000"
declare -A path
while IFS= read -r f; do path[$(basename "$f" .ko)]=$f; done < <(find "$moddir" -name '*.ko')
declare -A seen
order=()
visit() {
  local m=${1//-/_}
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  local f=${path[$m]:-}
  if [ -z "$f" ]; then return; fi   # built in, or absent from this kernel (e.g. ip_vs_twos before 6.2)
  local deps
  deps=$(modinfo -F depends "$f" | tr ',' ' ')
  for d in $deps; do visit "$d"; done
  order+=("$m")
}
for m in $wanted; do visit "$m"; done

root="$work/root"
mkdir -p "$root"/{bin,sbin,lib/modules,lib64,proc,sys,dev,tmp,run,etc,usr/lib/x86_64-linux-gnu,lib/x86_64-linux-gnu}
mkdir -p "$root/var" && ln -s /run "$root/var/run"   # named netns live in /var/run/netns
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $(busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
for m in "${order[@]}"; do cp "${path[$m]}" "$root/lib/modules/$m.ko"; done
printf '%s\n' "${order[@]}" > "$root/lib/modules/order"

# Debian's ipvsadm and keepalived (the references the tests compare with),
# BIRD (the router of the active/active lab) and the libraries they link
# against, at the same paths as on the host.
for bin in ipvsadm keepalived bird birdc; do
  path=$(command -v "$bin")
  cp "$path" "$root/sbin/$bin"
  for lib in $(ldd "$path" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
mkdir -p "$root/etc/keepalived"
# Users for scripts (script_user, a check's user): root and nobody.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
# Lab VM init: mount the basics, load modules, run /lab/run, report, power off.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/tmp TMPDIR=/tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs tmp /tmp
/bin/busybox mount -t tmpfs run /run
mkdir -p /run/netns
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null || echo "lab-init: insmod $m failed"; done < /lib/modules/order
ip link set lo up
echo "===LAB-BEGIN==="
if [ -x /lab/run ]; then
  /lab/run
  echo "===LAB-EXIT $?==="
else
  echo "===LAB-EXIT 127==="
fi
poweroff -f
INIT
chmod +x "$root/init"

# Renamed into place, so a test booting from the old files meanwhile
# never reads a half-written one.
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out/base.cpio.tmp"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/base.cpio.tmp" "$out/base.cpio"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "$kver" > "$out/kernel-version"
echo "$version" > "$stamp"
echo "vmassets: kernel $kver, ${#order[@]} modules, in $out"
