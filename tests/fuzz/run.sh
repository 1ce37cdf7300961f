#!/bin/sh
# run.sh - build the reader's fuzz target (fuzz_reader.c) with clang and
# libFuzzer, and run it time-boxed on the checked-in corpus.
#
#   tests/fuzz/run.sh [BUILD_DIR]     (default: build; FUZZ_SECONDS=60)
#
# BUILD_DIR is a configured build tree (its config.h is used). The target
# is built from the collector's sources and the JSON and --batch printers
# with -fsanitize=fuzzer,address,undefined; clang is needed only here, not
# by configure. Exit status 0 when libFuzzer found nothing: no crash, no
# hang (-timeout), no sanitizer report, no invalid JSON or UTF-8 (the target
# aborts on those). A finding is saved as BUILD_DIR/tests/fuzz/crash-* (or
# timeout-*); replay it with: BUILD_DIR/tests/fuzz/fuzz_reader FILE
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
seconds=${FUZZ_SECONDS:-60}
out=$build/tests/fuzz

if ! command -v clang >/dev/null 2>&1; then
    echo "run.sh: clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
if [ ! -f "$build/config.h" ]; then
    echo "run.sh: $build is not a configured build tree (no config.h); run configure there first" >&2
    exit 1
fi
mkdir -p "$out/corpus"

# The library's viewer side: every collector/*.c plus the foreign objects'
# describe and gc code that libsynctop_core takes from collector/preload/.
sources="$src/tests/fuzz/fuzz_reader.c $src/tui/json_output.c $src/tui/batch_output.c $src/tui/format.c $src/tui/end_text.c
         $src/collector/preload/foreign_describe.c $src/collector/preload/foreign_shm.c"
for file in "$src"/collector/*.c; do
    sources="$sources $file"
done

# shellcheck disable=SC2086  # the lists are meant to split
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -include "$build/config.h" -I"$build" -I"$src/collector/include" -I"$src/collector" -I"$src/tui" \
    $(pkg-config --cflags json-c libproc2) -pthread \
    -o "$out/fuzz_reader" $sources $(pkg-config --libs json-c libproc2)

# New inputs go to the build's corpus; the checked-in one stays as it is.
# libFuzzer's progress goes to fuzz.log; its end is shown.
echo "run.sh: fuzzing the reader for $seconds s (progress in $out/fuzz.log)"
status=0
"$out/fuzz_reader" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 "$out/corpus" "$src/tests/fuzz/corpus" \
    >"$out/fuzz.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    tail -n 60 "$out/fuzz.log"
    echo "run.sh: the fuzzer found a problem (exit status $status); the input is $out/crash-* or timeout-*" >&2
    exit "$status"
fi
grep '^stat::' "$out/fuzz.log" || true
