#!/usr/bin/env python3
"""The worked transactions of spec section 12.1 and the worked examples of spec section 2.

Independent of desfire-core: it extends the EV2 vector generator (`../gen_ev2_vectors.py`: AES,
CBC and CMAC from Python's `cryptography`, a card and a reader simulated separately, every
published vector reproduced before anything is written) with the three commands a GEN-PACS
reader needs beyond it (SelectApplication, GetKeyVersion, Read_Sig), and takes the credential
checks from `gen_pacs_vectors.py` (`evaluate()`, written from the spec). The §9 test card is
rebuilt from the committed `test-card.json` (its own generator checks that file).

It writes two files:
- `worked-transaction.json`: every C-APDU and R-APDU of the reader procedure (spec section 12)
  against the §9 test card, with the keys, the randoms, the session keys, every IV and every
  MAC input. GEN-PACS-WT-1 is the minimum exchange; GEN-PACS-WT-2 adds the optional steps 5
  (GetKeyVersion) and 12 (Read_Sig).
- `spec-examples.json`: the worked examples of spec section 2, each with its public source.

Before writing, it checks that every C-APDU and R-APDU of both transactions, and every value of
`spec-examples.json`, appears in `specs/generic-encoding.md`: the spec's tables are the JSON.

Usage:
    python3 gen_worked_transaction.py           # check, (re)write both JSON files
    python3 gen_worked_transaction.py --check   # check, fail if a JSON file or the spec differs

TEST KEYS ONLY. Requires Python >= 3.9 and `cryptography` >= 38.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import gen_ev2_vectors as ev2  # noqa: E402
import gen_pacs_vectors as gp  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, utils  # noqa: E402

from gen_ev2_vectors import (  # noqa: E402
    FULL, MAC, PLAIN, Drbg, Pcd, Picc, aes_ecb_encrypt, cbc_decrypt, cbc_encrypt, cmac,
    cmac_subkeys, h, hx, iv_input, mac_t, pad_m2, rotl1, session_keys, xor,
)

OUT = os.path.join(HERE, "worked-transaction.json")
EXAMPLES = os.path.join(HERE, "spec-examples.json")
SPEC = os.path.join(HERE, "..", "..", "generic-encoding.md")
TEST_CARD = os.path.join(HERE, "test-card.json")

LAB_AID_WIRE = h("01 C5 0A")
# Spec 16.1: K1 (the key itself) and the K2 master.
K1 = h("101112131415161718191A1B1C1D1E1F")
K2_MASTER = h("202122232425262728292A2B2C2D2E2F")
SYS_ID = b"GEN-PACS"
# 2028-01-01T00:00:00Z, inside the §9 card's window.
NOW = 1830297600

# The virtual card's TEST originality key (spec 16.1): secp224r1, scalar = these 28 ASCII bytes.
ORIG_TEST_SCALAR = int.from_bytes(b"desfire-virtual-card-TESTKEY", "big")
ORIG_TEST_PUBLIC = h(
    "04CA888C18C92B5D75D6849C8307CFE6727273DEF477D9F6AC9BF2CCD3749BF11E"
    "168BA00D7B7EEECF51D270C59687667AB6E468605A5604E9"
)
P224_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D


# ---------------------------------------------------------------------------------------------
# Read_Sig: ECDSA secp224r1 over the 7-byte UID as the digest, RFC 6979 nonces (HMAC-SHA-224)
# ---------------------------------------------------------------------------------------------


def rfc6979_p224(d, e_bytes):
    """RFC 6979 section 3.2 with HMAC-SHA-224 for a 28-byte digest; yields candidate k."""
    qlen, rolen = P224_N.bit_length(), 28

    def bits2int(b):
        v = int.from_bytes(b, "big")
        return v >> (len(b) * 8 - qlen) if len(b) * 8 > qlen else v

    mac = lambda k, m: hmac.new(k, m, hashlib.sha224).digest()  # noqa: E731
    v, k = b"\x01" * 28, b"\x00" * 28
    seed = d.to_bytes(rolen, "big") + (bits2int(e_bytes) % P224_N).to_bytes(rolen, "big")
    k = mac(k, v + b"\x00" + seed)
    v = mac(k, v)
    k = mac(k, v + b"\x01" + seed)
    v = mac(k, v)
    while True:
        t = b""
        while len(t) * 8 < qlen:
            v = mac(k, v)
            t += v
        cand = bits2int(t)
        if 1 <= cand < P224_N:
            yield cand
        k = mac(k, v + b"\x00")
        v = mac(k, v)


def originality_sign(uid):
    """(r || s) over the UID used directly as the digest (NT4H2421Gx 10.10.1: no hash)."""
    e_bytes = bytes(28 - len(uid)) + uid
    e = int.from_bytes(e_bytes, "big")
    d = ORIG_TEST_SCALAR
    for k in rfc6979_p224(d, e_bytes):
        r = ec.derive_private_key(k, ec.SECP224R1()).public_key().public_numbers().x % P224_N
        s = pow(k, -1, P224_N) * (e + r * d) % P224_N
        if r and s:
            break
    sig = r.to_bytes(28, "big") + s.to_bytes(28, "big")
    pub = ec.derive_private_key(d, ec.SECP224R1()).public_key()
    assert pub.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint) == ORIG_TEST_PUBLIC
    pub.verify(utils.encode_dss_signature(r, s), e_bytes,
               ec.ECDSA(utils.Prehashed(hashes.SHA224())))
    return sig


# ---------------------------------------------------------------------------------------------
# The card and the reader, extended with SelectApplication, GetKeyVersion and Read_Sig
# ---------------------------------------------------------------------------------------------


class GenPacsCard(Picc):
    """A personalised GEN-PACS card: one application, K1 and K2 of the §9 card, file 01 in Full
    mode, Random ID on (Read_Sig only inside a session)."""

    def __init__(self, drbg, keys, versions, files, uid, aid_wire, signature):
        super().__init__(drbg, keys, versions, files, uid, None)
        self.aid_wire = aid_wire
        self.signature = signature
        self.selected = False

    def process(self, frame):
        ins, data = ev2.parse_capdu(frame)
        if ins == 0x5A and not self.out and not self.pending:
            self.session = None
            self.selected = data == self.aid_wire
            return h("9100") if self.selected else h("91A0")
        assert self.selected or ins != 0x71, "authentication before SelectApplication"
        return super().process(frame)

    def _mode_of(self, ins, header):
        if ins == 0x64:
            return MAC
        if ins == 0x3C:
            return FULL
        return super()._mode_of(ins, header)

    def _header_len(self, ins):
        return {0x64: 1, 0x3C: 1}.get(ins) or super()._header_len(ins)

    def _execute(self, ins, header, data):
        if ins == 0x64:
            return bytes([self.key_versions[header[0]]]), False
        if ins == 0x3C:
            assert header == b"\x00"
            return self.signature, False
        return super()._execute(ins, header, data)


class GenPacsReader(Pcd):
    def plain(self, name, frame):
        """A command outside any session (SelectApplication)."""
        self.frames = []
        r = self._transceive(frame)
        return {"step": "plain", "name": name, "frames": self.frames, "status": hx(r[-2:])}


# ---------------------------------------------------------------------------------------------
# The transactions
# ---------------------------------------------------------------------------------------------


def test_card():
    with open(TEST_CARD, encoding="utf-8") as f:
        doc = json.load(f)
    v = next(v for v in doc["vectors"] if v["id"] == "GEN-PACS-DRAFT9")
    pub = h(doc["issuer_keys"][0]["public_key"])
    return v, {(h(v["inputs"]["credential"]["issuer_id"]), b"\x01"): pub}


def transaction(tid, title, seed, with_key_version, with_read_sig):
    v, trusted = test_card()
    uid = h(v["inputs"]["uid"])
    ccf = h(v["credential"]["ccf"])
    assert len(ccf) == 160
    div2 = gp.div_input(uid, 0x0AC501, 2, SYS_ID)
    k2 = gp.an10922_aes128(K2_MASTER, div2)
    assert hx(k2) == v["keys"]["K2"]["key"] and hx(div2) == v["keys"]["K2"]["div_input"]
    _, _, k2_by_ev2 = ev2.an10922_aes128(K2_MASTER, div2)
    assert k2 == k2_by_ev2  # the two generators' AN10922 agree

    rng = Drbg(seed)
    card_rng = Drbg(seed + "/card")
    ac_uid = b"\x08" + card_rng.take(3)
    files = {1: dict(mode=FULL, settings=None, content=bytearray(ccf))}
    signature = originality_sign(uid)
    card = GenPacsCard(card_rng, {1: K1, 2: k2}, {1: 0x01, 2: 0x01}, files, uid,
                       LAB_AID_WIRE, signature)
    pcd = GenPacsReader(card, 255)
    steps = []

    # Step 0: a random ID (4 bytes, 08 first). Nothing is sent by the procedure for it.
    assert len(ac_uid) == 4 and ac_uid[0] == 0x08
    s = pcd.plain("SelectApplication", ev2.capdu(0x5A, LAB_AID_WIRE))
    s["spec_step"] = "2"
    steps.append(s)
    assert s["status"] == "9100"

    a = pcd.authenticate("first", 1, K1, rng.take(16))
    a["spec_step"] = "3"
    steps.append(a)

    c = pcd.command("GetCardUID", 0x51, b"", b"", FULL)
    c["spec_step"] = "4"
    steps.append(c)
    assert h(c["response_data"]) == uid

    if with_key_version:
        c = pcd.command("GetKeyVersion", 0x64, b"\x02", b"", MAC)
        c["spec_step"] = "5"
        steps.append(c)
        assert c["response_data"] == "01"

    a = pcd.authenticate("nonfirst", 2, k2, rng.take(16))
    a["spec_step"] = "7"
    steps.append(a)

    hdr = b"\x01" + bytes(3) + (160).to_bytes(3, "little")
    c = pcd.command("ReadData", 0xAD, hdr, b"", FULL)
    c["spec_step"] = "9"
    steps.append(c)
    assert h(c["response_data"]) == ccf
    assert len(h(c["response_body"])) == 184

    verdict = gp.evaluate(ccf, uid, 0x0AC501, trusted, NOW)
    assert verdict == ("GRANT", h("1A2B3C4D5E6F7081")), verdict

    if with_read_sig:
        c = pcd.command("Read_Sig", 0x3C, b"\x00", b"", FULL)
        c["spec_step"] = "12"
        steps.append(c)
        assert h(c["response_data"]) == signature
        assert len(h(c["response_body"])) == 72

    frames = [f for s in steps for f in s["frames"]]
    issuer = h(v["inputs"]["credential"]["issuer_id"])
    out = {
        "id": tid,
        "title": title,
        "seed": seed,
        "now": NOW,
        "now_utc": "2028-01-01T00:00:00Z",
        "config": {
            "aid": "0AC501",
            "aid_wire": hx(LAB_AID_WIRE),
            "system_id": hx(SYS_ID),
            "read_key_generations": ["01"] if with_key_version else [],
            "originality": "require" if with_read_sig else "off",
            "originality_keys": [hx(ORIG_TEST_PUBLIC)] if with_read_sig else [],
            "output": "extended" if with_read_sig else "osdp",
            "max_command_data": 255,
        },
        "card": {
            "anticollision_uid": hx(ac_uid),
            "real_uid": hx(uid),
            "credential_file": hx(ccf),
            "key_versions": {"K1": "01", "K2": "01"},
        },
        "keys": {
            "K1": hx(K1),
            "K2_master": hx(K2_MASTER),
            "K2_div_input": hx(div2),
            "K2": hx(k2),
        },
        "steps": steps,
        "frames": frames,
        "verdict": "GRANT",
        "credential_id": "1A2B3C4D5E6F7081",
    }
    if with_read_sig:
        out["originality_signature"] = hx(signature)
        out["output_bytes"] = hx(b"\x00\x00\x68\x00" + hashlib.sha256(issuer).digest()[:4]
                                 + h("1A2B3C4D5E6F7081") + b"\x01")
    else:
        out["output_bytes"] = hx(h("00004000") + h("1A2B3C4D5E6F7081"))
    return out


def generate_transactions():
    doc = {
        "format": "gen-pacs-worked-transaction/1",
        "warning": "TEST KEYS ONLY. Every key here is public; a production reader must reject them.",
        "generator": "specs/vectors/gen-pacs/gen_worked_transaction.py",
        "spec": "specs/generic-encoding.md section 12.1",
        "description": (
            "The reader procedure of spec section 12 against the section 9 test card (TEST keys), "
            "frame by frame. Randoms: SHA-256 in counter mode over `seed` (reader: RndA) and "
            "`seed/card` (card: acUID, RndB, TI), as in ../README.md. Every frame is hex exactly "
            "as on the wire; `frames` is all of them in order."
        ),
        "transactions": [
            transaction("GEN-PACS-WT-1", "Minimum exchange: steps 0, 2, 3, 4, 7, 9, 10, 11",
                        "gen-pacs-worked/1", with_key_version=False, with_read_sig=False),
            transaction("GEN-PACS-WT-2",
                        "With the optional steps 5 (GetKeyVersion K2) and 12 (Read_Sig), "
                        "extended output",
                        "gen-pacs-worked/2", with_key_version=True, with_read_sig=True),
        ],
    }
    return doc


# ---------------------------------------------------------------------------------------------
# The worked examples of spec section 2 (published values first, each with its source)
# ---------------------------------------------------------------------------------------------


def examples():
    ex = []

    def add(eid, source, **values):
        ex.append(dict(id=eid, source=source, **{k: (hx(v) if isinstance(v, bytes) else v)
                                                  for k, v in values.items()}))

    # AES-128 (FIPS-197 Appendix C.1).
    key = h("000102030405060708090A0B0C0D0E0F")
    pt = h("00112233445566778899AABBCCDDEEFF")
    ct = aes_ecb_encrypt(key, pt)
    assert ct == h("69C4E0D86A7B0430D8CDB78070B4C55A")
    add("AES", "FIPS-197 Appendix C.1", key=key, plaintext=pt, ciphertext=ct)

    # AES-CMAC (RFC 4493 section 4).
    key = h("2B7E151628AED2A6ABF7158809CF4F3C")
    l, k1, k2 = cmac_subkeys(key)
    msg = h("6BC1BEE22E409F96E93D7E117393172A")
    assert cmac(key, msg) == h("070A16B46B4D4144F79BDD9DD04A287C")
    assert cmac(key, b"") == h("BB1D6929E95937287FA37D129B756746")
    add("CMAC", "RFC 4493 section 4 (subkeys, examples 1 and 2)", key=key, L=l, K1=k1, K2=k2,
        message=msg, cmac=cmac(key, msg), cmac_empty=cmac(key, b""))

    # MACt and the command/response MAC inputs (AN12196 Table 8).
    ses_mac = h("8248134A386E86EB7FAF54A52E536CB6")
    ti = h("7A21085E")
    mac_in = b"\xF5" + bytes(2) + ti + b"\x02"
    full = cmac(ses_mac, mac_in)
    assert mac_t(full) == h("6597A457C8CD442C")
    rdata = h("0040EEEE000100D1FE001F00004400004400002000006A0000")
    resp_in = b"\x00" + (1).to_bytes(2, "little") + ti + rdata
    assert mac_t(cmac(ses_mac, resp_in)) == h("2A474282E7A47986")
    add("MACT", "AN12196 Rev. 1.8 section 5.3 Table 8 (GetFileSettings in MAC mode)",
        ses_auth_mac_key=ses_mac, ti=ti, cmd_ctr=0, mac_input=mac_in, cmac=full,
        mact=mac_t(full), capdu=ev2.capdu(0xF5, b"\x02" + mac_t(full)),
        resp_data=rdata, resp_mac_input=resp_in, resp_cmac=cmac(ses_mac, resp_in),
        resp_mact=mac_t(cmac(ses_mac, resp_in)))

    # AuthenticateEV2First, SV1/SV2, session keys (AN12196 Table 14).
    key = bytes(16)
    rnd_a = h("13C5DB8A5930439FC3DEF9A4C675360F")
    rnd_b_enc = h("A04C124213C186F22399D33AC2A30215")
    rnd_b = cbc_decrypt(key, bytes(16), rnd_b_enc)
    token = cbc_encrypt(key, bytes(16), rnd_a + rotl1(rnd_b))
    conf_enc = h("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F08120663")
    conf = cbc_decrypt(key, bytes(16), conf_enc)
    sv1, sv2, enc, mac = session_keys(key, rnd_a, rnd_b)
    assert enc == h("1309C877509E5A215007FF0ED19CA564")
    assert mac == h("4C6626F5E72EA694202139295C7A7FC7")
    add("EV2FIRST", "AN12196 Rev. 1.8 section 6.6 Table 14 (key 00, the zero key)",
        key=key, capdu1=ev2.capdu(0x71, h("00 00")), rapdu1=rnd_b_enc + h("91AF"), rnd_b=rnd_b,
        rnd_a=rnd_a, rnd_b_rot=rotl1(rnd_b), token_plain=rnd_a + rotl1(rnd_b),
        capdu2=ev2.capdu(0xAF, token), rapdu2=conf_enc + h("9100"), confirmation=conf,
        ti=conf[:4], rnd_a_rot=conf[4:20], pd_cap2=conf[20:26], pcd_cap2=conf[26:32],
        sv1=sv1, sv2=sv2, ses_auth_enc_key=enc, ses_auth_mac_key=mac)

    # Session keys with a non-zero key (Proxmark3 desfiretest.c, second vector).
    sv1, sv2, enc, mac = session_keys(h("00112233445566778899AABBCCDDEEFF"),
                                      h("0123456789ABCDEF0123456789ABCDEF"),
                                      h("FEDCBA9876543210FEDCBA9876543210"))
    assert enc == h("195428119C8528D59580A73C7C96C6A3")
    add("SESSIONKEYS-NONZERO", "Proxmark3 client/src/mifare/desfiretest.c TestEV2SessionKeys "
        "(second vector; not an NXP publication)", key=h("00112233445566778899AABBCCDDEEFF"),
        rnd_a=h("0123456789ABCDEF0123456789ABCDEF"), rnd_b=h("FEDCBA9876543210FEDCBA9876543210"),
        sv1=sv1, sv2=sv2, ses_auth_enc_key=enc, ses_auth_mac_key=mac)

    # IVc, padding, encrypted CmdData and MAC input in Full mode (AN12196 Table 18).
    ses_enc = h("1309C877509E5A215007FF0ED19CA564")
    ses_mac = h("4C6626F5E72EA694202139295C7A7FC7")
    ti = h("9D00C4DF")
    header = h("02000000800000")
    ndef = (h("0051D1014D5504") + b"choose.url.com/ntag424?e=" + b"0" * 32 + b"&c=" + b"0" * 16)
    data = ndef + bytes(45)
    ivc_in = iv_input("command", ti, 0)
    ivc = aes_ecb_encrypt(ses_enc, ivc_in)
    assert ivc == h("D2CB7277A17841A06654A48188C1F8F5")
    enc_data = cbc_encrypt(ses_enc, ivc, pad_m2(data))
    mac_in = b"\x8D" + bytes(2) + ti + header + enc_data
    full = cmac(ses_mac, mac_in)
    assert mac_t(full) == h("D1D9A8499661EBF3")
    resp_in = b"\x00" + (1).to_bytes(2, "little") + ti
    assert mac_t(cmac(ses_mac, resp_in)) == h("FC222E5F7A542452")
    ivr_in = iv_input("response", ti, 1)
    add("FULL-COMMAND", "AN12196 Rev. 1.8 section 6.8.2 Table 18 (WriteData in Full mode; "
        "the table's CmdHeader misprints the length as 530000)",
        ses_auth_enc_key=ses_enc, ses_auth_mac_key=ses_mac, ti=ti, cmd_ctr=0, header=header,
        data_len=len(data), padded_len=len(pad_m2(data)), ivc_input=ivc_in, ivc=ivc,
        data_enc_first_block=enc_data[:16], data_enc_last_block=enc_data[-16:],
        mac_input_start=mac_in[:16], cmac=full, mact=mac_t(full),
        resp_mac_input=resp_in, resp_mact=mac_t(cmac(ses_mac, resp_in)),
        ivr_input_ours=ivr_in, ivr_ours=aes_ecb_encrypt(ses_enc, ivr_in))

    # AN10922 AES-128 (AN10922 Rev. 2.2 section 2.2.1 Table 2).
    master = h("00112233445566778899AABBCCDDEEFF")
    m = h("04782E21801D803042F54E585020416275")
    padded, xored, div = ev2.an10922_aes128(master, m)
    _, k1, k2 = cmac_subkeys(master)
    assert div == h("A8DD63A3B89D54B37CA802473FDA9175")
    add("AN10922", "AN10922 Rev. 2.2 section 2.2.1 Table 2", master=master, K1=k1, K2=k2,
        div_input=m, padded=padded, last_block_xored=xored[16:], key=div)
    # ... and the §9 card's K0 (spec section 6).
    div0 = gp.div_input(h("04782E21801D80"), 0x0AC501, 0, SYS_ID)
    k0 = gp.an10922_aes128(h("000102030405060708090A0B0C0D0E0F"), div0)
    assert hx(k0) == "E680134BFB864DDCAD199DED2B7ABF79"
    add("AN10922-K0", "ENCODING-DRAFT section 9 (the §9 test card's K0)",
        master=h("000102030405060708090A0B0C0D0E0F"), div_input=div0, key=k0)

    # The ECDSA TBS of the §9 card.
    v, trusted = test_card()
    add("TBS", "ENCODING-DRAFT section 9 (the §9 test card)", tbs=h(v["credential"]["tbs"]),
        tbs_sha256=h(v["credential"]["tbs_sha256"]), r=h(v["credential"]["signature_r"]),
        s=h(v["credential"]["signature_s"]),
        public_key=h("0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
                     "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"))
    assert gp.ecdsa_verify(ex[-1]["public_key"] and h(ex[-1]["public_key"]),
                           h(v["credential"]["tbs"]),
                           int(ex[-1]["r"], 16), int(ex[-1]["s"], 16))

    # The originality signature (Read_Sig): a real EV3 card and the virtual card's TEST key.
    add("ORIGSIG", "Proxmark3 tools/recover_pk.py real DESFire EV3 sample (commit 1c8c3b78)",
        public_key=h("041DB46C145D0A36539C6544BD6D9B0AA62FF91EC48CBC6ABAE36E0089A46F0D08"
                     "C8A715EA40A63313B92E90DDC1730230E0458A33276FB743"),
        uid=h("04448BD2DB6B80"),
        signature=h("5CBB5632795C8F15263FEFB095B51C7B541AFD914A1AE44EF6FB8AF6"
                    "05EDF13DBFEE6C3A2DB372245E671DFE0D42CB1F0D0B8FE67A89D2F6"))
    return {"format": "gen-pacs-spec-examples/1",
            "generator": "specs/vectors/gen-pacs/gen_worked_transaction.py",
            "spec": "specs/generic-encoding.md section 2",
            "examples": ex}


STEP_NAMES = {"2": "SelectApplication", "3": "AuthenticateEV2First K1",
              "4": "GetCardUID (Full)", "5": "GetKeyVersion K2 (MAC)",
              "7": "AuthenticateEV2NonFirst K2", "9": "ReadData file 01 (Full)",
              "12": "Read_Sig (Full)"}


def render(doc):
    """The markdown of spec section 12.1, from the transactions."""
    out = []
    for t in doc["transactions"]:
        out.append("#### %s: %s\n" % (t["id"], t["title"]))
        out.append("| Step | | Frame |\n|---|---|---|")
        for s in t["steps"]:
            for i, fr in enumerate(s["frames"]):
                label = "%s %s" % (s["spec_step"], STEP_NAMES[s["spec_step"]]) if i == 0 else ""
                out.append("| %s | C | `%s` |" % (label, spaced(fr["capdu"])))
                out.append("| | R | `%s` |" % spaced(fr["rapdu"]))
        out.append("")
        out.append("Values, in the order a reader computes them:\n")
        for s in t["steps"]:
            st = s["spec_step"]
            if s["step"].startswith("authenticate"):
                first = s["step"].endswith("first") and "nonfirst" not in s["step"]
                out.append("- Step %s (key %s `%s`):" % (st, "K1" if first else "K2", s["key"]))
                out.append("  - RndB = D(K, IV 0, `%s`) = `%s`; RndB<<8 = `%s`"
                           % (s["rnd_b_enc"], s["rnd_b"], s["rnd_b_rot"]))
                out.append("  - RndA = `%s`; token = E(K, IV 0, RndA ‖ RndB<<8) = `%s`"
                           % (s["rnd_a"], s["token_enc"]))
                out.append("  - answer decrypted = `%s`; RndA<<8 = `%s`%s"
                           % (s["confirmation_dec"], s["rnd_a_rot"],
                              "; TI = `%s`" % s["ti"] if first else ""))
                out.append("  - SV1 = `%s`" % s["sv1"])
                out.append("  - SV2 = `%s`" % s["sv2"])
                out.append("  - SesAuthENCKey = `%s`, SesAuthMACKey = `%s`; CmdCtr = %d"
                           % (s["ses_enc"], s["ses_mac"], s["cmd_ctr_after"]))
            elif s["step"] == "command":
                out.append("- Step %s (CmdCtr %d):" % (st, s["cmd_ctr"]))
                out.append("  - MAC input `%s` → CMAC `%s` → MACt `%s`"
                           % (s["mac_input"], s["cmac"], s["mact"]))
                if "ivr" in s:
                    rmi = s["resp_mac_input"]
                    out.append("  - response MAC input `%s` (%d bytes) → MACt `%s`"
                               % (rmi if len(rmi) <= 64 else rmi[:64] + "…", len(rmi) // 2,
                                  s["resp_mact"]))
                    out.append("  - IVr = E(SesAuthENCKey, `%s`) = `%s`"
                               % (s["ivr_input"], s["ivr"]))
                    plain = s["resp_data_padded"]
                    if len(plain) > 96:
                        plain = plain[:64] + "…" + plain[-32:]
                    out.append("  - decrypted `%s`" % plain)
                else:
                    out.append("  - response MAC input `%s` → MACt `%s`"
                               % (s["resp_mac_input"], s["resp_mact"]))
                out.append("  - result `%s`" % (s["response_data"] if len(s["response_data"]) <= 112
                                                   else "the 160-byte credential file"))
        out.append("- Output (step 11): `%s`\n" % spaced(t["output_bytes"]))
    return "\n".join(out)


def spaced(hexstr):
    return " ".join(hexstr[i:i + 2] for i in range(0, len(hexstr), 2))


def spec_mentions(spec, value):
    """The spec writes hex unseparated or space-separated, maybe broken over lines."""
    flat = re.sub(r"[\s`|‖]", "", spec).upper()
    return value.upper() in flat


def check_spec(doc, exdoc):
    with open(SPEC, encoding="utf-8") as f:
        spec = f.read()
    missing = []
    for t in doc["transactions"]:
        for i, fr in enumerate(t["frames"]):
            for side in ("capdu", "rapdu"):
                if not spec_mentions(spec, fr[side]):
                    missing.append("%s frame %d %s" % (t["id"], i, side))
        for s in t["steps"]:
            for k in ("sv1", "sv2", "ses_enc", "ses_mac", "ti", "rnd_a", "rnd_b", "mac_input",
                      "ivr", "ivr_input", "resp_mac_input", "mact", "resp_mact"):
                if k not in s:
                    continue
                value = s[k]
                if k == "resp_mac_input" and len(value) > 64:
                    # The spec prints the first 32 bytes; the rest is the frame's ciphertext.
                    assert value[14:] == s["response_body"][:-16], k
                    value = value[:64]
                if not spec_mentions(spec, value):
                    missing.append("%s step %s %s" % (t["id"], s["spec_step"], k))
    for e in exdoc["examples"]:
        for k, v in e.items():
            if k in ("id", "source") or not isinstance(v, str):
                continue
            if not spec_mentions(spec, v):
                missing.append("example %s %s" % (e["id"], k))
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--print-tables", action="store_true",
                    help="print the spec's frame tables (markdown) from the transactions")
    args = ap.parse_args()
    ev2.check_published()
    print("published vectors: all reproduced")
    doc = generate_transactions()
    exdoc = examples()
    texts = {OUT: json.dumps(doc, indent=2) + "\n", EXAMPLES: json.dumps(exdoc, indent=2) + "\n"}
    if args.print_tables:
        print(render(doc))
        return 0
    missing = check_spec(doc, exdoc)
    if args.check:
        bad = 0
        for path, text in texts.items():
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    print("%s differs from the generator's output" % os.path.basename(path),
                          file=sys.stderr)
                    bad = 1
        if missing:
            print("not in the spec: " + ", ".join(missing), file=sys.stderr)
            bad = 1
        if not bad:
            print("worked-transaction.json, spec-examples.json: identical to the generator's "
                  "output; every frame and value is in the spec")
        return bad
    for path, text in texts.items():
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote", os.path.relpath(path))
    if missing:
        print("not yet in the spec (%d): %s" % (len(missing), ", ".join(missing[:8])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
