#!/usr/bin/env python3
"""Independent generator of MIFARE DESFire EV2/EV3 secure-messaging vectors with non-zero keys.

Written from the protocol facts of the public vector catalogue (NXP AN12196 Rev. 1.8, NXP
NT4H2421Gx, NXP AN10922, RFC 4493; see specs/vectors/README.md), NOT from desfire-core: the AES,
CBC and CMAC come from the Python `cryptography` package, the CRC32 from `zlib` (and a bitwise
re-implementation), everything else is written here. It simulates both sides of the field, a
reader (PCD) and a card (PICC), each with its own state, and records every frame as the wire
carries it together with the intermediate values.

Before it writes anything it reproduces the published vectors (RFC 4493, CRC32/JAMCRC, AN10922,
AN12196 Tables 8, 14 and 18, the Proxmark3 non-zero-key session keys, the DESFire EV3
originality signatures) and stops if one of them does not match.

Usage:
    python3 gen_ev2_vectors.py           # check published vectors, (re)write ev2-nonzero.json
    python3 gen_ev2_vectors.py --check   # check published vectors and that ev2-nonzero.json is
                                         # exactly what this script produces (exit 1 otherwise)

Requires: Python >= 3.9 and `cryptography` >= 38 (tested with 38.0.4 and 48.0.0).
"""

import argparse
import hashlib
import json
import os
import sys
import zlib

import cryptography
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.exceptions import InvalidSignature

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "ev2-nonzero.json")

# The seeds of the vectors. Changing one changes every byte of that vector.
SEEDS = [
    "desfire-ev2-nonzero/1",
    "desfire-ev2-nonzero/2",
    "desfire-ev2-nonzero/3",
]

# ---------------------------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------------------------


def h(s):
    """Hex string (spaces allowed) to bytes."""
    return bytes.fromhex(s.replace(" ", ""))


def hx(b):
    return b.hex().upper()


def xor(a, b):
    assert len(a) == len(b)
    return bytes(x ^ y for x, y in zip(a, b))


def aes_ecb_encrypt(key, block):
    assert len(key) == 16 and len(block) == 16
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def cbc_encrypt(key, iv, data):
    assert len(data) % 16 == 0, "CBC input must be block aligned (no implicit padding)"
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def cbc_decrypt(key, iv, data):
    assert len(data) % 16 == 0
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


def cmac(key, data):
    """AES-CMAC from the `cryptography` package."""
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def dbl(block):
    """Doubling in GF(2^128) with x^128 + x^7 + x^2 + x + 1 (SP 800-38B subkeys)."""
    v = int.from_bytes(block, "big") << 1
    if v >> 128:
        v = (v & ((1 << 128) - 1)) ^ 0x87
    return v.to_bytes(16, "big")


def cmac_subkeys(key):
    l = aes_ecb_encrypt(key, bytes(16))
    k1 = dbl(l)
    return l, k1, dbl(k1)


def cmac_by_hand(key, data):
    """AES-CMAC written out from SP 800-38B, to cross-check the library's."""
    _, k1, k2 = cmac_subkeys(key)
    if data and len(data) % 16 == 0:
        blocks = data[:-16] + xor(data[-16:], k1)
    else:
        padded = data + b"\x80" + bytes((-len(data) - 1) % 16)
        blocks = padded[:-16] + xor(padded[-16:], k2)
    return cbc_encrypt(key, bytes(16), blocks)[-16:]


def mac_t(full_cmac):
    """MACt: bytes 1, 3, 5, ..., 15 (0-based) of the CMAC (NXP: 'even-numbered bytes' S14..S0)."""
    assert len(full_cmac) == 16
    return full_cmac[1::2]


def pad_m2(data):
    """ISO/IEC 9797-1 method 2: always 80, then 00 up to a multiple of 16."""
    return data + b"\x80" + bytes((-len(data) - 1) % 16)


def unpad_m2(data):
    assert data and len(data) % 16 == 0
    i = len(data) - 1
    while data[i] == 0:
        i -= 1
    assert data[i] == 0x80 and len(data) - i <= 16, "bad padding"
    return data[:i]


def crc32_desfire(data):
    """CRC-32/JAMCRC (zlib CRC-32 without the final XOR), least significant byte first."""
    return ((zlib.crc32(data) ^ 0xFFFFFFFF) & 0xFFFFFFFF).to_bytes(4, "little")


def crc32_bitwise(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc.to_bytes(4, "little")


def rotl1(b):
    return b[1:] + b[:1]


def session_vector(label, rnd_a, rnd_b):
    """label || 00 01 00 80 || RndA[0..1] || (RndA[2..7] ^ RndB[0..5]) || RndB[6..15] || RndA[8..15]."""
    ctx = rnd_a[0:2] + xor(rnd_a[2:8], rnd_b[0:6]) + rnd_b[6:16] + rnd_a[8:16]
    assert len(ctx) == 26
    return label + h("00 01 00 80") + ctx


def session_keys(key, rnd_a, rnd_b):
    sv1 = session_vector(h("A5 5A"), rnd_a, rnd_b)
    sv2 = session_vector(h("5A A5"), rnd_a, rnd_b)
    return sv1, sv2, cmac(key, sv1), cmac(key, sv2)


def iv_input(direction, ti, ctr):
    label = h("A5 5A") if direction == "command" else h("5A A5")
    return label + ti + ctr.to_bytes(2, "little") + bytes(8)


def an10922_aes128(master, m):
    """AN10922 §2.2.1: D = 01 || M, 80-padded to 32 bytes (K2) or exactly 32 (K1), CBC-MAC."""
    _, k1, k2 = cmac_subkeys(master)
    d = b"\x01" + m
    assert len(d) <= 32
    if len(d) < 32:
        padded = d + b"\x80" + bytes(31 - len(d))
        last = xor(padded[16:], k2)
    else:
        padded = d
        last = xor(padded[16:], k1)
    return padded, padded[:16] + last, cbc_encrypt(master, bytes(16), padded[:16] + last)[-16:]


def capdu(ins, data):
    """`90 INS 00 00 [Lc data] 00`."""
    if data:
        assert len(data) <= 255
        return bytes([0x90, ins, 0, 0, len(data)]) + data + b"\x00"
    return bytes([0x90, ins, 0, 0, 0])


def parse_capdu(frame):
    assert frame[0] == 0x90 and frame[2:4] == b"\x00\x00", frame.hex()
    if len(frame) == 5:
        assert frame[4] == 0
        return frame[1], b""
    lc = frame[4]
    assert len(frame) == 6 + lc and frame[-1] == 0, frame.hex()
    return frame[1], frame[5 : 5 + lc]


# ---------------------------------------------------------------------------------------------
# Published vectors (values from shared/vectors/nxp-public.md; sources cited per block)
# ---------------------------------------------------------------------------------------------


def check_published():
    # CMAC-AES-RFC4493: IETF RFC 4493 §4 examples 1-4 (= NIST SP 800-38B D.1).
    key = h("2B7E151628AED2A6ABF7158809CF4F3C")
    l, k1, k2 = cmac_subkeys(key)
    assert l == h("7DF76B0C1AB899B33E42F047B91B546F")
    assert k1 == h("FBEED618357133667C85E08F7236A8DE")
    assert k2 == h("F7DDAC306AE266CCF90BC11EE46D513B")
    msg = h(
        "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
        "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710"
    )
    for n, tag in [
        (0, "BB1D6929E95937287FA37D129B756746"),
        (16, "070A16B46B4D4144F79BDD9DD04A287C"),
        (40, "DFA66747DE9AE63030CA32611497C827"),
        (64, "51F0BEBF7E3B9D92FC49741779363CFE"),
    ]:
        assert cmac(key, msg[:n]) == h(tag), n
        assert cmac_by_hand(key, msg[:n]) == h(tag), n

    # CRC32-DESFIRE: reveng CRC-32/JAMCRC check; AN12196 Table 26 step 7; Proxmark3 TestCRC32;
    # ElmueSoft EV1 trace ChangeKey.
    for data, crc in [
        (b"123456789", "D9C60B34"),
        (h("F3847D627727ED3BC9C4CC050489B966"), "789DFADC"),
        (h("04440F3276318000"), "99CE1AD4"),
        (h("C40000102030405060708090A0B0B0A0908010"), "D2C6E66B"),
    ]:
        assert crc32_desfire(data) == h(crc), crc
        assert crc32_bitwise(data) == h(crc), crc

    # AN10922-AES128: NXP AN10922 Rev 2.2 §2.2.1 Table 2.
    master = h("00112233445566778899AABBCCDDEEFF")
    l, k1, k2 = cmac_subkeys(master)
    assert l == h("FDE4FBAE4A09E020EFF722969F83832B")
    assert k1 == h("FBC9F75C9413C041DFEE452D3F0706D1")
    assert k2 == h("F793EEB928278083BFDC8A5A7E0E0D25")
    m = h("04782E21801D80") + h("3042F5") + h("4E585020416275")
    assert m == h("04782E21801D803042F54E585020416275")
    padded, xored, div = an10922_aes128(master, m)
    assert padded == h("0104782E21801D803042F54E5850204162758000000000000000000000000000")
    assert xored == h("0104782E21801D803042F54E5850204195E66EB928278083BFDC8A5A7E0E0D25")
    assert div == h("A8DD63A3B89D54B37CA802473FDA9175")
    assert div == cmac(master, b"\x01" + m)  # |D| > 16: AN10922 equals plain CMAC

    # EV2-AUTHFIRST-AN12196-T14: AN12196 Rev. 1.8 §6.6 Table 14.
    key = bytes(16)
    rnd_a = h("13C5DB8A5930439FC3DEF9A4C675360F")
    assert capdu(0x71, h("00 00")) == h("9071000002000000")
    rapdu1 = h("A04C124213C186F22399D33AC2A3021591AF")
    rnd_b = cbc_decrypt(key, bytes(16), rapdu1[:16])
    assert rnd_b == h("B9E2FC789B64BF237CCCAA20EC7E6E48")
    assert rotl1(rnd_b) == h("E2FC789B64BF237CCCAA20EC7E6E48B9")
    token = cbc_encrypt(key, bytes(16), rnd_a + rotl1(rnd_b))
    assert capdu(0xAF, token) == h(
        "90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00"
    )
    rapdu2 = h("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100")
    dec = cbc_decrypt(key, bytes(16), rapdu2[:32])
    assert dec == h("9D00C4DFC5DB8A5930439FC3DEF9A4C675360F13000000000000000000000000")
    assert dec[4:20] == rotl1(rnd_a)
    sv1, sv2, ses_enc, ses_mac = session_keys(key, rnd_a, rnd_b)
    assert sv1 == h("A55A0001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F")
    assert sv2 == h("5AA50001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F")
    assert ses_enc == h("1309C877509E5A215007FF0ED19CA564")
    assert ses_mac == h("4C6626F5E72EA694202139295C7A7FC7")

    # EV2-SESSIONKEYS-PM3-NONZERO: Proxmark3 desfiretest.c TestEV2SessionKeys, second vector.
    _, _, e, m_ = session_keys(
        h("00112233445566778899AABBCCDDEEFF"),
        h("0123456789ABCDEF0123456789ABCDEF"),
        h("FEDCBA9876543210FEDCBA9876543210"),
    )
    assert e == h("195428119C8528D59580A73C7C96C6A3")
    assert m_ == h("0AF00F6E39F904C4A6388C812D53DC94")

    # EV2-MAC-GETFILESETTINGS-AN12196-T8: AN12196 Rev. 1.8 §5.3 Table 8.
    ses_mac8 = h("8248134A386E86EB7FAF54A52E536CB6")
    ti8 = h("7A21085E")
    mac_in = b"\xF5" + (0).to_bytes(2, "little") + ti8 + b"\x02"
    assert mac_in == h("F500007A21085E02")
    full = cmac(ses_mac8, mac_in)
    assert full == h("B565AC978FA46D5784C845CD1444102C")
    assert mac_t(full) == h("6597A457C8CD442C")
    assert capdu(0xF5, b"\x02" + mac_t(full)) == h("90F5000009026597A457C8CD442C00")
    rapdu = h("0040EEEE000100D1FE001F00004400004400002000006A00002A474282E7A479869100")
    data, mact = rapdu[:-10], rapdu[-10:-2]
    resp_in = b"\x00" + (1).to_bytes(2, "little") + ti8 + data
    assert resp_in == h("0001007A21085E0040EEEE000100D1FE001F00004400004400002000006A0000")
    assert cmac(ses_mac8, resp_in) == h("DC2A9C473642F3826AE79DA496792086")
    assert mac_t(cmac(ses_mac8, resp_in)) == mact == h("2A474282E7A47986")

    # EV2-FULL-WRITEDATA-NDEF-AN12196-T18: AN12196 Rev. 1.8 §6.8.2 Table 18.
    ti = h("9D00C4DF")
    header = h("02000000800000")
    ndef = (
        h("0051D1014D5504")
        + b"choose.url.com/ntag424?e="
        + b"0" * 32
        + b"&c="
        + b"0" * 16
    )
    assert len(ndef) == 83
    cmd_data = ndef + bytes(45)
    assert iv_input("command", ti, 0) == h("A55A9D00C4DF00000000000000000000")
    ivc = aes_ecb_encrypt(ses_enc, iv_input("command", ti, 0))
    assert ivc == h("D2CB7277A17841A06654A48188C1F8F5")
    enc = cbc_encrypt(ses_enc, ivc, pad_m2(cmd_data))
    assert len(enc) == 144
    assert enc == h(
        "421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C706BC00F2176781D4"
        "B0242642A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BCBE20"
        "E96CAE545B407C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBE"
        "F0FD971FF532C3A802AF745660F2B4"
    )
    full = cmac(ses_mac, b"\x8D" + (0).to_bytes(2, "little") + ti + header + enc)
    assert full == h("A8D185D964A8E04998965461E7EB3EF3")
    assert mac_t(full) == h("D1D9A8499661EBF3")
    body = header + enc + mac_t(full)
    assert len(body) == 0x9F
    assert capdu(0x8D, body).startswith(h("908D00009F02000000800000421C73A2"))
    assert capdu(0x8D, body).endswith(h("D1D9A8499661EBF300"))
    resp_in = b"\x00" + (1).to_bytes(2, "little") + ti
    assert resp_in == h("0001009D00C4DF")
    assert cmac(ses_mac, resp_in) == h("96FC5A22A22EC05F377A635407242252")
    assert mac_t(cmac(ses_mac, resp_in)) == h("FC222E5F7A542452")

    # ORIGSIG-DESFIRE-EV3: Proxmark3 tools/recover_pk.py real-card samples. ECDSA secp224r1 with
    # no hash: the 7-byte UID, as an integer, is the digest (left-padded to 28 bytes).
    pub = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP224R1(),
        h(
            "041DB46C145D0A36539C6544BD6D9B0AA62FF91EC48CBC6ABAE36E0089A46F0D08"
            "C8A715EA40A63313B92E90DDC1730230E0458A33276FB743"
        ),
    )
    for uid, sig in [
        (
            "04448BD2DB6B80",
            "5CBB5632795C8F15263FEFB095B51C7B541AFD914A1AE44EF6FB8AF6"
            "05EDF13DBFEE6C3A2DB372245E671DFE0D42CB1F0D0B8FE67A89D2F6",
        ),
        (
            "04445DD2DB6B80",
            "166BFD9F9BFAA451172566101580DF9894F582C4A4E258C15037AD2F"
            "35A475CF1D7FB817618623A6569F991931AFB2766984E21A18512A6D",
        ),
    ]:
        s = h(sig)
        der = utils.encode_dss_signature(int.from_bytes(s[:28], "big"), int.from_bytes(s[28:], "big"))
        digest = bytes(21) + h(uid)
        pub.verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA224())))
        try:
            pub.verify(der, bytes(21) + xor(h(uid), h("00000000000001")),
                       ec.ECDSA(utils.Prehashed(hashes.SHA224())))
            raise AssertionError("signature verified for a different UID")
        except InvalidSignature:
            pass


# ---------------------------------------------------------------------------------------------
# Seeded randomness
# ---------------------------------------------------------------------------------------------


class Drbg:
    """SHA-256 in counter mode over a seed string: byte-stable across Python versions and easy
    to re-implement: block i = SHA-256(seed || ":" || i as 4 bytes big-endian)."""

    def __init__(self, seed):
        self.seed = seed.encode()
        self.counter = 0
        self.buf = b""

    def take(self, n):
        while len(self.buf) < n:
            self.buf += hashlib.sha256(self.seed + b":" + self.counter.to_bytes(4, "big")).digest()
            self.counter += 1
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def below(self, n):
        return self.take(1)[0] % n

    def key(self):
        """A non-zero AES key with no all-equal halves (a weak-looking key would hide nothing,
        but it would look like a test shortcut)."""
        while True:
            k = self.take(16)
            if len(set(k[:8])) > 1 and len(set(k[8:])) > 1:
                return k


# ---------------------------------------------------------------------------------------------
# The card (PICC)
# ---------------------------------------------------------------------------------------------

PLAIN, MAC, FULL = "plain", "mac", "full"


class Picc:
    """A DESFire EV3 application as far as the vectors need: keys, three standard data files,
    a UID, AuthenticateEV2First/NonFirst, EV2 secure messaging and additional-frame chaining."""

    def __init__(self, drbg, keys, key_versions, files, uid, response_frame_max):
        self.drbg = drbg
        self.keys = dict(keys)
        self.key_versions = dict(key_versions)
        self.files = files  # no -> dict(mode, settings, content bytearray)
        self.uid = uid
        self.response_frame_max = response_frame_max
        self.session = None  # dict(enc, mac, ti, ctr, key_no)
        self.pending = None
        self.out = b""  # response bytes still to send (response chaining)
        self.out_sw = None
        self.log = {}  # card-side values for cross-checks

    def process(self, frame):
        ins, data = parse_capdu(frame)
        if self.out:
            assert ins == 0xAF and not data, "card is sending: expects 90 AF 00 00 00"
            return self._emit()
        if self.pending and self.pending[0] == "auth":
            assert ins == 0xAF
            return self._auth_part2(data)
        if self.pending and self.pending[0] == "chain":
            assert ins == 0xAF
            _, cmd_ins, body, expected = self.pending
            body += data
            if len(body) < expected:
                self.pending = ("chain", cmd_ins, body, expected)
                return h("91AF")
            self.pending = None
            return self._command(cmd_ins, body)
        if ins == 0x71:
            return self._auth_part1("first", data)
        if ins == 0x77:
            return self._auth_part1("nonfirst", data)
        expected = self._expected_body_len(ins, data)
        if len(data) < expected:
            self.pending = ("chain", ins, data, expected)
            return h("91AF")
        assert len(data) == expected, (hex(ins), len(data), expected)
        return self._command(ins, data)

    def _emit(self):
        n = self.response_frame_max or len(self.out)
        chunk, self.out = self.out[:n], self.out[n:]
        if self.out:
            return chunk + h("91AF")
        return chunk + self.out_sw

    def _respond(self, data, sw):
        self.out, self.out_sw = data, sw
        if not data:
            self.out_sw = None
            return sw
        return self._emit()

    # -- authentication ---------------------------------------------------------------------

    def _auth_part1(self, kind, data):
        key_no = data[0]
        if kind == "first":
            assert data[1] == len(data) - 2, "LenCap"
            pcd_cap2 = data[2:]
            self.session = None
        else:
            assert len(data) == 1 and self.session is not None
            pcd_cap2 = None
        rnd_b = self.drbg.take(16)
        self.log["rnd_b"] = rnd_b
        self.pending = ("auth", kind, key_no, rnd_b, pcd_cap2)
        return cbc_encrypt(self.keys[key_no], bytes(16), rnd_b) + h("91AF")

    def _auth_part2(self, data):
        _, kind, key_no, rnd_b, pcd_cap2 = self.pending
        self.pending = None
        key = self.keys[key_no]
        assert len(data) == 32
        plain = cbc_decrypt(key, bytes(16), data)
        rnd_a, rnd_b_rot = plain[:16], plain[16:]
        if rnd_b_rot != rotl1(rnd_b):
            self.session = None
            return h("91AE")
        self.log["rnd_a"] = rnd_a
        _, _, enc, mac = session_keys(key, rnd_a, rnd_b)
        if kind == "first":
            ti = self.drbg.take(4)
            pd_cap2 = bytes(6)
            pcd = (pcd_cap2 + bytes(6))[:6]
            answer = cbc_encrypt(key, bytes(16), ti + rotl1(rnd_a) + pd_cap2 + pcd)
            self.session = dict(enc=enc, mac=mac, ti=ti, ctr=0, key_no=key_no)
        else:
            answer = cbc_encrypt(key, bytes(16), rotl1(rnd_a))
            # TI kept, CmdCtr not reset (AN12196 T24..T27).
            self.session = dict(self.session, enc=enc, mac=mac, key_no=key_no)
        return answer + h("9100")

    # -- secure messaging -------------------------------------------------------------------

    def _mode_of(self, ins, header):
        if ins == 0xF5:
            return MAC
        if ins in (0xBD, 0xAD, 0x3D, 0x8D):
            return self.files[header[0]]["mode"]
        if ins in (0x51, 0xC4):
            return FULL
        raise AssertionError("command not modelled: %02X" % ins)

    def _header_len(self, ins):
        return {0xF5: 1, 0xBD: 7, 0xAD: 7, 0x3D: 7, 0x8D: 7, 0x51: 0, 0xC4: 1}[ins]

    def _expected_body_len(self, ins, first):
        """The card knows from the header how long the command body is (native chaining)."""
        hl = self._header_len(ins)
        header = first[:hl]
        mode = self._mode_of(ins, header)
        if ins in (0x3D, 0x8D):
            n = int.from_bytes(header[4:7], "little")
        elif ins == 0xC4:
            n = 21 if header[0] != self.session["key_no"] else 17
        else:
            n = 0
        if mode == PLAIN:
            return hl + n
        if mode == MAC:
            return hl + n + 8
        return hl + (len(pad_m2(bytes(n))) if n else 0) + 8

    def _command(self, ins, body):
        s = self.session
        assert s is not None, "the vectors only model commands inside a session"
        hl = self._header_len(ins)
        header, rest = body[:hl], body[hl:]
        mode = self._mode_of(ins, header)
        ctr = s["ctr"]
        if mode == PLAIN:
            data = rest
        else:
            payload, mact = rest[:-8], rest[-8:]
            mac_in = bytes([ins]) + ctr.to_bytes(2, "little") + s["ti"] + header + payload
            if mac_t(cmac(s["mac"], mac_in)) != mact:
                self.session = None
                return h("911E")
            if mode == FULL and payload:
                ivc = aes_ecb_encrypt(s["enc"], iv_input("command", s["ti"], ctr))
                data = unpad_m2(cbc_decrypt(s["enc"], ivc, payload))
            else:
                data = payload
        if ctr == 0xFFFF:
            self.session = None
            return h("91CA")

        out, ends_session = self._execute(ins, header, data)
        if out is None:
            return self._respond(b"", h("91") + bytes([ends_session]))

        s["ctr"] = ctr + 1
        if ends_session:
            # ChangeKey of the authenticated key: bare 9100, no MAC, authentication ends.
            self.session = None
            return h("9100")
        if mode == PLAIN:
            return self._respond(out, h("9100"))
        if mode == FULL and out:
            ivr = aes_ecb_encrypt(s["enc"], iv_input("response", s["ti"], s["ctr"]))
            out = cbc_encrypt(s["enc"], ivr, pad_m2(out))
        resp_in = b"\x00" + s["ctr"].to_bytes(2, "little") + s["ti"] + out
        return self._respond(out + mac_t(cmac(s["mac"], resp_in)), h("9100"))

    def _execute(self, ins, header, data):
        """Runs one verified command. Returns (response data, ends_session), or (None, status)
        for an error status (the session ends, no MAC)."""
        s = self.session
        ends_session = False
        if ins == 0xF5:
            out = self.files[header[0]]["settings"]
        elif ins in (0xBD, 0xAD):
            f = self.files[header[0]]
            off = int.from_bytes(header[1:4], "little")
            n = int.from_bytes(header[4:7], "little")
            out = bytes(f["content"][off : off + n])
        elif ins in (0x3D, 0x8D):
            f = self.files[header[0]]
            off = int.from_bytes(header[1:4], "little")
            n = int.from_bytes(header[4:7], "little")
            assert len(data) == n
            f["content"][off : off + n] = data
            out = b""
        elif ins == 0x51:
            out = self.uid
        elif ins == 0xC4:
            target = header[0]
            old = self.keys[target]
            if target == s["key_no"]:
                assert len(data) == 17
                self.keys[target], self.key_versions[target] = data[:16], data[16]
                ends_session = True
            else:
                assert len(data) == 21
                new = xor(data[:16], old)
                if data[17:21] != crc32_desfire(new):
                    self.session = None
                    return None, 0x1E
                self.keys[target], self.key_versions[target] = new, data[16]
            out = b""
        else:
            raise AssertionError(ins)
        return out, ends_session


# ---------------------------------------------------------------------------------------------
# The reader (PCD)
# ---------------------------------------------------------------------------------------------


class Pcd:
    """The reader side, recording every frame and every intermediate value."""

    def __init__(self, card, max_command_data):
        self.card = card
        self.max_command_data = max_command_data
        self.session = None
        self.frames = None

    def _transceive(self, frame):
        rapdu = self.card.process(frame)
        self.frames.append({"capdu": hx(frame), "rapdu": hx(rapdu)})
        return rapdu

    def authenticate(self, kind, key_no, key, rnd_a):
        self.frames = []
        rec = {"step": "authenticate_ev2_" + kind, "key_no": key_no, "key": hx(key), "rnd_a": hx(rnd_a)}
        if kind == "first":
            cmd1 = capdu(0x71, bytes([key_no, 0x00]))
            self.session = None
        else:
            assert self.session is not None
            cmd1 = capdu(0x77, bytes([key_no]))
        r1 = self._transceive(cmd1)
        assert r1[-2:] == h("91AF") and len(r1) == 18
        rnd_b = cbc_decrypt(key, bytes(16), r1[:16])
        assert rnd_b == self.card.log["rnd_b"]
        token_plain = rnd_a + rotl1(rnd_b)
        token = cbc_encrypt(key, bytes(16), token_plain)
        r2 = self._transceive(capdu(0xAF, token))
        assert r2[-2:] == h("9100")
        dec = cbc_decrypt(key, bytes(16), r2[:-2])
        if kind == "first":
            assert len(dec) == 32
            ti, rnd_a_rot, pd_cap2, pcd_cap2 = dec[:4], dec[4:20], dec[20:26], dec[26:32]
            ctr = 0
        else:
            assert len(dec) == 16
            ti, rnd_a_rot, pd_cap2, pcd_cap2 = self.session["ti"], dec, None, None
            ctr = self.session["ctr"]
        assert rnd_a_rot == rotl1(rnd_a)
        sv1, sv2, enc, mac = session_keys(key, rnd_a, rnd_b)
        assert (enc, mac) == (self.card.session["enc"], self.card.session["mac"])
        self.session = dict(enc=enc, mac=mac, ti=ti, ctr=ctr, key_no=key_no)
        rec.update(
            rnd_b=hx(rnd_b),
            rnd_b_enc=hx(r1[:16]),
            rnd_b_rot=hx(rotl1(rnd_b)),
            token_plain=hx(token_plain),
            token_enc=hx(token),
            confirmation_enc=hx(r2[:-2]),
            confirmation_dec=hx(dec),
            rnd_a_rot=hx(rnd_a_rot),
            ti=hx(ti),
        )
        if pd_cap2 is not None:
            rec.update(pd_cap2=hx(pd_cap2), pcd_cap2=hx(pcd_cap2))
        rec.update(sv1=hx(sv1), sv2=hx(sv2), ses_enc=hx(enc), ses_mac=hx(mac),
                   cmd_ctr_after=ctr, frames=self.frames)
        return rec

    def command(self, name, ins, header, data, mode, ends_session=False):
        s = self.session
        assert s is not None
        self.frames = []
        ctr = s["ctr"]
        rec = {"step": "command", "name": name, "ins": "%02X" % ins, "header": hx(header),
               "data": hx(data), "mode": mode, "ends_session": ends_session,
               "ti": hx(s["ti"]), "cmd_ctr": ctr}
        if mode == PLAIN:
            body = header + data
        else:
            payload = data
            if mode == FULL and data:
                ivc_in = iv_input("command", s["ti"], ctr)
                ivc = aes_ecb_encrypt(s["enc"], ivc_in)
                payload = cbc_encrypt(s["enc"], ivc, pad_m2(data))
                rec.update(ivc_input=hx(ivc_in), ivc=hx(ivc), data_padded=hx(pad_m2(data)),
                           data_enc=hx(payload))
            mac_in = bytes([ins]) + ctr.to_bytes(2, "little") + s["ti"] + header + payload
            full = cmac(s["mac"], mac_in)
            rec.update(mac_input=hx(mac_in), cmac=hx(full), mact=hx(mac_t(full)))
            body = header + payload + mac_t(full)
        rec["body"] = hx(body)

        # Command chaining: first frame with INS, the rest with AF; the card asks with bare 91AF.
        chunks = [body[i : i + self.max_command_data] for i in range(0, len(body), self.max_command_data)] or [b""]
        for i, chunk in enumerate(chunks):
            r = self._transceive(capdu(ins if i == 0 else 0xAF, chunk))
            if i < len(chunks) - 1:
                assert r == h("91AF")
        # Response chaining: fetch with 90 AF 00 00 00 while the card says 91AF.
        resp = r[:-2]
        while r[-2:] == h("91AF"):
            r = self._transceive(capdu(0xAF, b""))
            resp += r[:-2]
        assert r[-2] == 0x91
        status = r[-1]
        assert status == 0x00, "%02X" % status
        rec["status"] = "%02X" % status
        rec["response_body"] = hx(resp)
        if ends_session:
            assert resp == b""
            plain = b""
            self.session = None
        elif mode == PLAIN:
            plain = resp
        else:
            payload, mact = resp[:-8], resp[-8:]
            resp_in = bytes([status]) + (ctr + 1).to_bytes(2, "little") + s["ti"] + payload
            full = cmac(s["mac"], resp_in)
            assert mac_t(full) == mact, "response MAC"
            rec.update(resp_mac_input=hx(resp_in), resp_cmac=hx(full), resp_mact=hx(mact))
            plain = payload
            if mode == FULL and payload:
                ivr_in = iv_input("response", s["ti"], ctr + 1)
                ivr = aes_ecb_encrypt(s["enc"], ivr_in)
                padded = cbc_decrypt(s["enc"], ivr, payload)
                plain = unpad_m2(padded)
                rec.update(ivr_input=hx(ivr_in), ivr=hx(ivr), resp_data_enc=hx(payload),
                           resp_data_padded=hx(padded))
        if self.session is not None:
            s["ctr"] = ctr + 1
        rec.update(response_data=hx(plain), cmd_ctr_after=ctr + 1 if not ends_session else None,
                   frames=self.frames)
        return rec


# ---------------------------------------------------------------------------------------------
# One complete exchange per seed
# ---------------------------------------------------------------------------------------------


def std_file_settings(mode, ar_read, ar_write, ar_rw, ar_change, size):
    """FileType 00 (StandardData) || FileOption (comm mode bits) || AccessRights (LE:
    RW<<4|Change, Read<<4|Write) || FileSize (3 bytes LE)."""
    option = {PLAIN: 0x00, MAC: 0x01, FULL: 0x03}[mode]
    return bytes([0x00, option, (ar_rw << 4) | ar_change, (ar_read << 4) | ar_write]) + size.to_bytes(3, "little")


def make_vector(index, seed, native, max_command_data, response_frame_max):
    rng = Drbg(seed)
    keys = {n: rng.key() for n in range(14)}
    versions = {n: rng.take(1)[0] for n in range(14)}
    assert len(set(keys.values())) == 14
    k1 = 1 + rng.below(13)  # EV2First key: 1..13
    k2 = [n for n in range(14) if n != k1][rng.below(13)]  # NonFirst key: any other
    k3 = [n for n in range(14) if n not in (k1, k2)][rng.below(12)]  # ChangeKey target
    f_read, f_write, f_plain = 1 + rng.below(10), 11 + rng.below(10), 21 + rng.below(10)
    credential = rng.take(160)
    uid = b"\x04" + rng.take(6)
    files = {
        f_read: dict(mode=FULL, settings=std_file_settings(FULL, k1, k1, k1, 0, 160),
                     content=bytearray(credential)),
        f_write: dict(mode=FULL, settings=std_file_settings(FULL, k1, k1, k1, 0, 128),
                      content=bytearray(rng.take(128))),
        f_plain: dict(mode=PLAIN, settings=std_file_settings(PLAIN, 14, k1, k1, 0, 64),
                      content=bytearray(64)),
    }
    card = Picc(Drbg(seed + "/card"), keys, versions, files, uid, response_frame_max)
    pcd = Pcd(card, max_command_data)
    steps = []

    steps.append(pcd.authenticate("first", k1, keys[k1], rng.take(16)))

    steps.append(pcd.command("GetFileSettings", 0xF5, bytes([f_read]), b"", MAC))
    assert steps[-1]["response_data"] == hx(files[f_read]["settings"])

    read_ins = 0xBD if native else 0xAD
    hdr = bytes([f_read]) + (0).to_bytes(3, "little") + (160).to_bytes(3, "little")
    steps.append(pcd.command("ReadData", read_ins, hdr, b"", FULL))
    assert steps[-1]["response_data"] == hx(credential)

    write_ins = 0x3D if native else 0x8D
    wdata = rng.take(40)
    off = rng.below(64)
    hdr = bytes([f_write]) + off.to_bytes(3, "little") + (40).to_bytes(3, "little")
    steps.append(pcd.command("WriteData", write_ins, hdr, wdata, FULL))
    assert bytes(files[f_write]["content"][off : off + 40]) == wdata

    pdata = rng.take(16)
    hdr = bytes([f_plain]) + (0).to_bytes(3, "little") + (16).to_bytes(3, "little")
    steps.append(pcd.command("WriteData", write_ins, hdr, pdata, PLAIN))
    assert bytes(files[f_plain]["content"][:16]) == pdata

    ctr_before_nonfirst = pcd.session["ctr"]
    steps.append(pcd.authenticate("nonfirst", k2, keys[k2], rng.take(16)))
    assert pcd.session["ctr"] == ctr_before_nonfirst  # not reset
    assert steps[-1]["ti"] == steps[0]["ti"]  # kept

    steps.append(pcd.command("GetCardUID", 0x51, b"", b"", FULL))
    assert steps[-1]["response_data"] == hx(uid)

    # ChangeKey of another key: (New XOR Old) || KeyVer || CRC32(New), header KeyNo.
    old, new, ver = keys[k3], rng.key(), rng.take(1)[0]
    key_data = xor(new, old) + bytes([ver]) + crc32_desfire(new)
    assert crc32_desfire(new) == crc32_bitwise(new)
    rec = pcd.command("ChangeKey", 0xC4, bytes([k3]), key_data, FULL)
    rec.update(target_key_no=k3, old_key=hx(old), new_key=hx(new), key_version="%02X" % ver,
               new_key_crc32=hx(crc32_desfire(new)))
    steps.append(rec)
    assert card.keys[k3] == new and card.key_versions[k3] == ver

    # ChangeKey of the authenticated key: NewKey || KeyVer; bare 9100, the session ends.
    old, new, ver = keys[k2], rng.key(), rng.take(1)[0]
    key_data = new + bytes([ver])
    rec = pcd.command("ChangeKey", 0xC4, bytes([k2]), key_data, FULL, ends_session=True)
    rec.update(target_key_no=k2, old_key=hx(old), new_key=hx(new), key_version="%02X" % ver)
    steps.append(rec)
    assert card.keys[k2] == new and card.session is None and pcd.session is None

    return {
        "name": "EV2-NONZERO-%d" % index,
        "seed": seed,
        "native_command_codes": native,
        "max_command_data": max_command_data,
        "card_response_frame_max": response_frame_max,
        "app_keys": {"%d" % n: hx(k) for n, k in sorted(keys.items())},
        "uid": hx(uid),
        "steps": steps,
    }


def generate():
    vectors = [
        # ISO chaining codes (AD/8D), short APDUs, every response in one frame.
        make_vector(1, SEEDS[0], native=False, max_command_data=255, response_frame_max=None),
        # Native codes (BD/3D), 48-byte command frames, 59-byte response frames: both directions
        # of additional-frame chaining.
        make_vector(2, SEEDS[1], native=True, max_command_data=48, response_frame_max=59),
        make_vector(3, SEEDS[2], native=False, max_command_data=255, response_frame_max=None),
    ]
    doc = {
        "format": 1,
        "description": (
            "MIFARE DESFire EV2/EV3 secure messaging with non-zero AES keys and seeded "
            "RndA/RndB: AuthenticateEV2First (key 1..13), GetFileSettings (MAC), ReadData "
            "160 bytes (Full), WriteData 40 bytes (Full), WriteData (Plain, counted), "
            "AuthenticateEV2NonFirst (TI kept, CmdCtr not reset), GetCardUID (Full), ChangeKey "
            "of another key and of the authenticated key. Frames are hex, exactly as on the wire."
        ),
        "generator": "specs/vectors/gen_ev2_vectors.py",
        "regenerate": "python3 specs/vectors/gen_ev2_vectors.py",
        "vectors": vectors,
    }
    return json.dumps(doc, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="do not write; fail unless ev2-nonzero.json matches the output")
    args = ap.parse_args()
    check_published()
    print("published vectors: all reproduced (cryptography %s, Python %s)"
          % (cryptography.__version__, sys.version.split()[0]))
    text = generate()
    if args.check:
        with open(OUTPUT, encoding="utf-8") as f:
            if f.read() != text:
                print("ev2-nonzero.json differs from the generator's output", file=sys.stderr)
                return 1
        print("ev2-nonzero.json: identical to the generator's output")
        return 0
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote", os.path.relpath(OUTPUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
