#!/usr/bin/env python3
"""An OSDP control panel on a Unix socket, printing one JSON line per event: the observer of
`desfire audit --firmware` (and the panel of `firmware/tests/e2e_qemu.py`).

    osdp_panel.py --socket PATH [--scbk-file FILE] [--address 0]
    osdp_panel.py --socket PATH --check          libosdp present? prints ready, or error (exit 2)

Listens on PATH and accepts one connection (QEMU's `-serial unix:PATH` of the reader's OSDP
UART), then runs the reference C libosdp control panel (PyPI `libosdp`) with the Secure Channel
on and ENFORCE_SECURE (no plaintext fallback, spec section 14 / R12). The SCBK is the lab SCBK
(`firmware/reader/src/lab_values.rs`, a public TEST value) unless `--scbk-file` names a file
holding 32 hex digits: keys never on a command line.

Standard output, one JSON object a line, flushed as it happens:

    {"event": "listening", "socket": PATH}       bound; start the PD now
    {"event": "connected"}                       the PD side connected
    {"event": "secure", "active": true|false}    the Secure Channel came up / went down
    {"event": "card_read", "format": "raw", "bits": 64, "data": "1A2B3C4D5E6F7081"}
    {"event": "status", "detail": {...}}         osdp_LSTATR and other PD status
    {"event": "other", "detail": "..."}          any other PD event
    {"event": "error", "message": "..."}         the panel cannot run; it exits 2
    {"event": "ready", "libosdp": "..."}         with --check: it can run

Runs until its standard input closes or it gets SIGTERM.

Why libosdp from Python: checked in the crate sources (osdp 0.3.1, 2026-11-28), the pure-Rust
`osdp` crate's ACU driver sends plaintext packets only (`driver::acu` builds every command with
`PacketBuilder::plain`); its Secure Channel is a set of building blocks (`secure::Session`,
SCS_11..18 headers) that a panel would have to assemble itself, and our PD's Annex D crypto is
already checked byte for byte against that same code. The C libosdp control panel is a
complete, widely deployed Secure Channel implementation independent of ours, and the firmware
end-to-end test already runs it against our PD: the audit and that test share this one panel.
"""

import argparse
import json
import os
import select
import signal
import socket
import sys
import threading

SOM = 0x53
# The lab SCBK of firmware/reader/src/lab_values.rs: a public TEST value.
LAB_SCBK = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")


def _osdp():
    import osdp  # noqa: PLC0415 - a missing libosdp is reported as an event, not a traceback

    return osdp


class PacketChannel:
    """The OSDP line on a socket, handed to libosdp whole packets at a time. libosdp 3.2.9
    sometimes drops a packet that reaches it in pieces, and QEMU's UART sends bytes one at a
    time (TOOLING.md): this buffers the line and hands libosdp a packet only once it is complete
    (SOM, then the little-endian length in bytes 2-3). `log` keeps every packet, both ways."""

    def __init__(self, conn):
        self.conn = conn
        self.conn.setblocking(False)
        self.buf = bytearray()
        self.log = []

    def _fill(self):
        while True:
            try:
                data = self.conn.recv(4096)
            except (BlockingIOError, InterruptedError, OSError):
                return
            if not data:
                return
            self.buf += data

    def read(self, max_bytes):
        self._fill()
        while self.buf and self.buf[0] != SOM:
            del self.buf[0]
        if len(self.buf) < 4:
            return b""
        length = self.buf[2] | (self.buf[3] << 8)
        if length < 7:
            del self.buf[0]
            return b""
        if len(self.buf) < length or length > max_bytes:
            return b""
        packet = bytes(self.buf[:length])
        del self.buf[:length]
        self.log.append(("pd", packet))
        return packet

    def write(self, buf):
        self.log.append(("cp", bytes(buf)))
        self.conn.setblocking(True)
        try:
            self.conn.sendall(buf)
        except OSError:
            return -1
        finally:
            self.conn.setblocking(False)
        return len(buf)

    def flush(self):
        pass


def libosdp_channel(conn):
    """A [`PacketChannel`] as the `osdp.Channel` libosdp calls."""
    osdp = _osdp()

    class Channel(PacketChannel, osdp.Channel):
        def __init__(self, conn):
            osdp.Channel.__init__(self)
            PacketChannel.__init__(self, conn)

    return Channel(conn)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def read_scbk(path):
    if path is None:
        return LAB_SCBK
    with open(path) as f:
        text = f.read().strip()
    key = bytes.fromhex(text)
    if len(key) != 16:
        raise ValueError(f"{path}: an SCBK is 16 bytes (32 hex digits)")
    return key


def card_read(osdp, event):
    fmt = event.get("format")
    name = {osdp.CardFormat.Unspecified: "raw", osdp.CardFormat.Wiegand: "wiegand"}.get(
        fmt, str(fmt))
    return {"event": "card_read", "format": name, "bits": event.get("length"),
            "data": bytes(event.get("data", b"")).hex().upper()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True, help="the Unix socket to listen on")
    ap.add_argument("--scbk-file", help="a file with the SCBK in hex (default: the lab SCBK)")
    ap.add_argument("--address", type=int, default=0, help="the PD's OSDP address")
    ap.add_argument("--accept-timeout", type=float, default=30.0,
                    help="seconds to wait for the PD side to connect")
    ap.add_argument("--check", action="store_true",
                    help="only check that libosdp and the SCBK load: prints ready or error")
    args = ap.parse_args()

    try:
        osdp = _osdp()
        scbk = read_scbk(args.scbk_file)
    except (ImportError, OSError, ValueError) as e:
        emit({"event": "error", "message": f"{type(e).__name__}: {e}"})
        return 2
    if args.check:
        emit({"event": "ready", "libosdp": getattr(osdp, "__version__", "?")})
        return 0

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def stdin_watch():
        # The parent closes our standard input (or dies) when the run is over.
        while not stop.is_set():
            r, _, _ = select.select([sys.stdin], [], [], 0.2)
            if r and not sys.stdin.buffer.read1(4096):
                stop.set()

    threading.Thread(target=stdin_watch, daemon=True).start()

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cp = None
    try:
        if os.path.exists(args.socket):
            os.unlink(args.socket)
        server.bind(args.socket)
        server.listen(1)
        server.settimeout(args.accept_timeout)
        emit({"event": "listening", "socket": args.socket})
        conn, _ = server.accept()
        emit({"event": "connected"})
        channel = libosdp_channel(conn)
        pd_info = osdp.PDInfo(args.address, channel, scbk=scbk,
                              flags=[osdp.LibFlag.EnforceSecure])
        cp = osdp.ControlPanel([pd_info], log_level=osdp.LogLevel.Error)
        cp.start()
        secure = False
        while not stop.is_set():
            event = cp.get_event(args.address, timeout=0.05)
            now_secure = bool(cp.is_sc_active(args.address))
            if now_secure != secure:
                secure = now_secure
                emit({"event": "secure", "active": secure})
            if event is None:
                continue
            kind = event.get("event")
            if kind == osdp.Event.CardRead:
                emit(card_read(osdp, event))
            elif kind == osdp.Event.Status:
                emit({"event": "status", "detail": {k: repr(v) for k, v in event.items()}})
            else:
                emit({"event": "other", "detail": repr(event)})
    except (OSError, socket.timeout) as e:
        emit({"event": "error", "message": f"{type(e).__name__}: {e}"})
        return 2
    finally:
        if cp is not None:
            try:
                cp.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort
                pass
        server.close()
        try:
            os.unlink(args.socket)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
