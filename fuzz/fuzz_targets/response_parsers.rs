//! Every response parser of `pcd::commands` on arbitrary bytes, along three paths:
//!
//! 1. the bytes as one verified plain response (`pcd::open_unauthenticated`);
//! 2. the bytes as a sequence of R-APDUs through `Desfire::execute` without a session (additional
//!    frames, status words, frame boundaries for GetDFNames);
//! 3. the bytes as the plaintext of a MAC-mode and of a Full-mode response to the AN12196
//!    Table 14 session, MACed and encrypted here so that they pass verification.
//!
//! The first input byte picks the parser. Nothing may panic; every accepted value must print.
#![no_main]

use desfire_core::crypto::ev2::{CmdCtr, Direction, SecureChannel, SessionKeys, Ti};
use desfire_core::crypto::{AesKey, Random16, cbc_encrypt, pad_iso9797_m2};
use desfire_core::pcd::auth::Ev2First;
use desfire_core::pcd::commands::*;
use desfire_core::pcd::{
    Command, CommandMode, Desfire, FrameSize, Response, Session, Transport, open_unauthenticated,
};
use desfire_core::wire::{CommMode, FileNo, KeyNo, Status, U24};
use libfuzzer_sys::fuzz_target;

const PARSERS: u8 = 17;

/// Runs parser `sel` on `resp` and prints what it accepted.
fn parse(sel: u8, resp: &Response<'_>) {
    let file = FileNo::new(1).unwrap();
    match sel % PARSERS {
        0 => {
            if let Ok(v) = Version::parse(resp) {
                assert!(matches!(resp.data().len(), 28 | 29));
                let _ = (v.product(), v.is_ev3(), v.hardware.storage_size.bytes());
                let _ = format!("{v}");
            }
        }
        1 => {
            if let Ok(v) = Uid::parse(resp) {
                assert_eq!(v.as_bytes(), resp.data());
                let _ = format!("{v}");
            }
        }
        2 => show(FreeMemory::parse(resp)),
        3 => {
            if let Ok(v) = ApplicationIds::parse(resp) {
                assert_eq!(v.iter().count(), v.len());
                let _ = format!("{v}");
            }
        }
        4 => {
            if let Ok(v) = DfNames::parse(resp) {
                assert_eq!(v.iter().count(), resp.frames().count());
                let _ = format!("{v}");
            }
        }
        5 => show(KeyConfiguration::parse(resp)),
        6 => show(KeyVersion::parse(resp)),
        7 => show(FileIds::parse(resp)),
        8 => {
            if let Ok(v) = IsoFileIds::parse(resp) {
                assert_eq!(v.iter().count(), v.len());
                let _ = format!("{v}");
            }
        }
        9 => {
            if let Ok(v) = FileSettings::parse(resp) {
                let _ = (v.comm_mode(), v.additional_access_rights.iter().count());
                let _ = format!("{v}");
            }
        }
        10 => show(FileValue::parse(resp)),
        11 => {
            let len = U24::new(resp.data().len() as u32).unwrap();
            let read = ReadData::new(file, U24::default(), len, CommMode::Full);
            assert_eq!(read.parse(resp).ok(), Some(resp.data()));
            let _ = ReadData::new(file, U24::default(), U24::new(7).unwrap(), CommMode::Mac)
                .parse(resp);
        }
        12 => {
            let size = U24::new(u32::from(resp.data().first().copied().unwrap_or(0) % 9)).unwrap();
            for count in [0, 1, 3] {
                let rr = ReadRecords::new(
                    file,
                    U24::default(),
                    U24::new(count).unwrap(),
                    CommMode::Plain,
                );
                if let Ok(records) = rr.parse(resp, size) {
                    assert_eq!(records.iter().count(), records.len());
                }
            }
        }
        13 => show(TransactionMacValue::parse(resp)),
        14 => {
            if let Ok(sig) = OriginalitySignature::parse(resp) {
                let _ = format!("{sig}");
                let _ = verify_originality(&[0x04, 0x44, 0x8B, 0xD2, 0xDB, 0x6B, 0x80], &sig);
            }
        }
        15 => {
            let _ = check_iso_select_response(resp.data());
        }
        _ => {
            let _ = KeySettings::from_byte(resp.data().first().copied().unwrap_or(0)).byte();
        }
    }
}

fn show<T: core::fmt::Display, E>(r: Result<T, E>) {
    if let Ok(v) = r {
        let _ = format!("{v}");
    }
}

/// Serves R-APDUs from the input: each one is a length byte and that many bytes.
struct Frames<'a>(&'a [u8]);

impl Transport for Frames<'_> {
    type Error = ();

    fn transceive(&mut self, _capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, ()> {
        let (&len, rest) = self.0.split_first().ok_or(())?;
        let len = usize::from(len).min(rest.len()).min(rapdu.len());
        let (frame, rest) = rest.split_at(len);
        rapdu[..len].copy_from_slice(frame);
        self.0 = rest;
        Ok(len)
    }
}

/// The AN12196 Table 14 session (key 0, RndA 13C5…), and a channel that can speak as the card.
fn an12196_session() -> (Session, SecureChannel) {
    let rnd_a: [u8; 16] = hex("13C5DB8A5930439FC3DEF9A4C675360F");
    let next = Ev2First::new(KeyNo::MASTER, AesKey::zero())
        .on_challenge(
            &hex::<18>("A04C124213C186F22399D33AC2A3021591AF"),
            Random16::new(rnd_a),
        )
        .unwrap();
    let session = next
        .on_confirmation(&hex::<34>(
            "3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100",
        ))
        .unwrap();
    let keys = SessionKeys::derive(
        &AesKey::zero(),
        &Random16::new(rnd_a),
        &Random16::new(hex("B9E2FC789B64BF237CCCAA20EC7E6E48")),
    );
    let card = SecureChannel::new(&keys, Ti(hex("9D00C4DF")), CmdCtr(0));
    (session, card)
}

fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };

    // 1. One verified plain response.
    let cmd = get_df_names();
    if let Ok(resp) = open_unauthenticated(&cmd, Status::OPERATION_OK, rest, Default::default()) {
        parse(sel, &resp);
    }

    // 2. Through the engine, frame by frame, without a session.
    let mut d: Desfire<_, 64> = Desfire::new(Frames(rest), FrameSize::SHORT_APDU);
    let mut rx = [0u8; 1024];
    if let Ok(resp) = d.execute(&cmd, &mut rx) {
        parse(sel, &resp);
    }

    // 3. As MAC-mode and Full-mode plaintext of a session, verified and decrypted by the engine.
    let payload = &rest[..rest.len().min(200)];
    let (session, card) = an12196_session();
    let mac_cmd = Command::new(cmd.ins(), &[], CommandMode::Mac).unwrap();
    let mut body = [0u8; 256];
    body[..payload.len()].copy_from_slice(payload);
    let mac = card.response_mac(0x00, payload).unwrap();
    body[payload.len()..payload.len() + 8].copy_from_slice(&mac);
    let n = payload.len() + 8;
    let (_, resp) = session
        .clone()
        .open_response(
            &mac_cmd,
            Status::OPERATION_OK,
            &mut body[..n],
            Default::default(),
        )
        .unwrap();
    assert_eq!(resp.data(), payload);
    parse(sel, &resp);

    let full_cmd = Command::new(cmd.ins(), &[], CommandMode::Full).unwrap();
    let mut body = [0u8; 256];
    body[..payload.len()].copy_from_slice(payload);
    let padded = pad_iso9797_m2(&mut body, payload.len()).unwrap();
    let iv = card.iv(Direction::Response).unwrap();
    cbc_encrypt(card.enc_cipher(), &iv, &mut body[..padded]).unwrap();
    let mac = card.response_mac(0x00, &body[..padded]).unwrap();
    body[padded..padded + 8].copy_from_slice(&mac);
    let (_, resp) = session
        .open_response(
            &full_cmd,
            Status::OPERATION_OK,
            &mut body[..padded + 8],
            Default::default(),
        )
        .unwrap();
    assert_eq!(resp.data(), payload);
    parse(sel, &resp);
});
