#!/usr/bin/env python3
"""End-to-end test of the reader firmware, nothing mocked inside the firmware:

    desfire emulate --pn532 unix:PN532.sock  <-UART0->  QEMU mps2-an386 reader  <-UART1->  libosdp CP

The emulated PN532 (`desfire emulate --pn532`) presents a wrong-key card (K2 from a foreign
master: spec section 17 T3) and then the lab golden card (credential ID 1A2B3C4D5E6F7081). The
control panel is the reference C libosdp (PyPI `libosdp`), Secure Channel on with the lab SCBK
and ENFORCE_SECURE (no plaintext fallback). The cards enter the field once the channel is up.
Pass: the channel comes up secure, the panel gets exactly one card read, raw format, 64 bits,
with the golden card's credential ID, and the wrong-key card was presented and left the field
without output. Then:

- session drop: the panel goes away, the golden card is read again (the read waits in the PD's
  queue), a new panel connects (SQN 0 ends the old session): the read never reaches it;
- tamper: the tamper contact is "pressed" through QEMU's gdbstub (QEMU does not model the
  MPS2 buttons); the lab keys (K1, the K2 master, the SCBK), found in the reader's RAM before,
  are gone from it after; the Secure Channel ends and cannot come back; the reader stops
  polling the PN532;
- the time floor survives a restart: two boots with the same floor file (semihosting); the
  panel sets the time ten days ahead in the first, a card valid until tomorrow is granted in
  the first and expired in the second.

    firmware/tests/e2e_qemu.py --desfire target/release/desfire --elf path/to/reader-qemu

Prints `N passed, N failed`; exit status 0 only when every check passed. Starts everything it
needs and stops it, also on failure. TEST keys only (spec section 16).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import osdp

GOLDEN_ID = "1A2B3C4D5E6F7081"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_PROFILE = os.path.join(REPO, "specs", "profiles", "lab.toml")

# The one control panel's OSDP line (whole packets to libosdp) and the lab SCBK, shared with
# `desfire audit --firmware` (host-tools/peers/osdp_panel.py).
sys.path.insert(0, os.path.join(REPO, "host-tools", "peers"))
from osdp_panel import LAB_SCBK, libosdp_channel  # noqa: E402


def wait_for(predicate, timeout, what):
    """Polls `predicate` until it holds or `timeout` seconds pass (there is no event to block on
    for a socket file appearing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    print(f"    timed out after {timeout}s waiting for {what}")
    return False


class Run:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        print(f"    {'ok  ' if ok else 'FAIL'} {what}")
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def run_tool(argv):
    """Runs a `desfire` command; its stderr goes into the error when it fails."""
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")


def make_cards(desfire, work, lab_profile):
    golden = os.path.join(work, "golden.json")
    wrong = os.path.join(work, "wrong-key.json")
    run_tool([desfire, "card", "encode", "--profile", "lab", "--credential-id", GOLDEN_ID,
              "--image", golden])
    # The same lab profile with a foreign K2 master: the card's K2 is not what the reader derives.
    with open(lab_profile) as f:
        text = f.read()
    k2 = 'k2 = "202122232425262728292A2B2C2D2E2F"'
    if k2 not in text:
        raise RuntimeError(f"{lab_profile} has no {k2}")
    foreign = os.path.join(work, "foreign-k2.toml")
    with open(foreign, "w") as f:
        f.write(text.replace(k2, 'k2 = "606162636465666768696A6B6C6D6E6F"'))
    run_tool([desfire, "card", "encode", "--profile", foreign, "--credential-id",
              "0102030405060708", "--image", wrong])
    return golden, wrong


class Gdb:
    """Just enough of the GDB remote serial protocol to read and write the target's memory
    through QEMU's gdbstub. Connecting halts the emulated CPU; `detach` lets it run on."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.request("?")

    def _packet(self):
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                body = self.buf[start + 1:end]
                self.buf = self.buf[end + 3:]
                self.sock.sendall(b"+")
                return body.decode()
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("gdbstub closed the connection")
            self.buf += data

    def request(self, body):
        checksum = sum(body.encode()) % 256
        self.sock.sendall(f"${body}#{checksum:02x}".encode())
        reply = self._packet()
        # A stop notification (T05..., S05) may come before the answer: never hex, never OK.
        while body != "?" and reply[:1] in ("T", "S"):
            reply = self._packet()
        return reply

    def read(self, addr, length):
        out = b""
        while len(out) < length:
            n = min(1024, length - len(out))
            reply = self.request(f"m{addr + len(out):x},{n:x}")
            if reply.startswith("E"):
                raise RuntimeError(f"gdbstub: read {addr + len(out):#x}: {reply}")
            out += bytes.fromhex(reply)
        return out

    def write(self, addr, data):
        reply = self.request(f"M{addr:x},{len(data):x}:{data.hex()}")
        if reply != "OK":
            raise RuntimeError(f"gdbstub: write {addr:#x}: {reply}")

    def detach(self):
        self.request("D")
        self.sock.close()


def elf_symbols(elf, names):
    """The addresses of `names` in the image (arm-none-eabi-nm)."""
    out = subprocess.run(["arm-none-eabi-nm", elf], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in names:
            found[parts[2]] = int(parts[0], 16)
    missing = set(names) - set(found)
    if missing:
        raise RuntimeError(f"{elf}: no symbol {', '.join(sorted(missing))}")
    return found


# The lab keys the reader holds in RAM (public TEST values, firmware/reader/src/lab_values.rs).
LAB_KEYS = {
    "K1": bytes.fromhex("101112131415161718191A1B1C1D1E1F"),
    "K2 master": bytes.fromhex("202122232425262728292A2B2C2D2E2F"),
    "SCBK": bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
}


def keys_in_ram(gdb, symbols):
    """Which lab keys are in the reader's static RAM (.data, .bss, .uninit: where the reader,
    its key store and the PD live)."""
    ram = gdb.read(symbols["__sdata"], symbols["__euninit"] - symbols["__sdata"])
    return sorted(name for name, key in LAB_KEYS.items() if key in ram)


def start_emulator(desfire, sock_path, cards, log_path):
    """`desfire emulate --pn532` with `cards` in the field one after another; QEMU (its serial
    with `reconnect`) connects to it within a second."""
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    argv = [desfire, "emulate", "--pn532", f"unix:{sock_path}", "--trace"]
    for card in cards:
        argv += ["--card", card]
    emu = subprocess.Popen(argv, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    if not wait_for(lambda: os.path.exists(sock_path) or emu.poll() is not None, 20,
                    "the PN532 emulator's socket"):
        raise RuntimeError("emulator did not start")
    if emu.poll() is not None:
        raise RuntimeError(f"emulator exited: {open(log_path).read()}")
    return emu


def new_panel(conn):
    """A libosdp control panel on the line, Secure Channel enforced with the lab SCBK."""
    channel = libosdp_channel(conn)
    pd_info = osdp.PDInfo(0, channel, scbk=LAB_SCBK, flags=[osdp.LibFlag.EnforceSecure])
    cp = osdp.ControlPanel([pd_info], log_level=osdp.LogLevel.Warning)
    cp.start()
    return cp, channel


def card_reads(cp, seconds):
    """The card reads the panel reports within `seconds`."""
    reads = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = cp.get_event(0, timeout=0.2)
        if event is not None:
            print(f"    panel event: {event}")
            if event.get("event") == osdp.Event.CardRead:
                reads.append(event)
    return reads


def start_qemu(qemu_bin, elf, pn532_sock, osdp_sock, log_path, extra=()):
    return subprocess.Popen(
        [qemu_bin, "-M", "mps2-an386", "-display", "none", "-monitor", "none",
         "-semihosting-config", "enable=on,target=native",
         "-serial", f"unix:{pn532_sock},reconnect=1", "-serial", f"unix:{osdp_sock}",
         *extra, "-kernel", elf],
        stdout=open(log_path, "wb"), stderr=subprocess.PIPE)


def time_floor(args, work, run):
    """The time floor survives a restart: a card valid until tomorrow is granted (the runner's
    time, the host clock); the panel then sets the time ten days ahead over the Secure Channel
    (osdp_MFG FF FF FF 01); after a restart the reader refuses the runner's time as earlier than
    the floor it kept, and the same card is expired."""
    print("    -- the time floor across a restart")
    floor_file = os.path.join(work, "time-floor.bin")
    card_id = "1A2B3C4D5E6F7082"
    card = os.path.join(work, "tomorrow.json")
    host_now = int(time.time())
    run_tool([args.desfire, "card", "encode", "--profile", "lab", "--credential-id", card_id,
              "--valid-from", str(host_now - 86_400), "--valid-until", str(host_now + 86_400),
              "--image", card])
    outcomes = []
    for boot in (1, 2):
        pn532_sock = os.path.join(work, f"floor-pn532-{boot}.sock")
        osdp_sock = os.path.join(work, f"floor-osdp-{boot}.sock")
        emu_log = os.path.join(work, f"floor-emulator-{boot}.log")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(osdp_sock)
        server.listen(1)
        server.settimeout(20)
        emu = qemu = cp = None
        try:
            emu = start_emulator(args.desfire, pn532_sock, [card], emu_log)
            qemu = start_qemu(args.qemu, args.elf, pn532_sock, osdp_sock,
                              os.path.join(work, f"floor-qemu-{boot}.defmt"),
                              ["-append", f"floor={floor_file}"])
            conn, _ = server.accept()
            cp, _ = new_panel(conn)
            up = cp.sc_wait(0, timeout=20)
            read_done = wait_for(lambda: "removed from the field" in open(emu_log).read(), 20,
                                 "the card read")
            reads = card_reads(cp, 3)
            ids = [bytes(r.get("data", b"")).hex().upper() for r in reads]
            if boot == 1:
                run.check(up and read_done and ids == [card_id],
                          f"boot 1: the card valid until tomorrow is granted (got {ids})")
                ahead = host_now + 10 * 86_400
                sent = cp.submit_command(0, {
                    "command": osdp.Command.Manufacturer, "vendor_code": 0xFFFFFF,
                    "data": bytes([0x01]) + ahead.to_bytes(4, "little")})
                def kept():
                    with open(floor_file, "rb") as f:
                        return int.from_bytes(f.read()[:4], "little")
                wait_for(lambda: kept() == ahead, 10, "the floor file to hold the panel's time")
                floor = kept()
                run.check(bool(sent) and floor == ahead,
                          f"the panel sets the time ten days ahead (osdp_MFG); the reader keeps "
                          f"it as its floor (stored {floor}, sent {ahead})")
            else:
                run.check(up and read_done and not ids,
                          f"boot 2: the floor survived the restart: the same card is now "
                          f"expired, nothing reaches the panel (got {ids})")
            outcomes.append(ids)
        finally:
            if cp is not None:
                try:
                    cp.stop()
                except Exception:  # noqa: BLE001
                    pass
            stop(qemu, signal.SIGKILL)
            stop(emu, signal.SIGINT)
            server.close()


def stop(proc, sig=signal.SIGTERM):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--desfire", required=True, help="the desfire binary (host-tools)")
    ap.add_argument("--elf", required=True, help="the QEMU reader image")
    ap.add_argument("--qemu", default="qemu-system-arm")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run")
    ap.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    ap.add_argument("--lab-profile", default=LAB_PROFILE,
                    help="the lab profile the wrong-key card's profile is made from")
    args = ap.parse_args()

    run = Run()
    work = tempfile.mkdtemp(prefix="fw-e2e-")
    pn532_sock = os.path.join(work, "pn532.sock")
    osdp_sock = os.path.join(work, "osdp.sock")
    emu = qemu = cp = server = None
    emu_log_path = os.path.join(work, "emulator.log")
    qemu_log_path = os.path.join(work, "qemu-semihosting.defmt")
    gdb_sock = os.path.join(work, "gdb.sock")
    channel = None
    try:
        golden, wrong = make_cards(args.desfire, work, args.lab_profile)
        print(f"    cards: {wrong} (foreign K2), {golden} (golden, {GOLDEN_ID})")
        symbols = elf_symbols(args.elf, ["__sdata", "__euninit", "TAMPER_CONTACT"])

        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(osdp_sock)
        server.listen(1)
        server.settimeout(20)

        # The PN532 line reconnects: each emulator is a new one on the same path.
        qemu_log = open(qemu_log_path, "wb")
        qemu = subprocess.Popen(
            [args.qemu, "-M", "mps2-an386", "-display", "none", "-monitor", "none",
             "-semihosting-config", "enable=on,target=native",
             "-serial", f"unix:{pn532_sock},reconnect=1", "-serial", f"unix:{osdp_sock}",
             "-chardev", f"socket,id=gdb0,path={gdb_sock},server=on,wait=off",
             "-gdb", "chardev:gdb0",
             "-kernel", args.elf],
            stdout=qemu_log, stderr=subprocess.PIPE)
        emu = start_emulator(args.desfire, pn532_sock, [wrong, golden], emu_log_path)
        conn, _ = server.accept()
        cp, channel = new_panel(conn)

        deadline = time.monotonic() + args.timeout
        run.check(cp.sc_wait(0, timeout=min(30, args.timeout)),
                  "the OSDP Secure Channel comes up (libosdp CP, ENFORCE_SECURE, lab SCBK)")

        reads = []
        first_read_at = None
        while time.monotonic() < deadline:
            event = cp.get_event(0, timeout=0.5)
            if event is not None:
                print(f"    panel event: {event}")
                if event.get("event") == osdp.Event.CardRead:
                    reads.append(event)
                    first_read_at = first_read_at or time.monotonic()
            # After the first read, wait a little longer: a second read would show up here.
            if first_read_at is not None and time.monotonic() - first_read_at > 3:
                break
            if qemu.poll() is not None:
                print(f"    QEMU exited with {qemu.returncode}")
                break

        run.check(len(reads) == 1, f"exactly one card read at the panel (got {len(reads)})")
        data = bytes(reads[0].get("data", b"")) if reads else b""
        run.check(data.hex().upper() == GOLDEN_ID,
                  f"the read carries credential ID {GOLDEN_ID} (got {data.hex().upper()})")
        run.check(bool(reads) and reads[0].get("format") == osdp.CardFormat.Unspecified
                  and reads[0].get("length") == 64,
                  "raw format, 64 bits (spec section 14)")
        run.check(cp.is_sc_active(0), "the channel is still secure at the end")
        emu_text = open(emu_log_path).read()
        card1 = emu_text.split("card 2 activated")[0]
        run.check("card 1 activated" in card1 and "< 91AE" in card1
                  and "removed from the field" in card1,
                  "the wrong-key card was presented first, refused K2 (91AE) and left the field")
        # Every card-read reply crossed the line encrypted (SCS_18): the ID is not in clear.
        clear = any(bytes.fromhex(GOLDEN_ID) in p for who, p in channel.log if who == "pd")
        run.check(not clear, "no credential ID in clear on the OSDP line")

        # Session drop: the panel goes away (the PD's session is still up as far as it knows),
        # the golden card is read and queued, then a new panel starts over at SQN 0.
        print("    -- a read queued before a session drop")
        cp.stop()
        cp = None
        stop(emu, signal.SIGINT)
        emu_log_path = os.path.join(work, "emulator-2.log")
        emu = start_emulator(args.desfire, pn532_sock, [golden], emu_log_path)
        read_again = wait_for(
            lambda: "removed from the field" in open(emu_log_path).read(), 20,
            "the golden card read with no panel polling")
        run.check(read_again, "the golden card was read again while no panel polled")
        cp, channel = new_panel(conn)
        run.check(cp.sc_wait(0, timeout=20), "a new panel brings the Secure Channel up again")
        late = card_reads(cp, 4)
        run.check(not late,
                  f"the read queued before the session drop never reaches the panel "
                  f"(got {len(late)})")

        # Tamper: the lab keys are in RAM before, not after; the reader goes quiet.
        print("    -- tamper")
        lines_before = open(emu_log_path).read().count("\n")
        time.sleep(1)
        polling = open(emu_log_path).read().count("\n") - lines_before
        run.check(polling > 0, f"before tamper, the reader polls the PN532 ({polling} new "
                  f"emulator log lines in 1 s)")
        gdb = Gdb(gdb_sock)
        before = keys_in_ram(gdb, symbols)
        run.check(before == sorted(LAB_KEYS),
                  f"before tamper, the lab keys are in the reader's RAM (found {before})")
        gdb.write(symbols["TAMPER_CONTACT"], (1).to_bytes(4, "little"))
        gdb.detach()
        went_down = wait_for(lambda: not cp.is_sc_active(0), 10, "the Secure Channel to end")
        run.check(went_down, "after tamper the Secure Channel ends")
        time.sleep(1)
        frames_at = open(emu_log_path).read().count("\n")
        # A fresh panel (libosdp takes the first one offline for 300 s after the NAK).
        cp.stop()
        cp, channel = new_panel(conn)
        stays_down = not cp.sc_wait(0, timeout=4)
        run.check(stays_down, "and a new panel cannot bring it back (the PD no longer holds "
                  "the SCBK)")
        frames_after = open(emu_log_path).read().count("\n")
        run.check(frames_after == frames_at,
                  f"the reader stopped polling the PN532 ({frames_after - frames_at} new "
                  f"emulator log lines in 4 s)")
        gdb = Gdb(gdb_sock)
        after = keys_in_ram(gdb, symbols)
        gdb.detach()
        run.check(not after, f"after tamper, no lab key is left in the reader's RAM "
                  f"(found {after})")
        stop(qemu, signal.SIGKILL)
        stop(emu, signal.SIGINT)

        time_floor(args, work, run)
    except Exception as e:  # noqa: BLE001 - any failure is a failed run, reported
        run.check(False, f"harness: {type(e).__name__}: {e}")
    finally:
        if cp is not None:
            try:
                cp.stop()
            except Exception:  # noqa: BLE001
                pass
        stop(qemu, signal.SIGKILL)
        stop(emu, signal.SIGINT)
        if server is not None:
            server.close()
        if run.failed:
            for path in (emu_log_path,):
                if os.path.exists(path):
                    print(f"---- {path} (last 40 lines)")
                    with open(path) as f:
                        print("".join(f.readlines()[-40:]))
            if qemu is not None and qemu.stderr is not None:
                print("---- QEMU stderr")
                print(qemu.stderr.read().decode(errors="replace"))
            print(f"    defmt log of the firmware: {qemu_log_path} "
                  f"(defmt-print -e {args.elf} < it)")
        if args.keep or run.failed:
            print(f"    work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{run.passed} passed, {run.failed} failed")
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
