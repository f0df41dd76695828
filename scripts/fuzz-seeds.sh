#!/usr/bin/env bash
# Regenerates the fuzz targets' seed corpora (fuzz/corpus/<target>/, checked in).
#
#     ./scripts/fuzz-seeds.sh [--fresh] [TARGET...]
#
# fuzz/examples/seeds.rs writes the seed inputs (from specs/vectors, specs/traces, the golden
# card's recorded sessions, OSDP panel sessions, PN532 frames and key records) and the recorded
# golden sessions the hostile targets check themselves against (fuzz/recorded/). Each target's
# corpus is then the seeds plus what it already holds (everything, with --fresh only the
# seeds), minimised with `cargo fuzz cmin`, and the seeds themselves (cmin may keep smaller
# inputs that reach the same edges; the seeds are the readable starting points, and a campaign's
# cmin may drop them: run this again after one). Needs nightly and cargo-fuzz.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

fresh=0
targets=()
for arg in "$@"; do
    case "$arg" in
        --fresh) fresh=1 ;;
        -*) echo "unknown option $arg" >&2; exit 2 ;;
        *) targets+=("$arg") ;;
    esac
done

seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
cargo run --quiet --example seeds -- "$seeds"
cargo +nightly fuzz build
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    if [[ $fresh -eq 1 ]]; then
        find "corpus/$target" -type f -delete
    fi
    if [[ -d "$seeds/$target" ]]; then
        cp "$seeds/$target"/* "corpus/$target/"
    fi
    before="$(find "corpus/$target" -type f | wc -l)"
    cargo +nightly fuzz cmin "$target" "corpus/$target" >/dev/null 2>&1
    # The seeds stay, whatever cmin kept instead (named by content, as libFuzzer names inputs).
    if [[ -d "$seeds/$target" ]]; then
        for seed in "$seeds/$target"/*; do
            cp "$seed" "corpus/$target/$(sha1sum "$seed" | cut -c1-40)"
        done
    fi
    echo "$target: $before inputs, $(find "corpus/$target" -type f | wc -l) after cmin and the seeds"
done
