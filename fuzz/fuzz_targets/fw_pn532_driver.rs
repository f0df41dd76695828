//! Arbitrary bytes from the PN532 on the firmware's HSU link (`firmware/pn532`): the frame
//! parser and every command's answer parser never panic, whatever the frames, lengths and
//! checksums, and every wait ends (the clock advances on each read).
#![no_main]

use desfire_fuzz::fw::Line;
use libfuzzer_sys::fuzz_target;
use pn532::{Clock, Hsu, Pn532};

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
