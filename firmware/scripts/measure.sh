#!/usr/bin/env bash
# Measures one GRANT on the QEMU board under `-icount shift=0` (one instruction = 1 ns of
# virtual time, SysTick at 25 MHz = 40 instructions a tick): the instructions the reader spends
# in the reader procedure (crypto, parsing, ECDSA; the time inside the PN532 front end is taken
# out), one ECDSA P-256 verification on its own (the engine's, p256-cm4), the same verification
# by RustCrypto and by p256-cm4 side by side, and the stack high-water mark (painted stack).
# Before the card, the image runs the ECDSA differential vectors (reader/src/ecdsa_vectors.rs)
# through RustCrypto and p256-cm4 on the emulated Cortex-M4: a disagreement fails the run.
# The card is the lab golden card behind the PN532 emulator.
#
#     firmware/scripts/measure.sh path/to/desfire
#
# Deterministic: the counts come from the instruction count, not from wall time.
set -euo pipefail
desfire="$(realpath "$1")"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}/measure"
elf="$target/thumbv7em-none-eabihf/release/reader-qemu"

# Its own target directory: the measure image has the same name as the normal one.
(cd boards/qemu-mps2-an386 && DEFMT_LOG=off CARGO_TARGET_DIR="$target" \
    cargo build --release --quiet --features measure)

work="$(mktemp -d)"
emu_pid=""
cleanup() {
    if [[ -n "$emu_pid" ]]; then
        kill -INT "$emu_pid" 2>/dev/null || true
        wait "$emu_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$desfire" card encode --profile lab --credential-id 1A2B3C4D5E6F7081 \
    --image "$work/golden.json" >/dev/null 2>&1
"$desfire" emulate --pn532 "unix:$work/pn532.sock" --card "$work/golden.json" \
    >"$work/emulator.log" 2>&1 &
emu_pid=$!
# The socket appears when the emulator listens; a poll with a deadline, not a guess.
for _ in $(seq 200); do
    [[ -S "$work/pn532.sock" ]] && break
    sleep 0.05
done

echo "==> arm-none-eabi-size (measure build)"
arm-none-eabi-size "$elf"
echo "==> one GRANT under qemu-system-arm -icount shift=0"
timeout 120 qemu-system-arm -M mps2-an386 -icount shift=0 -display none -monitor none \
    -semihosting-config enable=on,target=native \
    -serial "unix:$work/pn532.sock" -serial null -kernel "$elf"
