//! The OSDP peripheral device (PD) of the reader, with the Secure Channel enforced.
//!
//! In clear the PD answers only what the control panel needs to set up the channel: osdp_ID,
//! osdp_CAP, osdp_POLL (ACK, never card data), osdp_CHLNG and osdp_SCRYPT. Everything else is
//! NAKed with "security conditions not met" (`06`), and card reads (osdp_RAW, spec §14) and
//! tamper reports leave only inside an established session, encrypted (SCS_18). The PD has no
//! install mode: it never accepts the default key SCBK-D, and never falls back to plaintext.
//! A MAC failure, a plaintext packet or SQN 0 ends the session.
//!
//! A card read waits for the panel at most [`PdConfig::read_max_age_ms`] (2 s by default) and
//! never outlives the session it was queued in: when that session ends, the queue is emptied,
//! so a read cannot reach the panel later, at a moment someone on the bus chose. The reader
//! learns each read's fate ([`ReadFate`]): taken (the panel moved on to its next sequence
//! number after the reply that carried it, in the same session) or lost.

use super::packet::{BROADCAST, MAC_LEN, MAX_PACKET, Packet, Receiver, emit};
use super::secure::SessionKeys;
use desfire_core::crypto::AesKey;
use desfire_core::encoding::OutputFormat;
use heapless::Deque;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Command codes (OSDP v2.2 Annex A.1).
pub mod cmd {
    /// osdp_POLL.
    pub const POLL: u8 = 0x60;
    /// osdp_ID.
    pub const ID: u8 = 0x61;
    /// osdp_CAP.
    pub const CAP: u8 = 0x62;
    /// osdp_LSTAT.
    pub const LSTAT: u8 = 0x64;
    /// osdp_LED.
    pub const LED: u8 = 0x69;
    /// osdp_BUZ.
    pub const BUZ: u8 = 0x6A;
    /// osdp_CHLNG.
    pub const CHLNG: u8 = 0x76;
    /// osdp_SCRYPT.
    pub const SCRYPT: u8 = 0x77;
    /// osdp_ACURXSIZE.
    pub const ACURXSIZE: u8 = 0x7B;
    /// osdp_KEEPACTIVE.
    pub const KEEPACTIVE: u8 = 0xA7;
    /// osdp_MFG, manufacturer specific: `vendor[3] || sub-command || data`. This PD knows one
    /// sub-command, [`crate::time::MFG_SET_TIME`] (trusted time from the panel).
    pub const MFG: u8 = 0x80;
}

/// Reply codes (OSDP v2.2 Annex A.2).
pub mod reply {
    /// osdp_ACK.
    pub const ACK: u8 = 0x40;
    /// osdp_NAK.
    pub const NAK: u8 = 0x41;
    /// osdp_PDID.
    pub const PDID: u8 = 0x45;
    /// osdp_PDCAP.
    pub const PDCAP: u8 = 0x46;
    /// osdp_LSTATR.
    pub const LSTATR: u8 = 0x48;
    /// osdp_RAW.
    pub const RAW: u8 = 0x50;
    /// osdp_CCRYPT.
    pub const CCRYPT: u8 = 0x76;
    /// osdp_RMAC_I.
    pub const RMAC_I: u8 = 0x78;
}

/// NAK error codes (OSDP v2.2 §7.3).
pub mod nak {
    /// Unknown command code.
    pub const UNKNOWN_COMMAND: u8 = 0x03;
    /// Security block not supported (the default key SCBK-D is refused).
    pub const SC_UNSUPPORTED: u8 = 0x05;
    /// Communication security conditions not met.
    pub const SC_CONDITIONS: u8 = 0x06;
    /// Unable to process the command record (bad length).
    pub const UNABLE: u8 = 0x09;
}

/// The security block types (Annex D.1).
mod scs {
    pub const CHLNG: u8 = 0x11;
    pub const CCRYPT: u8 = 0x12;
    pub const SCRYPT: u8 = 0x13;
    pub const RMAC_I: u8 = 0x14;
    pub const CMD_MAC: u8 = 0x15;
    pub const REPLY_MAC: u8 = 0x16;
    pub const CMD_ENC: u8 = 0x17;
    pub const REPLY_ENC: u8 = 0x18;
}

/// Who the PD says it is (osdp_PDID) and how it is addressed.
#[derive(Debug, Clone)]
pub struct PdConfig {
    /// The PD's address on the line, 0..=0x7E.
    pub address: u8,
    /// The Secure Channel base key of this PD.
    pub scbk: AesKey,
    /// The client UID sent in osdp_CCRYPT.
    pub cuid: [u8; 8],
    /// IEEE OUI vendor code.
    pub vendor: [u8; 3],
    /// Model and version.
    pub model: [u8; 2],
    /// Serial number.
    pub serial: u32,
    /// Firmware major, minor, build.
    pub firmware: [u8; 3],
    /// What a GRANT is reported as (spec §14): the credential ID by default.
    pub output: OutputFormat,
    /// How long a card read may wait for the panel's poll, in milliseconds
    /// ([`READ_MAX_AGE_MS`] by default); older reads are dropped, never sent.
    pub read_max_age_ms: u32,
}

/// The default age limit of a queued card read: 2 s, about as long as a holder waits at the
/// door for the light.
pub const READ_MAX_AGE_MS: u32 = 2_000;

/// What became of the last card read handed to [`Pd::report_raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadFate {
    /// No read was queued since the last time this was asked.
    None,
    /// Queued, or sent and not yet acknowledged by the panel's next sequence number.
    Waiting,
    /// The panel received it: it sent its next command (new SQN, valid MAC) in the same session
    /// after the reply that carried the read.
    Taken,
    /// Dropped: too old, or the session it was queued in ended.
    Lost,
}

/// A card read waiting for the control panel's next poll: an osdp_RAW payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Zeroize)]
pub struct RawRead {
    bytes: [u8; 20],
    len: usize,
    queued_at_ms: u32,
}

impl RawRead {
    /// From an osdp_RAW payload (spec §14: 12 bytes for the credential ID, up to 20 legacy).
    pub fn new(payload: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; 20];
        bytes.get_mut(..payload.len())?.copy_from_slice(payload);
        Some(Self {
            bytes,
            len: payload.len(),
            queued_at_ms: 0,
        })
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

enum Channel {
    Clear,
    Challenged {
        keys: SessionKeys,
        rnd_a: [u8; 8],
        rnd_b: [u8; 8],
    },
    Secure {
        keys: SessionKeys,
        /// The last reply MAC (the IV of the next command MAC).
        r_mac: [u8; 16],
    },
}

/// The OSDP PD state: the packet receiver, the Secure Channel, the queued card reads, the
/// tamper state and the last reply (sent again when the control panel repeats its SQN).
pub struct Pd {
    config: PdConfig,
    rx: Receiver,
    channel: Channel,
    reads: Deque<RawRead, 4>,
    /// The SQN of the reply that carried the last read and when that read was queued, until
    /// the panel moves past it.
    read_in_flight: Option<(u8, u32)>,
    fate: ReadFate,
    /// When the read being answered now was queued.
    in_flight_queued_at: u32,
    /// The last time the panel set (Unix seconds) and the millisecond clock when it came.
    panel_time: Option<(u32, u32)>,
    now_ms: u32,
    tamper: bool,
    tamper_reported: bool,
    /// The SCBK was wiped (tamper): no new session; the one in progress ends once the tamper
    /// report is out.
    wiped: bool,
    last_sqn: Option<u8>,
    last_reply: [u8; MAX_REPLY],
    last_len: usize,
}

/// The longest reply this PD sends (osdp_CCRYPT: header, 3-byte SCB, code, 32 bytes, CRC; an
/// encrypted osdp_RAW: 2-byte SCB, 32 bytes, MAC), with room to spare.
const MAX_REPLY: usize = 64;

impl core::fmt::Debug for Pd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pd")
            .field("address", &self.config.address)
            .field("secure", &self.is_secure())
            .field("queued_reads", &self.reads.len())
            .finish_non_exhaustive()
    }
}

/// The card-read queue is full (the control panel has not polled for a while).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

impl core::fmt::Display for QueueFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the OSDP card-read queue is full")
    }
}

impl core::error::Error for QueueFull {}

/// What the PD sends back for one command: a reply code and its (plain) data, wiped on drop
/// (an osdp_RAW answer holds the credential ID in clear).
#[derive(Zeroize, ZeroizeOnDrop)]
struct Answer {
    code: u8,
    data: [u8; 32],
    len: usize,
}

impl Answer {
    fn new(code: u8, data: &[u8]) -> Self {
        let mut a = Self {
            code,
            data: [0; 32],
            len: 0,
        };
        if let Some(d) = a.data.get_mut(..data.len()) {
            d.copy_from_slice(data);
            a.len = data.len();
        }
        a
    }

    fn nak(code: u8) -> Self {
        Self::new(reply::NAK, &[code])
    }

    fn data(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or_default()
    }
}

impl Pd {
    /// A PD with no session yet.
    pub fn new(config: PdConfig) -> Self {
        Self {
            config,
            rx: Receiver::default(),
            channel: Channel::Clear,
            reads: Deque::new(),
            read_in_flight: None,
            fate: ReadFate::None,
            in_flight_queued_at: 0,
            panel_time: None,
            now_ms: 0,
            tamper: false,
            wiped: false,
            // Nothing to report until the input changes.
            tamper_reported: true,
            last_sqn: None,
            last_reply: [0; MAX_REPLY],
            last_len: 0,
        }
    }

    /// What a GRANT is reported as.
    pub fn output(&self) -> OutputFormat {
        self.config.output
    }

    /// Changes what a GRANT is reported as (the board: extended until it has trusted time).
    pub fn set_output(&mut self, output: OutputFormat) {
        self.config.output = output;
    }

    /// Whether the Secure Channel is established.
    pub fn is_secure(&self) -> bool {
        matches!(self.channel, Channel::Secure { .. })
    }

    /// Queues a card read for the control panel (osdp_RAW payload, spec §14), stamped with the
    /// time of the last [`Pd::set_time`].
    pub fn report_raw(&mut self, payload: &[u8]) -> Result<(), QueueFull> {
        let mut read = RawRead::new(payload).ok_or(QueueFull)?;
        read.queued_at_ms = self.now_ms;
        self.reads.push_back(read).map_err(|_| QueueFull)?;
        self.fate = ReadFate::Waiting;
        Ok(())
    }

    /// The board's millisecond clock (any origin, wrapping); reads older than
    /// [`PdConfig::read_max_age_ms`] are dropped.
    pub fn set_time(&mut self, now_ms: u32) {
        self.now_ms = now_ms;
        let max = self.config.read_max_age_ms;
        // Sent but never acknowledged (the panel went quiet): lost once it is too old, so the
        // reader is not left waiting for a panel that may never come back.
        if let Some((_, queued_at)) = self.read_in_flight
            && now_ms.wrapping_sub(queued_at) > max
        {
            self.read_in_flight = None;
            self.fate = ReadFate::Lost;
        }
        while let Some(r) = self.reads.front() {
            if now_ms.wrapping_sub(r.queued_at_ms) <= max {
                break;
            }
            if let Some(mut old) = self.pop_read() {
                old.zeroize();
            }
            self.fate = ReadFate::Lost;
        }
    }

    /// What became of the last queued read; a final answer (taken, lost) is given once.
    pub fn read_fate(&mut self) -> ReadFate {
        match self.fate {
            f @ (ReadFate::Taken | ReadFate::Lost) => {
                self.fate = ReadFate::None;
                f
            }
            f => f,
        }
    }

    /// Takes the oldest read out of the queue and wipes its slot (a popped slot keeps its bytes).
    fn pop_read(&mut self) -> Option<RawRead> {
        let read = *self.reads.front()?;
        if let Some(slot) = self.reads.front_mut() {
            slot.zeroize();
        }
        self.reads.pop_front();
        Some(read)
    }

    /// Empties the queue, wiping every slot.
    fn clear_reads(&mut self) {
        while let Some(mut r) = self.pop_read() {
            r.zeroize();
        }
    }

    /// The session ended: no read queued in it may leave in a later one.
    fn session_lost(&mut self) {
        if !self.reads.is_empty() || self.read_in_flight.is_some() {
            self.clear_reads();
            self.read_in_flight = None;
            self.fate = ReadFate::Lost;
        }
    }

    /// Sets the tamper input; a change is reported (osdp_LSTATR) at the next poll.
    pub fn set_tamper(&mut self, tamper: bool) {
        if tamper != self.tamper {
            self.tamper = tamper;
            self.tamper_reported = false;
        }
    }

    /// Wipes the SCBK (tamper, R17). The session in progress carries the pending tamper report
    /// and then ends, its keys zeroized; no session can be set up again, so the PD answers
    /// nothing but NAKs and plaintext osdp_POLL ACKs from then on.
    pub fn wipe_keys(&mut self) {
        // The old key is zeroized as it is dropped.
        self.config.scbk = AesKey::new([0; 16]);
        self.wiped = true;
        self.session_lost();
        if !self.is_secure() {
            self.channel = Channel::Clear;
        }
    }

    /// The time the panel set since the last call (Unix seconds, and the [`Pd::set_time`] clock
    /// when it came): only ever inside the Secure Channel (osdp_MFG [`crate::time::MFG_SET_TIME`]).
    pub fn take_panel_time(&mut self) -> Option<(u32, u32)> {
        self.panel_time.take()
    }

    /// Whether the keys were wiped.
    pub fn is_wiped(&self) -> bool {
        self.wiped
    }

    /// Takes one byte from the line; when it completes a command for this PD, writes the reply
    /// into `out` and returns its length.
    pub fn on_byte<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        byte: u8,
        rng: &mut R,
        out: &mut [u8],
    ) -> Option<usize> {
        let mut packet = [0u8; MAX_PACKET];
        let n = {
            let p = self.rx.push(byte)?;
            packet.get_mut(..p.len())?.copy_from_slice(p);
            p.len()
        };
        self.on_packet(packet.get_mut(..n)?, rng, out)
    }

    fn on_packet<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        raw: &mut [u8],
        rng: &mut R,
        out: &mut [u8],
    ) -> Option<usize> {
        let p = Packet::parse(raw).ok()?;
        if p.addr != self.config.address && p.addr != BROADCAST {
            return None;
        }
        let sqn = p.sqn();
        if sqn != 0 && self.last_sqn == Some(sqn) {
            // The control panel did not get our reply: the same bytes again.
            let last = self.last_reply.get(..self.last_len)?;
            out.get_mut(..last.len())?.copy_from_slice(last);
            return Some(last.len());
        }
        let was_secure = self.is_secure();
        if sqn == 0 {
            // SQN 0 starts a new conversation: any session ends.
            self.channel = Channel::Clear;
        }
        let n = self.answer(&p, rng, out);
        if was_secure && !self.is_secure() {
            self.session_lost();
        }
        let n = n?;
        self.last_sqn = Some(sqn);
        let reply = out.get(..n)?;
        self.last_len = match self.last_reply.get_mut(..n) {
            Some(slot) => {
                slot.copy_from_slice(reply);
                n
            }
            // Never happens with the replies above; then there is just nothing to repeat.
            None => 0,
        };
        Some(n)
    }

    fn answer<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        p: &Packet<'_>,
        rng: &mut R,
        out: &mut [u8],
    ) -> Option<usize> {
        let sqn = p.sqn();
        let addr = self.config.address;
        match (p.scs(), p.code) {
            (Some(scs::CHLNG), cmd::CHLNG) => {
                let key_is_scbk = p.scb.and_then(|(_, d)| d.first().copied()) == Some(0x01);
                let Ok(rnd_a) = <[u8; 8]>::try_from(p.data) else {
                    return self.clear_reply(out, sqn, Answer::nak(nak::UNABLE));
                };
                if !key_is_scbk || self.wiped {
                    // SCBK-D (install mode) is never accepted, nor any session after a wipe.
                    return self.clear_reply(out, sqn, Answer::nak(nak::SC_UNSUPPORTED));
                }
                let mut rnd_b = [0u8; 8];
                rng.fill_bytes(&mut rnd_b);
                let keys = SessionKeys::derive(&self.config.scbk, &rnd_a);
                let mut data = [0u8; 32];
                let (cuid, rest) = data.split_at_mut(8);
                cuid.copy_from_slice(&self.config.cuid);
                let (rb, cc) = rest.split_at_mut(8);
                rb.copy_from_slice(&rnd_b);
                cc.copy_from_slice(&keys.client_cryptogram(&rnd_a, &rnd_b));
                self.channel = Channel::Challenged { keys, rnd_a, rnd_b };
                emit(
                    out,
                    addr,
                    sqn,
                    Some((scs::CCRYPT, &[0x01])),
                    reply::CCRYPT,
                    &data,
                    None,
                )
                .ok()
            }
            (Some(scs::SCRYPT), cmd::SCRYPT) => {
                let channel = core::mem::replace(&mut self.channel, Channel::Clear);
                let Channel::Challenged { keys, rnd_a, rnd_b } = channel else {
                    return self.clear_reply(out, sqn, Answer::nak(nak::SC_CONDITIONS));
                };
                let Ok(server) = <[u8; 16]>::try_from(p.data) else {
                    return self.clear_reply(out, sqn, Answer::nak(nak::UNABLE));
                };
                if !keys.server_cryptogram_ok(&rnd_a, &rnd_b, &server) {
                    return self.clear_reply(out, sqn, Answer::nak(nak::SC_CONDITIONS));
                }
                let rmac_i = keys.initial_rmac(&server);
                self.channel = Channel::Secure {
                    keys,
                    r_mac: rmac_i,
                };
                emit(
                    out,
                    addr,
                    sqn,
                    Some((scs::RMAC_I, &[0x01])),
                    reply::RMAC_I,
                    &rmac_i,
                    None,
                )
                .ok()
            }
            (Some(scs::CMD_MAC | scs::CMD_ENC), _) => self.secure_command(p, out),
            (None, code) => {
                // Plaintext: any session ends; only what sets up the channel is answered.
                self.channel = Channel::Clear;
                let a = match code {
                    cmd::POLL => Answer::new(reply::ACK, &[]),
                    cmd::ID => self.pdid(),
                    cmd::CAP => Self::pdcap(),
                    _ => Answer::nak(nak::SC_CONDITIONS),
                };
                self.clear_reply(out, sqn, a)
            }
            _ => {
                self.channel = Channel::Clear;
                self.clear_reply(out, sqn, Answer::nak(nak::SC_CONDITIONS))
            }
        }
    }

    fn clear_reply(&mut self, out: &mut [u8], sqn: u8, a: Answer) -> Option<usize> {
        emit(out, self.config.address, sqn, None, a.code, a.data(), None).ok()
    }

    /// A command in the session: MAC checked (constant time) against the chain, data
    /// decrypted, the command run, the reply encrypted and MACed.
    fn secure_command(&mut self, p: &Packet<'_>, out: &mut [u8]) -> Option<usize> {
        let sqn = p.sqn();
        let channel = core::mem::replace(&mut self.channel, Channel::Clear);
        let Channel::Secure { keys, r_mac, .. } = channel else {
            return self.clear_reply(out, sqn, Answer::nak(nak::SC_CONDITIONS));
        };
        let c_mac = keys.mac(&r_mac, p.mac_input());
        let got = p.mac?;
        let want = c_mac.get(..MAC_LEN)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(want, &got[..])) {
            return self.clear_reply(out, sqn, Answer::nak(nak::SC_CONDITIONS));
        }
        // A new SQN with a valid MAC in the same session: the panel got the reply before.
        if self.read_in_flight.take().is_some() {
            self.fate = ReadFate::Taken;
        }
        let mut data = [0u8; MAX_PACKET];
        let data_len = if p.scs() == Some(scs::CMD_ENC) {
            let ct = data.get_mut(..p.data.len())?;
            ct.copy_from_slice(p.data);
            match keys.decrypt_data(&r_mac, ct) {
                Some(n) => n,
                None => return self.clear_reply(out, sqn, Answer::nak(nak::SC_CONDITIONS)),
            }
        } else {
            data.get_mut(..p.data.len())?.copy_from_slice(p.data);
            p.data.len()
        };
        let a = self.command(p.code, data.get(..data_len)?);
        data.zeroize();
        if a.code == reply::RAW {
            self.read_in_flight = Some((sqn, self.in_flight_queued_at));
        }
        // The reply: data encrypted with IV = ~C-MAC, then the MAC chained on C-MAC.
        let mut body = zeroize::Zeroizing::new([0u8; 48]);
        body.get_mut(..a.len)?.copy_from_slice(a.data());
        let (ty, body_len) = if a.len == 0 {
            (scs::REPLY_MAC, 0)
        } else {
            (
                scs::REPLY_ENC,
                keys.encrypt_data(&c_mac, &mut *body, a.len)?,
            )
        };
        // After a wipe the session lasts until the tamper report is out, then its keys go.
        let last_in_session = self.wiped && self.tamper_reported;
        let mut r_mac_new = [0u8; 16];
        let mut mac = |bytes: &[u8]| {
            r_mac_new = keys.mac(&c_mac, bytes);
            r_mac_new
        };
        let n = emit(
            out,
            self.config.address,
            sqn,
            Some((ty, &[])),
            a.code,
            body.get(..body_len)?,
            Some(&mut mac),
        )
        .ok()?;
        if !last_in_session {
            self.channel = Channel::Secure {
                keys,
                r_mac: r_mac_new,
            };
        }
        Some(n)
    }

    /// A command inside the session.
    fn command(&mut self, code: u8, data: &[u8]) -> Answer {
        match code {
            cmd::POLL => {
                self.set_time(self.now_ms);
                if let Some(mut read) = self.pop_read() {
                    let a = Answer::new(reply::RAW, read.payload());
                    self.in_flight_queued_at = read.queued_at_ms;
                    read.zeroize();
                    a
                } else if !self.tamper_reported {
                    self.tamper_reported = true;
                    self.lstatr()
                } else {
                    Answer::new(reply::ACK, &[])
                }
            }
            cmd::ID => self.pdid(),
            cmd::CAP => Self::pdcap(),
            cmd::LSTAT => self.lstatr(),
            // The reader drives its own LED and buzzer from the access decision; the panel's
            // requests are acknowledged.
            cmd::LED | cmd::BUZ | cmd::ACURXSIZE | cmd::KEEPACTIVE => {
                let _ = data;
                Answer::new(reply::ACK, &[])
            }
            cmd::MFG => self.mfg(data),
            _ => Answer::nak(nak::UNKNOWN_COMMAND),
        }
    }

    /// osdp_MFG: `vendor[3] || 01 || UnixSeconds[4, LE]` sets trusted time. Another vendor
    /// code or sub-command is an unknown command; a wrong length is NAK `09`.
    fn mfg(&mut self, data: &[u8]) -> Answer {
        let Some((vendor, rest)) = data.split_first_chunk::<3>() else {
            return Answer::nak(nak::UNABLE);
        };
        match rest.split_first() {
            Some((&crate::time::MFG_SET_TIME, time)) if *vendor == self.config.vendor => {
                match <[u8; 4]>::try_from(time) {
                    Ok(t) => {
                        self.panel_time = Some((u32::from_le_bytes(t), self.now_ms));
                        Answer::new(reply::ACK, &[])
                    }
                    Err(_) => Answer::nak(nak::UNABLE),
                }
            }
            _ => Answer::nak(nak::UNKNOWN_COMMAND),
        }
    }

    fn lstatr(&self) -> Answer {
        Answer::new(reply::LSTATR, &[u8::from(self.tamper), 0x00])
    }

    fn pdid(&self) -> Answer {
        let c = &self.config;
        let s = c.serial.to_le_bytes();
        Answer::new(
            reply::PDID,
            &[
                c.vendor[0],
                c.vendor[1],
                c.vendor[2],
                c.model[0],
                c.model[1],
                s[0],
                s[1],
                s[2],
                s[3],
                c.firmware[0],
                c.firmware[1],
                c.firmware[2],
            ],
        )
    }

    /// Capabilities (Annex B): card data as bits (4), CRC-16 (8), AES-128 Secure Channel
    /// without the default key (9), a 256-byte receive buffer (10) and largest message (11).
    fn pdcap() -> Answer {
        Answer::new(
            reply::PDCAP,
            &[
                0x04, 0x01, 0x00, //
                0x08, 0x01, 0x00, //
                0x09, 0x01, 0x00, //
                0x0A, 0x00, 0x01, //
                0x0B, 0x00, 0x01,
            ],
        )
    }
}
