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

/// The panel: counts what it was sent; a Wiegand-only panel refuses a credential without
/// tag 86 (`NO_LEGACY_IMAGE`).
#[derive(Debug, Default)]
pub struct CountingPanel {
    /// Credentials sent (GRANTs).
    pub grants: usize,
    /// Tamper reports.
    pub tamper_reports: usize,
    /// Whether the panel is Wiegand only.
    pub wiegand_only: bool,
}

impl Panel for CountingPanel {
    fn grant(&mut self, credential: &Credential) -> Result<(), DenyReason> {
        if self.wiegand_only && credential.legacy_image.is_none() {
            return Err(DenyReason::NoLegacyImage);
        }
        self.grants += 1;
        Ok(())
    }
    fn tamper(&mut self, _active: bool) {
        self.tamper_reports += 1;
    }
}

/// LED and buzzer: what they showed.
#[derive(Debug, Default)]
pub struct Lights {
    /// Signals shown.
    pub signals: Vec<Signal>,
}

impl Signals for Lights {
    fn indicate(&mut self, signal: Signal) {
        self.signals.push(signal);
    }
}

/// The tamper switch: open or closed at each poll.
#[derive(Debug)]
pub struct Switch(pub bool);

impl TamperInput for Switch {
    fn tampered(&mut self) -> bool {
        self.0
    }
}

/// What the polls of the reader did.
#[derive(Debug)]
pub struct Outcome {
    /// The events of the polls.
    pub events: [Event; 4],
    /// Credentials the panel was sent.
    pub grants: usize,
    /// Tamper reports the panel got.
    pub tamper_reports: usize,
    /// Signals shown.
    pub signals: Vec<Signal>,
}

/// Four polls of the lab reader over `uart` (the PN532's line) at [`crate::hostile::NOW`]:
/// with `open_first` the housing is open at the first poll (no read) and closed again at the
/// second; then the reader reads the card the PN532 reports and sees whether it is still
/// there. `wiegand_only`: the panel refuses a credential without tag 86.
pub fn run<U, R>(uart: U, rng: R, open_first: bool, wiegand_only: bool) -> Outcome
where
    U: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady,
    R: rand_core::CryptoRng,
{
    let front = Pn532FrontEnd::new(Pn532::new(Hsu::new(uart), Tick(0)));
    let config = reader::lab::reader_config(&*ISSUER_KEYS, &*REVOCATION);
    let mut reader = Reader::new(front, config, reader::lab::masters(), rng);
    let mut panel = CountingPanel {
        wiegand_only,
        ..CountingPanel::default()
    };
    let mut lights = Lights::default();
    let now = crate::hostile::NOW;
    let events = core::array::from_fn(|i| {
        reader.poll(
            &mut panel,
            &mut lights,
            &mut Switch(open_first && i == 0),
            now,
        )
    });
    Outcome {
        events,
        grants: panel.grants,
        tamper_reports: panel.tamper_reports,
        signals: lights.signals,
    }
}
