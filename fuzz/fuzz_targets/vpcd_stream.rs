//! Arbitrary bytes from vpcd's socket: the frame loop, the control messages, the GET DATA
//! pseudo-APDU and the trace never panic, whatever the lengths and payloads.
#![no_main]

use std::io::{Cursor, Read, Write};

use host_tools::virtual_card::{ATR_T1, VirtualCard};
use host_tools::vpcd::{Session, serve_stream};
use libfuzzer_sys::fuzz_target;

/// Answers every C-APDU with its first bytes and `9000`, and a UID that changes per activation.
struct Echo {
    uid: [u8; 4],
}

impl VirtualCard for Echo {
    fn atr(&self) -> &[u8] {
        &ATR_T1
    }
    fn power_on(&mut self) {
        self.uid[3] = self.uid[3].wrapping_add(1);
    }
    fn power_off(&mut self) {}
    fn reset(&mut self) {
        self.power_on();
    }
    fn anticollision_uid(&self) -> &[u8] {
        &self.uid
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let n = capdu.len().min(16).min(rapdu.len().saturating_sub(2));
        rapdu[..n].copy_from_slice(&capdu[..n]);
        rapdu[n..n + 2].copy_from_slice(&[0x90, 0x00]);
        n + 2
    }
}

struct Duplex<'a> {
    input: Cursor<&'a [u8]>,
    output: Vec<u8>,
}

impl Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let stream = Duplex {
        input: Cursor::new(data),
        output: Vec::new(),
    };
    // Boxed, as the CLI serves its cards.
    let card: Box<dyn VirtualCard> = Box::new(Echo {
        uid: [0x08, 1, 2, 3],
    });
    let mut session = Session::new(card);
    let mut trace = Vec::new();
    let _ = serve_stream(stream, &mut session, Some(&mut trace));
    let _ = (session.is_powered(), session.card().atr().len());
    let _ = session.into_card().anticollision_uid().len();
});
