#!/usr/bin/env python3
"""An independent PC/SC client of the emulated card: pyscard (the PC/SC binding most Python
smart-card tools use) for the transport, and the EV2 secure messaging of
specs/vectors/gen_ev2_vectors.py (Python `cryptography`, written from the public protocol facts,
not from desfire-core) for the protocol.

Against `desfire emulate --card specs/cards/lab-example.json` in reader "Virtual PCD 00 00" it
does what a vendor's PC/SC reader software would: GET DATA (FF CA) for the UID, SelectApplication
0AC501, AuthenticateEV2First with key 1, GetCardUID (Full), ReadData of the backup file (MAC),
GetValue of the value file (Full), every response MAC verified and Full data decrypted. It
prints one JSON object and exits 0, or prints why and exits 1.

Usage: pyscard_ev2_client.py READER
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "specs", "vectors"))
import gen_ev2_vectors as ev2  # noqa: E402

from smartcard.System import readers  # noqa: E402

APP_KEY_1 = bytes.fromhex("4C41422D4150502D4B45592D312D4E50")  # lab key of the example image
AID_0AC501 = bytes.fromhex("01C50A")  # LSB first on the wire


class Card:
    def __init__(self, reader_name):
        matches = [r for r in readers() if str(r) == reader_name]
        if not matches:
            raise SystemExit("no reader %r (have %s)" % (reader_name, [str(r) for r in readers()]))
        self.conn = matches[0].createConnection()
        self.conn.connect()
        self.session = None

    def transmit(self, apdu):
        data, sw1, sw2 = self.conn.transmit(list(apdu))
        return bytes(data), bytes([sw1, sw2])

    def native(self, ins, body):
        """One native command, chained responses fetched with AF; returns (data, status)."""
        data, sw = self.transmit(ev2.capdu(ins, body))
        while sw == b"\x91\xAF":
            more, sw = self.transmit(ev2.capdu(0xAF, b""))
            data += more
        if sw[0] != 0x91:
            raise SystemExit("INS %02X: status word %s" % (ins, sw.hex()))
        return data, sw[1]

    def authenticate_ev2_first(self, key_no, key):
        rnd_a = os.urandom(16)
        r, sw = self.transmit(ev2.capdu(0x71, bytes([key_no, 0x00])))
        if sw != b"\x91\xAF" or len(r) != 16:
            raise SystemExit("AuthenticateEV2First part 1: %s %s" % (r.hex(), sw.hex()))
        rnd_b = ev2.cbc_decrypt(key, bytes(16), r)
        token = ev2.cbc_encrypt(key, bytes(16), rnd_a + ev2.rotl1(rnd_b))
        r, sw = self.transmit(ev2.capdu(0xAF, token))
        if sw != b"\x91\x00" or len(r) != 32:
            raise SystemExit("AuthenticateEV2First part 2: %s %s" % (r.hex(), sw.hex()))
        dec = ev2.cbc_decrypt(key, bytes(16), r)
        if dec[4:20] != ev2.rotl1(rnd_a):
            raise SystemExit("the card's RndA' does not match")
        _, _, enc, mac = ev2.session_keys(key, rnd_a, rnd_b)
        self.session = dict(enc=enc, mac=mac, ti=dec[:4], ctr=0)

    def secured(self, ins, header, mode):
        """A command with a header and no data in MAC or Full mode; returns the clear response."""
        s = self.session
        ctr = s["ctr"]
        mac_in = bytes([ins]) + ctr.to_bytes(2, "little") + s["ti"] + header
        resp, status = self.native(ins, header + ev2.mac_t(ev2.cmac(s["mac"], mac_in)))
        if status != 0x00:
            raise SystemExit("INS %02X: card status %02X" % (ins, status))
        payload, mact = resp[:-8], resp[-8:]
        resp_in = b"\x00" + (ctr + 1).to_bytes(2, "little") + s["ti"] + payload
        if ev2.mac_t(ev2.cmac(s["mac"], resp_in)) != mact:
            raise SystemExit("INS %02X: response MAC mismatch" % ins)
        s["ctr"] = ctr + 1
        if mode == "full" and payload:
            ivr = ev2.aes_ecb_encrypt(s["enc"], ev2.iv_input("response", s["ti"], ctr + 1))
            return ev2.unpad_m2(ev2.cbc_decrypt(s["enc"], ivr, payload))
        return payload


def main():
    card = Card(sys.argv[1])
    uid, sw = card.transmit(bytes.fromhex("FFCA000000"))
    if sw != b"\x90\x00":
        raise SystemExit("GET DATA: %s" % sw.hex())
    _, status = card.native(0x5A, AID_0AC501)
    if status != 0x00:
        raise SystemExit("SelectApplication: %02X" % status)
    card.authenticate_ev2_first(1, APP_KEY_1)
    card_uid = card.secured(0x51, b"", "full")
    backup = card.secured(0xBD, bytes([0x02]) + (0).to_bytes(3, "little") + (16).to_bytes(3, "little"), "mac")
    value = card.secured(0x6C, bytes([0x03]), "full")
    print(json.dumps({
        "anticollision_uid": uid.hex().upper(),
        "card_uid": card_uid.hex().upper(),
        "backup_file": backup.hex().upper(),
        "value": int.from_bytes(value, "little", signed=True),
        "cmd_ctr": card.session["ctr"],
    }))


if __name__ == "__main__":
    main()
