//! What reaches the caller of a response: frame boundaries are kept, and bytes that failed the
//! MAC check are wiped from the caller's buffer. Both were defects found by these cross-crate
//! tests (fixed in desfire-core's `pcd::exchange` and `pcd::session`).

use desfire_core::crypto::AesKey;
use desfire_core::pcd::{Command, CommandMode, Desfire, Error, FrameSize, ProtocolError};
use desfire_core::wire::{Ins, KeyNo};
use desfire_tests::vectors::{Step, ev2_nonzero};
use desfire_tests::{Frame, ScriptedRng, ScriptedTransport, hex};

/// `Response::frames` gives the response data split at the original frame boundaries
/// (GetDFNames sends one application per frame): `[0102, 0304]`, not `[01020304]`.
#[test]
fn response_frames_follow_the_frame_boundaries() {
    let frames = vec![
        Frame {
            capdu: vec![0x90, 0x6D, 0x00, 0x00, 0x00],
            rapdu: vec![0x01, 0x02, 0x91, 0xAF],
        },
        Frame {
            capdu: vec![0x90, 0xAF, 0x00, 0x00, 0x00],
            rapdu: vec![0x03, 0x04, 0x91, 0x00],
        },
    ];
    let mut d = Desfire::<_>::new(ScriptedTransport::strict(frames), FrameSize::SHORT_APDU);
    let get_df_names = Command::new(Ins::GET_DF_NAMES, &[], CommandMode::Plain).unwrap();
    let mut rx = [0u8; 16];
    let resp = d.execute(&get_df_names, &mut rx).unwrap();
    assert_eq!(resp.data(), [1, 2, 3, 4]);
    let pieces: Vec<String> = resp.frames().map(hex).collect();
    assert_eq!(pieces, ["0102", "0304"]);
}

/// A MAC-mode response whose MAC fails is wiped from the caller's `rx`: a caller that ignores
/// the error cannot read data that failed verification. (Full mode would only leave ciphertext.)
#[test]
fn rejected_mac_mode_data_does_not_stay_in_the_callers_buffer() {
    let v = ev2_nonzero().swap_remove(0);
    let a = v.first_auth().clone();
    let gfs = v
        .steps
        .iter()
        .find_map(|s| match s {
            Step::Command(c) if c.name == "GetFileSettings" => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let mut answer = gfs.frames[0].clone();
    let mac_at = answer.rapdu.len() - 3;
    answer.rapdu[mac_at] ^= 0x01;
    let mut frames = a.frames.clone();
    frames.push(answer);
    let mut d = Desfire::<_>::new(ScriptedTransport::strict(frames), FrameSize::SHORT_APDU);
    d.authenticate_ev2_first(
        KeyNo::new(a.key_no).unwrap(),
        &AesKey::new(a.key),
        &mut ScriptedRng::new([a.rnd_a]),
    )
    .unwrap();
    let mut rx = [0u8; 64];
    assert_eq!(
        d.execute(&gfs.command(), &mut rx).unwrap_err(),
        Error::Protocol(ProtocolError::ResponseMacMismatch)
    );
    let data = &gfs.response_data;
    assert!(
        !rx.windows(data.len()).any(|w| w == &data[..]),
        "unverified data {} is in the caller's buffer: {}",
        hex(data),
        hex(&rx[..data.len() + 8])
    );
}
