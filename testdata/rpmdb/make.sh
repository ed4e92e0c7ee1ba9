#!/usr/bin/env bash
# Builds the rpm database fixtures in this directory with the real tools:
#   sqlite/rpmdb.sqlite  written by rpm itself (sqlite backend)
#   bdb/Packages         Berkeley DB hash, little-endian, written by db5.3_load
#   bdb-be/Packages      the same, big-endian (as written on s390x/ppc64)
# from three tiny noarch packages built with rpmbuild:
#   bash 5.1.8-6.el9, kubeadm 1.29.4-150500.1.1, kubelet 1.29.4-150500.1.1
# On Debian/Ubuntu: apt-get install -y rpm db5.3-util sqlite3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for tool in rpm rpmbuild db5.3_load db5.3_dump db5.3_verify sqlite3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y rpm db5.3-util sqlite3)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export SOURCE_DATE_EPOCH=1700000000
defs=(
    --define "_topdir $work/top"
    --define "_tmppath $work/tmp"
    --define "_buildhost fixtures.invalid"
    --define "use_source_date_epoch_as_buildtime 1"
    --define "_binary_payload w9.gzdio"
)
mkdir -p "$work/tmp" "$work/specs"

# spec NAME VERSION RELEASE DESCRIPTION-LINES
spec() {
    local f="$work/specs/$1.spec"
    {
        echo "Name: $1"
        echo "Version: $2"
        echo "Release: $3"
        echo "Summary: $1 test fixture"
        echo "License: Apache-2.0"
        echo "BuildArch: noarch"
        echo "%description"
        echo "Test fixture for promready's rpm database reader."
        local i
        for ((i = 1; i <= $4; i++)); do
            echo "Line $i of a long description that makes this header span several pages."
        done
        echo "%files"
    } >"$f"
    rpmbuild "${defs[@]}" -bb "$f" >"$work/build-$1.log" 2>&1
}

spec bash 5.1.8 6.el9 0
spec kubeadm 1.29.4 150500.1.1 0
# ~10 KB of description: this header needs overflow pages in both formats.
spec kubelet 1.29.4 150500.1.1 140

# One transaction per package, so instance numbers follow this order.
db="$work/db"
mkdir -p "$db"
rpmq=(rpm --define "_db_backend sqlite" --dbpath "$db")
"${rpmq[@]}" --initdb
for p in bash kubeadm kubelet; do
    "${rpmq[@]}" -i --justdb --nodeps --noscripts --ignorearch --ignoreos \
        "$work"/top/RPMS/noarch/"$p"-*.rpm 2>/dev/null
done
if [ -s "$db/rpmdb.sqlite-wal" ]; then
    echo "rpm left a non-empty WAL; the fixture would be incomplete" >&2
    exit 1
fi
echo "rpm $(rpm --version | awk '{print $3}'), default backend $(rpm --eval '%_db_backend')"
qf='  %{DBINSTANCE} %{NAME} %{VERSION}-%{RELEASE}\n'
want=$("${rpmq[@]}" -qa --qf "$qf" | sort -n)
echo "sqlite database as rpm reads it:"
echo "$want"

mkdir -p "$here/sqlite" "$here/bdb" "$here/bdb-be"
cp "$db/rpmdb.sqlite" "$here/sqlite/rpmdb.sqlite"

# Berkeley DB hash databases from the same header blobs. Keys are the 4-byte
# instance numbers in the database's byte order; key 0 holds the highest
# instance number, as rpm's bdb backend keeps it. db_load's bytevalue
# format takes lower-case hex only.
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
be32() { printf '%08x' "$1"; }
max=$(sqlite3 -readonly "$db/rpmdb.sqlite" 'select max(hnum) from Packages')
echo "header blob sizes:"
sqlite3 -readonly -separator ' ' "$db/rpmdb.sqlite" 'select hnum, length(blob) from Packages order by hnum' | sed 's/^/  /'

# The key/value pairs of a bytevalue dump, one "key value" line each, sorted.
pairs() { sed -n '/^HEADER=END$/,/^DATA=END$/p' | grep '^ ' | paste -d' ' - - | sort; }

# bdb DIR KEY-ENCODER LORDER
bdb() {
    local dump="$work/$1.dump" out="$here/$1/Packages"
    {
        echo "VERSION=3"
        echo "format=bytevalue"
        echo "type=hash"
        echo "db_lorder=$3"
        # 8 KiB pages: headers under a quarter page stay on the hash page
        # (H_KEYDATA), larger ones go to overflow pages (H_OFFPAGE).
        echo "db_pagesize=8192"
        echo "HEADER=END"
        echo " $($2 0)"
        echo " $($2 "$max")"
        sqlite3 -readonly "$db/rpmdb.sqlite" 'select hnum, lower(hex(blob)) from Packages order by hnum' |
            while IFS='|' read -r hnum hex; do
                echo " $($2 "$hnum")"
                echo " $hex"
            done
        echo "DATA=END"
    } >"$dump"
    rm -f "$out"
    db5.3_load -f "$dump" "$out"
    db5.3_verify -q "$out"
    # The dump of the written file must give back exactly the pairs that
    # went in (db_dump lists them in hash order).
    if ! diff <(pairs <"$dump") <(db5.3_dump "$out" | pairs) >/dev/null; then
        echo "db5.3_dump of $out differs from its input" >&2
        exit 1
    fi
    echo "$1/Packages: $(stat -c %s "$out") bytes, db5.3_verify ok, db5.3_dump round trip ok"
    # rpm's own Berkeley DB reader must list the same packages as the
    # sqlite database it was made from.
    # (On a copy: rpm may leave a lock file next to the database.)
    local got check="$work/check-$1"
    mkdir -p "$check"
    cp "$out" "$check/Packages"
    if got=$(rpm --define "_db_backend bdb_ro" --dbpath "$check" -qa --qf "$qf" 2>"$work/$1.err" | sort -n) &&
        [ -n "$got" ]; then
        if [ "$got" = "$want" ] && ! grep -q '^error' "$work/$1.err"; then
            echo "  read back by rpm's bdb_ro backend, same packages as the sqlite database:"
            echo "$got"
        else
            echo "rpm's bdb_ro backend reads $out differently:" >&2
            echo "$got" >&2
            cat "$work/$1.err" >&2
            exit 1
        fi
    else
        echo "  rpm has no usable bdb_ro backend here: not read back by rpm"
    fi
}
bdb bdb le32 1234
bdb bdb-be be32 4321

ls -l "$here/sqlite/rpmdb.sqlite" "$here/bdb/Packages" "$here/bdb-be/Packages"
