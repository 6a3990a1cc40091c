#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The Debian package, as a user gets it: `cpack -G DEB` from the build directory (staged under the
# test's own directory), unpacked with dpkg -x into a temporary root. The unpacked binaries run with
# no source tree (prompts and data are embedded), every man page renders from its gzip -9n file,
# the completion and the deploy/ examples are in place, dpkg-shlibdeps computed Depends, the
# files have Debian's owners and modes, and lintian reports no error (E:).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
e2e_init package_deb
need_tool cpack cmake
need_tool dpkg-deb dpkg
need_tool dpkg-shlibdeps dpkg-dev
need_tool lintian
need_tool man man-db
BUILD=${HYDRATE_BUILD_DIR:?run through ctest}
SOURCE=${HYDRATE_SOURCE_DIR:?run through ctest}

# --- build and unpack ---------------------------------------------------------------------------
run --timeout 300 cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$E2E_DIR/pkg"
[[ $RUN_RC == 0 ]] || fail "cpack exited with $RUN_RC: $(tail -n 20 <<<"$RUN_OUT$RUN_ERR")"
mapfile -t DEBS < <(compgen -G "$E2E_DIR/pkg/hydrate_*.deb")
assert_eq 1 "${#DEBS[@]}" "packages built"
DEB=${DEBS[0]}
note "built ${DEB##*/}"
ROOT=$E2E_DIR/root
dpkg -x "$DEB" "$ROOT"

# --- the binaries run from the package, away from the source tree -------------------------------
run "$ROOT/usr/bin/hydrate" --version
assert_eq "0 hydrate $(sed -n 's/^project(hydrate VERSION \([0-9.]*\).*/\1/p' "$SOURCE/CMakeLists.txt")" \
  "$RUN_RC $RUN_OUT" "exit status and output of the packaged hydrate --version"
run "$ROOT/usr/bin/hydrate" --quiet estimate --language en --board CBSE --grade 1 --subject MATH \
  --no-history --json
assert_eq 0 "$RUN_RC" "exit status of the packaged hydrate estimate (stderr: $RUN_ERR)"
assert_ge 1 "$(jq -r .estimates.estimatedNotes <<<"$RUN_OUT")" "notes estimated by the packaged binary"
run "$ROOT/usr/bin/hydrate-mock-llm" --help
assert_eq 0 "$RUN_RC" "exit status of the packaged hydrate-mock-llm --help"
for binary in hydrate hydrate-mock-llm; do
  if readelf -S "$ROOT/usr/bin/$binary" | grep -q '\.debug_info\|\.symtab'; then
    fail "usr/bin/$binary is not stripped"
  fi
done

# --- man pages: every one of man/, compressed with no name or time stamp, and renderable ---------
PAGES=0
for source_page in "$SOURCE"/man/*.[17]; do
  name=${source_page##*/}
  page=$ROOT/usr/share/man/man${name##*.}/$name.gz
  [[ -f $page ]] || fail "man page $name is not in the package (usr/share/man/man${name##*.})"
  # gzip header: FLG (byte 3) without FNAME, MTIME (bytes 4-7) zero: reproducible (gzip -n).
  assert_eq "00 00 00 00 00" "$(od -An -tx1 -j3 -N5 "$page" | xargs)" "gzip flags and mtime of $name.gz"
  cmp -s <(zcat "$page") "$source_page" || fail "$name.gz does not decompress to man/$name"
  rendered=$(MANWIDTH=80 man -P cat -l "$page" 2>"$E2E_DIR/man.err") || fail "man -l $name.gz failed"
  assert_contains "$rendered" "NAME" "rendering of $name.gz"
  PAGES=$((PAGES + 1))
done
assert_ge 13 "$PAGES" "man pages checked"
rendered=$(MANWIDTH=80 man -P cat -l "$ROOT/usr/share/man/man1/hydrate.1.gz")
assert_contains "$rendered" "GLOBAL OPTIONS" "man -l usr/share/man/man1/hydrate.1.gz"

# --- completion, documentation, examples -------------------------------------------------------
COMPLETION=$ROOT/usr/share/bash-completion/completions/hydrate
[[ -f $COMPLETION ]] || fail "no usr/share/bash-completion/completions/hydrate"
"$ROOT/usr/bin/hydrate" completion bash | cmp - "$COMPLETION" ||
  fail "the packaged completion is not what the packaged binary prints"
for doc in copyright changelog.Debian.gz README.md; do
  [[ -f $ROOT/usr/share/doc/hydrate/$doc ]] || fail "no usr/share/doc/hydrate/$doc"
done
if [[ -d $SOURCE/deploy ]]; then
  EXAMPLES=0
  while IFS= read -r -d '' file; do
    relative=${file#"$SOURCE/deploy/"}
    [[ -f $ROOT/usr/share/doc/hydrate/examples/$relative ]] ||
      fail "deploy/$relative is not in usr/share/doc/hydrate/examples"
    EXAMPLES=$((EXAMPLES + 1))
  done < <(find "$SOURCE/deploy" -type f -print0)
  assert_ge 1 "$EXAMPLES" "deploy/ files packaged as examples"
  note "$EXAMPLES deploy/ files are in usr/share/doc/hydrate/examples"
else
  note "no deploy/ in this tree: no examples to check"
fi

# --- control fields: Depends from dpkg-shlibdeps --------------------------------------------------
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
for library in libc6 libcurl4 libpqxx libsqlite3-0 libstdc++6; do
  [[ $DEPENDS == *"$library"* ]] || fail "Depends lacks $library: $DEPENDS"
done
for field in Maintainer Section Homepage Description; do
  [[ -n $(dpkg-deb -f "$DEB" "$field") ]] || fail "the control file has no $field"
done
note "Depends: $DEPENDS"
# packaging/changelog must move with the version (project() and CPACK_DEBIAN_PACKAGE_RELEASE).
assert_eq "$(dpkg-deb -f "$DEB" Version)" \
  "$(zcat "$ROOT/usr/share/doc/hydrate/changelog.Debian.gz" | sed -n '1s/^hydrate (\(.*\)).*/\1/p')" \
  "the package's version vs the first entry of changelog.Debian.gz"

# --- owners and modes ---------------------------------------------------------------------------
BAD=$(dpkg-deb -c "$DEB" | awk '
  $2 != "root/root" { print "owner " $2 ": " $6; next }
  $1 ~ /^d/ && $1 != "drwxr-xr-x" { print $1 ": " $6; next }
  $1 ~ /^-/ && $6 ~ /^\.\/usr\/bin\// && $1 != "-rwxr-xr-x" { print $1 ": " $6; next }
  $1 ~ /^-/ && $6 !~ /^\.\/usr\/bin\// && $6 !~ /\/examples\// && $1 != "-rw-r--r--" { print $1 ": " $6 }')
assert_empty "$BAD" "files with owners or modes other than Debian's"

# --- lintian: no errors ---------------------------------------------------------------------------
LINTIAN_FLAGS=()
[[ $(id -u) == 0 ]] && LINTIAN_FLAGS+=(--allow-root)
run --timeout 300 lintian "${LINTIAN_FLAGS[@]}" "$DEB"
[[ $RUN_RC == 0 || $RUN_RC == 2 ]] || fail "lintian exited with $RUN_RC: $RUN_ERR"
ERRORS=$(grep '^E: ' <<<"$RUN_OUT" || true)
assert_empty "$ERRORS" "lintian errors"
WARNINGS=$(grep -c '^W: ' <<<"$RUN_OUT" || true)
note "lintian: no errors, $WARNINGS warning(s)${RUN_OUT:+: $(grep '^W: ' <<<"$RUN_OUT" | paste -sd ';')}"
