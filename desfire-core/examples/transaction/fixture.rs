//! The card's side of the benchmark transaction, computed once with `desfire-core`'s crypto
//! primitives (never with the reader code under test): fixed keys, RndA, RndB and TI, so every
//! run replays the same bytes.
//!
//! Shared through `#[path]` by the `transaction` example and the criterion bench; the example
//! also prints it as Rust consts for `perf/thumb-transaction`.

use super::replay::{EXCHANGES, READ_HEADER, READ_LEN, Recording, UID_LEN};
use desfire_core::crypto::ev2::{CmdCtr, Direction, SecureChannel, SessionKeys, Ti};
use desfire_core::crypto::{AesKey, Random16, aes, cbc_decrypt, cbc_encrypt, pad_iso9797_m2};
use desfire_core::wire::Ins;
use hex_literal::hex;

/// Application key 1 (non-zero: a zero key hides key mix-ups).
pub const KEY1: [u8; 16] = hex!("3C4B5A69788796A5B4C3D2E1F00F1E2D");
/// Application key 2, unrelated to key 1.
pub const KEY2: [u8; 16] = hex!("8E4F2C1A0B3D5E6F7A8B9C0D1E2F3A4B");
/// The reader's RndA of AuthenticateEV2First and of AuthenticateEV2NonFirst.
pub const RND_A: [[u8; 16]; 2] = [
    hex!("13C5DB8A5930439FC3DEF9A4C675360F"),
    hex!("7D0E91A3B44C25F86A1BE03C97D2548E"),
];
/// The card's RndB of the two authentications.
pub const RND_B: [[u8; 16]; 2] = [
    hex!("B9E2FC789B64BF237CCCAA20EC7E6E48"),
    hex!("2A6F10C8D39E57B40C81F26DA5E3397B"),
];
/// The transaction identifier the card picks in AuthenticateEV2First.
pub const TI: [u8; 4] = hex!("4F1C2E9A");
/// The card's PDcap2 (an EV3 in default configuration answers zeros).
pub const PD_CAP2: [u8; 6] = [0; 6];
/// The card's UID.
pub const UID: [u8; UID_LEN] = hex!("045A3B127C8090");

const ZERO_IV: [u8; 16] = [0; 16];

/// The credential file contents: a fixed pattern, no two neighbouring bytes equal.
pub fn credential() -> [u8; READ_LEN] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11))
}

/// The recorded exchanges, owned.
#[derive(Debug, Clone)]
pub struct Fixture {
    capdus: Vec<Vec<u8>>,
    rapdus: Vec<Vec<u8>>,
}

/// `90 INS 00 00 [Lc data] 00`, written out here rather than with the engine's emitter.
fn capdu(ins: Ins, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x90, ins.0, 0x00, 0x00];
    if !data.is_empty() {
        out.push(u8::try_from(data.len()).unwrap());
        out.extend_from_slice(data);
    }
    out.push(0x00);
    out
}

fn rapdu(data: &[u8], status: u8) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&[0x91, status]);
    out
}

/// `E(K, data)`, AES-CBC with a zero IV, as every handshake message is encrypted.
fn handshake_encrypt(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    cbc_encrypt(&aes(&AesKey::new(*key)), &ZERO_IV, &mut buf).unwrap();
    buf
}

/// The reader's handshake token `E(K, RndA || RndB')`, as the card will decrypt and check it.
fn reader_token(key: &[u8; 16], rnd_a: &[u8; 16], rnd_b: &[u8; 16]) -> Vec<u8> {
    let mut plain = rnd_a.to_vec();
    plain.extend_from_slice(&Random16::new(*rnd_b).rotated_left());
    let token = handshake_encrypt(key, &plain);
    // The card side decrypts it back: RndA and RndB' must be where the card looks for them.
    let mut check = token.clone();
    cbc_decrypt(&aes(&AesKey::new(*key)), &ZERO_IV, &mut check).unwrap();
    assert_eq!(check, plain);
    token
}

/// A Full-mode response: `E(SesAuthENCKey, IVr, data || padding) || MACt`, counter n+1.
fn full_response(ch: &SecureChannel, plain: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; plain.len() + 16];
    buf[..plain.len()].copy_from_slice(plain);
    let padded = pad_iso9797_m2(&mut buf, plain.len()).unwrap();
    buf.truncate(padded);
    let iv = ch.iv(Direction::Response).unwrap();
    cbc_encrypt(ch.enc_cipher(), &iv, &mut buf).unwrap();
    let mac = ch.response_mac(0x00, &buf).unwrap();
    buf.extend_from_slice(&mac);
    rapdu(&buf, 0x00)
}

/// A MAC-only command body: `header || MACt(Cmd || CmdCtr || TI || header)`.
fn maced_command(ch: &SecureChannel, ins: Ins, header: &[u8]) -> Vec<u8> {
    let mut body = header.to_vec();
    body.extend_from_slice(&ch.command_mac(ins.0, header, &[]));
    capdu(ins, &body)
}

impl Fixture {
    /// Computes the card's answers (and the C-APDUs it expects) for the fixed randoms.
    pub fn build() -> Self {
        let mut capdus = Vec::with_capacity(EXCHANGES);
        let mut rapdus = Vec::with_capacity(EXCHANGES);
        let rotated = |r: &[u8; 16]| Random16::new(*r).rotated_left();

        // AuthenticateEV2First, key 1, no PCDcap2.
        capdus.push(capdu(Ins::AUTHENTICATE_EV2_FIRST, &[1, 0]));
        rapdus.push(rapdu(&handshake_encrypt(&KEY1, &RND_B[0]), 0xAF));
        capdus.push(capdu(
            Ins::ADDITIONAL_FRAME,
            &reader_token(&KEY1, &RND_A[0], &RND_B[0]),
        ));
        let mut confirmation = TI.to_vec();
        confirmation.extend_from_slice(&rotated(&RND_A[0]));
        confirmation.extend_from_slice(&PD_CAP2);
        confirmation.extend_from_slice(&[0; 6]); // PCDcap2 echoed: none offered
        rapdus.push(rapdu(&handshake_encrypt(&KEY1, &confirmation), 0x00));
        let keys1 = SessionKeys::derive(
            &AesKey::new(KEY1),
            &Random16::new(RND_A[0]),
            &Random16::new(RND_B[0]),
        );
        let ch1 = SecureChannel::new(&keys1, Ti(TI), CmdCtr(0));

        // GetCardUID, Full: no command data, so only a MACt; the UID comes back encrypted.
        capdus.push(maced_command(&ch1, Ins::GET_CARD_UID, &[]));
        rapdus.push(full_response(&ch1, &UID));

        // AuthenticateEV2NonFirst, key 2: TI and CmdCtr (now 1) carry over.
        capdus.push(capdu(Ins::AUTHENTICATE_EV2_NON_FIRST, &[2]));
        rapdus.push(rapdu(&handshake_encrypt(&KEY2, &RND_B[1]), 0xAF));
        capdus.push(capdu(
            Ins::ADDITIONAL_FRAME,
            &reader_token(&KEY2, &RND_A[1], &RND_B[1]),
        ));
        rapdus.push(rapdu(&handshake_encrypt(&KEY2, &rotated(&RND_A[1])), 0x00));
        let keys2 = SessionKeys::derive(
            &AesKey::new(KEY2),
            &Random16::new(RND_A[1]),
            &Random16::new(RND_B[1]),
        );
        let ch2 = SecureChannel::new(&keys2, Ti(TI), CmdCtr(1));

        // ReadData file 1, 160 bytes, Full: 176 bytes of ciphertext and a MACt.
        capdus.push(maced_command(&ch2, Ins::READ_DATA, &READ_HEADER));
        rapdus.push(full_response(&ch2, &credential()));

        assert_eq!(capdus.len(), EXCHANGES);
        Self { capdus, rapdus }
    }

    /// The recording the reader replays.
    pub fn recording(&self) -> Recording<'_> {
        Recording {
            key1: KEY1,
            key2: KEY2,
            rnd_a: RND_A,
            capdus: core::array::from_fn(|i| self.capdus[i].as_slice()),
            rapdus: core::array::from_fn(|i| self.rapdus[i].as_slice()),
            uid: UID,
            data: credential(),
        }
    }
}
