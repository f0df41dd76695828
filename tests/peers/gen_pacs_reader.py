#!/usr/bin/env python3
"""An independent GEN-PACS reader over PC/SC: the reader procedure of specs/generic-encoding.md
section 12 written from the spec and the public EV2 protocol facts, not from desfire-core, and
framed as desfire-core's reference reader never frames by default.

- Transport: pyscard, the PC/SC binding most Python smart-card tools use.
- Protocol: the EV2 secure messaging of specs/vectors/gen_ev2_vectors.py and the credential
  checks of specs/vectors/gen-pacs/gen_pacs_vectors.py (both Python `cryptography`, written from
  the public documents).
- Framing (--select, --read, --frames): by default ISOSelectFile by DF name, and ReadData with
  the native code BD, the 184-byte answer fetched in the card's 59-byte frames with AF (the last
  frame 7 bytes, the MACt split across the last two); DESFire commands ISO-wrapped
  (`90 INS 00 00 Lc data 00`) or, with --frames native, native (`INS data`, answered
  `status data`, through SCardTransmit since a bare status is one byte). Every response MAC is
  verified.

It speaks the contract of `desfire audit --reader-cmd`: a GRANT is exit 0 with the 16-hex-digit
credential ID on standard output; a DENY is exit 1 with `DENY <REASON>` on standard error; any
other exit is an error.

Usage: gen_pacs_reader.py --profile PROFILE.toml [--now YYYY-MM-DD] [--select aid|df-name]
                          [--read bd|ad] [--frames wrapped|native] READER
"""

import argparse
import calendar
import os
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "specs", "vectors"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "specs", "vectors", "gen-pacs"))
import gen_ev2_vectors as ev2  # noqa: E402
import gen_pacs_vectors as pacs  # noqa: E402

from smartcard import scard  # noqa: E402
from smartcard.System import readers  # noqa: E402

CCF_FILE = 0x01
CCF_SIZE = 160
FULL_ANSWER = 184  # 160 bytes padded to 176, then the 8-byte MACt
KEY_K1, KEY_K2 = 1, 2


class Deny(Exception):
    """A section 13 reason."""


class Card:
    def __init__(self, reader_name, native):
        matches = [r for r in readers() if str(r) == reader_name]
        if not matches:
            raise SystemExit("no reader %r (have %s)" % (reader_name, [str(r) for r in readers()]))
        self.conn = matches[0].createConnection()
        self.conn.connect()
        self.native = native
        self.ti = None
        self.ctr = 0
        self.enc = self.mac = None

    def transmit(self, apdu):
        data, sw1, sw2 = self.conn.transmit(list(apdu))
        return bytes(data), bytes([sw1, sw2])

    def raw(self, frame):
        """The card's whole answer, however short (pyscard's transmit wants two bytes)."""
        hcard = self.conn.component.hcard
        pci = scard.SCARD_PCI_T1 if self.conn.getProtocol() == scard.SCARD_PROTOCOL_T1 \
            else scard.SCARD_PCI_T0
        rv, response = scard.SCardTransmit(hcard, pci, list(frame))
        if rv != scard.SCARD_S_SUCCESS:
            raise Deny("TRANSPORT")
        return bytes(response)

    def frame(self, ins, body):
        """One DESFire frame in the chosen framing: (data, status), status None if not DESFire."""
        if self.native:
            r = self.raw(bytes([ins]) + body)
            return (r[1:], r[0]) if r else (b"", None)
        data, sw = self.transmit(ev2.capdu(ins, body))
        return (data, sw[1]) if sw[0] == 0x91 else (data, None)

    def command(self, ins, body=b""):
        """One DESFire command; `AF` frames fetched one by one. Returns (data, status)."""
        data, status = self.frame(ins, body)
        while status == 0xAF:
            more, status = self.frame(0xAF, b"")
            data += more
        if status is None:
            raise Deny("CARD_ERROR")
        return data, status

    def authenticate(self, ins, key_no, key):
        """AuthenticateEV2First (71) or NonFirst (77); a refusal or a wrong proof is AUTH_FAILED."""
        rnd_a = os.urandom(16)
        body = bytes([key_no, 0x00]) if ins == 0x71 else bytes([key_no])
        r, status = self.frame(ins, body)
        if status != 0xAF or len(r) != 16:
            raise Deny("AUTH_FAILED")
        rnd_b = ev2.cbc_decrypt(key, bytes(16), r)
        token = ev2.cbc_encrypt(key, bytes(16), rnd_a + ev2.rotl1(rnd_b))
        r, status = self.frame(0xAF, token)
        want = 32 if ins == 0x71 else 16
        if status != 0x00 or len(r) != want:
            raise Deny("AUTH_FAILED")
        dec = ev2.cbc_decrypt(key, bytes(16), r)
        proof = dec[4:20] if ins == 0x71 else dec[0:16]
        if proof != ev2.rotl1(rnd_a):
            raise Deny("AUTH_FAILED")
        if ins == 0x71:
            # EV2First starts a transaction: a new TI, CmdCtr 0. EV2NonFirst keeps both.
            self.ti = dec[:4]
            self.ctr = 0
        _, _, self.enc, self.mac = ev2.session_keys(key, rnd_a, rnd_b)

    def secured(self, ins, header, full, expect_len=None, on_len=None):
        """A command with a header (MACed) and the response MAC verified; Full decrypted."""
        mac_in = bytes([ins]) + self.ctr.to_bytes(2, "little") + self.ti + header
        resp, status = self.command(ins, header + ev2.mac_t(ev2.cmac(self.mac, mac_in)))
        if status != 0x00:
            raise Deny("CARD_ERROR")
        if on_len is not None:
            on_len(len(resp))
        if len(resp) < 8:
            raise Deny("MALFORMED_RESPONSE")
        payload, mact = resp[:-8], resp[-8:]
        resp_in = b"\x00" + (self.ctr + 1).to_bytes(2, "little") + self.ti + payload
        if ev2.mac_t(ev2.cmac(self.mac, resp_in)) != mact:
            raise Deny("MAC_MISMATCH")
        self.ctr += 1
        if not full:
            return payload
        if len(payload) % 16:
            raise Deny("MALFORMED_RESPONSE")
        iv = ev2.aes_ecb_encrypt(self.enc, ev2.iv_input("response", self.ti, self.ctr))
        try:
            return ev2.unpad_m2(ev2.cbc_decrypt(self.enc, iv, payload))
        except Exception:
            raise Deny("MALFORMED_RESPONSE")


def tlvs(ccf):
    """The credential's TLVs after the 4-byte header (evaluate() has checked the structure)."""
    length = int.from_bytes(ccf[2:4], "big")
    area, pos, out = ccf[4:4 + length], 0, {}
    while pos + 2 <= len(area):
        tag, ln = area[pos], area[pos + 1]
        out[tag] = area[pos + 2:pos + 2 + ln]
        pos += 2 + ln
    return out


def read(card, args, profile, now):
    uid, sw = card.transmit(bytes.fromhex("FFCA000000"))
    if sw != b"\x90\x00":
        raise Deny("TRANSPORT")
    policy = profile.get("policy", {})
    random_id = len(uid) == 4 and uid[0] == 0x08
    if not random_id and not (policy.get("allow_fixed_uid") and len(uid) == 7):
        raise Deny("UID_POLICY")

    aid = int(profile["aid"], 16)
    if args.select == "df-name":
        name = bytes.fromhex(profile["iso"]["df_name"])
        _, sw = card.transmit(bytes([0x00, 0xA4, 0x04, 0x0C, len(name)]) + name + b"\x00")
        if sw == b"\x6A\x82":
            raise Deny("NO_APPLICATION")
        if sw != b"\x90\x00":
            raise Deny("CARD_ERROR")
    else:
        _, status = card.command(0x5A, aid.to_bytes(3, "little"))
        if status == 0xA0:
            raise Deny("NO_APPLICATION")
        if status != 0x00:
            raise Deny("CARD_ERROR")

    keys = profile["keys"]
    card.authenticate(0x71, KEY_K1, bytes.fromhex(keys["k1"]))

    def uid_length(n):
        if n != 24:
            raise Deny("MALFORMED_RESPONSE")

    real_uid = card.secured(0x51, b"", True, on_len=uid_length)
    if len(real_uid) != 7 or (len(uid) == 7 and uid != real_uid):
        raise Deny("MALFORMED_RESPONSE")

    sys_id = profile.get("system_id", "GEN-PACS").encode()
    k2 = pacs.an10922_aes128(bytes.fromhex(keys["k2"]),
                             pacs.div_input(real_uid, aid, KEY_K2, sys_id))
    card.authenticate(0x77, KEY_K2, k2)

    def read_length(n):
        if n in (CCF_SIZE, CCF_SIZE + 8):
            raise Deny("DOWNGRADE")
        if n != FULL_ANSWER:
            raise Deny("MALFORMED_RESPONSE")

    ins = 0xBD if args.read == "bd" else 0xAD
    header = bytes([CCF_FILE]) + (0).to_bytes(3, "little") + CCF_SIZE.to_bytes(3, "little")
    ccf = card.secured(ins, header, True, on_len=read_length)
    if len(ccf) != CCF_SIZE:
        raise Deny("MALFORMED_RESPONSE")

    issuer = profile["issuer"]
    trusted = {(issuer["id"].encode(), bytes.fromhex(k["key_id"])): bytes.fromhex(k["public_key"])
               for k in issuer.get("public_keys", [])}
    verdict, value = pacs.evaluate(ccf, real_uid, aid, trusted, now)
    if verdict != "GRANT":
        raise Deny(value)
    credential_id = value.hex().upper()
    revocation = profile.get("revocation", {})
    if credential_id in [c.upper() for c in revocation.get("deny_list", [])]:
        raise Deny("REVOKED")
    current = {k.upper(): v for k, v in revocation.get("current_issue", {}).items()}
    issue = tlvs(ccf)[0x82][0]
    if credential_id in current and issue < current[credential_id]:
        raise Deny("REVOKED")
    return credential_id


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", required=True)
    p.add_argument("--now", help="YYYY-MM-DD (UTC midnight); default: the host clock")
    p.add_argument("--select", choices=["aid", "df-name"], default="df-name")
    p.add_argument("--read", choices=["bd", "ad"], default="bd")
    p.add_argument("--frames", choices=["wrapped", "native"], default="wrapped")
    p.add_argument("reader")
    args = p.parse_args()
    with open(args.profile, "rb") as f:
        profile = tomllib.load(f)
    now = (calendar.timegm(time.strptime(args.now, "%Y-%m-%d")) if args.now
           else int(time.time()))
    card = Card(args.reader, args.frames == "native")
    try:
        print(read(card, args, profile, now))
    except Deny as d:
        print("DENY %s" % d, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
