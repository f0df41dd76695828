//! The OSDP PD against a control panel whose Secure Channel cryptography is the `osdp` crate's
//! (an independent implementation of Annex D) and whose CRC is a bit-by-bit Annex C loop.

use crate::lab;
use crate::osdp::packet::Packet;
use crate::osdp::{Pd, READ_MAX_AGE_MS, ReadFate};
use desfire_tests::virtual_card::TestRng;
use hex_literal::hex;
use osdp::secure::cipher::{complement_icv, decrypt_data, encrypt_data};
use osdp::secure::crypto::{SessionKeys, client_cryptogram, initial_rmac, server_cryptogram};
use osdp::secure::mac::cbc_mac;
use std::vec;
use std::vec::Vec;

fn crc(bytes: &[u8]) -> u16 {
    let mut c: u16 = 0x1D0F;
    for b in bytes {
        c ^= u16::from(*b) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
        }
    }
    c
}

/// The control panel side.
struct Cp {
    sqn: u8,
    keys: Option<SessionKeys>,
    c_mac: [u8; 16],
    r_mac: [u8; 16],
    addr: u8,
}

struct Reply {
    code: u8,
    scs: Option<u8>,
    data: Vec<u8>,
    raw: Vec<u8>,
}

const RND_A: [u8; 8] = hex!("B0B1B2B3B4B5B6B7");

impl Cp {
    fn new() -> Self {
        Self {
            sqn: 0,
            keys: None,
            c_mac: [0; 16],
            r_mac: [0; 16],
            addr: 0,
        }
    }

    fn next_sqn(&mut self) -> u8 {
        let s = self.sqn;
        self.sqn = if self.sqn == 3 { 1 } else { self.sqn + 1 };
        s
    }

    /// A command packet; in a session (and `scb` None) it is MACed (SCS_15/17).
    fn packet(&mut self, sqn: u8, scb: Option<&[u8]>, code: u8, data: &[u8]) -> Vec<u8> {
        let secure = scb.is_none() && self.keys.is_some();
        let (scb, body): (Vec<u8>, Vec<u8>) = match (scb, &self.keys) {
            (Some(s), _) => (s.to_vec(), data.to_vec()),
            (None, Some(k)) if secure && !data.is_empty() => (
                vec![0x02, 0x17],
                encrypt_data(&k.s_enc, &complement_icv(&self.r_mac), data),
            ),
            (None, Some(_)) => (vec![0x02, 0x15], data.to_vec()),
            (None, None) => (vec![], data.to_vec()),
        };
        let mac_len = if secure { 4 } else { 0 };
        let len = 5 + scb.len() + 1 + body.len() + mac_len + 2;
        let mut ctrl = (sqn & 3) | 0x04;
        if !scb.is_empty() {
            ctrl |= 0x08;
        }
        let mut p = vec![0x53, self.addr, len as u8, (len >> 8) as u8, ctrl];
        p.extend_from_slice(&scb);
        p.push(code);
        p.extend_from_slice(&body);
        if secure {
            let k = self.keys.as_ref().unwrap();
            self.c_mac = cbc_mac(&p, &self.r_mac, &k.s_mac1, &k.s_mac2);
            p.extend_from_slice(&self.c_mac[..4]);
        }
        let c = crc(&p);
        p.extend_from_slice(&c.to_le_bytes());
        p
    }

    /// Checks a reply's MAC (in a session) and decrypts its data.
    fn open(&mut self, raw: Vec<u8>) -> Reply {
        let p = Packet::parse(&raw).unwrap();
        assert_eq!(p.addr, self.addr | 0x80);
        let mut data = p.data.to_vec();
        if let (Some(0x16 | 0x18), Some(k)) = (p.scs(), &self.keys) {
            let mac = cbc_mac(p.mac_input(), &self.c_mac, &k.s_mac1, &k.s_mac2);
            assert_eq!(&mac[..4], &p.mac.unwrap(), "reply MAC");
            if p.scs() == Some(0x18) {
                data = decrypt_data(&k.s_enc, &complement_icv(&self.c_mac), p.data).unwrap();
            }
            self.r_mac = mac;
        }
        Reply {
            code: p.code,
            scs: p.scs(),
            data,
            raw: raw.clone(),
        }
    }

    /// The handshake (CHLNG, SCRYPT) with `scbk`; the PD's cryptogram is checked.
    fn handshake(&mut self, pd: &mut Pd, scbk: &[u8; 16]) -> Reply {
        let sqn = self.next_sqn();
        let chlng = self.packet(sqn, Some(&[0x03, 0x11, 0x01]), 0x76, &RND_A);
        let r = send(pd, &chlng).unwrap();
        let r = self.open(r);
        assert_eq!((r.code, r.scs), (0x76, Some(0x12)), "CCRYPT");
        let rnd_b: [u8; 8] = r.data[8..16].try_into().unwrap();
        let keys = SessionKeys::derive(scbk, &RND_A);
        if r.data[16..32] != client_cryptogram(&keys.s_enc, &RND_A, &rnd_b) {
            return r;
        }
        let sc = server_cryptogram(&keys.s_enc, &RND_A, &rnd_b);
        let sqn = self.next_sqn();
        let scrypt = self.packet(sqn, Some(&[0x03, 0x13, 0x01]), 0x77, &sc);
        let r = self.open(send(pd, &scrypt).unwrap());
        if r.code == 0x78 {
            assert_eq!(r.scs, Some(0x14));
            assert_eq!(r.data, initial_rmac(&keys.s_mac1, &keys.s_mac2, &sc));
            self.r_mac = initial_rmac(&keys.s_mac1, &keys.s_mac2, &sc);
            self.keys = Some(keys);
        }
        r
    }

    fn command(&mut self, pd: &mut Pd, code: u8, data: &[u8]) -> Reply {
        let sqn = self.next_sqn();
        let p = self.packet(sqn, None, code, data);
        self.open(send(pd, &p).unwrap())
    }
}

/// Feeds `bytes` to the PD one at a time; the reply, if any.
fn send(pd: &mut Pd, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = [0u8; 300];
    let mut rng = TestRng(0x5EED);
    let mut reply = None;
    for b in bytes {
        if let Some(n) = pd.on_byte(*b, &mut rng, &mut out) {
            reply = Some(out[..n].to_vec());
        }
    }
    reply
}

/// Sets up a session with the lab SCBK and polls until the PD has nothing more: the osdp_RAW
/// payloads it sent.
pub(super) fn drain_raw_records(pd: &mut Pd) -> Vec<Vec<u8>> {
    let mut cp = Cp::new();
    assert_eq!(cp.command(pd, 0x60, &[]).code, 0x40);
    assert_eq!(cp.handshake(pd, &lab::LAB_SCBK).code, 0x78);
    let mut raws = vec![];
    loop {
        let r = cp.command(pd, 0x60, &[]);
        match r.code {
            0x50 => raws.push(r.data),
            0x40 => return raws,
            other => panic!("reply {other:02X}"),
        }
    }
}

const CARD: [u8; 12] = hex!("00 00 40 00 1A 2B 3C 4D 5E 6F 70 81");

#[test]
fn secure_channel_then_one_encrypted_card_read() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    assert_eq!(cp.command(&mut pd, 0x60, &[]).code, 0x40);
    let id = cp.command(&mut pd, 0x61, &[0x00]);
    assert_eq!((id.code, id.data.len()), (0x45, 12));
    let cap = cp.command(&mut pd, 0x62, &[0x00]);
    assert_eq!(cap.code, 0x46);
    assert!(
        cap.data.chunks(3).any(|c| c == [0x09, 0x01, 0x00]),
        "AES-128 SC"
    );
    assert!(!pd.is_secure());
    assert_eq!(cp.handshake(&mut pd, &lab::LAB_SCBK).code, 0x78);
    assert!(pd.is_secure());
    let r = cp.command(&mut pd, 0x60, &[]);
    assert_eq!((r.code, r.scs), (0x40, Some(0x16)));
    pd.report_raw(&CARD).unwrap();
    let r = cp.command(&mut pd, 0x60, &[]);
    assert_eq!((r.code, r.scs), (0x50, Some(0x18)));
    assert_eq!(r.data, CARD);
    // On the wire the payload is encrypted: the credential ID is not in the clear.
    assert!(!r.raw.windows(8).any(|w| w == &CARD[4..]));
    let r = cp.command(&mut pd, 0x60, &[]);
    assert_eq!(r.code, 0x40, "exactly one read");
    // An encrypted command (SCS_17) is decrypted: LED with data is acknowledged.
    let r = cp.command(&mut pd, 0x69, &[0; 14]);
    assert_eq!((r.code, r.scs), (0x40, Some(0x16)));
    let r = cp.command(&mut pd, 0x64, &[]);
    assert_eq!((r.code, r.data.as_slice()), (0x48, &[0u8, 0][..]));
}

#[test]
fn no_card_data_and_no_other_command_outside_the_channel() {
    let mut pd = Pd::new(lab::pd_config());
    pd.report_raw(&CARD).unwrap();
    let mut cp = Cp::new();
    for _ in 0..4 {
        let r = cp.command(&mut pd, 0x60, &[]);
        assert_eq!(r.code, 0x40, "a plaintext poll gets ACK only");
    }
    for code in [0x64, 0x69, 0x6A, 0xA7, 0x6E] {
        let r = cp.command(&mut pd, code, &[0; 4]);
        assert_eq!(
            (r.code, r.data.as_slice()),
            (0x41, &[0x06u8][..]),
            "{code:02X}"
        );
    }
    // The read is still queued for the session.
    assert_eq!(drain_raw_records(&mut pd), vec![CARD.to_vec()]);
}

#[test]
fn scbk_d_and_a_wrong_key_get_no_session() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    let p = cp.packet(0, Some(&[0x03, 0x11, 0x00]), 0x76, &RND_A);
    let r = cp.open(send(&mut pd, &p).unwrap());
    assert_eq!((r.code, r.data.as_slice()), (0x41, &[0x05u8][..]));
    // The control panel holds another key: the PD's cryptogram does not verify for it, and a
    // server cryptogram made with it is refused.
    let mut cp = Cp::new();
    cp.next_sqn();
    let r = cp.handshake(&mut pd, &[0x30; 16]);
    assert_eq!(r.code, 0x76);
    let bogus = cp.packet(2, Some(&[0x03, 0x13, 0x01]), 0x77, &[0x55; 16]);
    let r = cp.open(send(&mut pd, &bogus).unwrap());
    assert_eq!((r.code, r.data.as_slice()), (0x41, &[0x06u8][..]));
    assert!(!pd.is_secure());
}

#[test]
fn a_bad_mac_ends_the_session_and_drops_the_read() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.command(&mut pd, 0x60, &[]);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    pd.report_raw(&CARD).unwrap();
    assert_eq!(pd.read_fate(), ReadFate::Waiting);
    let sqn = cp.next_sqn();
    let mut p = cp.packet(sqn, None, 0x60, &[]);
    let at = p.len() - 4;
    p[at] ^= 1;
    let c = crc(&p[..p.len() - 2]);
    let n = p.len();
    p[n - 2..].copy_from_slice(&c.to_le_bytes());
    let raw = send(&mut pd, &p).unwrap();
    let r = Packet::parse(&raw).unwrap();
    assert_eq!((r.code, r.data), (0x41, &[0x06u8][..]));
    assert!(!pd.is_secure());
    // Queued in the session that ended: never sent in the next one.
    assert_eq!(pd.read_fate(), ReadFate::Lost);
    assert!(drain_raw_records(&mut pd).is_empty());
}

/// Every way a session ends (a new CHLNG, SQN 0 from a restarted panel, a plaintext command)
/// drops the reads queued in it, and one sent but not yet acknowledged is lost, not taken.
#[test]
fn a_read_queued_before_a_session_drop_is_never_delivered_after_it() {
    for ending in ["chlng", "sqn0", "plaintext", "in flight"] {
        let mut pd = Pd::new(lab::pd_config());
        let mut cp = Cp::new();
        cp.command(&mut pd, 0x60, &[]);
        cp.handshake(&mut pd, &lab::LAB_SCBK);
        pd.report_raw(&CARD).unwrap();
        match ending {
            "chlng" => {
                let sqn = cp.next_sqn();
                let p = cp.packet(sqn, Some(&[0x03, 0x11, 0x01]), 0x76, &RND_A);
                send(&mut pd, &p).unwrap();
            }
            "sqn0" => {
                let mut fresh = Cp::new();
                assert_eq!(fresh.command(&mut pd, 0x60, &[]).code, 0x40);
            }
            "plaintext" => {
                let sqn = cp.next_sqn();
                let keys = cp.keys.take();
                let p = cp.packet(sqn, None, 0x60, &[]);
                cp.keys = keys;
                send(&mut pd, &p).unwrap();
            }
            _ => {
                // The reply carrying the read goes out, then the panel restarts (SQN 0)
                // without ever acknowledging it.
                assert_eq!(cp.command(&mut pd, 0x60, &[]).code, 0x50);
                let mut fresh = Cp::new();
                assert_eq!(fresh.command(&mut pd, 0x60, &[]).code, 0x40);
            }
        }
        assert!(!pd.is_secure(), "{ending}");
        assert_eq!(pd.read_fate(), ReadFate::Lost, "{ending}");
        assert!(drain_raw_records(&mut pd).is_empty(), "{ending}");
    }
}

#[test]
fn a_read_is_taken_only_when_the_panel_moves_past_its_reply() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.command(&mut pd, 0x60, &[]);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    pd.report_raw(&CARD).unwrap();
    let sqn = cp.next_sqn();
    let p = cp.packet(sqn, None, 0x60, &[]);
    let first = send(&mut pd, &p).unwrap();
    assert_eq!(pd.read_fate(), ReadFate::Waiting, "sent, not acknowledged");
    // The panel missed the reply and repeats its SQN: still waiting.
    assert_eq!(send(&mut pd, &p).unwrap(), first);
    assert_eq!(pd.read_fate(), ReadFate::Waiting);
    cp.open(first);
    assert_eq!(cp.command(&mut pd, 0x60, &[]).code, 0x40);
    assert_eq!(pd.read_fate(), ReadFate::Taken);
    assert_eq!(pd.read_fate(), ReadFate::None, "told once");
}

/// A read sent to a panel that then goes quiet (no next command, no new session) is lost
/// once it is too old: the reader is never left waiting for good.
#[test]
fn a_read_sent_but_never_acknowledged_is_lost_when_too_old() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.command(&mut pd, 0x60, &[]);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    pd.set_time(10);
    pd.report_raw(&CARD).unwrap();
    assert_eq!(cp.command(&mut pd, 0x60, &[]).code, 0x50);
    let max = lab::pd_config().read_max_age_ms;
    pd.set_time(10 + max);
    assert_eq!(pd.read_fate(), ReadFate::Waiting);
    pd.set_time(11 + max);
    assert_eq!(pd.read_fate(), ReadFate::Lost);
}

#[test]
fn reads_expire_after_the_configured_age() {
    for (max_age, waited, delivered) in [
        (READ_MAX_AGE_MS, READ_MAX_AGE_MS, true),
        (READ_MAX_AGE_MS, READ_MAX_AGE_MS + 1, false),
        (500, 501, false),
        (500, 500, true),
    ] {
        let mut pd = Pd::new(crate::osdp::PdConfig {
            read_max_age_ms: max_age,
            ..lab::pd_config()
        });
        // The clock wraps in the middle.
        let t0 = u32::MAX - 100;
        pd.set_time(t0);
        pd.report_raw(&CARD).unwrap();
        pd.set_time(t0.wrapping_add(waited));
        let raws = drain_raw_records(&mut pd);
        assert_eq!(raws.len(), usize::from(delivered), "{max_age} {waited}");
        // `drain_raw_records` polls once more after the read: the panel took it.
        let fate = if delivered {
            ReadFate::Taken
        } else {
            ReadFate::Lost
        };
        assert_eq!(pd.read_fate(), fate, "{max_age} {waited}");
    }
}

#[test]
fn a_repeated_sqn_gets_the_same_reply_and_no_second_read() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.command(&mut pd, 0x60, &[]);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    pd.report_raw(&CARD).unwrap();
    let sqn = cp.next_sqn();
    let p = cp.packet(sqn, None, 0x60, &[]);
    let first = send(&mut pd, &p).unwrap();
    let again = send(&mut pd, &p).unwrap();
    assert_eq!(first, again);
    let r = cp.open(first);
    assert_eq!((r.code, r.data), (0x50, CARD.to_vec()));
    assert_eq!(cp.command(&mut pd, 0x60, &[]).code, 0x40);
}

#[test]
fn tamper_is_reported_inside_the_session() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.command(&mut pd, 0x60, &[]);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    pd.set_tamper(true);
    let r = cp.command(&mut pd, 0x60, &[]);
    assert_eq!((r.code, r.scs, r.data), (0x48, Some(0x18), vec![1, 0]));
    assert_eq!(cp.command(&mut pd, 0x60, &[]).code, 0x40);
}

/// Tamper: the SCBK goes, the tamper report still leaves in the running session, then the
/// session ends and none can be set up again; the reads queued are dropped.
#[test]
fn a_wipe_reports_tamper_then_ends_the_session_for_good() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.command(&mut pd, 0x60, &[]);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    pd.report_raw(&CARD).unwrap();
    crate::Panel::tamper(&mut pd, true);
    assert!(pd.is_wiped());
    let r = cp.command(&mut pd, 0x60, &[]);
    assert_eq!((r.code, r.scs, r.data), (0x48, Some(0x18), vec![1, 0]));
    assert!(!pd.is_secure(), "the session ends with the tamper report");
    assert_eq!(pd.read_fate(), ReadFate::Lost);
    // A new handshake with the right key is refused: the PD no longer holds it.
    let mut fresh = Cp::new();
    assert_eq!(fresh.command(&mut pd, 0x60, &[]).code, 0x40);
    let sqn = fresh.next_sqn();
    let chlng = fresh.packet(sqn, Some(&[0x03, 0x11, 0x01]), 0x76, &RND_A);
    let r = fresh.open(send(&mut pd, &chlng).unwrap());
    assert_eq!((r.code, r.data.as_slice()), (0x41, &[0x05u8][..]));
    assert!(!pd.is_secure());
    for code in [0x64, 0x61] {
        let r = fresh.command(&mut pd, code, &[0]);
        assert_ne!(r.code, 0x50, "never a card read");
    }
}

/// Trusted time (firmware/README.md): osdp_MFG `FF FF FF 01 || seconds LE` inside the
/// Secure Channel only.
#[test]
fn the_panel_sets_the_time_only_inside_the_secure_channel() {
    let mut pd = Pd::new(lab::pd_config());
    pd.set_time(700);
    let mut cp = Cp::new();
    let set = [0xFF, 0xFF, 0xFF, 0x01, 0x00, 0xE1, 0xF5, 0x6A];
    // In clear: refused, nothing taken.
    let r = cp.command(&mut pd, 0x80, &set);
    assert_eq!((r.code, r.data.as_slice()), (0x41, &[0x06u8][..]));
    assert_eq!(pd.take_panel_time(), None);
    cp.handshake(&mut pd, &lab::LAB_SCBK);
    let r = cp.command(&mut pd, 0x80, &set);
    assert_eq!((r.code, r.scs), (0x40, Some(0x16)));
    assert_eq!(pd.take_panel_time(), Some((0x6AF5_E100, 700)));
    assert_eq!(pd.take_panel_time(), None, "taken once");
    for (bad, nak) in [
        (&[0xFF, 0xFF, 0xFF, 0x01, 0x00][..], 0x09),
        (&[0xFF, 0xFF][..], 0x09),
        (&[0x00, 0x11, 0x22, 0x01, 0, 0, 0, 0][..], 0x03),
        (&[0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0][..], 0x03),
    ] {
        let r = cp.command(&mut pd, 0x80, bad);
        assert_eq!(
            (r.code, r.data.as_slice()),
            (0x41, &[nak][..]),
            "{bad:02X?}"
        );
    }
    assert_eq!(pd.take_panel_time(), None);
}

#[test]
fn other_addresses_are_ignored() {
    let mut pd = Pd::new(lab::pd_config());
    let mut cp = Cp::new();
    cp.addr = 5;
    let p = cp.packet(0, None, 0x60, &[]);
    assert_eq!(send(&mut pd, &p), None);
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any bytes on the line: no panic, and never card data in a plaintext reply.
        #[test]
        fn any_line_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let mut pd = Pd::new(lab::pd_config());
            pd.report_raw(&CARD).unwrap();
            let mut out = [0u8; 300];
            let mut rng = TestRng(1);
            for b in bytes {
                if let Some(n) = pd.on_byte(b, &mut rng, &mut out) {
                    let p = Packet::parse(&out[..n]).unwrap();
                    prop_assert!(p.code != 0x50);
                }
            }
        }

        /// A session, then mutated secure polls: no panic, and a RAW only ever encrypted.
        #[test]
        fn mutated_secure_packets(at in any::<usize>(), xor in 1u8.., cut in any::<usize>()) {
            let mut pd = Pd::new(lab::pd_config());
            let mut cp = Cp::new();
            cp.command(&mut pd, 0x60, &[]);
            cp.handshake(&mut pd, &lab::LAB_SCBK);
            pd.report_raw(&CARD).unwrap();
            let sqn = cp.next_sqn();
            let mut p = cp.packet(sqn, None, 0x69, &[1; 14]);
            let i = at % p.len();
            p[i] ^= xor;
            p.truncate(cut % (p.len() + 1));
            if let Some(r) = send(&mut pd, &p) {
                let r = Packet::parse(&r).unwrap();
                prop_assert!(r.code != 0x50 || r.scs() == Some(0x18));
            }
        }
    }
}
