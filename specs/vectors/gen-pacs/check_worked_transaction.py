#!/usr/bin/env python3
"""A second, minimal reading of the worked transactions of spec section 12.1.

Written from the text of `specs/generic-encoding.md` (sections 2, 6, 8.6 and 12) alone, with
nothing but Python's `cryptography` package: it imports neither generator. From the keys and
the randoms of `worked-transaction.json` it recomputes every C-APDU the reader sends and checks
every R-APDU as a reader must (RndA', response MACs, IVr, padding, the realUID, the credential
file, the issuer signature, the originality signature). A vendor can read it as the shortest
complete description of the procedure in code.

Usage: python3 check_worked_transaction.py [--check]   (both do the same; exit 1 on a mismatch)
TEST KEYS ONLY.
"""

import json
import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

HERE = os.path.dirname(os.path.abspath(__file__))
H = bytes.fromhex
ISSUER_KEY = H("0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
               "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299")


def ecb(k, b):
    e = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return e.update(b) + e.finalize()


def cbc_e(k, iv, b):
    e = Cipher(algorithms.AES(k), modes.CBC(iv)).encryptor()
    return e.update(b) + e.finalize()


def cbc_d(k, iv, b):
    d = Cipher(algorithms.AES(k), modes.CBC(iv)).decryptor()
    return d.update(b) + d.finalize()


def cmac(k, m):
    c = CMAC(algorithms.AES(k))
    c.update(m)
    return c.finalize()


def mact(k, m):
    return cmac(k, m)[1::2]  # section 2.3: bytes 1, 3, ..., 15


def rot(x):
    return x[1:] + x[:1]


def session_keys(k, ra, rb):  # section 2.5
    ctx = ra[:2] + bytes(a ^ b for a, b in zip(ra[2:8], rb[:6])) + rb[6:] + ra[8:]
    return cmac(k, H("A55A00010080") + ctx), cmac(k, H("5AA500010080") + ctx)


class Reader:
    def __init__(self, frames):
        self.frames, self.i = frames, 0

    def exchange(self, capdu):
        sent, answer = self.frames[self.i]
        self.i += 1
        assert capdu == sent, "C-APDU %d: computed %s, recorded %s" % (self.i - 1, capdu.hex(),
                                                                       sent.hex())
        return answer

    def authenticate(self, first, key_no, k, ra):  # section 2.4
        c1 = H("9071000002") + bytes([key_no]) + H("0000") if first else \
            H("9077000001") + bytes([key_no]) + b"\x00"
        r = self.exchange(c1)
        assert r[16:] == H("91AF")
        rb = cbc_d(k, bytes(16), r[:16])
        r = self.exchange(H("90AF000020") + cbc_e(k, bytes(16), ra + rot(rb)) + b"\x00")
        assert r[-2:] == H("9100")
        dec = cbc_d(k, bytes(16), r[:-2])
        if first:
            assert dec[4:20] == rot(ra)
            self.ti, self.ctr = dec[:4], 0
        else:
            assert dec == rot(ra)
        self.enc, self.mac = session_keys(k, ra, rb)

    def command(self, ins, header, full):  # section 2.7, commands without data
        m = mact(self.mac, bytes([ins]) + self.ctr.to_bytes(2, "little") + self.ti + header)
        body = header + m
        r = self.exchange(bytes([0x90, ins, 0, 0, len(body)]) + body + b"\x00")
        assert r[-2:] == H("9100"), "status"
        data, got = r[:-10], r[-10:-2]
        nxt = (self.ctr + 1).to_bytes(2, "little")
        assert mact(self.mac, b"\x00" + nxt + self.ti + data) == got, "response MAC"
        self.ctr += 1
        if not full:
            return data
        ivr = ecb(self.enc, H("5AA5") + self.ti + nxt + bytes(8))
        plain = cbc_d(self.enc, ivr, data)
        body = plain.rstrip(b"\x00")
        assert body[-1:] == b"\x80" and len(plain) - len(body) < 16, "padding"
        return body[:-1]


def check(t):
    keys, card, cfg = t["keys"], t["card"], t["config"]
    k1, uid = H(keys["K1"]), H(card["real_uid"])
    # Section 6: divInput(2) = realUID || AIDw || 02 || SysID; a 20-byte AN10922 message is
    # one whole CMAC (section 2.9: |01 || d| = 20 < 32, padded, K2 subkey = CMAC's own rule).
    div = uid + H(cfg["aid_wire"]) + b"\x02" + H(cfg["system_id"])
    k2 = cmac(H(keys["K2_master"]), b"\x01" + div)
    assert k2 == H(keys["K2"])
    rnd_as = [H(s["rnd_a"]) for s in t["steps"] if s["step"].startswith("authenticate")]
    rd = Reader([(H(f["capdu"]), H(f["rapdu"])) for f in t["frames"]])
    assert card["anticollision_uid"][:2] == "08" and len(card["anticollision_uid"]) == 8
    assert rd.exchange(H("905A000003") + H(cfg["aid_wire"]) + b"\x00") == H("9100")  # step 2
    rd.authenticate(True, 1, k1, rnd_as[0])                                            # step 3
    assert rd.command(0x51, b"", True) == uid                                          # step 4
    if cfg["read_key_generations"]:
        assert rd.command(0x64, b"\x02", False) == b"\x01"                             # step 5
    rd.authenticate(False, 2, k2, rnd_as[1])                                           # step 7
    f = rd.command(0xAD, H("01000000A00000"), True)                                    # step 9
    assert f == H(card["credential_file"]) and len(f) == 160
    # Step 10, the signature only (section 8.6); the TLV rules are the generator's.
    area = f[4:4 + int.from_bytes(f[2:4], "big")]
    p = area.index(b"\x9e\x40")
    tbs = b"GEN-PACS-CCF1" + uid + H(cfg["aid_wire"]) + f[:4] + area[:p]
    sig = area[p + 2:p + 66]
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ISSUER_KEY)
    pub.verify(utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                          int.from_bytes(sig[32:], "big")),
               tbs, ec.ECDSA(hashes.SHA256()))
    if cfg["originality"] == "require":                                                # step 12
        s = rd.command(0x3C, b"\x00", True)
        assert len(s) == 56
        opub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP224R1(),
                                                            H(cfg["originality_keys"][0]))
        opub.verify(utils.encode_dss_signature(int.from_bytes(s[:28], "big"),
                                               int.from_bytes(s[28:], "big")),
                    bytes(21) + uid, ec.ECDSA(utils.Prehashed(hashes.SHA224())))
    assert rd.i == len(rd.frames), "frames left over"
    return len(rd.frames), rd.ti, rd.ctr


def main():
    with open(os.path.join(HERE, "worked-transaction.json"), encoding="utf-8") as fh:
        doc = json.load(fh)
    for t in doc["transactions"]:
        n, ti, ctr = check(t)
        print("%s: all %d frames recomputed; TI %s, CmdCtr at the end %d"
              % (t["id"], n, ti.hex().upper(), ctr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
