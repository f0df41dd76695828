#!/usr/bin/env bash
# Line and region coverage of each fuzz target's own modules, reached by its checked-in corpus.
#
#     ./scripts/fuzz-coverage.sh [--show] [TARGET...]
#
# `cargo fuzz coverage` replays fuzz/corpus/<target>/ through a coverage build, and
# `llvm-cov report` counts what it reached in the source files the target exists for (the
# table below), so that code the target reaches only in passing does not hide what it misses.
# Prints one table: target, corpus size, lines and regions covered. With --show, also the
# uncovered lines of each module (`llvm-cov show`). Needs nightly, cargo-fuzz and
# llvm-tools-preview (installed here if missing). Not part of CI (minutes per target).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The modules each target exists for.
modules() {
    case "$1" in
        auth_handshake) echo desfire-core/src/pcd/auth.rs desfire-core/src/pcd/session.rs ;;
        credential_parser) echo desfire-core/src/encoding/credential.rs ;;
        exchange) echo desfire-core/src/pcd/exchange.rs ;;
        fw_hostile_card) echo firmware/reader/src/app.rs firmware/reader/src/frontend.rs ;;
        fw_key_record) echo firmware/reader/src/provisioned.rs ;;
        fw_osdp_attacker | fw_osdp_pd)
            echo firmware/reader/src/osdp/pd.rs firmware/reader/src/osdp/packet.rs \
                firmware/reader/src/osdp/secure.rs ;;
        fw_pn532_driver) echo firmware/pn532/src/driver.rs firmware/pn532/src/frame.rs ;;
        hostile_card) echo desfire-core/src/encoding/reader.rs ;;
        picc_apdus) find desfire-core/src/picc -name '*.rs' | sort | tr '\n' ' ' ;;
        pn532_chip)
            echo host-tools/src/pn532/chip.rs host-tools/src/pn532/command.rs \
                host-tools/src/pn532/frame.rs ;;
        response_parsers) find desfire-core/src/pcd/commands -name '*.rs' | sort | tr '\n' ' ' ;;
        trace_decode)
            find host-tools/src/trace -name '*.rs' ! -name tests.rs | sort | tr '\n' ' ' ;;
        vpcd_stream)
            echo host-tools/src/vpcd/mod.rs host-tools/src/vpcd/get_data.rs \
                host-tools/src/vpcd/atr.rs ;;
        *) return 1 ;;
    esac
}

show=0
targets=()
for arg in "$@"; do
    case "$arg" in
        --show) show=1 ;;
        -*) echo "unknown option $arg" >&2; exit 2 ;;
        *) targets+=("$arg") ;;
    esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

rustup component add llvm-tools-preview --toolchain nightly >/dev/null 2>&1
sysroot="$(rustc +nightly --print sysroot)"
llvm_cov="$(find "$sysroot/lib/rustlib" -name llvm-cov -type f | head -n 1)"
host="$(rustc +nightly -vV | sed -n 's/^host: //p')"

printf '%-18s %7s %17s %17s\n' target corpus lines regions
for target in "${targets[@]}"; do
    files="$(modules "$target")" || { echo "no module list for $target" >&2; exit 1; }
    corpus="fuzz/corpus/$target"
    (cd fuzz && cargo +nightly fuzz coverage "$target" "$PWD/corpus/$target") >/dev/null 2>&1
    bin="fuzz/target/$host/coverage/$host/release/$target"
    profile="fuzz/coverage/$target/coverage.profdata"
    # shellcheck disable=SC2086 # a list of paths
    total="$("$llvm_cov" report "$bin" -instr-profile="$profile" $files | grep '^TOTAL')"
    # TOTAL regions missed cover functions missed cover lines missed cover [branches …]
    read -r _ regions rmissed _ _ _ _ lines lmissed _ _ <<<"$total"
    pct() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.1f", n ? 100 * (n - m) / n : 100 }'; }
    printf '%-18s %7s %6s/%-5s %4s%% %6s/%-5s %4s%%\n' "$target" \
        "$(find "$corpus" -type f | wc -l)" \
        "$((lines - lmissed))" "$lines" "$(pct "$lines" "$lmissed")" \
        "$((regions - rmissed))" "$regions" "$(pct "$regions" "$rmissed")"
    if [[ $show -eq 1 ]]; then
        # shellcheck disable=SC2086
        "$llvm_cov" show "$bin" -instr-profile="$profile" -show-line-counts-or-regions \
            -format=text $files >"fuzz/coverage/$target/uncovered.txt"
    fi
done
