//! Test harness shared by the cross-crate tests in `tests/tests/`:
//!
//! - [`vectors`]: the non-zero-key EV2 vectors of `specs/vectors/ev2-nonzero.json`, computed by
//!   an independent Python implementation (`specs/vectors/gen_ev2_vectors.py`), as typed steps.
//! - [`ScriptedTransport`]: a card that answers with recorded R-APDUs and, in strict mode,
//!   asserts that every C-APDU the reader sends is the recorded one byte for byte.
//! - [`ScriptedRng`]: a `rand_core` 0.9 `CryptoRng` that yields recorded RndA values.
//! - [`bad_readers`]: known-bad reader models, one flaw each; [`catch_matrix`]: which audit
//!   card catches which of them.
//! - [`virtual_card`]: the reader and a `picc::Card` in one process (loopback).
//! - [`unhex`] and [`hex`].
//!
//! Everything here panics on misuse: it is test code, and a panic is a failed test.

pub mod bad_readers;
pub mod catch_matrix;
pub mod vectors;
pub mod virtual_card;

use desfire_core::pcd::Transport;
use std::collections::VecDeque;

/// Hex (upper or lower case, spaces allowed) to bytes. Panics on malformed input.
pub fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(
        digits.len().is_multiple_of(2),
        "odd number of hex digits in {s:?}"
    );
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).expect("ASCII");
            u8::from_str_radix(text, 16).unwrap_or_else(|_| panic!("bad hex {text:?} in {s:?}"))
        })
        .collect()
}

/// Bytes to upper-case hex, for readable assertion messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// One recorded exchange: what the reader sends and what the card answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// C-APDU, exactly as on the wire.
    pub capdu: Vec<u8>,
    /// R-APDU, data and status word, exactly as on the wire.
    pub rapdu: Vec<u8>,
}

/// Why a [`ScriptedTransport`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// The reader sent more frames than the script holds.
    Exhausted {
        /// The C-APDU that found no answer.
        capdu: String,
    },
    /// The answer does not fit the reader's receive buffer.
    AnswerTooLong {
        /// Length of the scripted answer.
        len: usize,
        /// Length of the reader's buffer.
        capacity: usize,
    },
}

/// A card played back from a script of frames.
#[derive(Debug, Clone)]
pub struct ScriptedTransport {
    frames: Vec<Frame>,
    next: usize,
    strict: bool,
    sent: Vec<Vec<u8>>,
}

impl ScriptedTransport {
    /// Strict: every C-APDU must equal the recorded one (a mismatch panics with both in hex).
    pub fn strict(frames: Vec<Frame>) -> Self {
        Self {
            frames,
            next: 0,
            strict: true,
            sent: Vec::new(),
        }
    }

    /// Lenient: answers the recorded R-APDUs in order, whatever the reader sends. For mutated
    /// scripts, where a reader that carries on after a fault sends other frames.
    pub fn answering(rapdus: Vec<Vec<u8>>) -> Self {
        Self {
            frames: rapdus
                .into_iter()
                .map(|rapdu| Frame {
                    capdu: Vec::new(),
                    rapdu,
                })
                .collect(),
            next: 0,
            strict: false,
            sent: Vec::new(),
        }
    }

    /// How many frames were exchanged so far.
    pub fn position(&self) -> usize {
        self.next
    }

    /// Whether every scripted frame was used.
    pub fn is_finished(&self) -> bool {
        self.next == self.frames.len()
    }

    /// Every C-APDU the reader sent, in order.
    pub fn sent(&self) -> &[Vec<u8>] {
        &self.sent
    }
}

impl Transport for ScriptedTransport {
    type Error = ScriptError;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, ScriptError> {
        self.sent.push(capdu.to_vec());
        let Some(frame) = self.frames.get(self.next) else {
            return Err(ScriptError::Exhausted { capdu: hex(capdu) });
        };
        if self.strict {
            assert_eq!(
                hex(capdu),
                hex(&frame.capdu),
                "C-APDU {} differs from the recorded one",
                self.next
            );
        }
        self.next += 1;
        let capacity = rapdu.len();
        let out = rapdu
            .get_mut(..frame.rapdu.len())
            .ok_or(ScriptError::AnswerTooLong {
                len: frame.rapdu.len(),
                capacity,
            })?;
        out.copy_from_slice(&frame.rapdu);
        Ok(frame.rapdu.len())
    }
}

/// A `CryptoRng` that yields recorded 16-byte randoms, one per `fill_bytes` call.
///
/// The engine draws RndA with one `fill_bytes` of 16 bytes; anything else is a test failure.
#[derive(Debug, Clone, Default)]
pub struct ScriptedRng {
    values: VecDeque<[u8; 16]>,
}

impl ScriptedRng {
    /// Yields `values` in order.
    pub fn new(values: impl IntoIterator<Item = [u8; 16]>) -> Self {
        Self {
            values: values.into_iter().collect(),
        }
    }

    /// How many values are left.
    pub fn remaining(&self) -> usize {
        self.values.len()
    }
}

impl rand_core::RngCore for ScriptedRng {
    fn next_u32(&mut self) -> u32 {
        panic!("the engine drew a u32; it should draw RndA as 16 bytes")
    }

    fn next_u64(&mut self) -> u64 {
        panic!("the engine drew a u64; it should draw RndA as 16 bytes")
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        assert_eq!(dst.len(), 16, "the engine drew {} random bytes", dst.len());
        let value = self
            .values
            .pop_front()
            .expect("the engine drew more randoms than the script holds");
        dst.copy_from_slice(&value);
    }
}

impl rand_core::CryptoRng for ScriptedRng {}
