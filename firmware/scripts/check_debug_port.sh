#!/usr/bin/env bash
# Checks an nRF52840 image's debug-port configuration: a production image carries
# UICR.APPROTECT = 0x00000000 (access port protection on) at 0x10001208, in its
# .uicr_approtect section, so that flashing it locks SWD; a `debug-port` build carries none.
#
#     firmware/scripts/check_debug_port.sh ELF production|debug-port
set -euo pipefail
elf="$1"
want="$2"
# The section's address and contents as objdump prints them: " 10001208 00000000  ....".
dump="$(arm-none-eabi-objdump -s -j .uicr_approtect "$elf" 2>/dev/null | awk 'length($1) == 8 && $1 ~ /^[0-9a-f]+$/ { print $1, $2 }' || true)"
case "$want" in
production)
    if [[ "$dump" != "10001208 00000000" ]]; then
        echo "FAIL $elf: UICR.APPROTECT in the image is '${dump:-absent}', want 10001208 00000000" >&2
        exit 1
    fi
    echo "ok   $elf: UICR.APPROTECT = 00000000 at 0x10001208 (debug port locked when flashed)"
    ;;
debug-port)
    if [[ -n "$dump" ]]; then
        echo "FAIL $elf: a debug-port build carries UICR.APPROTECT '$dump'" >&2
        exit 1
    fi
    echo "ok   $elf: no UICR.APPROTECT word (development build, debug port open)"
    ;;
*)
    echo "usage: $0 ELF production|debug-port" >&2
    exit 2
    ;;
esac
