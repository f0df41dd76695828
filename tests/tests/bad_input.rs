//! Hostile and broken input through the public API: every fault is a typed error, never a panic,
//! and unverified data never comes back as a response.
//!
//! Sessions are real: they are opened with the recorded frames of the first non-zero-key vector
//! (`specs/vectors/ev2-nonzero.json`, EV2-NONZERO-1), and where a test needs card answers that
//! were not recorded (a valid MAC over malformed data, 65535 commands) the card side is computed
//! here with the public `crypto::ev2::SecureChannel` and that session's keys.

use desfire_core::crypto::ev2::{CmdCtr, Direction, SecureChannel, SessionKeys, Ti};
use desfire_core::crypto::{AesKey, cbc_encrypt, pad_iso9797_m2};
use desfire_core::pcd::{
    Command, CommandData, CommandMode, Desfire, Error, FrameSize, ProtocolError, Transport,
};
use desfire_core::wire::{self, Ins, KeyNo, Status};
use desfire_tests::vectors::{AuthStep, CommandStep, Step, Vector, ev2_nonzero};
use desfire_tests::{ScriptError, ScriptedRng, ScriptedTransport, hex};

// ---------------------------------------------------------------------------------------------
// A card that answers the recorded authentication, then whatever the test says
// ---------------------------------------------------------------------------------------------

type Answer = Box<dyn FnMut(&[u8]) -> Vec<u8>>;

/// Answers the first frames from a strict script, then every further C-APDU with `then`.
struct Card {
    script: ScriptedTransport,
    scripted: usize,
    then: Answer,
    /// C-APDUs that reached `then`.
    after_script: Vec<Vec<u8>>,
}

impl Transport for Card {
    type Error = ScriptError;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, ScriptError> {
        if self.script.position() < self.scripted {
            return self.script.transceive(capdu, rapdu);
        }
        self.after_script.push(capdu.to_vec());
        let answer = (self.then)(capdu);
        let capacity = rapdu.len();
        rapdu
            .get_mut(..answer.len())
            .ok_or(ScriptError::AnswerTooLong {
                len: answer.len(),
                capacity,
            })?
            .copy_from_slice(&answer);
        Ok(answer.len())
    }
}

fn v1() -> Vector {
    ev2_nonzero().swap_remove(0)
}

fn auth1(v: &Vector) -> &AuthStep {
    v.first_auth()
}

/// The recorded command steps of a vector, by name and mode.
fn step<'v>(v: &'v Vector, name: &str, mode: CommandMode) -> &'v CommandStep {
    v.steps
        .iter()
        .find_map(|s| match s {
            Step::Command(c) if c.name == name && c.mode == mode => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name} step"))
}

/// A driver authenticated with EV2-NONZERO-1's EV2First, then answering with `then`.
fn authenticated(
    v: &Vector,
    frame: FrameSize,
    then: impl FnMut(&[u8]) -> Vec<u8> + 'static,
) -> Desfire<Card> {
    let a = auth1(v);
    let card = Card {
        script: ScriptedTransport::strict(a.frames.clone()),
        scripted: a.frames.len(),
        then: Box::new(then),
        after_script: Vec::new(),
    };
    let mut d = Desfire::<_>::new(card, frame);
    let mut rng = ScriptedRng::new([a.rnd_a]);
    d.authenticate_ev2_first(KeyNo::new(a.key_no).unwrap(), &AesKey::new(a.key), &mut rng)
        .expect("recorded authentication");
    assert_eq!(d.session().unwrap().cmd_ctr(), CmdCtr(0));
    d
}

/// The card side of EV2-NONZERO-1's first session at counter `ctr`.
fn channel(v: &Vector, ctr: u16) -> SecureChannel {
    let a = auth1(v);
    let keys = SessionKeys {
        enc: AesKey::new(a.ses_enc),
        mac: AesKey::new(a.ses_mac),
    };
    SecureChannel::new(&keys, Ti(a.ti), CmdCtr(ctr))
}

/// `data || MACt(RC 00, ctr+1) || 91 00`, as the card of EV2-NONZERO-1 would answer at `ctr`.
fn mac_response(v: &Vector, ctr: u16, data: &[u8]) -> Vec<u8> {
    let mac = channel(v, ctr).response_mac(0x00, data).unwrap();
    [data, &mac, &[0x91, 0x00]].concat()
}

/// `E(SesAuthENCKey, IVr, plain) || MACt || 91 00` with `plain` already padded (or not) by the
/// test, so malformed padding can be sent behind a valid MAC.
fn full_response_raw(v: &Vector, ctr: u16, plain: &[u8]) -> Vec<u8> {
    let ch = channel(v, ctr);
    let mut buf = plain.to_vec();
    if buf.len().is_multiple_of(16) {
        let iv = ch.iv(Direction::Response).unwrap();
        cbc_encrypt(ch.enc_cipher(), &iv, &mut buf).unwrap();
    }
    mac_response(v, ctr, &buf)
}

fn full_read(header: &[u8]) -> Command<'_> {
    Command::new(Ins::READ_DATA_ISO, header, CommandMode::Full)
        .unwrap()
        .requiring_session()
}

fn get_file_settings(file: u8) -> Command<'static> {
    Command::new(Ins::GET_FILE_SETTINGS, &[file], CommandMode::Mac)
        .unwrap()
        .requiring_session()
}

fn get_card_uid() -> Command<'static> {
    Command::new(Ins::GET_CARD_UID, &[], CommandMode::Full)
        .unwrap()
        .requiring_session()
}

/// After a failure the session is gone, and a Full command is refused without reaching the card.
fn assert_session_dropped(d: &mut Desfire<Card>) {
    assert!(d.session().is_none(), "the session survived a failure");
    let sent = d.transport_mut().after_script.len();
    let mut rx = [0u8; 64];
    assert_eq!(
        d.execute(&get_card_uid(), &mut rx).unwrap_err(),
        Error::Protocol(ProtocolError::NotAuthenticated)
    );
    assert_eq!(
        d.transport_mut().after_script.len(),
        sent,
        "a command needing a session reached the card without one"
    );
}

/// A fresh driver whose EV2First challenge or confirmation is `rapdus`, answered in order.
fn first_auth_with(
    rapdus: Vec<Vec<u8>>,
    rnd_a: [u8; 16],
    a: &AuthStep,
) -> Result<Desfire<ScriptedTransport>, Error<ScriptError>> {
    let mut d = Desfire::<_>::new(ScriptedTransport::answering(rapdus), FrameSize::SHORT_APDU);
    let mut rng = ScriptedRng::new([rnd_a]);
    d.authenticate_ev2_first(KeyNo::new(a.key_no).unwrap(), &AesKey::new(a.key), &mut rng)?;
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// Truncated frames
// ---------------------------------------------------------------------------------------------

#[test]
fn truncated_authentication_frames() {
    let v = v1();
    let a = auth1(&v);
    let [f1, f2] = [&a.frames[0].rapdu, &a.frames[1].rapdu];
    // No status word at all.
    for frame in [vec![], vec![0x91]] {
        assert_eq!(
            first_auth_with(vec![frame], a.rnd_a, a).unwrap_err(),
            Error::Wire(wire::Error::Truncated)
        );
    }
    // Every prefix of the challenge is refused, whatever its last two bytes happen to be.
    for n in 0..f1.len() {
        let err = first_auth_with(vec![f1[..n].to_vec()], a.rnd_a, a).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Wire(
                    wire::Error::Truncated
                        | wire::Error::BadLength
                        | wire::Error::NotDesfireStatus { .. }
                ) | Error::Card(_)
            ),
            "prefix {n}: {err:?}"
        );
    }
    // Challenge data cut short behind a proper 91AF.
    for n in 0..16 {
        let frame = [&f1[..n], &[0x91, 0xAF][..]].concat();
        assert_eq!(
            first_auth_with(vec![frame], a.rnd_a, a).unwrap_err(),
            Error::Wire(wire::Error::BadLength),
            "{n} bytes of E(K, RndB)"
        );
    }
    // Confirmation cut short behind a proper 9100 (block-aligned or not).
    for n in [0, 1, 4, 15, 16, 20, 31] {
        let frame = [&f2[..n], &[0x91, 0x00][..]].concat();
        assert_eq!(
            first_auth_with(vec![f1.clone(), frame], a.rnd_a, a).unwrap_err(),
            Error::Wire(wire::Error::BadLength),
            "{n} bytes of the confirmation"
        );
    }
}

#[test]
fn truncated_secure_messaging_responses() {
    let v = v1();
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac);
    let file = gfs.header[0];
    let recorded = gfs.frames[0].rapdu.clone();
    // Shorter than a MAC.
    for n in 0..8 {
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| {
            [&[0xAB; 8][..n], &[0x91, 0x00][..]].concat()
        });
        let mut rx = [0u8; 64];
        assert_eq!(
            d.execute(&get_file_settings(file), &mut rx).unwrap_err(),
            Error::Protocol(ProtocolError::MissingMac),
            "{n} bytes"
        );
        assert_session_dropped(&mut d);
    }
    // The recorded response with bytes cut out of its data or MAC.
    for cut in 1..recorded.len() - 2 {
        let answer = [&recorded[..recorded.len() - 2 - cut], &[0x91, 0x00][..]].concat();
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answer.clone());
        let mut rx = [0u8; 64];
        let err = d.execute(&get_file_settings(file), &mut rx).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::ResponseMacMismatch | ProtocolError::MissingMac)
            ),
            "cut {cut}: {err:?}"
        );
        assert_session_dropped(&mut d);
    }
}

// ---------------------------------------------------------------------------------------------
// Wrong lengths
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_lengths_are_refused() {
    let v = v1();
    let a = auth1(&v);
    let f1 = &a.frames[0].rapdu;
    // Challenge of 17 and 32 bytes.
    for extra in [1usize, 16] {
        let frame = [&f1[..16], &vec![0x5A; extra][..], &[0x91, 0xAF][..]].concat();
        assert_eq!(
            first_auth_with(vec![frame], a.rnd_a, a).unwrap_err(),
            Error::Wire(wire::Error::BadLength)
        );
    }
    // Full-mode ciphertext that is not a whole number of blocks, behind a MAC that verifies.
    for len in [1usize, 7, 15, 17, 33] {
        let answer = mac_response(&v, 0, &vec![0x3C; len]);
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answer.clone());
        let mut rx = [0u8; 64];
        assert_eq!(
            d.execute(&get_card_uid(), &mut rx).unwrap_err(),
            Error::Wire(wire::Error::BadLength),
            "{len} bytes of ciphertext"
        );
        assert_session_dropped(&mut d);
    }
}

// ---------------------------------------------------------------------------------------------
// Unknown status
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_and_foreign_status_words() {
    let v = v1();
    let a = auth1(&v);
    // An unknown DESFire code is still a typed card status, during authentication and after.
    assert_eq!(
        first_auth_with(vec![vec![0x91, 0x42]], a.rnd_a, a).unwrap_err(),
        Error::Card(Status(0x42))
    );
    assert_eq!(
        first_auth_with(vec![vec![0x6A, 0x82]], a.rnd_a, a).unwrap_err(),
        Error::Wire(wire::Error::NotDesfireStatus {
            sw1: 0x6A,
            sw2: 0x82
        })
    );
    for sw in [
        [0x91, 0x42],
        [0x91, 0xFF],
        [0x90, 0x00],
        [0x6A, 0x82],
        [0x00, 0x00],
    ] {
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| {
            [&[0x11; 8][..], &sw[..]].concat()
        });
        let mut rx = [0u8; 64];
        let err = d.execute(&get_file_settings(1), &mut rx).unwrap_err();
        match sw {
            [0x91, code] => assert_eq!(err, Error::Card(Status(code))),
            [sw1, sw2] => assert_eq!(err, Error::Wire(wire::Error::NotDesfireStatus { sw1, sw2 })),
        }
        assert_session_dropped(&mut d);
    }
}

// ---------------------------------------------------------------------------------------------
// MAC mismatch
// ---------------------------------------------------------------------------------------------

#[test]
fn every_flipped_bit_of_a_response_mac_is_caught() {
    let v = v1();
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac);
    let recorded = gfs.frames[0].rapdu.clone();
    let mac_at = recorded.len() - 2 - 8;
    for bit in 0..64 {
        let mut answer = recorded.clone();
        answer[mac_at + bit / 8] ^= 1 << (bit % 8);
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answer.clone());
        let mut rx = [0u8; 64];
        assert_eq!(
            d.execute(&gfs.command(), &mut rx).unwrap_err(),
            Error::Protocol(ProtocolError::ResponseMacMismatch),
            "bit {bit}"
        );
        assert_session_dropped(&mut d);
    }
    // The same recorded frame unchanged is accepted: the flips above are what failed.
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| recorded.clone());
    let mut rx = [0u8; 64];
    let resp = d.execute(&gfs.command(), &mut rx).unwrap();
    assert_eq!(resp.data(), gfs.response_data);
}

#[test]
fn full_mode_mac_mismatch_never_decrypts() {
    let v = v1();
    // EV2-NONZERO-1's ReadData is the second command of the session (CmdCtr 1): run the
    // recorded GetFileSettings first, then a ReadData response with one bit flipped.
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac).clone();
    let read = step(&v, "ReadData", CommandMode::Full).clone();
    let credential = read.response_data.clone();
    assert_eq!(credential.len(), 160);
    let frames_len = read.frames[0].rapdu.len();
    // Bits in the ciphertext, in the MAC, and in the status byte (9100 -> 910C: NO_CHANGES does
    // not complete a ReadData, spec section 12 step 9, so the status check refuses it before the
    // MAC is looked at).
    let flips = [
        (0usize, 0x01u8),
        (80, 0x08),
        (175, 0x80),
        (176, 0x01),
        (183, 0x80),
        (frames_len - 1, 0x0C),
    ];
    for (byte, mask) in flips {
        let mut answers = vec![gfs.frames[0].rapdu.clone(), read.frames[0].rapdu.clone()];
        answers[1][byte] ^= mask;
        let mut answers = answers.into_iter();
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| {
            answers.next().expect("two commands")
        });
        let mut rx = [0u8; 512];
        d.execute(&gfs.command(), &mut rx).unwrap();
        let err = d.execute(&read.command(), &mut rx).unwrap_err();
        let expected = if byte == frames_len - 1 {
            Error::Card(Status::NO_CHANGES)
        } else {
            Error::Protocol(ProtocolError::ResponseMacMismatch)
        };
        assert_eq!(err, expected, "byte {byte} mask {mask:02X}");
        // Not one 16-byte piece of the credential is anywhere in the caller's buffer.
        for window in credential.chunks(16) {
            assert!(
                !rx.windows(16).any(|w| w == window),
                "plaintext reached the caller's buffer after a MAC mismatch"
            );
        }
        assert_session_dropped(&mut d);
    }
}

// ---------------------------------------------------------------------------------------------
// Wrong RndA'
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_rnd_a_prime_is_refused() {
    let v = v1();
    let a = auth1(&v);
    let rapdus = vec![a.frames[0].rapdu.clone(), a.frames[1].rapdu.clone()];
    // Another RndA than the one the card saw: the card's RndA' cannot match.
    let mut other = a.rnd_a;
    other[15] ^= 0x01;
    assert_eq!(
        first_auth_with(rapdus.clone(), other, a).unwrap_err(),
        Error::Protocol(ProtocolError::RndAMismatch)
    );
    // The recorded RndA, but one bit of the confirmation flipped (either block).
    for (byte, bit) in [(0usize, 0u8), (5, 1), (15, 7), (16, 0), (19, 4), (31, 7)] {
        let mut r = rapdus.clone();
        r[1][byte] ^= 1 << bit;
        assert_eq!(
            first_auth_with(r, a.rnd_a, a).unwrap_err(),
            Error::Protocol(ProtocolError::RndAMismatch),
            "byte {byte} bit {bit}"
        );
    }
    // The wrong key (the zero key, the key of another slot): RndB decrypts to garbage, the card's
    // RndA' does not match.
    let mut wrong_key = a.clone();
    for key in [[0u8; 16], v.app_keys[usize::from(a.key_no) ^ 1]] {
        wrong_key.key = key;
        assert_eq!(
            first_auth_with(rapdus.clone(), a.rnd_a, &wrong_key).unwrap_err(),
            Error::Protocol(ProtocolError::RndAMismatch)
        );
    }
    // NonFirst: the same, and the session of the first authentication is gone afterwards.
    let nonfirst = v
        .steps
        .iter()
        .find_map(|s| match s {
            Step::Auth(n) if !n.first => Some(n.clone()),
            _ => None,
        })
        .unwrap();
    let mut answers = vec![
        nonfirst.frames[0].rapdu.clone(),
        nonfirst.frames[1].rapdu.clone(),
    ]
    .into_iter();
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| {
        answers.next().expect("two frames")
    });
    let mut other = nonfirst.rnd_a;
    other[0] ^= 0x80;
    let mut rng = ScriptedRng::new([other]);
    assert_eq!(
        d.authenticate_ev2_non_first(
            KeyNo::new(nonfirst.key_no).unwrap(),
            &AesKey::new(nonfirst.key),
            &mut rng
        )
        .unwrap_err(),
        Error::Protocol(ProtocolError::RndAMismatch)
    );
    assert_session_dropped(&mut d);
}

// ---------------------------------------------------------------------------------------------
// Counter exhaustion
// ---------------------------------------------------------------------------------------------

/// CmdCtr is 16 bits: a command at `0xFFFE` is answered at `0xFFFF`, and at `0xFFFF` the reader
/// refuses to send anything (the response would need `0x10000`).
///
/// The public API has no way to open a session at a chosen counter, so this drives 65534 Plain
/// commands (counted, no MAC, answered `9100`) through a real session.
#[test]
fn counter_exhaustion() {
    let v = v1();
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac).clone();
    let settings = gfs.response_data.clone();
    let vv = v.clone();
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |capdu| {
        if capdu[1] == Ins::GET_FILE_SETTINGS.0 {
            // The card checks the command MAC at 0xFFFE and answers at 0xFFFF.
            let ch = channel(&vv, 0xFFFE);
            let mac = ch.command_mac(capdu[1], &capdu[5..6], &[]);
            assert_eq!(capdu[6..14], mac, "command MAC at CmdCtr FFFE");
            mac_response(&vv, 0xFFFE, &settings)
        } else {
            vec![0x91, 0x00]
        }
    });
    let plain = Command::new(Ins::GET_FREE_MEMORY, &[], CommandMode::Plain).unwrap();
    let mut rx = [0u8; 64];
    for n in 0..0xFFFEu32 {
        if let Err(e) = d.execute(&plain, &mut rx) {
            panic!("plain command {n}: {e:?}");
        }
    }
    assert_eq!(d.session().unwrap().cmd_ctr(), CmdCtr(0xFFFE));
    let resp = d
        .execute(&get_file_settings(gfs.header[0]), &mut rx)
        .unwrap();
    assert_eq!(resp.data(), gfs.response_data);
    assert_eq!(d.session().unwrap().cmd_ctr(), CmdCtr(0xFFFF));

    let sent = d.transport_mut().after_script.len();
    assert_eq!(
        d.execute(&plain, &mut rx).unwrap_err(),
        Error::Protocol(ProtocolError::CounterExhausted)
    );
    assert_eq!(
        d.transport_mut().after_script.len(),
        sent,
        "a command was sent at CmdCtr FFFF"
    );
    assert_session_dropped(&mut d);
}

// ---------------------------------------------------------------------------------------------
// Trailing bytes
// ---------------------------------------------------------------------------------------------

#[test]
fn trailing_bytes_are_refused() {
    let v = v1();
    let a = auth1(&v);
    let [f1, f2] = [&a.frames[0].rapdu, &a.frames[1].rapdu];
    // After the challenge, after the confirmation.
    let challenge = [&f1[..16], &[0x00][..], &[0x91, 0xAF][..]].concat();
    assert_eq!(
        first_auth_with(vec![challenge], a.rnd_a, a).unwrap_err(),
        Error::Wire(wire::Error::BadLength)
    );
    for extra in [1usize, 16] {
        let confirmation = [&f2[..32], &vec![0u8; extra][..], &[0x91, 0x00][..]].concat();
        assert_eq!(
            first_auth_with(vec![f1.clone(), confirmation], a.rnd_a, a).unwrap_err(),
            Error::Wire(wire::Error::BadLength)
        );
    }
    // A byte slipped in between data and MAC: the MAC no longer verifies.
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac);
    let r = &gfs.frames[0].rapdu;
    let answer = [&r[..r.len() - 10], &[0x00][..], &r[r.len() - 10..]].concat();
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answer.clone());
    let mut rx = [0u8; 64];
    assert_eq!(
        d.execute(&gfs.command(), &mut rx).unwrap_err(),
        Error::Protocol(ProtocolError::ResponseMacMismatch)
    );
    assert_session_dropped(&mut d);
    // Behind a MAC that verifies: padding followed by a trailing block, padding marker not in the
    // last block, no padding at all, bytes after the marker.
    let uid = &v.uid;
    let mut trailing_block = [0u8; 32];
    trailing_block[..7].copy_from_slice(uid);
    trailing_block[7] = 0x80;
    let mut unpadded = [0u8; 16];
    unpadded[..7].copy_from_slice(uid);
    unpadded[15] = 0x01;
    let mut after_marker = [0u8; 16];
    after_marker[..7].copy_from_slice(uid);
    after_marker[7] = 0x80;
    after_marker[12] = 0x01;
    for plain in [
        &trailing_block[..],
        &unpadded[..],
        &after_marker[..],
        &[0u8; 16][..],
    ] {
        let answer = full_response_raw(&v, 0, plain);
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answer.clone());
        let mut rx = [0u8; 64];
        assert_eq!(
            d.execute(&get_card_uid(), &mut rx).unwrap_err(),
            Error::Protocol(ProtocolError::BadPadding),
            "{}",
            hex(plain)
        );
        assert_session_dropped(&mut d);
    }
    // And the well-formed version of the same answer is accepted (the card side above is right).
    let mut good = [0u8; 16];
    good[..7].copy_from_slice(uid);
    assert_eq!(pad_iso9797_m2(&mut good, 7), Ok(16));
    let answer = full_response_raw(&v, 0, &good);
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answer.clone());
    let mut rx = [0u8; 64];
    assert_eq!(
        d.execute(&get_card_uid(), &mut rx).unwrap().data(),
        &uid[..]
    );
}

// ---------------------------------------------------------------------------------------------
// AF continuation loops and chaining faults
// ---------------------------------------------------------------------------------------------

#[test]
fn endless_additional_frames_end_with_an_error() {
    let v = v1();
    // One byte per frame, forever: bounded by the caller's buffer.
    for rx_len in [0usize, 1, 64, 512] {
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, |_| vec![0x00, 0x91, 0xAF]);
        let mut rx = vec![0u8; rx_len];
        assert_eq!(
            d.execute(&full_read(&[1, 0, 0, 0, 0, 0, 0]), &mut rx)
                .unwrap_err(),
            Error::Protocol(ProtocolError::ResponseTooLong)
        );
        let calls = d.transport_mut().after_script.len();
        assert!(
            calls <= rx_len + 1,
            "{calls} frames for a {rx_len}-byte buffer"
        );
        assert_session_dropped(&mut d);
    }
    // Empty continuations, forever: refused at once.
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, |_| vec![0x91, 0xAF]);
    let mut rx = [0u8; 512];
    assert_eq!(
        d.execute(&get_card_uid(), &mut rx).unwrap_err(),
        Error::Protocol(ProtocolError::UnexpectedAdditionalFrame)
    );
    assert_eq!(d.transport_mut().after_script.len(), 1);
    assert_session_dropped(&mut d);
    // The same without a session (GetVersion-style plain exchange).
    let mut d = Desfire::<_>::new(
        Card {
            script: ScriptedTransport::strict(vec![]),
            scripted: 0,
            then: Box::new(|_| vec![0x42, 0x91, 0xAF]),
            after_script: Vec::new(),
        },
        FrameSize::SHORT_APDU,
    );
    let get_version = Command::new(Ins::GET_VERSION, &[], CommandMode::Plain).unwrap();
    let mut rx = [0u8; 28];
    assert_eq!(
        d.execute(&get_version, &mut rx).unwrap_err(),
        Error::Protocol(ProtocolError::ResponseTooLong)
    );
    assert!(d.transport_mut().after_script.len() <= 29);
}

#[test]
fn command_chaining_faults() {
    let v = v1();
    let data = [0x77u8; 40];
    fn write(data: &[u8; 40]) -> Command<'_> {
        Command::new(
            Ins::WRITE_DATA,
            &[0x02, 0, 0, 0, 40, 0, 0],
            CommandMode::Full,
        )
        .unwrap()
        .with_data(CommandData::Borrowed(&data[..]))
        .requiring_session()
    }
    let small = FrameSize {
        max_command_data: 16,
    };
    // The card ends the exchange while the reader still has frames to send; the card sends data
    // where it should only ask for more; the card fails the chain half way.
    for (answer, expected) in [
        (
            vec![0x91, 0x00],
            Error::Protocol(ProtocolError::UnexpectedAdditionalFrame),
        ),
        (
            vec![0x01, 0x91, 0xAF],
            Error::Protocol(ProtocolError::UnexpectedAdditionalFrame),
        ),
        (
            vec![0x01, 0x91, 0x00],
            Error::Protocol(ProtocolError::UnexpectedAdditionalFrame),
        ),
        (vec![0x91, 0x7E], Error::Card(Status::LENGTH_ERROR)),
    ] {
        let mut d = authenticated(&v, small, move |_| answer.clone());
        let mut rx = [0u8; 64];
        assert_eq!(d.execute(&write(&data), &mut rx).unwrap_err(), expected);
        assert_eq!(d.transport_mut().after_script.len(), 1);
        assert_session_dropped(&mut d);
    }
}

// ---------------------------------------------------------------------------------------------
// A response longer than the caller's buffer
// ---------------------------------------------------------------------------------------------

#[test]
fn response_longer_than_the_callers_buffer() {
    let v = v1();
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac).clone();
    let read = step(&v, "ReadData", CommandMode::Full).clone();
    // 176 bytes of ciphertext and 8 of MAC do not fit in 183.
    for rx_len in [0usize, 16, 100, 183] {
        let mut answers =
            vec![gfs.frames[0].rapdu.clone(), read.frames[0].rapdu.clone()].into_iter();
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answers.next().unwrap());
        let mut rx = [0u8; 64];
        d.execute(&gfs.command(), &mut rx).unwrap();
        let mut rx = vec![0u8; rx_len];
        assert_eq!(
            d.execute(&read.command(), &mut rx).unwrap_err(),
            Error::Protocol(ProtocolError::ResponseTooLong),
            "{rx_len}"
        );
        assert_session_dropped(&mut d);
    }
    // 184 is enough.
    let mut answers = vec![gfs.frames[0].rapdu.clone(), read.frames[0].rapdu.clone()].into_iter();
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answers.next().unwrap());
    let mut rx = [0u8; 184];
    d.execute(&gfs.command(), &mut rx).unwrap();
    assert_eq!(
        d.execute(&read.command(), &mut rx).unwrap().data(),
        read.response_data
    );

    // A transport that claims more bytes than the receive buffer holds.
    struct Liar;
    impl Transport for Liar {
        type Error = ();
        fn transceive(&mut self, _: &[u8], rapdu: &mut [u8]) -> Result<usize, ()> {
            Ok(rapdu.len() + 1)
        }
    }
    let mut d = Desfire::<_>::new(Liar, FrameSize::SHORT_APDU);
    let mut rx = [0u8; 64];
    assert_eq!(
        d.execute(
            &Command::new(Ins::GET_VERSION, &[], CommandMode::Plain).unwrap(),
            &mut rx
        )
        .unwrap_err(),
        Error::Protocol(ProtocolError::ResponseTooLong)
    );
    let a = auth1(&v);
    assert_eq!(
        d.authenticate_ev2_first(
            KeyNo::new(a.key_no).unwrap(),
            &AesKey::new(a.key),
            &mut ScriptedRng::new([a.rnd_a])
        )
        .unwrap_err(),
        Error::Protocol(ProtocolError::ResponseTooLong)
    );
    // An R-APDU longer than any short APDU answer: the transport's own error comes through.
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, |_| vec![0u8; 400]);
    let mut rx = [0u8; 512];
    assert!(matches!(
        d.execute(&get_card_uid(), &mut rx).unwrap_err(),
        Error::Transport(ScriptError::AnswerTooLong { len: 400, .. })
    ));
    assert_session_dropped(&mut d);
}

// ---------------------------------------------------------------------------------------------
// A card error status mid-session
// ---------------------------------------------------------------------------------------------

#[test]
fn card_error_mid_session_drops_the_session() {
    let v = v1();
    let errors = [
        Status::INTEGRITY_ERROR,
        Status::NO_SUCH_KEY,
        Status::LENGTH_ERROR,
        Status::PERMISSION_DENIED,
        Status::PARAMETER_ERROR,
        Status::AUTHENTICATION_ERROR,
        Status::BOUNDARY_ERROR,
        Status::COMMAND_ABORTED,
        Status(0x42),
    ];
    for status in errors {
        let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| vec![0x91, status.0]);
        let mut rx = [0u8; 64];
        assert_eq!(
            d.execute(&get_file_settings(1), &mut rx).unwrap_err(),
            Error::Card(status)
        );
        assert_session_dropped(&mut d);
        // Not even a non-first authentication: it needs the transaction of a session.
        let a = auth1(&v);
        assert_eq!(
            d.authenticate_ev2_non_first(
                KeyNo::new(a.key_no).unwrap(),
                &AesKey::new(a.key),
                &mut ScriptedRng::new([a.rnd_a])
            )
            .unwrap_err(),
            Error::Protocol(ProtocolError::NotAuthenticated)
        );
    }
    // A card error after a MAC-mode success, in the middle of the recorded session.
    let gfs = step(&v, "GetFileSettings", CommandMode::Mac).clone();
    let mut answers = vec![gfs.frames[0].rapdu.clone(), vec![0x91, 0x9D]].into_iter();
    let mut d = authenticated(&v, FrameSize::SHORT_APDU, move |_| answers.next().unwrap());
    let mut rx = [0u8; 512];
    d.execute(&gfs.command(), &mut rx).unwrap();
    assert_eq!(d.session().unwrap().cmd_ctr(), CmdCtr(1));
    assert_eq!(
        d.execute(&full_read(&[1, 0, 0, 0, 0xA0, 0, 0]), &mut rx)
            .unwrap_err(),
        Error::Card(Status::PERMISSION_DENIED)
    );
    assert_session_dropped(&mut d);
}

// ---------------------------------------------------------------------------------------------
// Property: mutated recordings never panic and never yield wrong verified data
// ---------------------------------------------------------------------------------------------

mod mutations {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// One change to the card's side of a recorded exchange.
    #[derive(Debug, Clone)]
    pub enum Mutation {
        FlipBit {
            frame: Index,
            bit: Index,
        },
        Truncate {
            frame: Index,
            keep: Index,
        },
        Insert {
            frame: Index,
            at: Index,
            bytes: Vec<u8>,
        },
        Duplicate {
            frame: Index,
        },
        Drop {
            frame: Index,
        },
        Swap {
            a: Index,
            b: Index,
        },
        Status {
            frame: Index,
            sw2: u8,
        },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            3 => (any::<Index>(), any::<Index>()).prop_map(|(frame, bit)| Mutation::FlipBit { frame, bit }),
            1 => (any::<Index>(), any::<Index>()).prop_map(|(frame, keep)| Mutation::Truncate { frame, keep }),
            1 => (any::<Index>(), any::<Index>(), proptest::collection::vec(any::<u8>(), 1..20))
                .prop_map(|(frame, at, bytes)| Mutation::Insert { frame, at, bytes }),
            1 => any::<Index>().prop_map(|frame| Mutation::Duplicate { frame }),
            1 => any::<Index>().prop_map(|frame| Mutation::Drop { frame }),
            1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap { a, b }),
            1 => (any::<Index>(), prop_oneof![Just(0x00u8), Just(0x0C), Just(0xAF), any::<u8>()])
                .prop_map(|(frame, sw2)| Mutation::Status { frame, sw2 }),
        ]
    }

    fn apply(rapdus: &mut Vec<Vec<u8>>, m: &Mutation) {
        if rapdus.is_empty() {
            return;
        }
        let n = rapdus.len();
        match m {
            Mutation::FlipBit { frame, bit } => {
                let f = &mut rapdus[frame.index(n)];
                if !f.is_empty() {
                    let bit = bit.index(f.len() * 8);
                    f[bit / 8] ^= 1 << (bit % 8);
                }
            }
            Mutation::Truncate { frame, keep } => {
                let f = &mut rapdus[frame.index(n)];
                let keep = keep.index(f.len().max(1));
                f.truncate(keep);
            }
            Mutation::Insert { frame, at, bytes } => {
                let f = &mut rapdus[frame.index(n)];
                let at = at.index(f.len() + 1);
                f.splice(at..at, bytes.iter().copied());
            }
            Mutation::Duplicate { frame } => {
                let i = frame.index(n);
                let f = rapdus[i].clone();
                rapdus.insert(i, f);
            }
            Mutation::Drop { frame } => {
                rapdus.remove(frame.index(n));
            }
            Mutation::Swap { a, b } => rapdus.swap(a.index(n), b.index(n)),
            Mutation::Status { frame, sw2 } => {
                if let Some(last) = rapdus[frame.index(n)].last_mut() {
                    *last = *sw2;
                }
            }
        }
    }

    /// Runs every step of `v` against `rapdus`, carrying on after failures as a careless caller
    /// would, and checks each outcome.
    fn run(v: &Vector, rapdus: Vec<Vec<u8>>) -> Result<(), TestCaseError> {
        let frame = FrameSize {
            max_command_data: v.max_command_data,
        };
        let mut d = Desfire::<_>::new(ScriptedTransport::answering(rapdus), frame);
        let mut rng = ScriptedRng::new(v.rnd_as());
        let recorded_ti = v.first_auth().ti;
        for s in &v.steps {
            match s {
                Step::Auth(a) => {
                    let key_no = KeyNo::new(a.key_no).unwrap();
                    let key = AesKey::new(a.key);
                    let r = if a.first {
                        d.authenticate_ev2_first(key_no, &key, &mut rng)
                    } else {
                        d.authenticate_ev2_non_first(key_no, &key, &mut rng)
                    };
                    match r {
                        Ok(()) => {
                            let s = d.session().expect("authenticated");
                            prop_assert_eq!(s.ti(), Ti(recorded_ti), "TI of a mutated exchange");
                            prop_assert_eq!(s.key_no(), key_no);
                        }
                        Err(_) => prop_assert!(d.session().is_none()),
                    }
                }
                Step::Command(c) => {
                    let cmd = c.command();
                    let mut rx = [0u8; 512];
                    let had_session = d.session().is_some();
                    match d.execute(&cmd, &mut rx) {
                        Ok(resp) => {
                            // Plain mode has no integrity by definition: only MAC and Full
                            // promise that verified data is the card's data.
                            if c.mode != CommandMode::Plain {
                                prop_assert!(had_session, "{} succeeded without a session", c.name);
                                prop_assert_eq!(
                                    hex(resp.data()),
                                    hex(&c.response_data),
                                    "{} returned data the card did not send",
                                    c.name
                                );
                                prop_assert!(desfire_core::wire::completes(
                                    cmd.ins(),
                                    resp.status()
                                ));
                            }
                        }
                        Err(_) => prop_assert!(d.session().is_none(), "a failure kept the session"),
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn unmutated_recordings_replay_cleanly() {
        for v in ev2_nonzero() {
            let rapdus = v.all_frames().into_iter().map(|f| f.rapdu).collect();
            run(&v, rapdus).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

        #[test]
        fn mutated_recordings_never_panic_or_lie(
            which in 0usize..3,
            mutations in proptest::collection::vec(mutation(), 1..4),
        ) {
            let vectors = ev2_nonzero();
            let v = &vectors[which % vectors.len()];
            let mut rapdus: Vec<Vec<u8>> = v.all_frames().into_iter().map(|f| f.rapdu).collect();
            for m in &mutations {
                apply(&mut rapdus, m);
            }
            run(v, rapdus)?;
        }
    }
}
