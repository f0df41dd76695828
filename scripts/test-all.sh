#!/usr/bin/env bash
# The one command that runs every check and test of this repository.
#
#     ./scripts/test-all.sh
#
# CI runs exactly this (through .ci/run) on a fresh Debian bookworm machine as
# root. It installs what the tests need (idempotent, quiet when nothing is
# missing), starts the services the tests need, then runs the gates, the tests
# and the fuzz checks. It stops at the first failing step.
#
# Measured on the 2-core CI machine kind (2026-11-28, skeleton crates): the
# first-time `rustup target add thumbv7em-none-eabihf` takes ~1 s, and every
# install step is ~0.1 s when nothing is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly THUMB_TARGET=thumbv7em-none-eabihf
# Debian packages the tests need. valgrind: callgrind instruction counts (scripts/bench.sh);
# python3-cryptography: the independent vector generator (tests/tests/generator_check.rs);
# qemu-system-arm: the thumbv7em transaction; pcscd, vsmartcard-vpcd: the PC/SC end-to-end
# tests (host-tools/tests/pcsc_e2e.rs); libpcsclite-dev, pkg-config: the `pcsc` crate;
# python3-pyscard: the independent PC/SC client of those tests (tests/peers/);
# libnfc-bin, libnfc-examples (nfc-list, nfc-scan-device), socat: real libnfc against
# `desfire emulate --pn532` (host-tools/tests/pn532_libnfc.rs); chromium: renders the HTML audit
# report headless (host-tools/tests/audit_report_browser.rs; ~9 s to install with apt-get update
# on the 2-core machine, 2026-11-28); softhsm2: the PKCS#11 token of the key-custody tests, each
# in its own temporary token directory (host-tools/tests/hsm_softhsm.rs), and opensc: its
# pkcs11-tool, an independent PKCS#11 client those tests inspect the token with (~5 s to install).
readonly APT_PACKAGES=(valgrind python3-cryptography qemu-system-arm
    pcscd libpcsclite-dev pkg-config vsmartcard-vpcd python3-pyscard
    libnfc-bin libnfc-examples socat chromium
    binutils-arm-none-eabi python3-venv softhsm2 opensc)
# binutils-arm-none-eabi: arm-none-eabi-size of the firmware images; python3-venv: the venv
# that holds PyPI libosdp, the OSDP control panel of the firmware end-to-end test
# (firmware/tests/e2e_qemu.py). The reference C libosdp as a Python package (a wheel: ~1 s),
# pinned.
readonly LIBOSDP_PY=libosdp==3.2.9
readonly FIRMWARE_VENV=target/firmware-venv
# pcscd's client socket: it exists once the daemon accepts clients.
readonly PCSCD_SOCKET=/run/pcscd/pcscd.comm
# The longest we wait for pcscd to be ready (it takes tens of milliseconds).
readonly PCSCD_READY_SECONDS=10
# Seconds each fuzz target runs in the smoke run.
readonly FUZZ_SECONDS=10

if [[ -n "${CI:-}" ]]; then
    # A fresh clone builds everything once: incremental artifacts only cost time.
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

passed=()
current_step=""
step_started=0
script_started=$SECONDS

step() {
    finish_step
    current_step="$1"
    step_started=$SECONDS
    echo "==> $current_step"
}

finish_step() {
    if [[ -n "$current_step" ]]; then
        passed+=("$current_step ($((SECONDS - step_started))s)")
        current_step=""
    fi
}

on_exit() {
    local rc=$?
    stop_services
    if [[ $rc -ne 0 ]]; then
        echo "==> FAILED: ${current_step:-setup} (exit $rc)" >&2
        if [[ ${#passed[@]} -gt 0 ]]; then
            echo "==> passed before it: $(join_by ', ' "${passed[@]}")" >&2
        fi
    fi
}
trap on_exit EXIT

join_by() {
    local sep="$1"
    shift
    local out="$1"
    shift
    for item in "$@"; do out+="$sep$item"; done
    printf '%s' "$out"
}

# Runs a command with its output hidden, and shows the output only if it fails.
quietly() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "command failed: $*" >&2
        return 1
    fi
    rm -f "$log"
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    else
        sudo "$@"
    fi
}

# ---------------------------------------------------------------------------
# Installs
# ---------------------------------------------------------------------------

install_rust_parts() {
    # For the toolchain that cargo runs here (rust-toolchain.toml, if any, or
    # the default stable).
    quietly rustup component add rustfmt clippy
    quietly rustup target add "$THUMB_TARGET"
}

install_apt_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    echo "    installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly as_root apt-get update -qq
    quietly as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# flip-link (the nRF board's linker, stack overflow protection) and the venv with libosdp.
install_firmware_tools() {
    if ! command -v flip-link >/dev/null 2>&1; then
        echo "    installing flip-link"
        quietly cargo install flip-link --locked
    fi
    if [[ ! -x "$FIRMWARE_VENV/bin/python" ]]; then
        quietly python3 -m venv "$FIRMWARE_VENV"
    fi
    if ! "$FIRMWARE_VENV/bin/python" -c 'import osdp' 2>/dev/null; then
        echo "    installing $LIBOSDP_PY"
        quietly "$FIRMWARE_VENV/bin/pip" install --quiet "$LIBOSDP_PY"
    fi
}

# ---------------------------------------------------------------------------
# Services
#
# Tests that need a daemon (pcscd with vpcd, later) get it started here,
# before the tests run, and stopped on exit. Record each PID you start in
# SERVICE_PIDS; only those processes are stopped.
# ---------------------------------------------------------------------------

SERVICE_PIDS=()
SERVICE_LOG_DIR="${SERVICE_LOG_DIR:-target/service-logs}"

start_services() {
    mkdir -p "$SERVICE_LOG_DIR"
    start_pcscd
}

# pcscd with the vpcd driver (readers `Virtual PCD 00 00` and `00 01`). One per machine: when
# one already runs (a developer's), the tests use it and we leave it alone.
start_pcscd() {
    local pidfile=/run/pcscd/pcscd.pid running
    # The pid file is padded with NUL bytes: keep the digits.
    running="$({ tr -dc '0-9' <"$pidfile"; } 2>/dev/null || true)"
    if [[ -n "$running" ]] && kill -0 "$running" 2>/dev/null && [[ -S "$PCSCD_SOCKET" ]]; then
        echo "    pcscd already running (pid $running): using it"
        return 0
    fi
    # A socket left by a pcscd that was killed would pass the readiness check below at once.
    as_root rm -f "$PCSCD_SOCKET"
    # Not through `as_root`: a function run with `&` is a subshell, and `$!` would be the
    # subshell, not pcscd, so stopping it would leave pcscd running.
    local cmd=(pcscd --foreground --debug)
    if [[ $EUID -ne 0 ]]; then
        cmd=(sudo "${cmd[@]}")
    fi
    "${cmd[@]}" >"$SERVICE_LOG_DIR/pcscd.log" 2>&1 &
    local pid=$!
    SERVICE_PIDS+=("$pid")
    # Ready when its socket exists; bounded, and fails at once if pcscd exits.
    local deadline=$((SECONDS + PCSCD_READY_SECONDS))
    until [[ -S "$PCSCD_SOCKET" ]]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "pcscd exited at start; its log:" >&2
            cat "$SERVICE_LOG_DIR/pcscd.log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "pcscd did not create $PCSCD_SOCKET within ${PCSCD_READY_SECONDS}s" >&2
            return 1
        fi
        # Waiting for a socket file has no event to block on in bash; this is a poll with a
        # deadline, not a guess at how long start-up takes.
        sleep 0.01
    done
    echo "    pcscd ready (pid $pid, log $SERVICE_LOG_DIR/pcscd.log)"
}

stop_services() {
    local pid
    for pid in "${SERVICE_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVICE_PIDS=()
}

# ---------------------------------------------------------------------------
# Fuzz smoke run
# ---------------------------------------------------------------------------

# Why the fuzz smoke run cannot happen here, or nothing if it can.
fuzz_skip_reason() {
    if ! cargo +nightly --version >/dev/null 2>&1; then
        echo "no nightly toolchain (cargo +nightly does not work)"
        return
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        # `cargo install cargo-fuzz --locked` took 24 s on the 2-core machine
        # (2026-11-28, cargo-fuzz 0.13.2), so CI installs it when nightly is
        # there to use it.
        echo "    installing cargo-fuzz" >&2
        if ! quietly cargo install cargo-fuzz --locked; then
            echo "cargo install cargo-fuzz failed"
            return
        fi
    fi
}

fuzz_smoke_run() {
    local reason
    reason="$(fuzz_skip_reason)"
    if [[ -n "$reason" ]]; then
        echo "SKIPPED fuzz smoke run: $reason"
        return 0
    fi
    local targets
    targets="$(cargo +nightly fuzz list)"
    if [[ -z "$targets" ]]; then
        echo "SKIPPED fuzz smoke run: fuzz/ has no targets"
        return 0
    fi
    cargo +nightly fuzz build
    # Each target starts from its checked-in corpus (fuzz/corpus/<target>/) and its dictionary
    # (fuzz/dict/<target>.dict), read only: new inputs go to a scratch directory, the first
    # one libFuzzer is given, and are dropped.
    local scratch
    scratch="$(mktemp -d)"
    local target
    for target in $targets; do
        echo "    fuzzing $target for ${FUZZ_SECONDS}s from $(corpus_size "$target") inputs"
        mkdir -p "$scratch/$target"
        # libFuzzer's progress lines and dictionary dump are noise unless it finds something.
        local options=(-max_total_time="$FUZZ_SECONDS")
        if [[ -f "fuzz/dict/$target.dict" ]]; then
            options+=(-dict="$PWD/fuzz/dict/$target.dict")
        fi
        # The reproducers of crashes found and fixed (fuzz/regressions/<target>/) run first.
        local corpora=("$PWD/fuzz/corpus/$target")
        if [[ -d "fuzz/regressions/$target" ]]; then
            corpora+=("$PWD/fuzz/regressions/$target")
        fi
        quietly cargo +nightly fuzz run "$target" "$scratch/$target" "${corpora[@]}" \
            -- "${options[@]}"
    done
    rm -rf "$scratch"
}

# How many inputs the checked-in corpus of fuzz target $1 holds.
corpus_size() {
    find "fuzz/corpus/$1" -type f 2>/dev/null | wc -l
}

# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

step "install: rustfmt, clippy, $THUMB_TARGET"
install_rust_parts

step "install: apt packages (${APT_PACKAGES[*]})"
install_apt_packages

step "install: flip-link, $LIBOSDP_PY"
install_firmware_tools

step "start services"
start_services

step "fmt"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check

# Every workspace's Cargo.lock must already name what its manifests need: a stale lock would let
# a fresh machine resolve other versions than the ones tested here.
step "lock files current"
for manifest in Cargo.toml firmware/Cargo.toml fuzz/Cargo.toml perf/thumb-transaction/Cargo.toml; do
    cargo metadata --locked --format-version 1 --manifest-path "$manifest" >/dev/null
done

step "clippy (workspace)"
cargo clippy --workspace --all-targets -- -D warnings

step "clippy (host-tools, desfire-tests, pcsc)"
cargo clippy -p host-tools -p desfire-tests --all-targets \
    --features host-tools/pcsc,desfire-tests/pcsc -- -D warnings

step "clippy (desfire-core, log)"
cargo clippy -p desfire-core --all-targets --features log -- -D warnings

# defmt needs its `_defmt_*` symbols only when a binary is linked; clippy does
# not link, so this checks the defmt code paths on the host.
step "clippy (desfire-core, defmt)"
cargo clippy -p desfire-core --all-targets --features defmt -- -D warnings

step "doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

step "build desfire-core for $THUMB_TARGET"
cargo build -p desfire-core --no-default-features --target "$THUMB_TARGET" --release

# The benchmark transaction as a Cortex-M4F binary, run in QEMU: exit 0 only if the reader
# verified every MAC and got the recorded UID and data. Its own workspace, whose
# .cargo/config.toml (target, QEMU runner) is found from the working directory.
step "thumbv7em transaction in QEMU (perf/thumb-transaction)"
(cd perf/thumb-transaction && cargo fmt --check && cargo clippy --release -- -D warnings \
    && timeout 120 cargo run --release)

# `desfire audit --firmware` (host-tools/tests/audit_firmware.rs) runs the QEMU reader image
# against the test cards, observed by the libosdp panel of the venv: build the image first (the
# firmware steps below find it built) and tell the test where both are.
step "firmware: QEMU reader image for the firmware audit"
(cd firmware/boards/qemu-mps2-an386 && cargo build --release --quiet)
fw_target="${CARGO_TARGET_DIR:-$PWD/firmware/target}"
export DESFIRE_FIRMWARE_ELF="$fw_target/thumbv7em-none-eabihf/release/reader-qemu"
export DESFIRE_OSDP_PYTHON="$PWD/$FIRMWARE_VENV/bin/python"

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    # `warn`: a workspace without tests says so, loudly, instead of failing.
    # host-tools/pcsc: the PC/SC transport, `desfire card …` and the pcscd + vpcd end-to-end
    # tests (serialised by .config/nextest.toml); desfire-tests/pcsc: the known-bad reader
    # models audited through pcscd + vpcd (`bad-reader --reader`, tests/audit_pcsc_models.rs).
    cargo nextest run --workspace --features host-tools/pcsc,desfire-tests/pcsc \
        --no-fail-fast --no-tests=warn
else
    echo "    cargo-nextest not found: using cargo test"
    cargo test --workspace --features host-tools/pcsc,desfire-tests/pcsc --no-fail-fast
fi

# nextest does not run doctests.
step "doctests"
cargo test --workspace --doc

# The reader firmware: its own workspace (firmware/), host tests of the application and the
# PN532 driver, each board in its own cargo call from its own directory.
step "firmware: fmt, clippy, host tests"
(cd firmware && cargo fmt --all --check \
    && cargo clippy --all-targets -p gen-pacs-reader -p pn532-driver -- -D warnings \
    && cargo test -p gen-pacs-reader -p pn532-driver)

step "firmware: clippy of the boards"
for board in firmware/boards/*/; do
    (cd "$board" && cargo clippy --release -- -D warnings)
done
# The nRF board's labelled legacy Wiegand build (spec §14, R13).
(cd firmware/boards/nrf52840-dk && cargo clippy --release --features legacy-wiegand -- -D warnings)
# The nRF board's development build (debug port open, never on a door).
(cd firmware/boards/nrf52840-dk && cargo clippy --release --features debug-port -- -D warnings)

step "firmware: board images and their sizes"
firmware/scripts/build.sh

# The QEMU reader between the PN532 emulator (`desfire emulate --pn532`) and a libosdp panel.
step "firmware: end-to-end in QEMU (PN532 emulator, libosdp panel)"
cargo build --bin desfire
desfire_bin="${CARGO_TARGET_DIR:-target}/debug/desfire"
if [[ "$("$desfire_bin" emulate --help)" != *--pn532* ]]; then
    echo "desfire emulate has no --pn532: the firmware end-to-end test needs the PN532 emulator" >&2
    exit 1
fi
"$FIRMWARE_VENV/bin/python" firmware/tests/e2e_qemu.py --desfire "$desfire_bin" \
    --elf "${CARGO_TARGET_DIR:-firmware/target}/thumbv7em-none-eabihf/release/reader-qemu"

# The ECDSA differential vectors through RustCrypto and p256-cm4 on QEMU's Cortex-M4, then one
# GRANT's instruction count and stack high-water mark (printed, never asserted).
step "firmware: ECDSA differential and GRANT figures in QEMU (measure.sh)"
firmware/scripts/measure.sh "$desfire_bin"

step "fuzz crate clippy"
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

step "fuzz smoke run"
fuzz_smoke_run

finish_step
echo "==> all ${#passed[@]} steps passed in $((SECONDS - script_started))s: $(join_by ', ' "${passed[@]}")"
