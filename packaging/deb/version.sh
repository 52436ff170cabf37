#!/bin/sh
# version.sh: lbd's version from git, in a form dpkg accepts. A tag vX.Y.Z
# gives X.Y.Z (and X.Y.Z+N.gHASH N commits later); without a tag,
# 0.0~gitYYYYMMDD.HASH from the last commit's date. ".dirty" marks
# uncommitted changes.
set -eu
d=$(git describe --tags --always --dirty)
case $d in
v[0-9]*)
	d=${d#v}
	d=$(printf '%s' "$d" | sed -E 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/; s/-dirty$/.dirty/')
	;;
*)
	d="0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d).$(printf '%s' "$d" | sed 's/-dirty$/.dirty/')"
	;;
esac
printf '%s\n' "$d"
