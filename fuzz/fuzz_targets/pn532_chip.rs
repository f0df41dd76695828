//! Arbitrary bytes on the emulated PN532's host link (`desfire emulate --pn532`): the HSU frame
//! decoder, every command handler, the card presentations and MI chaining never panic, whatever
//! the frames, lengths, checksums and the way the bytes are split.
#![no_main]

use desfire_core::picc::{Activation, DEFAULT_ATS};
use host_tools::pn532::Pn532;
use host_tools::virtual_card::FieldCard;
use libfuzzer_sys::fuzz_target;

/// Echoes each C-APDU with `9000`, or answers a long R-APDU (chained with MI) for `90AF`.
struct Echo {
    uid: [u8; 4],
}

impl FieldCard for Echo {
    fn activate(&mut self) -> Activation {
        self.uid[3] = self.uid[3].wrapping_add(1);
        Activation {
            uid: heapless::Vec::from_slice(&self.uid).unwrap_or_default(),
            ats: heapless::Vec::from_slice(&DEFAULT_ATS).unwrap_or_default(),
        }
    }
    fn deactivate(&mut self) {}
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let n = if capdu.starts_with(&[0x90, 0xAF]) {
            600
        } else {
            capdu.len()
        }
        .min(rapdu.len().saturating_sub(2));
        for (i, b) in rapdu[..n].iter_mut().enumerate() {
            *b = capdu.get(i).copied().unwrap_or(i as u8);
        }
        rapdu[n..n + 2].copy_from_slice(&[0x90, 0x00]);
        n + 2
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte says how the rest is split into reads, as a UART splits it.
    let Some((&split, mut rest)) = data.split_first() else {
        return;
    };
    let cards = vec![
        Echo {
            uid: [0x08, 1, 2, 3],
        },
        Echo {
            uid: [0x08, 4, 5, 6],
        },
    ];
    let mut chip = Pn532::new(cards, split & 0x80 != 0);
    chip.set_trace(split & 0x40 != 0);
    let chunk = usize::from(split & 0x3F).max(1);
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (now, later) = rest.split_at(chunk.min(rest.len()));
        out.clear();
        chip.receive(now, &mut out);
        let _ = chip.take_trace();
        rest = later;
    }
});
