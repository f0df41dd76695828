#!/usr/bin/env bash
# Flash per crate of a firmware image: the size of every code and read-only symbol
# (`arm-none-eabi-nm --size-sort -S -C`), grouped by the crate its demangled name starts with
# (`<T as Trait>` counts under T's crate; the P256_* assembly under p256_cm4; anonymous
# constants under "(constants)"), largest first, then the largest symbols.
#
#     firmware/scripts/flash_table.sh path/to/elf [top-symbols]
set -euo pipefail
elf="$1"
top="${2:-15}"
syms="$(arm-none-eabi-nm --size-sort -S -C --radix=d "$elf" | awk '$3 ~ /^[tTrR]$/')"
group() {
    awk '{
        size = $2 + 0; $1 = ""; $2 = ""; $3 = ""; name = substr($0, 4)
        n = name; sub(/^</, "", n); sub(/^&(mut )?/, "", n); sub(/^\[/, "", n)
        # `<u16 as aes::…>`, `<[T] as subtle::…>`: counted under the trait crate.
        if (n ~ /^[^:]* as /) sub(/^[^:]* as /, "", n)
        if (n ~ /^P256_/) crate = "p256_cm4"
        else if (n ~ /^\.L/) crate = "(constants)"
        else if (n ~ /::/) { crate = n; sub(/::.*/, "", crate) }
        else crate = "(other: " n ")"
        sum[crate] += size; total += size
    }
    END {
        for (c in sum) {
            if (sum[c] >= 100) printf "%8d  %5.1f %%  %s\n", sum[c], 100 * sum[c] / total, c
            else { small += sum[c]; n++ }
        }
        printf "%8d  %5.1f %%  (%d groups under 100 B each)\n", small, 100 * small / total, n > "/dev/stderr"
        printf "%8d  100.0 %%  total (code and read-only data symbols)\n", total > "/dev/stderr"
    }' | sort -rn
}
echo "==> flash per crate: $elf"
echo "$syms" | group 2>&1
echo "==> the $top largest symbols"
# awk reads all of sort's output (`head` would close the pipe early: SIGPIPE under pipefail).
echo "$syms" | sort -k2 -rn | awk -v top="$top" 'NR <= top { s = $2 + 0; $1 = ""; $2 = ""; $3 = ""; printf "%8d  %s\n", s, substr($0, 4) }'
