#!/usr/bin/env python3
"""GEN-PACS v1 vectors (specs/generic-encoding.md), computed independently of desfire-core.

Before it writes anything the script:
  1. reproduces the published AN10922 AES-128 vector and the short-input contrast of the draft,
  2. checks its own RFC 6979 (section 3.2) nonce generator and ECDSA P-256/SHA-256 signer against
     RFC 6979 A.2.5 ("sample" and "test": k, r and s),
  3. rebuilds the worked test card of ENCODING-DRAFT.md section 9 and asserts every value the
     draft prints (diversified keys, TBS, SHA-256(TBS), r||s, the 160-byte credential file).
Then it writes test-card.json: the draft's card and vectors of our own, each with the verdict a
conforming reader gives at the stated evaluation time. `--check` fails if the file on disk is not
byte-identical to what the script produces.

TEST KEYS ONLY. Every key in this file is public. Never use one outside a lab.

Sources (no code copied from them):
  - NXP AN10922 (AES-128 diversification, CMAC-based), RFC 4493 (CMAC subkeys)
  - RFC 6979 section 3.2 (deterministic k) and appendix A.2.5 (P-256 test key and signatures)
  - ENCODING-DRAFT.md sections 6.5, 6.7 and 9; specs/generic-encoding.md sections 6 and 8
"""

import argparse
import calendar
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

HERE = Path(__file__).resolve().parent
OUT = HERE / "test-card.json"

H = bytes.fromhex


def hx(b: bytes) -> str:
    return b.hex().upper()


# --------------------------------------------------------------------------------------------
# AES and AN10922
# --------------------------------------------------------------------------------------------

def aes_ecb(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def aes_cbc_zero_iv(key: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return enc.update(data) + enc.finalize()


def _dbl(block: bytes) -> bytes:
    v = int.from_bytes(block, "big") << 1
    if v >> 128:
        v = (v & ((1 << 128) - 1)) ^ 0x87
    return v.to_bytes(16, "big")


def cmac_subkeys(key: bytes):
    """RFC 4493 section 2.3 (written here; checked against RFC 4493's published subkeys)."""
    k1 = _dbl(aes_ecb(key, bytes(16)))
    return k1, _dbl(k1)


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def an10922_aes128(master: bytes, div_input: bytes) -> bytes:
    """AN10922 AES-128: M = 0x01 || divInput, always two blocks; CBC with IV 0, last block."""
    if not 1 <= len(div_input) <= 31:
        raise ValueError("AN10922 AES-128 takes 1..31 bytes of diversification input")
    k1, k2 = cmac_subkeys(master)
    m = b"\x01" + div_input
    if len(m) == 32:
        m = m[:16] + xor(m[16:], k1)
    else:
        m = m + b"\x80" + bytes(31 - len(m))
        m = m[:16] + xor(m[16:], k2)
    return aes_cbc_zero_iv(master, m)[16:]


def std_cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


# --------------------------------------------------------------------------------------------
# ECDSA P-256 / SHA-256 with RFC 6979 nonces
# --------------------------------------------------------------------------------------------

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
QLEN = P256_N.bit_length()  # 256
ROLEN = (QLEN + 7) // 8     # 32


def bits2int(b: bytes) -> int:
    v = int.from_bytes(b, "big")
    blen = len(b) * 8
    return v >> (blen - QLEN) if blen > QLEN else v


def int2octets(x: int) -> bytes:
    return x.to_bytes(ROLEN, "big")


def bits2octets(b: bytes) -> bytes:
    return int2octets(bits2int(b) % P256_N)


def rfc6979_nonces(d: int, h1: bytes):
    """RFC 6979 section 3.2 steps a-h with HMAC-SHA-256; yields candidate k in order."""
    mac = lambda k, m: hmac.new(k, m, hashlib.sha256).digest()  # noqa: E731
    hlen = hashlib.sha256().digest_size
    v = b"\x01" * hlen                                            # step b
    k = b"\x00" * hlen                                            # step c
    seed = int2octets(d) + bits2octets(h1)
    k = mac(k, v + b"\x00" + seed)                                # step d
    v = mac(k, v)                                                 # step e
    k = mac(k, v + b"\x01" + seed)                                # step f
    v = mac(k, v)                                                 # step g
    while True:                                                   # step h
        t = b""
        while len(t) * 8 < QLEN:
            v = mac(k, v)
            t += v
        cand = bits2int(t)
        if 1 <= cand < P256_N:
            yield cand
        k = mac(k, v + b"\x00")
        v = mac(k, v)


def ecdsa_sign_rfc6979(d: int, msg: bytes):
    """Returns (k, r, s). k*G comes from cryptography (public key of scalar k); the rest is here."""
    h1 = hashlib.sha256(msg).digest()
    e = bits2int(h1) % P256_N
    for k in rfc6979_nonces(d, h1):
        rx = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers().x
        r = rx % P256_N
        if r == 0:
            continue
        s = pow(k, -1, P256_N) * (e + r * d) % P256_N
        if s == 0:
            continue
        return k, r, s
    raise AssertionError("unreachable")


def public_key_sec1(d: int) -> bytes:
    from cryptography.hazmat.primitives import serialization
    pub = ec.derive_private_key(d, ec.SECP256R1()).public_key()
    return pub.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def ecdsa_verify(pub_sec1: bytes, msg: bytes, r: int, s: int) -> bool:
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub_sec1)
    try:
        pub.verify(encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def openssl_deterministic(d: int, msg: bytes):
    """cryptography >= 43 with OpenSSL >= 3.2 signs with RFC 6979 itself: a second implementation.
    Returns (r, s) or None when the installed stack cannot."""
    try:
        key = ec.derive_private_key(d, ec.SECP256R1())
        der = key.sign(msg, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        return decode_dss_signature(der)
    except Exception:  # TypeError (old cryptography) or UnsupportedAlgorithm (old OpenSSL)
        return None


# RFC 6979 A.2.5 (ECDSA, 256 bits (prime field), SHA-256)
RFC6979_D = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC6979_UX = 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6
RFC6979_UY = 0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299
RFC6979_A25 = {
    b"sample": (0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60,
                0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
                0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8),
    b"test": (0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0,
              0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
              0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083),
}


# --------------------------------------------------------------------------------------------
# GEN-PACS v1 (specs/generic-encoding.md)
# --------------------------------------------------------------------------------------------

SYS_ID_DEFAULT = b"GEN-PACS"
TBS_PREFIX = b"GEN-PACS-CCF1"
FILE_SIZE = 160
FORMAT_MAJOR = 0x01
# Section 8.3 of the spec
DEFINED = {0x80: (1, 16), 0x81: (8, 8), 0x82: (1, 1), 0x83: (4, 4), 0x84: (4, 4), 0x85: (1, 4),
           0x86: (2, 17), 0x87: (1, 1), 0x8E: (1, 2), 0x8F: (1, 1), 0x9E: (64, 64)}
MANDATORY = (0x80, 0x81, 0x82, 0x83, 0x84, 0x8E, 0x8F, 0x9E)


def ignorable(tag: int) -> bool:
    return 0x88 <= tag <= 0x8D or 0xA0 <= tag <= 0xBF


def aid_wire(aid: int) -> bytes:
    return aid.to_bytes(3, "little")


def div_input(uid: bytes, aid: int, key_no: int, sys_id: bytes) -> bytes:
    assert len(uid) == 7 and len(sys_id) == 8
    return uid + aid_wire(aid) + bytes([key_no]) + sys_id


def utc(s: str) -> int:
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 128
    return bytes([tag, len(value)]) + value


def legacy_image(bits: str) -> bytes:
    """Tag 0x86 value: bit count, then the bits right-justified in ceil(n/8) bytes."""
    n = len(bits)
    return bytes([n]) + int(bits, 2).to_bytes((n + 7) // 8, "big")


def h10301(fc: int, cn: int) -> str:
    """HID H10301 26-bit: even parity over the next 12 bits, FC 8, CN 16, odd parity over 12."""
    data = format(fc, "08b") + format(cn, "016b")
    even = str(data[:12].count("1") % 2)
    odd = str(1 - data[12:].count("1") % 2)
    return even + data + odd


def osdp_raw(fmt: int, bits: str) -> bytes:
    """osdp_RAW reply data: reader 0, format, bit count LSB first, bits MSB first left-justified."""
    n = len(bits)
    padded = bits + "0" * (-n % 8)
    return bytes([0x00, fmt]) + n.to_bytes(2, "little") + int(padded, 2).to_bytes(len(padded) // 8, "big")


def build_credential(c: dict, uid: bytes, aid: int, d: int) -> dict:
    body = tlv(0x80, c["issuer_id"]) + tlv(0x81, c["credential_id"]) + tlv(0x82, bytes([c["issue"]]))
    body += tlv(0x83, c["valid_from"].to_bytes(4, "big")) + tlv(0x84, c["valid_until"].to_bytes(4, "big"))
    if "site_code" in c:
        body += tlv(0x85, c["site_code"])
    if "legacy" in c:
        body += tlv(0x86, c["legacy"])
    if "class" in c:
        body += tlv(0x87, bytes([c["class"]]))
    for tag, value in c.get("extra_tags", []):
        body += tlv(tag, value)
    body += tlv(0x8E, c["key_id"]) + tlv(0x8F, bytes([c["alg"]]))
    length = len(body) + 2 + 64
    header = bytes([c.get("major", FORMAT_MAJOR), c.get("minor", 0)]) + length.to_bytes(2, "big")
    tbs = TBS_PREFIX + uid + aid_wire(aid) + header + body
    k, r, s = ecdsa_sign_rfc6979(d, tbs)
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    used = header + body + tlv(0x9E, sig)
    assert len(used) <= FILE_SIZE
    return {"header": header, "tlv_before_signature": body, "tbs": tbs,
            "tbs_sha256": hashlib.sha256(tbs).digest(), "nonce_k": int2octets(k),
            "signature": sig, "ccf": used + bytes(FILE_SIZE - len(used)), "ccf_used": len(used)}


def evaluate(ccf: bytes, uid: bytes, aid: int, trusted: dict, now: int):
    """The credential checks of the reader procedure (spec section 12, step 10), in the spec's
    order. Returns ("GRANT", credential_id) or ("DENY", reason). Written from the spec, not
    from build_credential."""
    if len(ccf) != FILE_SIZE:
        return "DENY", "MALFORMED_CREDENTIAL"
    major, length = ccf[0], int.from_bytes(ccf[2:4], "big")
    if major != FORMAT_MAJOR:
        return "DENY", "UNKNOWN_VERSION"
    if length > FILE_SIZE - 4 or length < 2:
        return "DENY", "MALFORMED_CREDENTIAL"
    area, pos, seen, order = ccf[4:4 + length], 0, {}, []
    while pos < len(area):
        if pos + 2 > len(area):
            return "DENY", "MALFORMED_CREDENTIAL"
        tag, ln = area[pos], area[pos + 1]
        if ln >= 0x80 or pos + 2 + ln > len(area):
            return "DENY", "MALFORMED_CREDENTIAL"
        value = area[pos + 2:pos + 2 + ln]
        if tag in seen:
            return "DENY", "MALFORMED_CREDENTIAL"
        if tag in DEFINED:
            lo, hi = DEFINED[tag]
            if not lo <= ln <= hi:
                return "DENY", "MALFORMED_CREDENTIAL"
        elif not ignorable(tag):
            return "DENY", "UNKNOWN_CRITICAL_TAG"
        seen[tag] = (pos, value)
        order.append(tag)
        pos += 2 + ln
    if any(t not in seen for t in MANDATORY) or order[-1] != 0x9E:
        return "DENY", "MALFORMED_CREDENTIAL"
    if 0x86 in seen:
        img = seen[0x86][1]
        n = img[0]
        if n == 0 or len(img) != 1 + (n + 7) // 8 or int.from_bytes(img[1:], "big") >> n:
            return "DENY", "MALFORMED_CREDENTIAL"
    vfrom = int.from_bytes(seen[0x83][1], "big")
    vuntil = int.from_bytes(seen[0x84][1], "big")
    if vfrom >= vuntil:
        return "DENY", "MALFORMED_CREDENTIAL"
    if seen[0x81][1] == bytes(8):
        return "DENY", "MALFORMED_CREDENTIAL"
    if seen[0x8F][1] != b"\x01":
        return "DENY", "UNSUPPORTED_ALGORITHM"
    pub = trusted.get((seen[0x80][1], seen[0x8E][1]))
    if pub is None:
        return "DENY", "UNKNOWN_ISSUER_KEY"
    sig_pos = seen[0x9E][0]
    tbs = TBS_PREFIX + uid + aid_wire(aid) + ccf[:4] + area[:sig_pos]
    sig = seen[0x9E][1]
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if not (1 <= r < P256_N and 1 <= s < P256_N) or not ecdsa_verify(pub, tbs, r, s):
        return "DENY", "BAD_SIGNATURE"
    if now < vfrom:
        return "DENY", "NOT_YET_VALID"
    if now >= vuntil:
        return "DENY", "EXPIRED"
    return "GRANT", seen[0x81][1]


# --------------------------------------------------------------------------------------------
# The draft's section 9 values (ENCODING-DRAFT.md), asserted byte for byte
# --------------------------------------------------------------------------------------------

DRAFT9 = {
    "an10922_published": ("00112233445566778899AABBCCDDEEFF", "04782E21801D803042F54E585020416275",
                          "A8DD63A3B89D54B37CA802473FDA9175"),
    "an10922_short": "4FD3364753B8142980E8203C75AD83BE",
    "cmac_short": "B3179E2D918AC5190815983B054B63AD",
    "div_input_k0": "04782E21801D8001C50A0047454E2D50414353",
    "K0": "E680134BFB864DDCAD199DED2B7ABF79",
    "K1": "101112131415161718191A1B1C1D1E1F",
    "K2": "D55DC633DB6E04E8D384AC520F077B5C",
    "K3": "D2A224A634F9CA056BDFF87DD9078C93",
    "valid_from": "6955B900",
    "valid_until": "72BD0C00",
    "legacy": "1A02026073",
    "legacy_bits": "10000000100110000001110011",
    "public_key": "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                  "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
    "tbs": "47454E2D504143532D4343463104782E21801D8001C50A01000076800C53453030303030303030303081"
           "081A2B3C4D5E6F708182010183046955B900840472BD0C0086051A020260738E01018F0101",
    "tbs_sha256": "80F272E1B9280C2BD25004BB7C6C6449439C147F769BD7F3F0C2D150FA9712A0",
    "signature": "6E43B66D1ED8A69C6D8347506922EC8177DC5C9C56DDCD05E1A9B90CB91D1643"
                 "6E3C93D892120147D1EF4584C53684CDAD69AD20AE99A9BE8C074AD738BCB71A",
    "ccf": "01000076800C53453030303030303030303081081A2B3C4D5E6F708182010183"
           "046955B900840472BD0C0086051A020260738E01018F01019E406E43B66D1ED8"
           "A69C6D8347506922EC8177DC5C9C56DDCD05E1A9B90CB91D16436E3C93D89212"
           "0147D1EF4584C53684CDAD69AD20AE99A9BE8C074AD738BCB71A000000000000"
           + "00" * 32,
    "ccf_used": 122,
}

# Test masters: K0, K1 (the key itself, not diversified), K2, K3 from the draft's section 9.
# K4, K5 and the PICC master key have no value in the draft; these three are ours (spec 16.1).
TEST_MASTERS = {
    "K0": bytes(range(0x00, 0x10)),
    "K1": bytes(range(0x10, 0x20)),
    "K2": bytes(range(0x20, 0x30)),
    "K3": bytes(range(0x30, 0x40)),
    "K4": bytes(range(0x40, 0x50)),
    "K5": bytes(range(0x50, 0x60)),
    "PICC": bytes(range(0xE0, 0xF0)),
}
LAB_AID = 0x0AC501
ISSUER = b"SE0000000000"
EVAL_TIME = "2026-06-01T00:00:00Z"


def self_tests(log):
    # RFC 4493 subkeys (section 4, key 2B7E1516...)
    k1, k2 = cmac_subkeys(H("2B7E151628AED2A6ABF7158809CF4F3C"))
    assert hx(k1) == "FBEED618357133667C85E08F7236A8DE" and hx(k2) == "F7DDAC306AE266CCF90BC11EE46D513B"
    m, inp, out = DRAFT9["an10922_published"]
    assert hx(an10922_aes128(H(m), H(inp))) == out
    assert hx(an10922_aes128(H(m), H("04782E21801D80"))) == DRAFT9["an10922_short"]
    assert hx(std_cmac(H(m), b"\x01" + H("04782E21801D80"))) == DRAFT9["cmac_short"]
    log("AN10922 published vector and short-input contrast: ok; RFC 4493 subkeys: ok")

    assert public_key_sec1(RFC6979_D) == b"\x04" + int2octets(RFC6979_UX) + int2octets(RFC6979_UY)
    for msg, (k_exp, r_exp, s_exp) in RFC6979_A25.items():
        k, r, s = ecdsa_sign_rfc6979(RFC6979_D, msg)
        assert (k, r, s) == (k_exp, r_exp, s_exp), msg
        assert ecdsa_verify(public_key_sec1(RFC6979_D), msg, r, s)
        ossl = openssl_deterministic(RFC6979_D, msg)
        assert ossl is None or ossl == (r, s), msg
    log("RFC 6979 A.2.5 P-256/SHA-256 'sample' and 'test' (k, r, s): ok; "
        + ("OpenSSL deterministic ECDSA agrees" if openssl_deterministic(RFC6979_D, b"sample")
           else "OpenSSL deterministic ECDSA not available here"))


def card(uid: bytes, aid: int, sys_id: bytes, cred: dict, masters=TEST_MASTERS) -> dict:
    keys, divs = {}, {}
    for name, no in (("K0", 0), ("K2", 2), ("K3", 3), ("K4", 4), ("K5", 5)):
        divs[name] = div_input(uid, aid, no, sys_id)
        keys[name] = an10922_aes128(masters[name], divs[name])
    keys["K1"] = masters["K1"]
    divs["PICC"] = uid + bytes(3) + b"\x00" + sys_id
    keys["PICC"] = an10922_aes128(masters["PICC"], divs["PICC"])
    return {"keys": keys, "div_inputs": divs, "cred": build_credential(cred, uid, aid, RFC6979_D)}


def check_draft9(log):
    uid = H("04782E21801D80")
    cred = {"issuer_id": ISSUER, "credential_id": H("1A2B3C4D5E6F7081"), "issue": 1,
            "valid_from": utc("2026-01-01T00:00:00Z"), "valid_until": utc("2031-01-01T00:00:00Z"),
            "legacy": legacy_image(h10301(1, 12345)), "key_id": b"\x01", "alg": 1}
    c = card(uid, LAB_AID, SYS_ID_DEFAULT, cred)
    got = {
        "div_input_k0": hx(c["div_inputs"]["K0"]),
        "K0": hx(c["keys"]["K0"]), "K1": hx(c["keys"]["K1"]),
        "K2": hx(c["keys"]["K2"]), "K3": hx(c["keys"]["K3"]),
        "valid_from": "%08X" % cred["valid_from"], "valid_until": "%08X" % cred["valid_until"],
        "legacy": hx(cred["legacy"]), "legacy_bits": h10301(1, 12345),
        "public_key": hx(public_key_sec1(RFC6979_D)),
        "tbs": hx(c["cred"]["tbs"]), "tbs_sha256": hx(c["cred"]["tbs_sha256"]),
        "signature": hx(c["cred"]["signature"]), "ccf": hx(c["cred"]["ccf"]),
        "ccf_used": c["cred"]["ccf_used"],
    }
    bad = [k for k, v in got.items() if DRAFT9[k] != v]
    for k in bad:
        log(f"MISMATCH {k}: draft {DRAFT9[k]} computed {got[k]}")
    assert not bad, "the draft's section 9 is not reproduced"
    assert len(c["cred"]["tbs"]) == 79
    ossl = openssl_deterministic(RFC6979_D, c["cred"]["tbs"])
    assert ossl is None or ossl[0].to_bytes(32, "big") + ossl[1].to_bytes(32, "big") == c["cred"]["signature"]
    log(f"ENCODING-DRAFT section 9: all {len(got)} values reproduced byte for byte")
    return uid, cred


def vector(vid, title, source, uid, sys_id, cred, expected_reason=None, notes=None):
    c = card(uid, LAB_AID, sys_id, cred)
    trusted = {(ISSUER, b"\x01"): public_key_sec1(RFC6979_D)}
    verdict, detail = evaluate(c["cred"]["ccf"], uid, LAB_AID, trusted, utc(EVAL_TIME))
    if verdict == "GRANT":
        assert expected_reason is None, (vid, verdict)
    else:
        assert detail == expected_reason, (vid, detail)
    ccf = c["cred"]["ccf"]
    v = {
        "id": vid, "title": title, "source": source,
        "inputs": {
            "uid": hx(uid), "aid": "%06X" % LAB_AID, "aid_wire": hx(aid_wire(LAB_AID)),
            "system_id": hx(sys_id), "system_id_ascii": sys_id.decode(),
            "credential": {
                "format_major": cred.get("major", FORMAT_MAJOR), "format_minor": cred.get("minor", 0),
                "issuer_id": hx(cred["issuer_id"]), "credential_id": hx(cred["credential_id"]),
                "issue_number": cred["issue"],
                "valid_from": "%08X" % cred["valid_from"],
                "valid_from_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cred["valid_from"])),
                "valid_until": "%08X" % cred["valid_until"],
                "valid_until_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cred["valid_until"])),
                "legacy_image": hx(cred["legacy"]) if "legacy" in cred else None,
                "extra_tags": [{"tag": "%02X" % t, "value": hx(val)} for t, val in cred.get("extra_tags", [])],
                "signing_key_id": hx(cred["key_id"]), "signature_algorithm": cred["alg"],
            },
        },
        "keys": {
            name: {"master": hx(TEST_MASTERS[name]) if name != "K1" else None,
                   "div_input": hx(c["div_inputs"][name]) if name != "K1" else None,
                   "key": hx(c["keys"][name]), "diversified": name != "K1"}
            for name in ("PICC", "K0", "K1", "K2", "K3", "K4", "K5")
        },
        "credential": {
            "header": hx(c["cred"]["header"]),
            "tlv_before_signature": hx(c["cred"]["tlv_before_signature"]),
            "tbs": hx(c["cred"]["tbs"]), "tbs_len": len(c["cred"]["tbs"]),
            "tbs_sha256": hx(c["cred"]["tbs_sha256"]),
            "nonce_k": hx(c["cred"]["nonce_k"]),
            "signature_r": hx(c["cred"]["signature"][:32]), "signature_s": hx(c["cred"]["signature"][32:]),
            "ccf": hx(ccf), "ccf_used": c["cred"]["ccf_used"],
        },
        "expected": {"evaluated_at": EVAL_TIME, "verdict": verdict,
                     "reason": None if verdict == "GRANT" else detail},
    }
    if verdict == "GRANT":
        v["expected"]["osdp_raw"] = hx(osdp_raw(0x00, format(int.from_bytes(detail, "big"), "064b")))
        if "legacy" in cred:
            img = cred["legacy"]
            bits = format(int.from_bytes(img[1:], "big"), "0%db" % img[0])
            v["expected"]["osdp_raw_legacy_wiegand"] = hx(osdp_raw(0x01, bits))
    if notes:
        v["notes"] = notes
    return v


def build(log):
    self_tests(log)
    uid0, cred0 = check_draft9(log)
    vectors = [vector("GEN-PACS-DRAFT9", "The worked test card of ENCODING-DRAFT section 9",
                      "ENCODING-DRAFT.md section 9; every value asserted by this script",
                      uid0, SYS_ID_DEFAULT, cred0)]

    # The parser and verifier must be able to say no (audit cards T7, T8, T11 of the spec).
    trusted = {(ISSUER, b"\x01"): public_key_sec1(RFC6979_D)}
    ccf0, now = H(DRAFT9["ccf"]), utc(EVAL_TIME)
    assert evaluate(ccf0, uid0, LAB_AID, trusted, now) == ("GRANT", cred0["credential_id"])
    forged = ccf0[:20] + b"\x99" + ccf0[21:]                      # credential ID byte changed
    assert evaluate(forged, uid0, LAB_AID, trusted, now) == ("DENY", "BAD_SIGNATURE")
    assert evaluate(ccf0, H("04A1B2C3D4E5F6"), LAB_AID, trusted, now) == ("DENY", "BAD_SIGNATURE")
    assert evaluate(ccf0, uid0, 0x0AC502, trusted, now) == ("DENY", "BAD_SIGNATURE")
    assert evaluate(b"\x02" + ccf0[1:], uid0, LAB_AID, trusted, now) == ("DENY", "UNKNOWN_VERSION")
    assert evaluate(ccf0, uid0, LAB_AID, {}, now) == ("DENY", "UNKNOWN_ISSUER_KEY")
    assert evaluate(ccf0, uid0, LAB_AID, trusted, utc("2025-12-31T23:59:59Z")) == ("DENY", "NOT_YET_VALID")
    assert evaluate(ccf0, uid0, LAB_AID, trusted, utc("2031-01-01T00:00:00Z")) == ("DENY", "EXPIRED")
    assert evaluate(ccf0[:3] + b"\x9D" + ccf0[4:], uid0, LAB_AID, trusted, now) == ("DENY", "MALFORMED_CREDENTIAL")
    zero_id = ccf0[:20] + bytes(8) + ccf0[28:]                    # rule 6, before the signature
    assert evaluate(zero_id, uid0, LAB_AID, trusted, now) == ("DENY", "MALFORMED_CREDENTIAL")
    log("negative checks (forged ID, transplanted UID, other AID, major 2, unknown key, "
        "not yet valid, expired at the boundary, L too long): ok")

    # Ours: another UID, credential ID, issue number and system identifier, no legacy image,
    # an ignorable unknown tag 0xA5 and the optional credential class.
    uid1 = H("04A1B2C3D4E5F6")
    cred1 = {"issuer_id": ISSUER, "credential_id": H("C3D2E1F00F1E2D3C"), "issue": 3,
             "valid_from": utc("2026-03-01T00:00:00Z"), "valid_until": utc("2027-03-01T00:00:00Z"),
             "class": 1, "extra_tags": [(0xA5, b"lab")], "key_id": b"\x01", "alg": 1}
    vectors.append(vector("GEN-PACS-OURS-1", "Other UID and credential ID, ignorable tag A5",
                          "ours", uid1, b"LAB-TEST", cred1,
                          notes="System identifier 'LAB-TEST' changes every diversified key. "
                                "Tag A5 is in the ignorable range A0-BF: a conforming reader "
                                "skips it; it is still covered by the signature."))

    # Ours: the same card with an unknown critical tag 0x90, correctly signed.
    cred2 = dict(cred0, credential_id=H("0011223344556677"), extra_tags=[(0x90, b"\x01")])
    vectors.append(vector("GEN-PACS-OURS-2", "Unknown critical tag 90 (signature valid)",
                          "ours", uid0, SYS_ID_DEFAULT, cred2, expected_reason="UNKNOWN_CRITICAL_TAG",
                          notes="The issuer signed it; the reader must still refuse it, because a "
                                "v1 reader cannot know what tag 90 restricts."))

    # Ours: expired at the evaluation time.
    cred3 = dict(cred0, credential_id=H("8899AABBCCDDEEFF"),
                 valid_from=utc("2025-01-01T00:00:00Z"), valid_until=utc("2026-01-01T00:00:00Z"))
    vectors.append(vector("GEN-PACS-OURS-3", "Expired (valid until 2026-01-01, evaluated 2026-06-01)",
                          "ours", uid0, SYS_ID_DEFAULT, cred3, expected_reason="EXPIRED"))

    return {
        "format": "gen-pacs-vectors/1",
        "warning": "TEST KEYS ONLY. Every key here is public; a production reader must reject them.",
        "generator": "specs/vectors/gen-pacs/gen_pacs_vectors.py",
        "spec": "specs/generic-encoding.md",
        "issuer_keys": [{
            "issuer_id": hx(ISSUER), "issuer_id_ascii": ISSUER.decode(), "key_id": "01",
            "curve": "P-256", "algorithm": 1,
            "private_key_test_only": hx(int2octets(RFC6979_D)),
            "public_key": hx(public_key_sec1(RFC6979_D)),
            "source": "RFC 6979 A.2.5 P-256 key",
        }],
        "vectors": vectors,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if test-card.json differs")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    log = (lambda *_: None) if args.quiet else (lambda s: print(s, file=sys.stderr))
    text = json.dumps(build(log), indent=2) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            log(f"{OUT.name} differs from what the script produces")
            return 1
        log(f"{OUT.name} is up to date")
        return 0
    OUT.write_text(text)
    log(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
