#!/bin/sh
# mlstack's seeding helper: the script the helper container runs (POSIX sh: busybox ash, dash, bash).
#
# It runs as root with the volume at /mlstack-volume; its settings and lists lie next to it: in
# /mlstack (the bind method: a read-only bind of a directory on this machine) or in the staging
# directory's `control/` (the archive method: they came in the same stream as the data). The order is
# what makes a seed safe to interrupt anywhere (docs/seeding.md, "Guarantees"):
#
# 1. finish an earlier seed that got past its commit point (`.mlstack-ready` exists);
# 2. delete staging directories of interrupted copies;
# 3. refuse (exit 17) when the volume holds entries mlstack did not put there and there is no marker,
#    unless FORCE=1;
# 4. copy into `.mlstack-staging-<id>/data` (one cp, or parallel workers that must all succeed; or
#    find it already streamed there), check that it holds the source's largest file, set the owner;
# 5. commit: put the new marker and the removal list next to the data, rename the staging directory
#    to `.mlstack-ready` (one rename: before it the old content is untouched, after it any later run
#    completes the move);
# 6. move the content into place with renames, merging into directories that exist, remove files the
#    previous seed put there that the source no longer has (only if unchanged since), write the
#    marker last, delete `.mlstack-ready`.
#
# Exit codes: 17 foreign data, 18 a file/directory conflict, 19 the copy is incomplete; 1 a cp failed
# (its message is the last line).
#
# Shipped as package data; engine/seed_script.py names its exit codes and mount points.

set -eu
# One stream: the engine keeps stdout and stderr apart, and a message on stderr could reach mlstack after
# the exit line on stdout, which ends its listening (the reason would be lost). In one pipe, order holds.
exec 2>&1
trap 'printf "mlstack-seed-exit %s\n" "$?"' EXIT   # mlstack stops listening here, not at teardown
C=${0%/*}
# shellcheck source=/dev/null  # the settings, written for each run (engine/helper_job.py)
. "$C/env"
V=/mlstack-volume
S="$V/.mlstack-staging-$SEED_ID"
R="$V/.mlstack-ready"
M="$V/.mlstack-seed.json"

# Where the time goes (--debug): each phase's end, on the engine machine's clock (no process started).
phase() { read -r up _ < /proc/uptime || up=0; printf 'mlstack-seed-phase %s %s\n' "$1" "$up"; }

die() { code=$1; shift; printf 'mlstack-seed: %s\n' "$*" >&2; exit "$code"; }

present() { [ -e "$1" ] || [ -L "$1" ]; }
is_dir() { [ -d "$1" ] && [ ! -L "$1" ]; }

# Move every entry of $1 into $2 by rename; where both hold a directory, descend. One mv per
# directory level (batched), so a first seed is a handful of renames whatever its size.
merge() {
  # shellcheck disable=SC3043  # not POSIX, but every sh the helper may run (busybox ash, dash, bash) has it
  local from="$1" to="$2" entry name
  set --
  for entry in "$from"/* "$from"/.[!.]* "$from"/..?*; do
    present "$entry" || continue
    name=${entry##*/}
    if is_dir "$to/$name"; then
      is_dir "$entry" || die 18 "${to#"$V"/}/$name is a directory in the volume but not in the seed; move it away and seed again"
      merge "$entry" "$to/$name"
      continue
    fi
    if is_dir "$entry" && present "$to/$name"; then
      die 18 "${to#"$V"/}/$name is a file in the volume but a directory in the seed; move it away and seed again"
    fi
    set -- "$@" "$entry"
    if [ $# -ge 500 ]; then mv -f "$@" "$to/"; set --; fi
  done
  [ $# -eq 0 ] || mv -f "$@" "$to/"
}

# Lines `SIZE MTIME PATH` (a file: removed only while it is as the previous seed left it) or
# `link - PATH` (a symbolic link).
remove_listed() {
  while IFS= read -r line; do
    size=${line%% *}; rest=${line#* }; mtime=${rest%% *}; path=${rest#* }
    target="$V/$path"
    if [ "$size" = link ]; then
      [ ! -L "$target" ] || rm -f "$target"
    elif [ -f "$target" ] && [ ! -L "$target" ] && [ "$(stat -c '%s %Y' "$target")" = "$size $mtime" ]; then
      rm -f "$target"
    fi
  done < "$1"
}

apply() {
  if [ -f "$R/marker.json" ]; then
    [ ! -d "$R/data" ] || merge "$R/data" "$V"
    phase move
    [ ! -f "$R/remove" ] || remove_listed "$R/remove"
    [ ! -f "$R/owner" ] || chown "$(cat "$R/owner")" "$V"
    phase remove
    mv -f "$R/marker.json" "$M"
    phase marker
  fi
  rm -rf "$R"
  phase cleanup
}

foreign() {
  [ ! -e "$M" ] || return 1
  for entry in "$V"/* "$V"/.[!.]* "$V"/..?*; do
    present "$entry" || continue
    case "${entry##*/}" in .mlstack-*) continue ;; esac
    printf '%s\n' "${entry##*/}"
    return 0
  done
  return 1
}

# A parallel copy (docs/seeding.md, "How the copy runs"): the descended directories are made first;
# one background worker per `shard-N` list copies its entries, one cp per directory and batch; once
# every worker is done, the descended directories get the source's owner, mode and times, children
# before parents (the order of `descended`), as one `cp -a` would have given them.
copy_shard() {  # $1: the list; paths relative to $FROM and $D, those of one directory contiguous
  trap - EXIT   # a worker's end is not the script's
  list=$1
  set --
  at=
  while IFS= read -r path; do
    case "$path" in */*) parent=${path%/*} ;; *) parent= ;; esac
    if [ $# -gt 0 ] && { [ "$parent" != "$at" ] || [ $# -ge 500 ]; }; then
      cp "$CP_FLAGS" "$@" "$D${at:+/$at}/" || exit 1
      set --
    fi
    at=$parent
    set -- "$@" "$FROM/$path"
  done < "$list"
  [ $# -eq 0 ] || cp "$CP_FLAGS" "$@" "$D${at:+/$at}/" || exit 1
}

copy_parallel() {
  while IFS= read -r path; do mkdir -p "$D/$path"; done < "$C/descended"
  pids=; n=0
  for shard in "$C"/shard-*; do
    n=$((n + 1))
    copy_shard "$shard" > "$S/worker-$n" 2>&1 &
    pids="$pids $!"
  done
  failed=; n=0
  for pid in $pids; do
    n=$((n + 1))
    wait "$pid" || failed=${failed:-$n}
  done
  if [ -n "$failed" ]; then
    cat "$S"/worker-*
    said="a copy worker failed"
    while IFS= read -r line; do said=$line; done < "$S/worker-$failed"
    die 1 "$said"
  fi
  rm -f "$S"/worker-*
  while IFS= read -r path; do
    how=$(stat -c '%u:%g %a' "$FROM/$path")
    chown "${how% *}" "$D/$path"
    chmod "${how#* }" "$D/$path"
    touch -r "$FROM/$path" "$D/$path"
  done < "$C/descended"
}

copy_listed() {  # $1: source directory, $2: destination; $C/files: paths relative to both
  while IFS= read -r path; do
    case "$path" in */*) parent="$2/${path%/*}" ;; *) parent="$2" ;; esac
    [ -d "$parent" ] || mkdir -p "$parent"
    cp "$CP_FLAGS" "$1/$path" "$2/$path"
  done < "$C/files"
}

phase start
[ ! -d "$R" ] || apply
for old in "$V"/.mlstack-staging-*; do
  [ "$old" = "$S" ] || ! present "$old" || rm -rf "$old"
done
if [ "$COPY" = none ]; then rm -rf "$S"; exit 0; fi
if [ "$COPY" = check ]; then
  if found=$(foreign); then printf 'foreign %s\n' "$found"; fi
  rm -rf "$S"
  exit 0
fi
if [ "$COPY" = checksums ]; then
  rm -rf "$S"
  cd "$V"
  find . -path './.mlstack-*' -prune -o -type f -exec sha256sum {} +
  exit 0
fi

if [ "$FORCE" != 1 ] && found=$(foreign) && [ -n "$found" ]; then
  rm -rf "$S"
  die 17 "the volume holds data mlstack did not put there (e.g. $found)"
fi

phase prepare
D="$S/data${SUBPATH:+/$SUBPATH}"
mkdir -p "$D"
FROM="/mlstack-source${SOURCE_INNER:+/$SOURCE_INNER}"
case "$COPY" in
  tree) cp "$CP_FLAGS" "$FROM/." "$D/" ;;
  parallel) copy_parallel ;;
  list) copy_listed "$FROM" "$D" ;;
  archive) tar -x ${TAR_FLAGS:+"$TAR_FLAGS"} -f "/mlstack-source/$ARCHIVE_NAME" -C "$D" ;;
  streamed) ;;
esac
phase copy
if [ -n "$PROBE" ]; then   # one file, not a count: counting would walk the copy a second time
  size=${PROBE%% *}; path=${PROBE#* }
  if ! { [ -f "$D/$path" ] && [ "$(stat -c %s "$D/$path")" = "$size" ]; }; then
    die 19 "the copy lacks $path ($size bytes) that the source has: the engine may not see the host directory (a VM?); use --method archive"
  fi
fi
phase check
[ ! -d "$C/extra" ] || cp -R "$C/extra/." "$S/data/"
if [ -n "$OWNER" ]; then
  [ "$CHOWN" != 1 ] || chown -R "$OWNER" "$S/data"
  printf '%s\n' "$OWNER" > "$S/owner"
fi
phase ownership
[ ! -s "$C/remove" ] || cp "$C/remove" "$S/remove"
cp "$C/marker.json" "$S/marker.json"
mv "$S" "$R"
phase rename
apply
