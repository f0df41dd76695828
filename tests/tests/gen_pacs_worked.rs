//! The worked transactions of spec §12.1 (`specs/vectors/gen-pacs/worked-transaction.json`)
//! replayed against the engine's reader procedure, frame by frame.
//!
//! The JSON comes from `specs/vectors/gen-pacs/gen_worked_transaction.py`, which simulates the
//! card and the reader in Python with the `cryptography` package, independent of desfire-core.
//! `encoding::read_card` runs against a strict scripted transport: every C-APDU it sends must
//! equal the recorded one byte for byte, with RndA scripted from the JSON. The keys, session
//! keys, IVs and MACs the JSON prints are recomputed through the engine's crypto API.
//! TEST KEYS ONLY (spec §16).

use desfire_core::crypto::ev2::{
    CmdCtr, Direction, SV1_LABEL, SV2_LABEL, SecureChannel, SessionKeys, Ti, session_vector,
};
use desfire_core::crypto::originality::{OriginalityKey, TEST_KEY};
use desfire_core::crypto::{AesKey, Random16};
use desfire_core::encoding::keys::{AppKey, CardKey, diversification_input};
use desfire_core::encoding::{
    DenyReason, IssuerId, IssuerKey, KeyId, KeyProvider, LAB_AID, Masters, OriginalityCheck,
    OriginalityPolicy, OutputFormat, ReaderConfig, SystemId, Verdict, lab, osdp_raw,
    osdp_raw_extended, read_card,
};
use desfire_core::pcd::FrameSize;
use desfire_tests::vectors::{
    AuthStep, CommandStep, Step, WorkedKind, WorkedTransaction, worked_transactions,
};
use desfire_tests::{ScriptedRng, ScriptedTransport, hex};

fn masters(t: &WorkedTransaction) -> Masters {
    Masters {
        kuid: Some(AesKey::new(t.k1)),
        read: Some(AesKey::new(t.k2_master)),
        read_version: 1,
        ..Masters::new(LAB_AID, SystemId::GEN_PACS)
    }
}

fn check_auth(t: &WorkedTransaction, a: &AuthStep) -> SessionKeys {
    let rnd_a = Random16::new(a.rnd_a);
    let rnd_b = Random16::new(a.rnd_b);
    assert_eq!(
        session_vector(SV1_LABEL, &rnd_a, &rnd_b),
        a.sv1,
        "{} SV1",
        t.id
    );
    assert_eq!(
        session_vector(SV2_LABEL, &rnd_a, &rnd_b),
        a.sv2,
        "{} SV2",
        t.id
    );
    let keys = SessionKeys::derive(&AesKey::new(a.key), &rnd_a, &rnd_b);
    assert_eq!(
        keys,
        SessionKeys {
            enc: AesKey::new(a.ses_enc),
            mac: AesKey::new(a.ses_mac),
        },
        "{} session keys",
        t.id
    );
    let expected_key = if a.first { t.k1 } else { t.k2 };
    assert_eq!(a.key, expected_key, "{}: the key of step 3/7", t.id);
    let at = if a.first { 4 } else { 0 };
    assert_eq!(&a.confirmation_dec[at..at + 16], &rnd_a.rotated_left());
    keys
}

fn check_command(t: &WorkedTransaction, keys: &SessionKeys, c: &CommandStep) {
    let ch = SecureChannel::new(keys, Ti(c.ti), CmdCtr(c.cmd_ctr));
    let what = format!("{} {} (CmdCtr {})", t.id, c.name, c.cmd_ctr);
    let (Some(mac_input), Some(mact)) = (&c.mac_input, c.mact) else {
        panic!("{what}: every command of the procedure is MACed");
    };
    let mut expected = vec![c.ins];
    expected.extend_from_slice(&c.cmd_ctr.to_le_bytes());
    expected.extend_from_slice(&c.ti);
    expected.extend_from_slice(&c.header);
    assert_eq!(hex(mac_input), hex(&expected), "{what}: MAC input");
    assert_eq!(ch.command_mac(c.ins, &c.header, &[]), mact, "{what}: MACt");
    if let Some(ivr) = c.ivr {
        assert_eq!(ch.iv(Direction::Response), Some(ivr), "{what}: IVr");
    }
    let (Some(resp_input), Some(resp_mact)) = (&c.resp_mac_input, c.resp_mact) else {
        panic!("{what}: every response of the procedure is MACed");
    };
    let payload = c.resp_data_enc.as_deref().unwrap_or(&c.response_data);
    assert_eq!(
        ch.response_mac(c.status, payload),
        Some(resp_mact),
        "{what}: response MACt"
    );
    let mut expected = vec![c.status];
    expected.extend_from_slice(&(c.cmd_ctr + 1).to_le_bytes());
    expected.extend_from_slice(&c.ti);
    expected.extend_from_slice(payload);
    assert_eq!(
        hex(resp_input),
        hex(&expected),
        "{what}: response MAC input"
    );
}

fn run(
    t: &WorkedTransaction,
    frames: Vec<desfire_tests::Frame>,
    strict: bool,
) -> (Verdict, OriginalityCheck, usize, bool) {
    run_with(t, frames, strict, &t.anticollision_uid, false)
}

fn run_with(
    t: &WorkedTransaction,
    frames: Vec<desfire_tests::Frame>,
    strict: bool,
    anticollision_uid: &[u8],
    allow_fixed_uid: bool,
) -> (Verdict, OriginalityCheck, usize, bool) {
    let mut transport = if strict {
        ScriptedTransport::strict(frames)
    } else {
        ScriptedTransport::answering(frames.into_iter().map(|f| f.rapdu).collect())
    };
    let issuer_keys =
        [IssuerKey::from_sec1(IssuerId::lab_test(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()];
    let originality_keys: Vec<OriginalityKey> = t
        .originality_keys
        .iter()
        .map(|k| OriginalityKey {
            product: "TEST",
            sec1: k.as_slice().try_into().expect("57-byte SEC1 key"),
        })
        .collect();
    let config = ReaderConfig {
        frame: FrameSize::SHORT_APDU,
        allow_fixed_uid,
        read_key_generations: &t.read_key_generations,
        originality: if t.originality {
            OriginalityPolicy::Require
        } else {
            OriginalityPolicy::Off
        },
        originality_keys: &originality_keys,
        output: if t.extended_output {
            OutputFormat::Extended
        } else {
            OutputFormat::Osdp
        },
        ..ReaderConfig::new(LAB_AID, &issuer_keys)
    };
    let mut keys = masters(t);
    let mut rng = ScriptedRng::new(t.rnd_as());
    let tx = read_card(
        &mut transport,
        &config,
        &mut keys,
        &mut rng,
        anticollision_uid,
        t.now,
    );
    (
        tx.verdict,
        tx.originality,
        transport.position(),
        transport.is_finished(),
    )
}

#[test]
fn the_engine_sends_every_frame_of_the_worked_transactions() {
    let all = worked_transactions();
    assert_eq!(all.len(), 2);
    for t in &all {
        // The keys the JSON prints are the engine's.
        let uid = t.real_uid;
        let div = diversification_input(
            &uid,
            LAB_AID,
            CardKey::App(AppKey::Read),
            &SystemId::GEN_PACS,
        )
        .expect("K2 is diversified");
        assert_eq!(
            hex(div.as_bytes()),
            hex(&t.k2_div_input),
            "{}: K2 input",
            t.id
        );
        let k2 = masters(t)
            .card_key(CardKey::App(AppKey::Read), &uid)
            .expect("K2");
        assert_eq!(k2, AesKey::new(t.k2), "{}: K2", t.id);
        if t.originality {
            assert_eq!(hex(&t.originality_keys[0]), hex(&TEST_KEY.sec1));
        }

        // Every intermediate value, through the engine's crypto API.
        let mut session: Option<SessionKeys> = None;
        let mut steps = Vec::new();
        for s in &t.steps {
            steps.push(s.spec_step.as_str());
            match &s.kind {
                WorkedKind::Plain(frames) => assert_eq!(frames.len(), 1),
                WorkedKind::Ev2(step) => match step.as_ref() {
                    Step::Auth(a) => session = Some(check_auth(t, a)),
                    Step::Command(c) => {
                        check_command(t, session.as_ref().expect("in a session"), c)
                    }
                },
            }
        }
        let expected_steps: &[&str] = if t.originality {
            &["2", "3", "4", "5", "7", "9", "12"]
        } else {
            &["2", "3", "4", "7", "9"]
        };
        assert_eq!(steps, expected_steps, "{}", t.id);

        // The engine, frame by frame.
        let (verdict, originality, used, finished) = run(t, t.frames.clone(), true);
        let Verdict::Grant(c) = verdict else {
            panic!("{}: {verdict:?}", t.id);
        };
        assert!(
            finished,
            "{}: the engine used {used} of {} frames",
            t.id,
            t.frames.len()
        );
        assert_eq!(c.credential_id, lab::CREDENTIAL_ID);
        let out = if t.extended_output {
            osdp_raw_extended(&c, 0).to_vec()
        } else {
            osdp_raw(&c, 0).to_vec()
        };
        assert_eq!(hex(&out), hex(&t.output_bytes), "{}: output", t.id);
        assert_eq!(originality.passed(), t.originality, "{}", t.id);
    }
}

/// The replay can fail: a changed byte of the last frame's MACt is `MAC_MISMATCH` (ReadData)
/// or `ORIGINALITY_FAILED` (Read_Sig under `require`).
#[test]
fn a_changed_response_mac_in_the_worked_transactions_is_denied() {
    for t in &worked_transactions() {
        let mut frames = t.frames.clone();
        let last = frames.last_mut().expect("frames");
        let at = last.rapdu.len() - 3;
        last.rapdu[at] ^= 0x01;
        let (verdict, _, _, _) = run(t, frames, false);
        let expected = if t.originality {
            DenyReason::OriginalityFailed
        } else {
            DenyReason::MacMismatch
        };
        assert_eq!(verdict, Verdict::Deny(expected), "{}", t.id);
    }
}

/// Spec §12 "Step 0 in detail": the acUID table, under both policies. A denied card gets no
/// frame at all; an accepted one runs the whole worked transaction.
#[test]
fn step_0_decides_by_the_anticollision_uid() {
    let t = &worked_transactions()[0];
    let real = t.real_uid.to_vec();
    let mut other_7 = real.clone();
    other_7[6] ^= 1;
    let cases: [(&str, Vec<u8>, bool, Option<DenyReason>); 11] = [
        ("random ID", t.anticollision_uid.clone(), false, None),
        (
            "random ID, fixed allowed",
            t.anticollision_uid.clone(),
            true,
            None,
        ),
        ("7 bytes", real.clone(), false, Some(DenyReason::UidPolicy)),
        ("7 bytes, fixed allowed", real.clone(), true, None),
        // Step 4 finds another realUID than the 7-byte acUID.
        (
            "other 7 bytes, fixed allowed",
            other_7,
            true,
            Some(DenyReason::MalformedResponse),
        ),
        ("no acUID", Vec::new(), false, Some(DenyReason::UidPolicy)),
        ("no acUID, fixed allowed", Vec::new(), true, None),
        (
            "4-byte NUID",
            vec![0x1C, 0x2D, 0x3E, 0x4F],
            false,
            Some(DenyReason::UidPolicy),
        ),
        (
            "4-byte NUID, fixed allowed",
            vec![0x1C, 0x2D, 0x3E, 0x4F],
            true,
            Some(DenyReason::UidPolicy),
        ),
        (
            "10 bytes, fixed allowed",
            vec![0x04; 10],
            true,
            Some(DenyReason::UidPolicy),
        ),
        (
            "08 but 7 bytes long, default",
            {
                let mut v = real.clone();
                v[0] = 0x08;
                v
            },
            false,
            Some(DenyReason::UidPolicy),
        ),
    ];
    for (what, uid, allow, expected) in cases {
        let (verdict, _, used, _) = run_with(t, t.frames.clone(), false, &uid, allow);
        match expected {
            None => assert!(matches!(verdict, Verdict::Grant(_)), "{what}: {verdict:?}"),
            Some(DenyReason::UidPolicy) => {
                assert_eq!(verdict, Verdict::Deny(DenyReason::UidPolicy), "{what}");
                assert_eq!(used, 0, "{what}: frames sent before step 0 decided");
            }
            Some(r) => assert_eq!(verdict, Verdict::Deny(r), "{what}"),
        }
    }
}

/// Spec §12 "Step 9 in detail": status before length, in any frame.
#[test]
fn step_9_checks_the_status_first_in_every_frame() {
    let t = &worked_transactions()[0];
    let read = t.frames.len() - 1;
    let answer = &t.frames[read].rapdu;
    let data = &answer[..answer.len() - 2];
    let with_read = |rapdus: Vec<Vec<u8>>| {
        let mut frames: Vec<desfire_tests::Frame> = t.frames[..read].to_vec();
        frames.extend(rapdus.into_iter().map(|rapdu| desfire_tests::Frame {
            capdu: Vec::new(),
            rapdu,
        }));
        run(t, frames, false).0
    };
    let card_error =
        |sw2: u8| Verdict::Deny(DenyReason::CardError(desfire_core::wire::Status(sw2)));
    // An error status with no data: CARD_ERROR, not MALFORMED_RESPONSE.
    for sw2 in [0x9D, 0xAE, 0xBE, 0x7E, 0x1E] {
        assert_eq!(
            with_read(vec![vec![0x91, sw2]]),
            card_error(sw2),
            "{sw2:02X}"
        );
    }
    // An error status with 184 bytes of data: still CARD_ERROR.
    let mut bad = data.to_vec();
    bad.extend_from_slice(&[0x91, 0x9D]);
    assert_eq!(with_read(vec![bad]), card_error(0x9D));
    // An error in a continuation frame, after 59 good bytes.
    let mut first = data[..59].to_vec();
    first.extend_from_slice(&[0x91, 0xAF]);
    assert_eq!(
        with_read(vec![first.clone(), vec![0x91, 0xCA]]),
        card_error(0xCA)
    );
    // The same bytes in two frames: GRANT (native chaining joins the data).
    let mut last = data[59..].to_vec();
    last.extend_from_slice(&[0x91, 0x00]);
    assert!(matches!(
        with_read(vec![first.clone(), last]),
        Verdict::Grant(_)
    ));
    // An empty continuation frame: MALFORMED_RESPONSE.
    assert_eq!(
        with_read(vec![first, vec![0x91, 0xAF]]),
        Verdict::Deny(DenyReason::MalformedResponse)
    );
    // Success status, wrong lengths: 160 and 168 are DOWNGRADE, others MALFORMED_RESPONSE.
    for (n, expected) in [
        (160, DenyReason::Downgrade),
        (168, DenyReason::Downgrade),
        (176, DenyReason::MalformedResponse),
        (0, DenyReason::MalformedResponse),
    ] {
        let mut r = data[..n].to_vec();
        r.extend_from_slice(&[0x91, 0x00]);
        assert_eq!(with_read(vec![r]), Verdict::Deny(expected), "{n} bytes");
    }
}
