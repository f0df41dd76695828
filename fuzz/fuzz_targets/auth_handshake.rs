//! AuthenticateEV2First and AuthenticateEV2NonFirst, reader side, against arbitrary card frames,
//! then arbitrary response bodies to the resulting session. Nothing may panic; a handshake may
//! only succeed when the card proved it knows the key (RndA' matched).
//!
//! Input: selector byte, key (16), RndA (16), then R-APDUs as a length byte and that many bytes
//! (after the handshake's two, each with a selector byte first: see `exercise`).
#![no_main]

use desfire_core::crypto::{AesKey, Random16};
use desfire_core::pcd::auth::{Ev2First, Ev2NonFirst};
use desfire_core::pcd::{Command, CommandData, CommandMode, Session};
use desfire_core::wire::{Ins, KeyNo, Status};
use libfuzzer_sys::fuzz_target;

/// Splits length-prefixed frames off the input.
struct Frames<'a>(&'a [u8]);

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.0.split_first()?;
        let (frame, rest) = rest.split_at(usize::from(len).min(rest.len()));
        self.0 = rest;
        Some(frame)
    }
}

fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The AN12196 Table 14 session, to start NonFirst from.
fn an12196_session() -> Session {
    Ev2First::new(KeyNo::MASTER, AesKey::zero())
        .on_challenge(
            &hex::<18>("A04C124213C186F22399D33AC2A3021591AF"),
            Random16::new(hex("13C5DB8A5930439FC3DEF9A4C675360F")),
        )
        .unwrap()
        .on_confirmation(&hex::<34>(
            "3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100",
        ))
        .unwrap()
}

/// Feeds the remaining frames to `session` as answers to commands. Each frame is a selector
/// byte, then the R-APDU (data, then SW1 SW2): selector bits 0-1 the command mode (plain,
/// MAC, full), bit 2 a command with 32 bytes of data, bit 3 a command that ends the session.
fn exercise(mut session: Session, frames: &mut Frames<'_>) {
    let modes = [
        CommandMode::Plain,
        CommandMode::Mac,
        CommandMode::Full,
        CommandMode::Full,
    ];
    for frame in frames.take(8) {
        let Some((&sel, rapdu)) = frame.split_first() else {
            return;
        };
        let mut out = [0u8; 128];
        let mode = modes[usize::from(sel & 3)];
        // Only a ChangeKey of the authenticated key may end the session (the command table).
        let cmd = if sel & 0x08 != 0 {
            Command::new(Ins::CHANGE_KEY, &[0], mode)
                .and_then(Command::changing_authenticated_key)
                .unwrap()
        } else {
            Command::new(Ins::READ_DATA, &[1, 0, 0, 0, 0, 0, 0], mode).unwrap()
        };
        let cmd = if sel & 0x04 != 0 {
            cmd.with_data(CommandData::Borrowed(&[0xA5; 32]))
        } else {
            cmd
        };
        let _ = session.seal_command(&cmd, &mut out);
        let Some((&sw2, rest)) = rapdu.split_last() else {
            return;
        };
        let Some((_, data)) = rest.split_last() else {
            return;
        };
        let mut body = [0u8; 256];
        let n = data.len().min(body.len());
        body[..n].copy_from_slice(&data[..n]);
        match session.open_response(&cmd, Status(sw2), &mut body[..n], Default::default()) {
            Ok((Some(next), resp)) => {
                assert!(resp.data().len() <= n);
                session = next;
            }
            Ok((None, _)) | Err(_) => return,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 33 {
        return;
    }
    let (head, rest) = data.split_at(33);
    let key_no = KeyNo::new(head[0] % KeyNo::MAX_KEYS).unwrap();
    let key = AesKey::from_slice(&head[1..17]).unwrap();
    let rnd_a = Random16::new(head[17..33].try_into().unwrap());
    let mut frames = Frames(rest);
    let mut out = [0u8; 64];

    if head[0] & 0x80 == 0 {
        let auth = Ev2First::new(key_no, key);
        let auth = if head[0] & 0x40 != 0 {
            match auth.with_pcd_cap2(&head[1..1 + usize::from(head[0] & 0x07)]) {
                Ok(a) => a,
                Err(_) => return,
            }
        } else {
            auth
        };
        auth.command(&mut out).unwrap();
        let Some(challenge) = frames.next() else {
            return;
        };
        let Ok(next) = auth.on_challenge(challenge, rnd_a) else {
            return;
        };
        next.command(&mut out).unwrap();
        let Some(confirmation) = frames.next() else {
            return;
        };
        if let Ok(session) = next.on_confirmation(confirmation) {
            exercise(session, &mut frames);
        }
    } else {
        let auth = Ev2NonFirst::new(an12196_session(), key_no, key);
        auth.command(&mut out).unwrap();
        let Some(challenge) = frames.next() else {
            return;
        };
        let Ok(next) = auth.on_challenge(challenge, rnd_a) else {
            return;
        };
        next.command(&mut out).unwrap();
        let Some(confirmation) = frames.next() else {
            return;
        };
        if let Ok(session) = next.on_confirmation(confirmation) {
            exercise(session, &mut frames);
        }
    }
    // The known session against arbitrary bodies: MACs must fail closed, never panic.
    exercise(an12196_session(), &mut Frames(rest));
});
