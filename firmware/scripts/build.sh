#!/usr/bin/env bash
# Builds the board images in release, each in its own cargo call from its own directory (its
# .cargo/config.toml names the target, linker script and runner), and prints their sizes: QEMU,
# nRF52840-DK, and the DK's labelled legacy Wiegand build (feature `legacy-wiegand`, copied to
# reader-nrf52840-dk-legacy-wiegand: both nRF builds link to the same path).
#
#     firmware/scripts/build.sh            # CARGO_TARGET_DIR is honoured
#
# Goals (firmware/README.md): reader image under 64 KiB flash and 16 KiB RAM, no heap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
elf_dir="$target/thumbv7em-none-eabihf/release"

(cd boards/qemu-mps2-an386 && cargo build --release --quiet)
(cd boards/nrf52840-dk && cargo build --release --quiet --features legacy-wiegand)
cp "$elf_dir/reader-nrf52840-dk" "$elf_dir/reader-nrf52840-dk-legacy-wiegand"
# The default image last, so reader-nrf52840-dk is the OSDP one.
(cd boards/nrf52840-dk && cargo build --release --quiet)

echo "==> arm-none-eabi-size (text = flash code and constants, data + bss = static RAM)"
arm-none-eabi-size "$elf_dir/reader-qemu" "$elf_dir/reader-nrf52840-dk" \
    "$elf_dir/reader-nrf52840-dk-legacy-wiegand"
scripts/flash_table.sh "$elf_dir/reader-nrf52840-dk" 20
echo "==> the nRF images' debug-port configuration"
scripts/check_debug_port.sh "$elf_dir/reader-nrf52840-dk" production
scripts/check_debug_port.sh "$elf_dir/reader-nrf52840-dk-legacy-wiegand" production
