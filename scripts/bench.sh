#!/usr/bin/env bash
# Benchmarks of the reader's credential transaction (AuthenticateEV2First, GetCardUID,
# AuthenticateEV2NonFirst, a 160-byte Full-mode ReadData, all MACs verified), replayed against
# recorded card answers. Not a test: no number here fails the run (shared machines are noisy);
# only a transaction that does not verify does.
#
#     scripts/bench.sh              full criterion runs (a few minutes)
#     scripts/bench.sh --quick      short criterion runs, five benchmarks, no QEMU -icount
#                                   (~50 s with warm caches, ~2 min on a fresh machine)
#     scripts/bench.sh --regenerate rewrite perf/thumb-transaction/src/recorded.rs first
#
# Steps:
#  1. criterion (desfire-core/benches/transaction.rs): transaction time, AES-floor time, ratio.
#  2. callgrind (desfire-core/examples/transaction): instructions of one transaction, of the
#     AES floor and of the prototype, and the AES-128 operations the transaction executed,
#     counted from the aesenclast/aesdeclast/aeskeygenassist instructions callgrind saw.
#  3. perf/thumb-transaction: .text/.rodata/.data/.bss of a thumbv7em binary that does one
#     transaction (opt-level "s", LTO), its run in QEMU mps2-an386 (exit 0 = data verified),
#     and its instruction count under QEMU -icount (SysTick: 1 tick = 40 instructions).
#  4. loopback (desfire-core/benches/loopback.rs): the same transaction with the card side
#     (desfire_core::picc) in process too: transactions per second on one core.
#  5. GEN-PACS (desfire-core/benches/gen_pacs.rs, p256_verify.rs, perf/thumb-transaction
#     --features p256 / measure-p256): APDU pairs, air frames, bytes and modelled ISO 14443 air
#     time of one GRANT at 106 and 424 kbit/s against the spec §12 minimum; criterion time of
#     one ECDSA P-256 verification of the test card; the .text delta of linking P-256
#     verification into the thumbv7em binary and (not with --quick) its instructions in QEMU.
#  6. reader audit (host-tools/benches/audit.rs): criterion time of a full in-process audit of
#     the reference reader (every card of the default set; goal < 1 s), and of building the
#     golden card and its recorded session; then, when pcscd and vsmartcard-vpcd are installed,
#     the time of one card through pcscd + vpcd (`desfire audit --reader-cmd` with `desfire
#     reader` as the reader; goal < 1.5 s a card; pcscd is started for it if it is not running).
#  7. personalisation throughput (host-tools/benches/encode_throughput.rs): GEN-PACS cards
#     encoded per minute in process, with the keys in key files and in a SoftHSM2 token (a
#     temporary token directory of its own); 1000 cards per backend (200 with --quick).
#
# Installs what it needs when missing (valgrind, binutils-arm-none-eabi, qemu-system-arm, the
# thumbv7em target), quietly.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly ROOT="$PWD"
readonly THUMB_TARGET=thumbv7em-none-eabihf
readonly THUMB_DIR=perf/thumb-transaction
readonly THUMB_ELF="$THUMB_DIR/target/$THUMB_TARGET/release/thumb-transaction"
readonly APT_PACKAGES=(valgrind binutils binutils-arm-none-eabi qemu-system-arm softhsm2)
# shellcheck disable=SC2054 # the commas are inside one argument
readonly QEMU=(qemu-system-arm -M mps2-an386 -display none -monitor none -serial null
    -semihosting-config enable=on,target=native)

quick=0
regenerate=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --regenerate) regenerate=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs a command with its output hidden; shows the output only if it fails.
quietly() {
    if ! "$@" >"$work/quiet.log" 2>&1; then
        cat "$work/quiet.log" >&2
        echo "command failed: $*" >&2
        return 1
    fi
}

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "==> installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        quietly as_root apt-get update -qq
        quietly as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    if ! rustup target list --installed | grep -qx "$THUMB_TARGET"; then
        quietly rustup target add "$THUMB_TARGET"
    fi
}

# The value of key=value in a line of words.
field() {
    sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2" | head -n1
}

# ---------------------------------------------------------------------------
# 1. criterion
# ---------------------------------------------------------------------------
run_criterion() {
    local args=()
    if [[ $quick -eq 1 ]]; then
        args=(--warm-up-time 1 --measurement-time 2
            '^transaction/(full|aes_floor|aes_as_implemented|lean)$')
        export DESFIRE_BENCH_ROUNDS="${DESFIRE_BENCH_ROUNDS:-100}"
    fi
    echo "==> criterion: cargo bench -p desfire-core --bench transaction -- ${args[*]}"
    cargo bench -q -p desfire-core --bench transaction -- "${args[@]}" 2>&1 |
        tee "$work/criterion.log" | grep -E '^(transaction/|  +time:|==|  [a-z0-9_]+ +[0-9]|ratio)' || true
    if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
        echo "criterion run failed:" >&2
        tail -n 30 "$work/criterion.log" >&2
        return 1
    fi
    bench_summary="$(grep '^BENCH-SUMMARY' "$work/criterion.log" || true)"
}

# ---------------------------------------------------------------------------
# 2. callgrind
# ---------------------------------------------------------------------------
readonly TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
readonly EXAMPLE="$TARGET_DIR/release/examples/transaction" # the bench profile builds into release/

# Instructions collected inside the function matching $1 while running the example with $2.
callgrind_count() {
    local toggle="$1" mode="$2" out="$work/callgrind.$2.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$toggle" \
        --dump-instr=yes --dump-line=no --compress-pos=no --compress-strings=no \
        "$EXAMPLE" "$mode" >"$work/callgrind.$mode.stdout" 2>"$work/callgrind.$mode.stderr" || {
        cat "$work/callgrind.$mode.stdout" "$work/callgrind.$mode.stderr" >&2
        return 1
    }
    sed -n 's/^summary: //p' "$out"
}

# How often the AES instructions in the binary ran in a callgrind profile (positions are the
# binary's own addresses): aesenclast = block encryptions, aesdeclast = block decryptions,
# aeskeygenassist / 10 = key expansions (AES-NI backend; callgrind's CPU has no VAES).
aes_ops() {
    local out="$1"
    objdump -d --no-show-raw-insn "$EXAMPLE" |
        awk '$2 ~ /^v?aes(enclast|declast|keygenassist)$/ { a = $1; sub(":", "", a); print a, $2 }' \
            >"$work/aes-addresses"
    awk '
        NR == FNR { m = $2; sub(/^v/, "", m); kind["0x" $1] = m; next }
        /^calls=/ { skip = 1; next }
        skip { skip = 0; next }
        /^0x[0-9a-f]+ / { if ($1 in kind) n[kind[$1]] += $2 }
        END {
            printf "enc=%d dec=%d key_expansions=%d\n",
                n["aesenclast"], n["aesdeclast"], n["aeskeygenassist"] / 10
        }
    ' "$work/aes-addresses" "$out"
}

run_callgrind() {
    echo "==> callgrind: one transaction (release, debug info)"
    # The bench profile (release + full debug info) shares its dependencies with `cargo bench`.
    quietly cargo build --profile bench -p desfire-core --example transaction
    tx_ir="$(callgrind_count '*run_transaction*' run)"
    floor_ir="$(callgrind_count '*aes_work*' floor)"
    impl_ir="$(callgrind_count '*aes_work*' as-implemented)"
    lean_ir="$(callgrind_count '*run_lean*' lean)"
    tx_aes="$(aes_ops "$work/callgrind.run.out")"
    floor_aes="$(aes_ops "$work/callgrind.floor.out")"
    grep -q "transaction ok" "$work/callgrind.run.stdout" || {
        echo "the transaction did not verify under callgrind" >&2
        return 1
    }
    echo "    transaction $tx_ir Ir ($tx_aes); AES floor $floor_ir Ir ($floor_aes);" \
        "as implemented $impl_ir Ir; prototype $lean_ir Ir"
    echo "    hot spots: callgrind_annotate --inclusive=yes $TARGET_DIR/callgrind.transaction.out"
    cp "$work/callgrind.run.out" "$TARGET_DIR/callgrind.transaction.out"
}

# ---------------------------------------------------------------------------
# 3. thumbv7em
# ---------------------------------------------------------------------------
run_thumb() {
    echo "==> thumbv7em: $THUMB_DIR (opt-level s, LTO)"
    cargo run -q --profile bench -p desfire-core --example transaction -- consts >"$work/recorded.rs"
    rustfmt --edition 2024 "$work/recorded.rs"
    if ! cmp -s "$work/recorded.rs" "$THUMB_DIR/src/recorded.rs"; then
        if [[ $regenerate -eq 1 ]]; then
            cp "$work/recorded.rs" "$THUMB_DIR/src/recorded.rs"
            echo "    rewrote $THUMB_DIR/src/recorded.rs"
        else
            echo "$THUMB_DIR/src/recorded.rs is not what the fixture records now:" \
                "run scripts/bench.sh --regenerate" >&2
            return 1
        fi
    fi
    (cd "$THUMB_DIR" && quietly cargo build --release --target-dir target)
    local sizes
    sizes="$(arm-none-eabi-size -A "$THUMB_ELF")"
    thumb_text="$(awk '$1 == ".text" { print $2 }' <<<"$sizes")"
    thumb_rodata="$(awk '$1 == ".rodata" { print $2 }' <<<"$sizes")"
    thumb_data="$(awk '$1 == ".data" { print $2 }' <<<"$sizes")"
    thumb_bss="$(awk '$1 == ".bss" { print $2 }' <<<"$sizes")"
    local rc=0
    timeout 60 "${QEMU[@]}" -kernel "$THUMB_ELF" >"$work/qemu.log" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]]; then
        thumb_run="exit 0 (UID and data verified)"
    else
        thumb_run="FAILED (exit $rc)"
        cat "$work/qemu.log" >&2
    fi
    echo "    .text $thumb_text, .rodata $thumb_rodata, .data $thumb_data, .bss $thumb_bss; QEMU: $thumb_run"

    if [[ $quick -eq 1 ]]; then
        thumb_icount="skipped (--quick)"
        return 0
    fi
    # Instruction counts: the same transaction in a build that also times it with SysTick (in a
    # target directory of its own, so the size build above stays as it is).
    (cd "$THUMB_DIR" && quietly cargo build --release --features measure --target-dir target/measure)
    rc=0
    timeout 60 "${QEMU[@]}" -icount shift=0 \
        -kernel "$THUMB_DIR/target/measure/$THUMB_TARGET/release/thumb-transaction" \
        >"$work/qemu-measure.log" 2>&1 || rc=$?
    local ticks floor_ticks impl_ticks
    ticks="$(sed -n 's/^transaction_ticks=//p' "$work/qemu-measure.log")"
    floor_ticks="$(sed -n 's/^aes_floor_ticks=//p' "$work/qemu-measure.log")"
    impl_ticks="$(sed -n 's/^aes_as_implemented_ticks=//p' "$work/qemu-measure.log")"
    if [[ $rc -eq 0 && -n "$ticks" && -n "$floor_ticks" ]]; then
        thumb_icount="transaction ~$((ticks * 40)), AES floor ~$((floor_ticks * 40)), as implemented ~$((impl_ticks * 40)) instructions; ratio $(awk -v a="$ticks" -v b="$floor_ticks" 'BEGIN { printf "%.2f", a / b }')"
    else
        thumb_icount="not measured (exit $rc)"
        cat "$work/qemu-measure.log" >&2
    fi
    echo "    QEMU -icount: $thumb_icount"
}

# Reader and card (desfire_core::picc) both in process: transactions per second on one core.
run_loopback() {
    local args=()
    if [[ $quick -eq 1 ]]; then
        args=(--warm-up-time 1 --measurement-time 2)
    fi
    echo "==> loopback: cargo bench -p desfire-core --bench loopback"
    cargo bench -q -p desfire-core --bench loopback -- "${args[@]}" >"$work/loopback.log" 2>&1 || {
        tail -n 30 "$work/loopback.log" >&2
        return 1
    }
    loopback_tps="$(grep -o 'loopback_transactions_per_second=[0-9]*' "$work/loopback.log" | cut -d= -f2)"
    echo "    ${loopback_tps:-?} transactions per second"
}

# ---------------------------------------------------------------------------
# 5. GEN-PACS: air time of one GRANT, ECDSA P-256 verification on the host and on thumbv7em
# ---------------------------------------------------------------------------
run_gen_pacs() {
    echo "==> GEN-PACS: cargo bench -p desfire-core --bench gen_pacs"
    cargo bench -q -p desfire-core --bench gen_pacs >"$work/gen_pacs.log" 2>&1 || {
        tail -n 30 "$work/gen_pacs.log" >&2
        return 1
    }
    grep '^GEN-PACS' "$work/gen_pacs.log" | sed 's/^/    /'
    gp_pairs="$(sed -n 's/^GEN-PACS GRANT: APDU pairs \([0-9]*\) .*minimum \([0-9]*\) pairs -> \(.*\)$/\1 (minimum \2: \3)/p' "$work/gen_pacs.log")"
    gp_106="$(sed -n 's/^GEN-PACS air 106 kbit\/s: \(.*\) (ISO.*$/\1/p' "$work/gen_pacs.log")"
    gp_424="$(sed -n 's/^GEN-PACS air 424 kbit\/s: .*air time \([0-9.]* ms\).*$/\1/p' "$work/gen_pacs.log")"
    gp_min="$(sed -n 's/^GEN-PACS air minimum 106 kbit\/s: pairs [0-9]*, \(frames [0-9]*\),.*air time \([0-9.]* ms\)$/\1, \2/p' "$work/gen_pacs.log")"
    gp_min424="$(sed -n 's/^GEN-PACS air minimum 424 kbit\/s: .*air time \([0-9.]* ms\)$/\1/p' "$work/gen_pacs.log")"

    local args=()
    if [[ $quick -eq 1 ]]; then
        args=(--warm-up-time 1 --measurement-time 2)
    fi
    echo "==> criterion: cargo bench -p desfire-core --bench p256_verify"
    cargo bench -q -p desfire-core --bench p256_verify -- "${args[@]}" >"$work/p256.log" 2>&1 || {
        tail -n 30 "$work/p256.log" >&2
        return 1
    }
    p256_host="$(grep -A1 '^p256_verify/gen_pacs_test_card' "$work/p256.log" | sed -n 's/.*time: *\[[^ ]* [^ ]* \([^ ]* [^ ]*\) .*/\1/p')"
    echo "    ECDSA P-256 verify (host, criterion median estimate): ${p256_host:-?}"

    echo "==> thumbv7em: $THUMB_DIR --features p256 (one P-256 verification of the test card)"
    local p256_elf="$THUMB_DIR/target/p256/$THUMB_TARGET/release/thumb-transaction" rc=0 text
    (cd "$THUMB_DIR" && quietly cargo build --release --features p256 --target-dir target/p256)
    text="$(arm-none-eabi-size -A "$p256_elf" | awk '$1 == ".text" { print $2 }')"
    p256_text="+$((text - thumb_text)) bytes (.text $text with, $thumb_text without)"
    timeout 60 "${QEMU[@]}" -kernel "$p256_elf" >"$work/qemu-p256.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        cat "$work/qemu-p256.log" >&2
        echo "the P-256 verification failed in QEMU (exit $rc)" >&2
        return 1
    fi
    echo "    .text delta of P-256 verification: $p256_text; QEMU: exit 0 (signature verified)"

    if [[ $quick -eq 1 ]]; then
        p256_icount="skipped (--quick)"
        return 0
    fi
    (cd "$THUMB_DIR" && quietly cargo build --release --features measure-p256 --target-dir target/measure-p256)
    rc=0
    timeout 120 "${QEMU[@]}" -icount shift=0 \
        -kernel "$THUMB_DIR/target/measure-p256/$THUMB_TARGET/release/thumb-transaction" \
        >"$work/qemu-measure-p256.log" 2>&1 || rc=$?
    local ticks
    ticks="$(sed -n 's/^p256_verify_ticks=//p' "$work/qemu-measure-p256.log")"
    if [[ $rc -eq 0 && -n "$ticks" ]]; then
        p256_icount="~$((ticks * 40)) instructions ($ticks SysTick ticks)"
    else
        p256_icount="not measured (exit $rc)"
        cat "$work/qemu-measure-p256.log" >&2
    fi
    echo "    QEMU -icount: P-256 verify $p256_icount"
}


# ---------------------------------------------------------------------------
# 6. Reader audit: the full in-process audit of one reader
# ---------------------------------------------------------------------------
run_encode_throughput() {
    local cards=1000
    [[ $quick -eq 1 ]] && cards=200
    echo "==> personalisation: cargo bench -p host-tools --bench encode_throughput -- $cards"
    cargo bench -q -p host-tools --bench encode_throughput -- "$cards" >"$work/encode.log" 2>&1 || {
        echo "encode throughput bench failed:" >&2
        tail -n 30 "$work/encode.log" >&2
        return 1
    }
    sed -n '/^cards encoded/,$p' "$work/encode.log" | sed 's/^/    /'
    encode_files="$(sed -n 's/^  key files *\(.*\)$/\1/p' "$work/encode.log")"
    encode_token="$(sed -n 's/^  SoftHSM2 token *\(.*\)$/\1/p' "$work/encode.log")"
}

run_audit() {
    local args=()
    [[ $quick -eq 1 ]] && args=(--warm-up-time 1 --measurement-time 2)
    echo "==> audit: cargo bench -p host-tools --bench audit -- ${args[*]}"
    cargo bench -q -p host-tools --bench audit -- "${args[@]}" >"$work/audit.log" 2>&1 || {
        echo "audit bench failed:" >&2
        tail -n 30 "$work/audit.log" >&2
        return 1
    }
    # criterion prints `name  time: [low mean high]`, the name alone on its line when long.
    local line
    line="$(grep -A1 '^audit/reference_default_set' "$work/audit.log" | grep -m1 'time:' || true)"
    audit_full="$(sed -n 's/.*time: *\[[^ ]* [^ ]* \([^ ]* [^ ]*\) .*/\1/p' <<<"$line")"
    audit_cards="$(grep -m1 -o 'reference_default_set_[0-9]*' "$work/audit.log" | grep -o '[0-9]*$' || true)"
    line="$(grep -A1 '^audit/fixture' "$work/audit.log" | grep -m1 'time:' || true)"
    audit_fixture="$(sed -n 's/.*time: *\[[^ ]* [^ ]* \([^ ]* [^ ]*\) .*/\1/p' <<<"$line")"
    echo "    audit of ${audit_cards:-?} cards: ${audit_full:-?}; fixture ${audit_fixture:-?}"
    run_audit_pcsc
}

# One card through pcscd + vpcd: wall time, dominated by pcscd polling vpcd for the card's
# arrival and departure (a timing from --timing, not a criterion run: each card takes ~1 s).
run_audit_pcsc() {
    if ! command -v pcscd >/dev/null || [[ ! -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]]; then
        audit_pcsc="skipped (needs pcscd and vsmartcard-vpcd)"
        echo "    audit through pcscd + vpcd: $audit_pcsc"
        return 0
    fi
    local cards=T0,T1,T3,T6,T9,T14
    [[ $quick -eq 1 ]] && cards=T0,T9
    echo "==> audit through pcscd + vpcd: desfire audit --reader-cmd 'desfire reader …' --cards $cards"
    quietly cargo build -q --release -p host-tools --features pcsc --bin desfire
    local desfire="$ROOT/target/release/desfire"
    [[ -n "${CARGO_TARGET_DIR:-}" ]] && desfire="$CARGO_TARGET_DIR/release/desfire"
    "$desfire" audit --now 2026-06-01 --cards "$cards" --timing \
        --reader-cmd "$desfire reader --profile lab --now 2026-06-01 --reader {reader}" \
        >"$work/audit-pcsc.log" 2>&1 || {
        echo "the audit through pcscd + vpcd failed:" >&2
        tail -n 30 "$work/audit-pcsc.log" >&2
        return 1
    }
    audit_pcsc="$(sed -n 's/^timing: [0-9]* presentation(s) through pcscd + vpcd ([^)]*): //p' "$work/audit-pcsc.log")"
    echo "    one card through pcscd + vpcd: ${audit_pcsc:-?}"
}

install_missing
bench_summary=""
loopback_tps=""
audit_pcsc=""
gp_pairs="" gp_106="" gp_424="" gp_min="" gp_min424="" p256_host="" p256_text="" p256_icount=""
run_criterion
run_callgrind
run_thumb
run_loopback
run_gen_pacs
run_audit
encode_files="" encode_token=""
run_encode_throughput

full_ns="$(field full_mean_ns "$bench_summary")"
floor_ns="$(field aes_floor_mean_ns "$bench_summary")"
cat <<EOF

==================== desfire-core transaction benchmark ====================
host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores$([[ $quick -eq 1 ]] && echo ", --quick")
transaction mean (criterion)     ${full_ns:-?} ns
AES floor mean (criterion)       ${floor_ns:-?} ns  (6 key expansions, 34 enc, 17 dec)
ratio transaction / AES floor    $(field ratio "$bench_summary") (criterion means), $(field interleaved_full_ratio "$bench_summary") (interleaved medians); goal <= 1.5
  prototype with hot spots fixed $(field interleaved_lean_ratio "$bench_summary") x floor (interleaved)
callgrind, one transaction       $tx_ir instructions; AES floor $floor_ir; prototype $lean_ir
AES ops executed (callgrind)     $tx_aes
thumbv7em binary (opt-level s)   .text $thumb_text  .rodata $thumb_rodata  .data $thumb_data  .bss $thumb_bss bytes
thumbv7em in QEMU mps2-an386     $thumb_run
thumbv7em instructions (QEMU)    $thumb_icount
loopback, reader + card (picc)   ${loopback_tps:-?} transactions/s on one core (goal >= 20000)
GEN-PACS GRANT, APDU pairs       ${gp_pairs:-?}
GEN-PACS GRANT air, 106 kbit/s   ${gp_106:-?} (goal < 60 ms)
GEN-PACS GRANT air, 424 kbit/s   ${gp_424:-?}
  spec §12 minimum               ${gp_min:-?} at 106 kbit/s, ${gp_min424:-?} at 424 kbit/s
ECDSA P-256 verify (host)        ${p256_host:-?} (criterion)
ECDSA P-256 verify (thumbv7em)   ${p256_icount:-?}; .text ${p256_text:-?}
reader audit, in process         ${audit_full:-?} for ${audit_cards:-?} cards (goal < 1 s; T12 sleeps 5 ms per answer)
  golden card + recording        ${audit_fixture:-?}
reader audit, pcscd + vpcd       ${audit_pcsc:-?} (goal < 1.5 s a card)
encoding, keys in key files      ${encode_files:-?}
encoding, keys in SoftHSM2       ${encode_token:-?}
============================================================================
EOF
