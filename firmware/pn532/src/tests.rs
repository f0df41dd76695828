//! Driver tests over hand-written HSU, I2C and SPI mocks of the PN532.

use crate::driver::parse_target_a;
use crate::frame::{self, ACK, NACK};
use crate::interface::{BitOrder, Clock, Hsu, I2c, LinkError, Spi};
use crate::{Error, Pn532};
use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

/// A clock that advances one millisecond each time it is read, so every timeout ends.
#[derive(Default)]
struct TickClock(u32);

impl Clock for TickClock {
    fn now_ms(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

/// A UART whose receive side is a queue filled by the test.
#[derive(Default)]
struct MockUart {
    rx: VecDeque<u8>,
    tx: Vec<u8>,
}

impl embedded_io::ErrorType for MockUart {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for MockUart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        // One byte at a time, as QEMU's UART delivers them.
        match (self.rx.pop_front(), buf.first_mut()) {
            (Some(b), Some(slot)) => {
                *slot = b;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

impl embedded_io::ReadReady for MockUart {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.rx.is_empty())
    }
}

impl embedded_io::Write for MockUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.tx.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A PN532 response frame `D5 code+1 data`.
fn response(code: u8, data: &[u8]) -> Vec<u8> {
    let mut body = vec![code + 1];
    body.extend_from_slice(data);
    let len = body.len() + 1;
    let mut f = vec![
        0x00,
        0x00,
        0xFF,
        len as u8,
        (len as u8).wrapping_neg(),
        0xD5,
    ];
    f.extend_from_slice(&body);
    let sum = body.iter().fold(0xD5u8, |s, b| s.wrapping_add(*b));
    f.push(sum.wrapping_neg());
    f.push(0x00);
    f
}

fn host_frame(code: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; frame::MAX_FRAME];
    let n = frame::encode(code, data, &mut out).unwrap();
    out.truncate(n);
    out
}

fn hsu(rx: &[&[u8]]) -> Pn532<Hsu<MockUart>, TickClock> {
    let mut uart = MockUart::default();
    for part in rx {
        uart.rx.extend(part.iter());
    }
    Pn532::new(Hsu::new(uart), TickClock::default())
}

fn sent(p: Pn532<Hsu<MockUart>, TickClock>) -> Vec<u8> {
    p.into_parts().0.release().tx
}

#[test]
fn hsu_init_wakes_configures_the_sam_and_reads_the_version() {
    let mut p = hsu(&[
        &ACK,
        &response(0x14, &[]),
        &ACK,
        &response(0x02, &[0x32, 0x01, 0x06, 0x07]),
        &ACK,
        &response(0x32, &[]),
    ]);
    let v = p.init().unwrap();
    assert_eq!((v.ic, v.ver, v.rev, v.support), (0x32, 1, 6, 7));
    let mut want = vec![0x55, 0x55];
    want.extend_from_slice(&[0; 14]);
    want.extend(host_frame(0x14, &[0x01, 0x14, 0x01]));
    want.extend(host_frame(0x02, &[]));
    want.extend(host_frame(0x32, &[0x05, 0xFF, 0x01, 0x02]));
    assert_eq!(sent(p), want);
}

const DESFIRE_ATS: [u8; 6] = [0x06, 0x75, 0x77, 0x81, 0x02, 0x80];

#[test]
fn lists_a_type_a_target_with_its_uid_and_ats() {
    let mut data = vec![0x01, 0x01, 0x03, 0x44, 0x20, 0x07];
    data.extend_from_slice(&[0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80]);
    data.extend_from_slice(&DESFIRE_ATS);
    let mut p = hsu(&[&ACK, &response(0x4A, &data)]);
    let t = p.list_passive_target().unwrap().unwrap();
    assert_eq!(t.tg, 1);
    assert_eq!(t.atqa, [0x03, 0x44]);
    assert_eq!(t.sak, 0x20);
    assert_eq!(&t.uid[..], &[0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80]);
    assert_eq!(&t.ats[..], &DESFIRE_ATS);
    assert_eq!(sent(p), host_frame(0x4A, &[0x01, 0x00]));

    let mut p = hsu(&[&ACK, &response(0x4A, &[0x00])]);
    assert_eq!(p.list_passive_target().unwrap(), None);
}

#[test]
fn target_answers_with_inconsistent_lengths_are_malformed() {
    for bad in [
        &[][..],
        &[0x02],
        &[0x01, 0x01, 0x03, 0x44, 0x20],
        &[0x01, 0x01, 0x03, 0x44, 0x20, 0x07, 0x08, 0x01],
        &[0x01, 0x01, 0x03, 0x44, 0x20, 0x05, 1, 2, 3, 4, 5],
        &[
            0x01, 0x01, 0x03, 0x44, 0x20, 0x04, 0x08, 1, 2, 3, 0x09, 0x75,
        ],
        &[0x01, 0x01, 0x03, 0x44, 0x20, 0x04, 0x08, 1, 2, 3, 0x00],
    ] {
        assert_eq!(
            parse_target_a::<()>(bad),
            Err(Error::Malformed),
            "{bad:02X?}"
        );
    }
}

#[test]
fn data_exchange_returns_the_card_answer_and_maps_the_status() {
    let mut p = hsu(&[&ACK, &response(0x40, &[0x00, 0x91, 0x00])]);
    let mut out = [0u8; 8];
    let n = p.data_exchange(1, &[0x90, 0x5A, 0, 0, 3, 1, 0xC5, 0x0A, 0], &mut out);
    assert_eq!(&out[..n.unwrap()], &[0x91, 0x00]);
    assert_eq!(
        sent(p),
        host_frame(0x40, &[0x01, 0x90, 0x5A, 0, 0, 3, 1, 0xC5, 0x0A, 0])
    );

    let mut p = hsu(&[&ACK, &response(0x40, &[0x01])]);
    assert_eq!(p.data_exchange(1, &[0], &mut out), Err(Error::Status(1)));
    let mut p = hsu(&[&ACK, &response(0x40, &[0x40, 1, 2])]);
    assert_eq!(
        p.data_exchange(1, &[0], &mut out),
        Err(Error::MoreInformation)
    );
    // An answer longer than the caller's buffer is an error, not a panic.
    let mut p = hsu(&[&ACK, &response(0x40, &[0x00; 20])]);
    assert_eq!(p.data_exchange(1, &[0], &mut out), Err(Error::TooLong));
    let mut p = hsu(&[]);
    assert_eq!(p.data_exchange(1, &[0; 263], &mut out), Err(Error::TooLong));
}

#[test]
fn a_missing_response_times_out_and_aborts_the_command() {
    let mut p = hsu(&[&ACK]);
    assert_eq!(p.firmware_version(), Err(Error::Link(LinkError::Timeout)));
    let mut want = host_frame(0x02, &[]);
    want.extend_from_slice(&ACK);
    assert_eq!(sent(p), want);
    // No ACK at all.
    let mut p = hsu(&[]);
    assert_eq!(p.firmware_version(), Err(Error::Link(LinkError::Timeout)));
}

#[test]
fn nack_error_frame_wrong_code_and_bad_checksums_are_errors() {
    let mut p = hsu(&[&NACK]);
    assert_eq!(p.firmware_version(), Err(Error::Nack));
    let mut p = hsu(&[&ACK, &[0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00]]);
    assert_eq!(p.firmware_version(), Err(Error::Syntax));
    let mut p = hsu(&[&ACK, &response(0x4A, &[0x00])]);
    assert_eq!(p.firmware_version(), Err(Error::Unexpected));
    let mut bad = response(0x02, &[0x32, 1, 6, 7]);
    let dcs = bad.len() - 2;
    bad[dcs] ^= 0x10;
    let mut p = hsu(&[&ACK, &bad]);
    assert_eq!(
        p.firmware_version(),
        Err(Error::Link(LinkError::Frame(
            frame::FrameError::DataChecksum
        )))
    );
}

#[test]
fn extended_response_frames_are_read() {
    // 255 data bytes make LEN 257: an extended frame.
    let mut data = vec![0x00];
    data.extend((0..254u32).map(|i| i as u8));
    let body_len = data.len() + 2;
    let mut f = vec![0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x01, (body_len - 256) as u8];
    f.push(0u8.wrapping_sub(f[5]).wrapping_sub(f[6]));
    f.extend_from_slice(&[0xD5, 0x41]);
    f.extend_from_slice(&data);
    let sum = f[8..].iter().fold(0u8, |s, b| s.wrapping_add(*b));
    f.push(sum.wrapping_neg());
    f.push(0x00);
    let mut p = hsu(&[&ACK, &f]);
    let mut out = [0u8; 300];
    let n = p
        .data_exchange(1, &[0x90, 0x60, 0, 0, 0], &mut out)
        .unwrap();
    assert_eq!(&out[..n], &data[1..]);
}

/// An I2C PN532: each read starts with the status byte; `busy` reads say "not ready" first.
struct MockI2c {
    busy: usize,
    frames: VecDeque<Vec<u8>>,
    writes: Vec<Vec<u8>>,
    reads: usize,
}

impl embedded_hal::i2c::ErrorType for MockI2c {
    type Error = core::convert::Infallible;
}

impl embedded_hal::i2c::I2c for MockI2c {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [embedded_hal::i2c::Operation<'_>],
    ) -> Result<(), Self::Error> {
        assert_eq!(address, 0x24);
        for op in operations {
            match op {
                embedded_hal::i2c::Operation::Write(w) => self.writes.push(w.to_vec()),
                embedded_hal::i2c::Operation::Read(r) => {
                    self.reads += 1;
                    r.fill(0);
                    if self.busy > 0 {
                        self.busy -= 1;
                        continue;
                    }
                    let Some(f) = self.frames.pop_front() else {
                        continue;
                    };
                    r[0] = 0x01;
                    let n = f.len().min(r.len() - 1);
                    r[1..=n].copy_from_slice(&f[..n]);
                }
            }
        }
        Ok(())
    }
}

#[test]
fn i2c_polls_the_ready_byte_then_reads_the_frame() {
    let bus = MockI2c {
        busy: 3,
        frames: VecDeque::from([ACK.to_vec(), response(0x02, &[0x32, 1, 6, 7])]),
        writes: vec![],
        reads: 0,
    };
    let mut p = Pn532::new(I2c::new(bus), TickClock::default());
    let v = p.firmware_version().unwrap();
    assert_eq!(v.ic, 0x32);
    let bus = p.into_parts().0.release();
    assert_eq!(bus.writes, vec![host_frame(0x02, &[])]);
    assert_eq!(bus.reads, 5);

    // Never ready: a timeout, not a hang.
    let bus = MockI2c {
        busy: usize::MAX,
        frames: VecDeque::new(),
        writes: vec![],
        reads: 0,
    };
    let mut p = Pn532::new(I2c::new(bus), TickClock::default());
    assert_eq!(p.firmware_version(), Err(Error::Link(LinkError::Timeout)));
}

/// An SPI PN532 on an MSB-first bus: what the test sees is bit-reversed on the wire.
struct MockSpi {
    frames: VecDeque<Vec<u8>>,
    busy: usize,
    log: Vec<Vec<u8>>,
}

impl embedded_hal::spi::ErrorType for MockSpi {
    type Error = core::convert::Infallible;
}

impl embedded_hal::spi::SpiDevice for MockSpi {
    fn transaction(
        &mut self,
        operations: &mut [embedded_hal::spi::Operation<'_, u8>],
    ) -> Result<(), Self::Error> {
        let mut prefix = None;
        for op in operations {
            match op {
                embedded_hal::spi::Operation::Write(w) => {
                    let plain: Vec<u8> = w.iter().map(|b| b.reverse_bits()).collect();
                    prefix = plain.first().copied();
                    self.log.push(plain);
                }
                embedded_hal::spi::Operation::Read(r) => match prefix {
                    Some(0x02) => {
                        let ready = if self.busy > 0 {
                            self.busy -= 1;
                            0
                        } else {
                            1
                        };
                        r[0] = u8::reverse_bits(ready);
                    }
                    Some(0x03) => {
                        let f = self.frames.pop_front().unwrap_or_default();
                        r.fill(0);
                        let n = f.len().min(r.len());
                        for (o, b) in r.iter_mut().zip(&f[..n]) {
                            *o = b.reverse_bits();
                        }
                    }
                    _ => panic!("read without a prefix"),
                },
                _ => panic!("unexpected operation"),
            }
        }
        Ok(())
    }
}

#[test]
fn spi_frames_with_prefix_bytes_and_bit_reversal() {
    let spi = MockSpi {
        frames: VecDeque::from([ACK.to_vec(), response(0x02, &[0x32, 1, 6, 7])]),
        busy: 2,
        log: vec![],
    };
    let mut p = Pn532::new(Spi::new(spi, BitOrder::MsbFirst), TickClock::default());
    assert_eq!(p.firmware_version().unwrap().rev, 6);
    let spi = p.into_parts().0.release();
    let mut dw = vec![0x01];
    dw.extend(host_frame(0x02, &[]));
    assert_eq!(spi.log[0], dw);
    // Status reads (two busy, one ready) before the ACK, one before the response.
    let prefixes: Vec<u8> = spi.log.iter().map(|w| w[0]).collect();
    assert_eq!(prefixes, vec![0x01, 0x02, 0x02, 0x02, 0x03, 0x02, 0x03]);
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes after the ACK: a typed result, never a panic.
        #[test]
        fn any_response_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut p = hsu(&[&ACK, &bytes]);
            let mut out = [0u8; 64];
            let _ = p.data_exchange(1, &[0x90, 0x60, 0, 0, 0], &mut out);
            let mut p = hsu(&[&ACK, &bytes]);
            let _ = p.list_passive_target();
            let _ = frame::parse(&bytes);
            let _ = parse_target_a::<()>(&bytes);
        }

        /// Valid responses with bytes flipped, cut or inserted.
        #[test]
        fn mutated_responses(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            at in any::<usize>(),
            xor in 1u8..,
            cut in any::<usize>(),
        ) {
            let mut f = response(0x40, &data);
            let i = at % f.len();
            f[i] ^= xor;
            f.truncate(cut % (f.len() + 1));
            let mut p = hsu(&[&ACK, &f]);
            let mut out = [0u8; 300];
            let _ = p.data_exchange(1, &[0x90, 0x60, 0, 0, 0], &mut out);
            let mut p = hsu(&[&ACK, &f]);
            let _ = p.list_passive_target();
        }
    }
}
