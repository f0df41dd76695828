//! One command exchange (`pcd::Exchange`) against arbitrary sequences of response frames:
//! additional frames in both directions, status words, overlong answers. Nothing may panic, the
//! assembled response never exceeds the caller's buffer, and every emitted frame is a wrapped
//! native C-APDU.
//!
//! Input: INS, chunk size, body length, receive buffer length, body, then R-APDUs as a length
//! byte and that many bytes.
#![no_main]

use desfire_core::pcd::Exchange;
use desfire_core::wire::Ins;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[ins, chunk, body_len, rx_len], rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let (body, mut frames) = rest.split_at(usize::from(body_len).min(rest.len()));
    let mut rx = vec![0u8; usize::from(rx_len) * 4];
    let rx_cap = rx.len();
    let mut ex = Exchange::new(Ins(ins), body, usize::from(chunk), &mut rx);
    let mut out = [0u8; 5 + 255 + 1];
    for sent in 0..64 {
        let n = match ex.next_frame(&mut out) {
            Ok(n) => n,
            Err(_) => return,
        };
        assert!(n >= 5 && n <= out.len());
        assert_eq!(out[0], 0x90);
        assert_eq!(out[1], if sent == 0 { ins } else { 0xAF });
        let Some((&len, rest)) = frames.split_first() else {
            return;
        };
        let (frame, rest) = rest.split_at(usize::from(len).min(rest.len()));
        frames = rest;
        match ex.on_frame(frame) {
            Ok(None) => assert!(ex.response_len() <= rx_cap),
            Ok(Some(status)) => {
                // The final status is one the table accepts for this command.
                assert!(desfire_core::wire::completes(Ins(ins), status));
                assert!(ex.response_len() <= rx_cap);
                return;
            }
            Err(_) => return,
        }
    }
});
