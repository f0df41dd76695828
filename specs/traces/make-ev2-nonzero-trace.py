#!/usr/bin/env python3
"""Writes ev2-nonzero-key.trace: a synthetic EV2 session with non-zero keys, for the trace decoder.

Independent of desfire-core on purpose: it uses only the `cryptography` package and the protocol
facts written down in shared/vectors/nxp-public.md (AN12196, NT4H2421Gx). If desfire-core and this
script disagreed about a session key, an IV, a MAC input or the counter, the decoder tests built on
the trace would fail.

    python3 specs/traces/make-ev2-nonzero-trace.py > specs/traces/ev2-nonzero-key.trace

The exchanges (application 0AC501, its key 2 = 00112233445566778899AABBCCDDEEFF and its key 0 =
F0E1D2C3B4A5968778695A4B3C2D1E0F):

 0     SelectApplication 0AC501, unauthenticated
 1, 2  AuthenticateEV2First with key 2                      -> TI, CmdCtr 0
 3     ReadData file 01, 32 bytes, CommMode.Full            CmdCtr 0 -> 1
 4     GetFileSettings file 01, CommMode.MAC (file is Full) CmdCtr 1 -> 2
 5     ISOSelectFile EF E104 (CLA 00)                       not counted
 6     GetVersion, CommMode.MAC, answer over three frames   CmdCtr 2 -> 3 (chained: counts once)
 7     WriteData file 01, 8 bytes, CommMode.Full            CmdCtr 3 -> 4
 8     WriteData file 03, 4 bytes, CommMode.Plain           CmdCtr 4 -> 5 (Plain counts too)
 9, 10 AuthenticateEV2NonFirst with key 0                   TI kept, CmdCtr stays 5
 11    ChangeKey key 2 (not the authenticated key)          CmdCtr 5 -> 6
 12    ChangeKey key 0 (the authenticated key)              bare 9100, session ends
 13    GetKeySettings, unauthenticated
"""

import sys
import zlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KEY2 = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
KEY0 = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")
# Random-looking, fixed so the trace is reproducible.
RND_A1 = bytes.fromhex("7E3A91C45D0B28F6A1E4537C9D06B2E8")
RND_B1 = bytes.fromhex("C2584F1A9E73D06B3F8A21C7E95D046A")
RND_A2 = bytes.fromhex("5F08E2B7134CA69D820B7EF1D4396A5C")
RND_B2 = bytes.fromhex("9AD3047BE1265FC8304E9B1A7D62C5F3")
TI = bytes.fromhex("3B7C10E5")
PD_CAP2 = bytes(6)
PCD_CAP2 = bytes(6)

FILE1_DATA = b"DESFire EV3 non-zero-key sample!"
WRITE1_DATA = bytes.fromhex("CAFEF00D12345678")
WRITE3_DATA = bytes.fromhex("DEADBEEF")
# FileType 00 (standard data), FileOption 03 (CommMode.Full), access rights bytes 00 22
# (Read 2, Write 2, ReadWrite 0, Change 0), FileSize 000020.
FILE1_SETTINGS = bytes.fromhex("0003002220" "0000")
VERSION_FRAMES = [
    bytes.fromhex("04010133001A05"),
    bytes.fromhex("04010103001A05"),
    bytes.fromhex("045A2C729B4F80BA34517E202823"),
]
NEW_KEY2 = bytes.fromhex("A1A2A3A4A5A6A7A8A9AAABACADAEAFB0")
NEW_KEY2_VERSION = 0x01
NEW_KEY0 = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
NEW_KEY0_VERSION = 0x02
KEY_SETTINGS = bytes.fromhex("0B8E")

ZERO_IV = bytes(16)


def ecb(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def cbc_enc(key, iv, data):
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def cbc_dec(key, iv, data):
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


def cmac(key, msg):
    c = CMAC(algorithms.AES(key))
    c.update(msg)
    return c.finalize()


def mac_t(full):
    """The odd-indexed bytes 1, 3, ..., 15 (NXP's 'even-numbered bytes' S14..S0)."""
    return full[1::2]


def pad(data):
    """ISO/IEC 9797-1 method 2: always 80, then 00 to a multiple of 16."""
    out = data + b"\x80"
    while len(out) % 16:
        out += b"\x00"
    return out


def rot(b):
    return b[1:] + b[:1]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def crc32_desfire(data):
    """CRC-32/JAMCRC (zlib's CRC32 without the final XOR), least significant byte first."""
    return ((zlib.crc32(data) ^ 0xFFFFFFFF) & 0xFFFFFFFF).to_bytes(4, "little")


def session_keys(key, rnd_a, rnd_b):
    ctx = rnd_a[0:2] + xor(rnd_a[2:8], rnd_b[0:6]) + rnd_b[6:16] + rnd_a[8:16]
    sv1 = bytes.fromhex("A55A00010080") + ctx
    sv2 = bytes.fromhex("5AA500010080") + ctx
    return cmac(key, sv1), cmac(key, sv2)


class Session:
    def __init__(self, enc, mac, ti, ctr):
        self.enc, self.mac, self.ti, self.ctr = enc, mac, ti, ctr

    def _ctr(self, n):
        return n.to_bytes(2, "little")

    def iv_cmd(self):
        return ecb(self.enc, b"\xA5\x5A" + self.ti + self._ctr(self.ctr) + bytes(8))

    def iv_resp(self):
        return ecb(self.enc, b"\x5A\xA5" + self.ti + self._ctr(self.ctr + 1) + bytes(8))

    def cmd_mac(self, ins, header, data):
        return mac_t(cmac(self.mac, bytes([ins]) + self._ctr(self.ctr) + self.ti + header + data))

    def resp_mac(self, rc, data):
        return mac_t(cmac(self.mac, bytes([rc]) + self._ctr(self.ctr + 1) + self.ti + data))


def capdu(ins, *parts):
    data = b"".join(parts)
    head = bytes([0x90, ins, 0x00, 0x00])
    if data:
        return " ".join(p.hex().upper() for p in (head, bytes([len(data)])) + parts + (b"\x00",) if p)
    return head.hex().upper() + " 00"


def rapdu(*parts, sw="9100"):
    return " ".join([p.hex().upper() for p in parts if p] + [sw])


out = []


def say(line=""):
    out.append(line)


def exchange(comment, command, response):
    say(f"# {comment}")
    say(f"> {command}")
    say(f"< {response}")
    say()


say("# Synthetic MIFARE DESFire EV3 trace with non-zero keys, made by make-ev2-nonzero-trace.py")
say("# (independent of desfire-core: Python `cryptography` and the facts in nxp-public.md).")
say("# Decode with:")
say("#   desfire trace decode specs/traces/ev2-nonzero-key.trace \\")
say("#     --key 2=00112233445566778899AABBCCDDEEFF --key 0=F0E1D2C3B4A5968778695A4B3C2D1E0F")
say("# Lab keys only: never put real keys in a trace file or on a command line.")
say()

exchange("SelectApplication 0AC501 (AID on the wire LSB first), unauthenticated",
         capdu(0x5A, bytes.fromhex("01C50A")), rapdu())

# AuthenticateEV2First, key 2.
e_rnd_b = cbc_enc(KEY2, ZERO_IV, RND_B1)
token = cbc_enc(KEY2, ZERO_IV, RND_A1 + rot(RND_B1))
answer = cbc_enc(KEY2, ZERO_IV, TI + rot(RND_A1) + PD_CAP2 + PCD_CAP2)
enc1, mac1 = session_keys(KEY2, RND_A1, RND_B1)
exchange("AuthenticateEV2First key 2, LenCap 00: card answers E(K, RndB)",
         capdu(0x71, b"\x02\x00"), rapdu(e_rnd_b, sw="91AF"))
say(f"# RndA {RND_A1.hex().upper()}, RndB {RND_B1.hex().upper()}, TI {TI.hex().upper()}")
say(f"# expected SesAuthENCKey {enc1.hex().upper()}")
say(f"# expected SesAuthMACKey {mac1.hex().upper()}")
exchange("part 2: E(K, RndA || RndB') -> E(K, TI || RndA' || PDcap2 || PCDcap2)",
         capdu(0xAF, token), rapdu(answer))
s = Session(enc1, mac1, TI, 0)

# ReadData file 01, offset 0, length 32, CommMode.Full.
header = bytes.fromhex("01" "000000" "200000")
resp_enc = cbc_enc(s.enc, s.iv_resp(), pad(FILE1_DATA))
exchange(f"ReadData file 01, 32 bytes, CommMode.Full, CmdCtr {s.ctr}: data {FILE1_DATA.hex().upper()}",
         capdu(0xBD, header, s.cmd_mac(0xBD, header, b"")),
         rapdu(resp_enc, s.resp_mac(0x00, resp_enc)))
s.ctr += 1

# GetFileSettings file 01, CommMode.MAC.
header = bytes.fromhex("01")
exchange(f"GetFileSettings file 01, CommMode.MAC, CmdCtr {s.ctr}: FileOption 03 = CommMode.Full",
         capdu(0xF5, header, s.cmd_mac(0xF5, header, b"")),
         rapdu(FILE1_SETTINGS, s.resp_mac(0x00, FILE1_SETTINGS)))
s.ctr += 1

# ISOSelectFile: an ISO command; AN12196 T22 -> T26 shows it does not move the counter.
exchange(f"ISOSelectFile EF E104 (CLA 00), not counted: CmdCtr stays {s.ctr}",
         "00A4020C 02 E104", "9000")

# GetVersion, CommMode.MAC, three response frames; the MAC covers all 28 bytes.
all_version = b"".join(VERSION_FRAMES)
say(f"# GetVersion, CommMode.MAC, CmdCtr {s.ctr}, answer chained over three frames;")
say("# the response MAC covers all 28 bytes and the command counts once")
say(f"> {capdu(0x60, s.cmd_mac(0x60, b'', b''))}")
say(f"< {rapdu(VERSION_FRAMES[0], sw='91AF')}")
say(f"> {capdu(0xAF)}")
say(f"< {rapdu(VERSION_FRAMES[1], sw='91AF')}")
say(f"> {capdu(0xAF)}")
say(f"< {rapdu(VERSION_FRAMES[2], s.resp_mac(0x00, all_version))}")
say()
s.ctr += 1

# WriteData file 01, offset 0, 8 bytes, CommMode.Full.
header = bytes.fromhex("01" "000000" "080000")
cmd_enc = cbc_enc(s.enc, s.iv_cmd(), pad(WRITE1_DATA))
exchange(f"WriteData file 01, 8 bytes, CommMode.Full, CmdCtr {s.ctr}: data {WRITE1_DATA.hex().upper()}",
         capdu(0x3D, header, cmd_enc, s.cmd_mac(0x3D, header, cmd_enc)),
         rapdu(s.resp_mac(0x00, b"")))
s.ctr += 1

# WriteData file 03, CommMode.Plain: no MAC either way, but the counter moves (AN12196 T25).
header = bytes.fromhex("03" "000000" "040000")
exchange(f"WriteData file 03, 4 bytes, CommMode.Plain, CmdCtr {s.ctr} (counted although plain)",
         capdu(0x3D, header, WRITE3_DATA), rapdu())
s.ctr += 1

# AuthenticateEV2NonFirst, key 0: new session keys, TI and CmdCtr kept.
e_rnd_b = cbc_enc(KEY0, ZERO_IV, RND_B2)
token = cbc_enc(KEY0, ZERO_IV, RND_A2 + rot(RND_B2))
answer = cbc_enc(KEY0, ZERO_IV, rot(RND_A2))
enc2, mac2 = session_keys(KEY0, RND_A2, RND_B2)
exchange("AuthenticateEV2NonFirst key 0: card answers E(K, RndB)",
         capdu(0x77, b"\x00"), rapdu(e_rnd_b, sw="91AF"))
say(f"# RndA {RND_A2.hex().upper()}, RndB {RND_B2.hex().upper()}; TI stays {TI.hex().upper()}, CmdCtr stays {s.ctr}")
say(f"# expected SesAuthENCKey {enc2.hex().upper()}")
say(f"# expected SesAuthMACKey {mac2.hex().upper()}")
exchange("part 2: E(K, RndA || RndB') -> E(K, RndA')", capdu(0xAF, token), rapdu(answer))
s = Session(enc2, mac2, TI, s.ctr)

# ChangeKey key 2 while authenticated with key 0: (New XOR Old) || KeyVer || CRC32(New).
key_data = xor(NEW_KEY2, KEY2) + bytes([NEW_KEY2_VERSION]) + crc32_desfire(NEW_KEY2)
header = b"\x02"
cmd_enc = cbc_enc(s.enc, s.iv_cmd(), pad(key_data))
exchange(f"ChangeKey key 2 (another key), CmdCtr {s.ctr}: key data {key_data.hex().upper()}",
         capdu(0xC4, header, cmd_enc, s.cmd_mac(0xC4, header, cmd_enc)),
         rapdu(s.resp_mac(0x00, b"")))
s.ctr += 1

# ChangeKey key 0, the authenticated key: NewKey || KeyVer; bare 9100, authentication ends.
key_data = NEW_KEY0 + bytes([NEW_KEY0_VERSION])
header = b"\x00"
cmd_enc = cbc_enc(s.enc, s.iv_cmd(), pad(key_data))
exchange(f"ChangeKey key 0 (the authenticated key), CmdCtr {s.ctr}: key data {key_data.hex().upper()};"
         " bare 9100, the session ends",
         capdu(0xC4, header, cmd_enc, s.cmd_mac(0xC4, header, cmd_enc)), rapdu())

exchange("GetKeySettings, unauthenticated (plain)", capdu(0x45), rapdu(KEY_SETTINGS))

# Self-checks of the helpers against published vectors (nxp-public.md), so a helper bug cannot
# slip into the trace unnoticed.
assert len(FILE1_DATA) == 32
assert crc32_desfire(b"123456789") == bytes.fromhex("D9C60B34")
assert mac_t(bytes.fromhex("B565AC978FA46D5784C845CD1444102C")) == bytes.fromhex("6597A457C8CD442C")
t14 = session_keys(bytes(16), bytes.fromhex("13C5DB8A5930439FC3DEF9A4C675360F"),
                   bytes.fromhex("B9E2FC789B64BF237CCCAA20EC7E6E48"))
assert t14 == (bytes.fromhex("1309C877509E5A215007FF0ED19CA564"),
               bytes.fromhex("4C6626F5E72EA694202139295C7A7FC7"))
pm3 = session_keys(KEY2, bytes.fromhex("0123456789ABCDEF0123456789ABCDEF"),
                   bytes.fromhex("FEDCBA9876543210FEDCBA9876543210"))
assert pm3 == (bytes.fromhex("195428119C8528D59580A73C7C96C6A3"),
               bytes.fromhex("0AF00F6E39F904C4A6388C812D53DC94"))
t18 = Session(bytes.fromhex("1309C877509E5A215007FF0ED19CA564"),
              bytes.fromhex("4C6626F5E72EA694202139295C7A7FC7"), bytes.fromhex("9D00C4DF"), 0)
assert t18.iv_cmd() == bytes.fromhex("D2CB7277A17841A06654A48188C1F8F5")
assert t18.resp_mac(0, b"") == bytes.fromhex("FC222E5F7A542452")
assert cbc_dec(KEY2, ZERO_IV, cbc_enc(KEY2, ZERO_IV, RND_B1)) == RND_B1

sys.stdout.write("\n".join(out).rstrip("\n") + "\n")
