//! The Wiegand lines on GPIOs: which line moves, at what time, for how long, against a mock
//! timer that keeps simulated time (spec §14 legacy Wiegand, `wiegand::Timing::COMMON`).

use crate::wiegand::{self, GpioLines, Timing};
use core::cell::RefCell;
use core::convert::Infallible;
use desfire_core::encoding::LegacyImage;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{ErrorType, OutputPin, PinState};
use hex_literal::hex;
use std::rc::Rc;
use std::vec::Vec;

/// A level change: simulated time in µs, the line (0 = D0, 1 = D1), the new GPIO level.
type Edge = (u64, u8, bool);

#[derive(Default)]
struct Bench {
    now_us: u64,
    edges: Vec<Edge>,
}

struct Pin(u8, Rc<RefCell<Bench>>);

impl ErrorType for Pin {
    type Error = Infallible;
}

impl OutputPin for Pin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        let mut b = self.1.borrow_mut();
        let t = b.now_us;
        b.edges.push((t, self.0, false));
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        let mut b = self.1.borrow_mut();
        let t = b.now_us;
        b.edges.push((t, self.0, true));
        Ok(())
    }
}

struct Timer(Rc<RefCell<Bench>>);

impl DelayNs for Timer {
    fn delay_ns(&mut self, ns: u32) {
        self.0.borrow_mut().now_us += u64::from(ns.div_ceil(1000));
    }
}

/// Sends `image` through `GpioLines` and returns the edges after the two released levels that
/// `GpioLines::new` sets.
fn send(image: &LegacyImage, pulse_level: PinState) -> Vec<Edge> {
    let bench = Rc::new(RefCell::new(Bench::default()));
    let mut lines = GpioLines::new(
        Pin(0, bench.clone()),
        Pin(1, bench.clone()),
        Timer(bench.clone()),
        pulse_level,
    );
    let released = pulse_level == PinState::Low;
    assert_eq!(
        bench.borrow().edges,
        [(0, 0, released), (0, 1, released)],
        "both lines released before the first bit"
    );
    wiegand::send(&mut lines, image, Timing::COMMON);
    bench.borrow().edges[2..].to_vec()
}

/// The bits the edges carry, checking the timing of each pulse on the way: one line at a
/// time, pulled for 50 µs, a pulse every 2 ms, released at the end.
fn decode(edges: &[Edge], pulse_level: bool) -> Vec<bool> {
    assert_eq!(edges.len() % 2, 0, "every pulse is released");
    let mut bits = Vec::new();
    for (i, pair) in edges.chunks(2).enumerate() {
        let [(t0, line0, level0), (t1, line1, level1)] = pair else {
            unreachable!()
        };
        assert_eq!(*t0, i as u64 * 2000, "bit {i} starts on the 2 ms period");
        assert_eq!(t1 - t0, 50, "bit {i} is a 50 µs pulse");
        assert_eq!(line0, line1, "bit {i} releases the line it pulled");
        assert_eq!((*level0, *level1), (pulse_level, !pulse_level), "bit {i}");
        bits.push(*line0 == 1);
    }
    bits
}

/// Spec §14 test card: tag 86 `1A 02026073`, on the lines `10000000100110000001110011`.
#[test]
fn the_test_card_image_on_two_gpios() {
    let image = LegacyImage::new(0x1A, &hex!("02026073")).unwrap();
    let want: Vec<bool> = "10000000100110000001110011"
        .bytes()
        .map(|c| c == b'1')
        .collect();
    for (level, high) in [(PinState::High, true), (PinState::Low, false)] {
        let edges = send(&image, level);
        assert_eq!(edges.len(), 2 * 26);
        assert_eq!(decode(&edges, high), want);
    }
}

/// The 37-bit and a 1-bit image: every bit is sent, none added.
#[test]
fn every_bit_and_no_more() {
    // H10304 shape, 37 bits right-justified in 5 bytes.
    let image = LegacyImage::new(37, &hex!("1F 00 FF 00 01")).unwrap();
    let bits = decode(&send(&image, PinState::High), true);
    let want: Vec<bool> = image.wiegand_bits().collect();
    assert_eq!(bits.len(), 37);
    assert_eq!(bits, want);
    let image = LegacyImage::new(1, &hex!("01")).unwrap();
    assert_eq!(decode(&send(&image, PinState::High), true), [true]);
}
