//! Replays the non-zero-key EV2 vectors of `specs/vectors/ev2-nonzero.json` against
//! `pcd::Desfire`.
//!
//! The vectors come from `specs/vectors/gen_ev2_vectors.py`, an independent implementation (Python
//! `cryptography` for AES/CBC/CMAC, written from the protocol facts, not from desfire-core). Keys
//! are non-zero and RndA/RndB come from a seeded PRNG, so an engine that derived its session keys
//! from the wrong key (a zero key, the previous session's key, the other session key) sends a
//! different C-APDU and fails the strict transport.

use desfire_core::crypto::ev2::{
    CmdCtr, Direction, SV1_LABEL, SV2_LABEL, SecureChannel, SessionKeys, Ti, session_vector,
};
use desfire_core::crypto::{AesKey, Random16, cmac, crc32, mac_t};
use desfire_core::pcd::{CommandMode, Desfire, FrameSize};
use desfire_core::wire::{KeyNo, Status};
use desfire_tests::vectors::{AuthStep, CommandStep, Step, Vector, ev2_nonzero};
use desfire_tests::{ScriptedRng, ScriptedTransport, hex};

fn keys_of(a: &AuthStep) -> SessionKeys {
    SessionKeys {
        enc: AesKey::new(a.ses_enc),
        mac: AesKey::new(a.ses_mac),
    }
}

/// The generator's intermediate values of one authentication, through the public crypto API.
fn check_auth_intermediates(v: &Vector, a: &AuthStep) {
    let rnd_a = Random16::new(a.rnd_a);
    let rnd_b = Random16::new(a.rnd_b);
    assert_eq!(
        session_vector(SV1_LABEL, &rnd_a, &rnd_b),
        a.sv1,
        "{} SV1",
        v.name
    );
    assert_eq!(
        session_vector(SV2_LABEL, &rnd_a, &rnd_b),
        a.sv2,
        "{} SV2",
        v.name
    );
    let derived = SessionKeys::derive(&AesKey::new(a.key), &rnd_a, &rnd_b);
    assert_eq!(derived, keys_of(a), "{} session keys", v.name);
    // The session keys are those of THIS key: neither the zero key nor another key of the card
    // gives them.
    assert_ne!(
        SessionKeys::derive(&AesKey::zero(), &rnd_a, &rnd_b),
        derived
    );
    for (n, other) in v.app_keys.iter().enumerate() {
        if *other != a.key {
            assert_ne!(
                SessionKeys::derive(&AesKey::new(*other), &rnd_a, &rnd_b),
                derived,
                "{}: key {n} gives the same session keys",
                v.name
            );
        }
    }
    assert_eq!(
        a.key,
        v.app_keys[usize::from(a.key_no)],
        "{} key table",
        v.name
    );
    assert_ne!(a.key, [0; 16]);
    // RndA' in the decrypted confirmation.
    let rot = rnd_a.rotated_left();
    let at = if a.first { 4 } else { 0 };
    assert_eq!(&a.confirmation_dec[at..at + 16], &rot);
    assert_eq!(a.confirmation_dec.len(), if a.first { 32 } else { 16 });
}

/// The generator's intermediate values of one command, through `SecureChannel`.
fn check_command_intermediates(v: &Vector, keys: &SessionKeys, c: &CommandStep) {
    let ch = SecureChannel::new(keys, Ti(c.ti), CmdCtr(c.cmd_ctr));
    let what = format!("{} {} (CmdCtr {})", v.name, c.name, c.cmd_ctr);
    if let Some(ivc) = c.ivc {
        assert_eq!(ch.iv(Direction::Command), Some(ivc), "{what}: IVc");
    }
    if let (Some(mac_input), Some(mact)) = (&c.mac_input, c.mact) {
        let payload = c.data_enc.as_deref().unwrap_or(&c.data);
        let mut expected_input = vec![c.ins];
        expected_input.extend_from_slice(&c.cmd_ctr.to_le_bytes());
        expected_input.extend_from_slice(&c.ti);
        expected_input.extend_from_slice(&c.header);
        expected_input.extend_from_slice(payload);
        assert_eq!(hex(mac_input), hex(&expected_input), "{what}: MAC input");
        assert_eq!(
            ch.command_mac(c.ins, &c.header, payload),
            mact,
            "{what}: MACt"
        );
        assert_eq!(
            mac_t(&cmac(&desfire_core::crypto::aes(&keys.mac), &[mac_input])),
            mact
        );
    }
    if let Some(ivr) = c.ivr {
        assert_eq!(ch.iv(Direction::Response), Some(ivr), "{what}: IVr");
    }
    if let (Some(resp_input), Some(resp_mact)) = (&c.resp_mac_input, c.resp_mact) {
        let payload = c.resp_data_enc.as_deref().unwrap_or(&c.response_data);
        assert_eq!(
            ch.response_mac(c.status, payload),
            Some(resp_mact),
            "{what}: response MACt"
        );
        assert_eq!(resp_input[0], c.status);
        assert_eq!(resp_input[1..3], (c.cmd_ctr + 1).to_le_bytes());
    }
    if let (Some(old), Some(new), Some(crc)) = (c.old_key, c.new_key, c.new_key_crc32) {
        // ChangeKey of another key: (New XOR Old) || KeyVer || CRC32(New).
        assert_eq!(crc32(&[&new]), crc, "{what}: CRC32(NewKey)");
        let mut key_data: Vec<u8> = new.iter().zip(old).map(|(n, o)| n ^ o).collect();
        key_data.push(c.key_version.expect("key version"));
        key_data.extend_from_slice(&crc);
        assert_eq!(hex(&c.data), hex(&key_data), "{what}: KeyData");
        assert_ne!(old, [0; 16]);
        assert_ne!(new, [0; 16]);
    }
}

fn replay(v: &Vector) {
    assert!(
        v.steps.len() >= 9,
        "{}: the vector lost steps ({})",
        v.name,
        v.steps.len()
    );
    let transport = ScriptedTransport::strict(v.all_frames());
    let frame = FrameSize {
        max_command_data: v.max_command_data,
    };
    let mut card = Desfire::<_>::new(transport, frame);
    let mut rng = ScriptedRng::new(v.rnd_as());
    let mut keys: Option<SessionKeys> = None;
    let mut frames_so_far = 0;
    let mut ti: Option<[u8; 4]> = None;

    for step in &v.steps {
        match step {
            Step::Auth(a) => {
                check_auth_intermediates(v, a);
                let key_no = KeyNo::new(a.key_no).expect("key number");
                let key = AesKey::new(a.key);
                if a.first {
                    card.authenticate_ev2_first(key_no, &key, &mut rng)
                } else {
                    card.authenticate_ev2_non_first(key_no, &key, &mut rng)
                }
                .unwrap_or_else(|e| panic!("{}: authentication with key {key_no}: {e:?}", v.name));
                let s = card.session().expect("authenticated");
                assert_eq!(s.ti(), Ti(a.ti), "{}: TI", v.name);
                assert_eq!(s.cmd_ctr(), CmdCtr(a.cmd_ctr_after), "{}: CmdCtr", v.name);
                assert_eq!(s.key_no(), key_no);
                match ti {
                    None => ti = Some(a.ti),
                    // NonFirst keeps the TI of the transaction.
                    Some(t) => assert_eq!(t, a.ti, "{}: NonFirst changed TI", v.name),
                }
                keys = Some(keys_of(a));
            }
            Step::Command(c) => {
                let session_keys = keys.as_ref().expect("a command before authentication");
                check_command_intermediates(v, session_keys, c);
                let before = card.session().expect("authenticated").cmd_ctr();
                assert_eq!(before, CmdCtr(c.cmd_ctr), "{} {}: CmdCtr", v.name, c.name);
                let cmd = c.command();
                let mut rx = [0u8; 512];
                let resp = card.execute(&cmd, &mut rx).unwrap_or_else(|e| {
                    panic!("{} {} (CmdCtr {}): {e:?}", v.name, c.name, c.cmd_ctr)
                });
                assert_eq!(
                    hex(resp.data()),
                    hex(&c.response_data),
                    "{} {}: response data",
                    v.name,
                    c.name
                );
                assert_eq!(resp.status(), Status(c.status));
                match (card.session(), c.cmd_ctr_after) {
                    (Some(s), Some(after)) => {
                        assert!(!c.ends_session);
                        assert_eq!(s.cmd_ctr(), CmdCtr(after), "{} {}", v.name, c.name);
                        assert_eq!(Some(s.ti().0), ti);
                    }
                    (None, None) => {
                        assert!(c.ends_session);
                        keys = None;
                    }
                    (s, after) => panic!(
                        "{} {}: session {:?}, generator's counter after {after:?}",
                        v.name,
                        c.name,
                        s.map(|s| s.cmd_ctr())
                    ),
                }
            }
        }
        frames_so_far += step.frames().len();
        assert_eq!(
            card.transport_mut().position(),
            frames_so_far,
            "{}: the step used another number of frames than recorded",
            v.name
        );
    }
    assert!(card.transport_mut().is_finished());
    assert_eq!(rng.remaining(), 0, "{}: RndA values left over", v.name);
    assert!(
        card.session().is_none(),
        "ChangeKey of the auth key ends it"
    );
}

#[test]
fn vectors_cover_what_the_brief_asks() {
    let vectors = ev2_nonzero();
    assert!(vectors.len() >= 3);
    for v in &vectors {
        let names: Vec<&str> = v
            .steps
            .iter()
            .map(|s| match s {
                Step::Auth(a) if a.first => "EV2First",
                Step::Auth(_) => "EV2NonFirst",
                Step::Command(c) => c.name.as_str(),
            })
            .collect();
        assert_eq!(
            names,
            [
                "EV2First",
                "GetFileSettings",
                "ReadData",
                "WriteData",
                "WriteData",
                "EV2NonFirst",
                "GetCardUID",
                "ChangeKey",
                "ChangeKey"
            ],
            "{}",
            v.name
        );
        let first = v.first_auth();
        assert!((1..=13).contains(&first.key_no), "{}", v.name);
        assert!(!v.seed.is_empty());
        for key in &v.app_keys {
            assert_ne!(*key, [0; 16]);
        }
        let modes: Vec<CommandMode> = v
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Command(c) => Some(c.mode),
                Step::Auth(_) => None,
            })
            .collect();
        assert!(modes.contains(&CommandMode::Plain));
        assert!(modes.contains(&CommandMode::Mac));
        assert!(modes.contains(&CommandMode::Full));
        for s in &v.steps {
            if let Step::Command(c) = s {
                match c.name.as_str() {
                    "ReadData" => assert_eq!(c.response_data.len(), 160),
                    "GetCardUID" => assert_eq!(c.response_data, v.uid),
                    "WriteData" if c.mode == CommandMode::Full => assert_eq!(c.data.len(), 40),
                    _ => {}
                }
            }
        }
    }
    // At least one vector exercises additional-frame chaining in both directions.
    assert!(vectors.iter().any(|v| {
        v.steps.iter().any(|s| match s {
            Step::Command(c) => c.frames.len() > 1 && c.frames[0].rapdu == [0x91, 0xAF],
            Step::Auth(_) => false,
        }) && v.steps.iter().any(|s| match s {
            Step::Command(c) => c.frames.iter().any(|f| f.capdu == [0x90, 0xAF, 0, 0, 0]),
            Step::Auth(_) => false,
        })
    }));
}

#[test]
fn ev2_nonzero_1() {
    replay(&ev2_nonzero()[0]);
}

#[test]
fn ev2_nonzero_2_chained_frames() {
    replay(&ev2_nonzero()[1]);
}

#[test]
fn ev2_nonzero_3() {
    replay(&ev2_nonzero()[2]);
}

#[test]
fn every_vector_replays() {
    for v in ev2_nonzero() {
        replay(&v);
    }
}

/// The sealed bodies through the sans-IO `Exchange` as well: the frames the driver sends are
/// the generator's body cut at `max_command_data`.
#[test]
fn recorded_bodies_match_recorded_frames() {
    use desfire_core::pcd::Exchange;
    use desfire_core::wire::Ins;
    for v in ev2_nonzero() {
        for s in &v.steps {
            let Step::Command(c) = s else { continue };
            let mut rx = [0u8; 512];
            let mut ex = Exchange::new(Ins(c.ins), &c.body, v.max_command_data, &mut rx);
            let mut out = [0u8; 300];
            for f in &c.frames {
                let n = ex.next_frame(&mut out).expect("frame");
                assert_eq!(hex(&out[..n]), hex(&f.capdu), "{} {}", v.name, c.name);
                if ex.on_frame(&f.rapdu).expect("answer").is_some() {
                    break;
                }
            }
            assert_eq!(ex.response_len(), c.response_body.len());
            assert_eq!(rx[..c.response_body.len()], c.response_body[..]);
        }
    }
}
