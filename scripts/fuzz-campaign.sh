#!/usr/bin/env bash
# A fuzzing campaign (outside CI): each target runs from its checked-in corpus, one at a time
# in one process (`nice -n 19`, the machine may be shared), then what it found is merged back
# into fuzz/corpus/<target>/ minimised (`cargo fuzz cmin`), ready to commit.
#
#     ./scripts/fuzz-campaign.sh TARGET... --minutes N
#     ./scripts/fuzz-campaign.sh --all --minutes N
#
# Prints per target: executions, executions per second, coverage (libFuzzer's `cov`, edges)
# at start and end, corpus size before and after the merge, and every crash with its
# reproducer (fuzz/artifacts/<target>/…, replay with
# `cargo +nightly fuzz run --sanitizer none --debug-assertions TARGET FILE`).
# Full libFuzzer logs go to fuzz/campaign/<target>.log. Exits non-zero when a target crashed.
#
# The build is its own (fuzz/target/campaign): no sanitizer (the crates are safe Rust, so
# AddressSanitizer finds nothing there and halves the speed) and with debug assertions, so an
# integer overflow is a crash here even where a release build would wrap.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

minutes=""
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --all) mapfile -t targets < <(cargo +nightly fuzz list); shift ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [[ -z "$minutes" || ${#targets[@]} -eq 0 ]]; then
    echo "usage: $0 TARGET... --minutes N   (or --all)" >&2
    exit 2
fi
seconds="$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')"

build=(--sanitizer none --debug-assertions --target-dir target/campaign)
nice -n 19 cargo +nightly fuzz build "${build[@]}" >/dev/null 2>&1
mkdir -p campaign
found="$(mktemp -d)"
trap 'rm -rf "$found"' EXIT

printf '%-18s %12s %9s %13s %15s %s\n' target execs exec/s cov corpus crashes
status=0
for target in "${targets[@]}"; do
    log="campaign/$target.log"
    mkdir -p "corpus/$target" "$found/$target" "artifacts/$target"
    before="$(find "corpus/$target" -type f | wc -l)"
    options=(-max_total_time="$seconds" -print_final_stats=1)
    if [[ -f "dict/$target.dict" ]]; then
        options+=(-dict="$PWD/dict/$target.dict")
    fi
    crashes=""
    # New inputs go to $found first; the corpus is read. A crash ends the run: record it and
    # go on from there until the time is used.
    start="$(date +%s)"
    execs=0
    : >"$log"
    while :; do
        left=$((seconds - ($(date +%s) - start)))
        [[ $left -gt 5 ]] || break
        options[0]=-max_total_time="$left"
        corpora=("$PWD/corpus/$target")
        if [[ -d "regressions/$target" ]]; then
            corpora+=("$PWD/regressions/$target")
        fi
        if nice -n 19 cargo +nightly fuzz run "${build[@]}" "$target" "$found/$target" "${corpora[@]}" \
            -- "${options[@]}" >>"$log" 2>&1; then
            rc=0
        else
            rc=$?
        fi
        n="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n 1 | awk '{print $2}')"
        execs=$((execs + ${n:-0}))
        if [[ $rc -eq 0 ]]; then
            break
        fi
        artifact="$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | awk '{print $5}')"
        if [[ -z "$artifact" ]]; then
            echo "$target: libFuzzer failed (rc $rc), see fuzz/$log" >&2
            status=1
            break
        fi
        crashes+=" $artifact"
        status=1
        # The same crash would end every further run at once.
        break
    done
    elapsed=$(($(date +%s) - start))
    cov_start="$(grep -o 'INITED cov: [0-9]*' "$log" | head -n 1 | awk '{print $3}')"
    cov_end="$(grep -oE '(DONE|pulse|NEW|REDUCE) +cov: [0-9]*' "$log" | tail -n 1 | awk '{print $3}')"
    # Merge back, minimised: the corpus plus the new inputs, through cmin.
    if compgen -G "$found/$target/*" >/dev/null; then
        cp "$found/$target"/* "corpus/$target/"
    fi
    nice -n 19 cargo +nightly fuzz cmin "${build[@]}" "$target" "$PWD/corpus/$target" >>"$log" 2>&1
    after="$(find "corpus/$target" -type f | wc -l)"
    printf '%-18s %12s %9s %13s %15s %s\n' "$target" "$execs" \
        "$((execs / (elapsed > 0 ? elapsed : 1)))" "${cov_start:-?}->${cov_end:-?}" \
        "$before->$after" "${crashes:-0}"
done
exit $status
