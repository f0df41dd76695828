#!/usr/bin/env python3
"""Writes the reader's key record (firmware/reader/src/provisioned.rs) for the nRF52840-DK's KEYS
flash page. Keys are read from files (one hex line each, mode 600), never from the command line.

    firmware/scripts/key_record.py --aid F48A21 --system-id SITE0001 \\
        --k1-file k1.hex --k2-master-file k2.hex --issuer-id SE0000000001 --key-id 01 \\
        --issuer-public-file issuer.pub.hex --scbk-file scbk.hex --address 0 --out keys.bin
    probe-rs download --chip nRF52840_xxAA --binary-format bin --base-address 0xFF000 keys.bin

Without --k2-master-file the record says "no master in flash" (K2 from a secure element).
A production firmware refuses the TEST keys of spec section 16 and the lab SCBK (R15).
"""

import argparse
import os
import stat
import struct
import sys
import zlib

RECORD_LEN = 154


def read_key(path, length):
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        sys.exit(f"{path}: readable by others (mode {oct(mode & 0o777)}); chmod 600 it")
    with open(path) as f:
        value = bytes.fromhex(f.read().strip())
    if len(value) != length:
        sys.exit(f"{path}: {len(value)} bytes, want {length}")
    return value


def record(aid, system_id, k1, k2_master, issuer_id, key_id, issuer_public, scbk, address,
           allow_fixed_uid):
    if not 1 <= len(issuer_id) <= 16 or len(key_id) not in (1, 2):
        raise ValueError("issuer ID 1..16 bytes, key ID 1 or 2 bytes")
    if len(issuer_public) != 65 or issuer_public[0] != 0x04:
        raise ValueError("issuer public key: 65 bytes, SEC1 uncompressed")
    if not 0 <= address <= 0x7E:
        raise ValueError("OSDP address 0..0x7E")
    # The reader refuses these too (reader/src/provisioned.rs, RecordError::WeakKey).
    known = (bytes(16), bytes(range(0x30, 0x40)))  # all zero (factory), SCBK-D
    keys = [("K1", k1), ("SCBK", scbk)] + ([("K2 master", k2_master)] if k2_master else [])
    for name, key in keys:
        if key in known:
            raise ValueError(f"{name}: all zero or SCBK-D, a key anyone knows")
    if len({key for _, key in keys}) != len(keys):
        raise ValueError("one key in two roles (K1, K2 master, SCBK must differ)")
    body = (b"GPK1" + aid + system_id + k1 + (k2_master or bytes(16))
            + bytes([len(issuer_id)]) + issuer_id.ljust(16, b"\0")
            + bytes([len(key_id)]) + key_id.ljust(2, b"\0")
            + issuer_public + scbk + bytes([address, 1 if allow_fixed_uid else 0]))
    assert len(body) == 150
    out = body + struct.pack("<I", zlib.crc32(body))
    assert len(out) == RECORD_LEN
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--aid", required=True, help="6 hex digits, most significant first")
    ap.add_argument("--system-id", required=True, help="8 ASCII characters")
    ap.add_argument("--k1-file", required=True)
    ap.add_argument("--k2-master-file")
    ap.add_argument("--issuer-id", required=True, help="ASCII")
    ap.add_argument("--key-id", required=True, help="1 or 2 bytes, hex")
    ap.add_argument("--issuer-public-file", required=True, help="65 bytes SEC1, hex")
    ap.add_argument("--scbk-file", required=True)
    ap.add_argument("--address", type=int, default=0)
    ap.add_argument("--allow-fixed-uid", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    system_id = a.system_id.encode()
    if len(system_id) != 8:
        sys.exit("--system-id: 8 ASCII characters")
    with open(a.issuer_public_file) as f:
        public = bytes.fromhex(f.read().strip())
    rec = record(bytes.fromhex(a.aid), system_id, read_key(a.k1_file, 16),
                 read_key(a.k2_master_file, 16) if a.k2_master_file else None,
                 a.issuer_id.encode(), bytes.fromhex(a.key_id), public,
                 read_key(a.scbk_file, 16), a.address, a.allow_fixed_uid)
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(rec)
    print(f"wrote {len(rec)} bytes to {a.out}")


if __name__ == "__main__":
    main()
