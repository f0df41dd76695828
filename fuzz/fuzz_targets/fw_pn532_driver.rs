//! Arbitrary bytes from the PN532 on the firmware's HSU link (`firmware/pn532`): the frame
//! parser and every command's answer parser never panic, whatever the frames, lengths and
//! checksums, and every wait ends (the clock advances on each read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pn532::{Clock, Hsu, Pn532};

/// The PN532's side: the fuzz input, one byte per read.
struct Line<'a> {
    rx: &'a [u8],
}

impl embedded_io::ErrorType for Line<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Line<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        match (self.rx.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(slot)) => {
                *slot = *b;
                self.rx = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

impl embedded_io::ReadReady for Line<'_> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.rx.is_empty())
    }
}

impl embedded_io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct Tick(u32);

impl Clock for Tick {
    fn now_ms(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = pn532::frame::parse(data);
    let _ = pn532::driver::parse_target_a::<()>(data);
    let mut p = Pn532::new(Hsu::new(Line { rx: data }), Tick(0));
    let _ = p.init();
    let _ = p.list_passive_target();
    let mut out = [0u8; 64];
    let _ = p.data_exchange(1, &[0x90, 0x60, 0x00, 0x00, 0x00], &mut out);
    let _ = p.release(1);
});
