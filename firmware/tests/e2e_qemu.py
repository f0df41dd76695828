#!/usr/bin/env python3
"""End-to-end test of the reader firmware, nothing mocked inside the firmware:

    desfire emulate --pn532 unix:PN532.sock  <-UART0->  QEMU mps2-an386 reader  <-UART1->  libosdp CP

The emulated PN532 (`desfire emulate --pn532`) presents a wrong-key card (K2 from a foreign
master: spec section 17 T3) and then the lab golden card (credential ID 1A2B3C4D5E6F7081). The
control panel is the reference C libosdp (PyPI `libosdp`), Secure Channel on with the lab SCBK
and ENFORCE_SECURE (no plaintext fallback). Pass: the channel comes up secure, the panel gets
exactly one card read, raw format, 64 bits, with the golden card's credential ID, and the
wrong-key card was presented and left the field without output.

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
    channel = None
    try:
        golden, wrong = make_cards(args.desfire, work, args.lab_profile)
        print(f"    cards: {wrong} (foreign K2), {golden} (golden, {GOLDEN_ID})")

        emu_log = open(emu_log_path, "w")
        emu = subprocess.Popen(
            [args.desfire, "emulate", "--pn532", f"unix:{pn532_sock}", "--card", wrong,
             "--card", golden, "--trace"],
            stdout=emu_log, stderr=subprocess.STDOUT)
        if not wait_for(lambda: os.path.exists(pn532_sock) or emu.poll() is not None, 20,
                        "the PN532 emulator's socket"):
            raise RuntimeError("emulator did not start")
        if emu.poll() is not None:
            raise RuntimeError(f"emulator exited: {open(emu_log_path).read()}")

        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(osdp_sock)
        server.listen(1)
        server.settimeout(20)

        qemu_log = open(qemu_log_path, "wb")
        qemu = subprocess.Popen(
            [args.qemu, "-M", "mps2-an386", "-display", "none", "-monitor", "none",
             "-semihosting-config", "enable=on,target=native",
             "-serial", f"unix:{pn532_sock}", "-serial", f"unix:{osdp_sock}",
             "-kernel", args.elf],
            stdout=qemu_log, stderr=subprocess.PIPE)
        conn, _ = server.accept()
        channel = libosdp_channel(conn)

        pd_info = osdp.PDInfo(0, channel, scbk=LAB_SCBK, flags=[osdp.LibFlag.EnforceSecure])
        cp = osdp.ControlPanel([pd_info], log_level=osdp.LogLevel.Warning)
        cp.start()

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
