//! The firmware's reader application (`firmware/reader`, lab profile) behind its PN532 driver
//! over HSU: the input is every byte the PN532 sends, so the card's answers, the PN532's
//! frames, ACKs, status bytes and lengths all come from it, and it knows no key.

use std::sync::LazyLock;

use desfire_core::encoding::{Credential, DenyReason, IssuerKey, Revocation};
use pn532::{Clock, Hsu, Pn532};
use reader::frontend::Pn532FrontEnd;
use reader::{Event, Panel, Reader, Signal, Signals, TamperInput};

static ISSUER_KEYS: LazyLock<[IssuerKey; 1]> =
    LazyLock::new(|| reader::lab::issuer_keys().expect("the lab issuer key"));
static REVOCATION: LazyLock<[Revocation; 2]> =
    LazyLock::new(|| reader::lab::revocation().expect("the lab revocation list"));

/// The PN532's side of the line: the input, one byte per read; what the driver writes is
/// dropped.
#[derive(Debug)]
pub struct Line<'a> {
    /// The bytes not read yet.
    pub rx: &'a [u8],
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

/// A clock that advances 10 ms each time it is read, so that every wait ends.
#[derive(Debug)]
pub struct Tick(pub u32);

impl Clock for Tick {
    fn now_ms(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(10);
        self.0
    }
}

/// The panel: counts what it was sent.
#[derive(Debug, Default)]
pub struct CountingPanel {
    /// Credentials sent (GRANTs).
    pub grants: usize,
}

impl Panel for CountingPanel {
    fn grant(&mut self, _credential: &Credential) -> Result<(), DenyReason> {
        self.grants += 1;
        Ok(())
    }
    fn tamper(&mut self, _active: bool) {}
}

/// LED, buzzer and tamper switch (closed).
#[derive(Debug, Default)]
pub struct Housing {
    /// Signals shown.
    pub signals: Vec<Signal>,
}

impl Signals for Housing {
    fn indicate(&mut self, signal: Signal) {
        self.signals.push(signal);
    }
}

impl TamperInput for Housing {
    fn tampered(&mut self) -> bool {
        false
    }
}

/// What two polls of the reader did.
#[derive(Debug)]
pub struct Outcome {
    /// The events of the polls.
    pub events: [Event; 2],
    /// Credentials the panel was sent.
    pub grants: usize,
    /// Signals shown.
    pub signals: Vec<Signal>,
}

/// Two polls of the lab reader over `uart` (the PN532's line) at [`crate::hostile::NOW`]: the
/// first reads the card the PN532 reports, the second sees whether it is still there.
pub fn run<U, R>(uart: U, rng: R) -> Outcome
where
    U: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady,
    R: rand_core::CryptoRng,
{
    let front = Pn532FrontEnd::new(Pn532::new(Hsu::new(uart), Tick(0)));
    let config = reader::lab::reader_config(&*ISSUER_KEYS, &*REVOCATION);
    let mut reader = Reader::new(front, config, reader::lab::masters(), rng);
    let mut panel = CountingPanel::default();
    let mut housing = Housing::default();
    let now = crate::hostile::NOW;
    let first = reader.poll(&mut panel, &mut housing, &mut Housing::default(), now);
    let second = reader.poll(&mut panel, &mut housing, &mut Housing::default(), now);
    Outcome {
        events: [first, second],
        grants: panel.grants,
        signals: housing.signals,
    }
}
