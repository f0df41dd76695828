//! The board's main loop, written once for every board. Between two polls of the reader the
//! panel line is served ([`Output::service`]); every `poll_every_ms` the reader's notion of now
//! is brought up to date (the panel's trusted time, never before the floor kept across
//! restarts, R9 and R18), the output and the reader learn whether that time is trusted, and the
//! reader polls once ([`Reader::poll`]). A board builds a [`Station`] from its parts and calls
//! [`Station::step`] in its loop; it reacts only to what is its own (erasing its key record on
//! tamper, its measurements).

use crate::app::{Event, FrontEnd, Reader, Signals, TamperInput, Wipe};
use crate::output::Output;
use crate::time::{FloorStore, Now, TrustedClock};
use desfire_core::encoding::KeyProvider;
use pn532::{Clock, FirmwareVersion, Interface, Pn532};

/// What the log can print: `defmt::Format` with the feature `defmt`, anything without it.
#[cfg(feature = "defmt")]
pub trait Loggable: defmt::Format {}
#[cfg(feature = "defmt")]
impl<T: defmt::Format + ?Sized> Loggable for T {}
/// What the log can print: `defmt::Format` with the feature `defmt`, anything without it.
#[cfg(not(feature = "defmt"))]
pub trait Loggable {}
#[cfg(not(feature = "defmt"))]
impl<T: ?Sized> Loggable for T {}

/// The board's parts around the reader: its panel output, signals, tamper input, trusted
/// clock and millisecond clock.
#[derive(Debug)]
pub struct Station<O, S, T, St, C> {
    output: O,
    signals: S,
    tamper: T,
    clock: TrustedClock<St>,
    millis: C,
    poll_every_ms: u32,
    next_poll: u32,
}

impl<O: Output, S: Signals, T: TamperInput, St: FloorStore, C: Clock> Station<O, S, T, St, C> {
    /// A station whose reader polls every `poll_every_ms`, the first time at the first
    /// [`Station::step`].
    pub fn new(
        output: O,
        signals: S,
        tamper: T,
        clock: TrustedClock<St>,
        mut millis: C,
        poll_every_ms: u32,
    ) -> Self {
        let next_poll = millis.now_ms();
        Self {
            output,
            signals,
            tamper,
            clock,
            millis,
            poll_every_ms,
            next_poll,
        }
    }

    /// Serves the panel line and, when a poll is due, brings the time up to date and polls
    /// `reader` once: its [`Event`], already logged. `None` when no poll was due.
    pub fn step<F, K, R>(&mut self, reader: &mut Reader<'_, F, K, R>) -> Option<Event>
    where
        F: FrontEnd,
        K: KeyProvider + Wipe,
        R: rand_core::CryptoRng,
    {
        let ms = self.millis.now_ms();
        self.output.service(ms);
        // Wrapping: the millisecond clock wraps after 49 days.
        if (ms.wrapping_sub(self.next_poll) as i32) < 0 {
            return None;
        }
        self.next_poll = ms.wrapping_add(self.poll_every_ms);
        // Trusted time from the panel (osdp_MFG over the Secure Channel), never before the
        // floor; until then the floor plus uptime, a lower bound: the reader decides only
        // EXPIRED and the reads go out in the extended format for the controller (R9).
        if let Some((unix, at)) = self.output.take_panel_time() {
            match self.clock.set(unix, at) {
                Ok(()) => {
                    #[cfg(feature = "defmt")]
                    defmt::info!("trusted time from the panel: {=u32}", unix);
                }
                Err(_e) => {
                    #[cfg(feature = "defmt")]
                    defmt::warn!("time {=u32} from the panel refused: {}", unix, _e);
                }
            }
        }
        let now = self.clock.now(ms);
        let trusted = matches!(now, Now::Trusted(_));
        self.output.set_trusted_time(trusted);
        reader.set_trusted_time(trusted);
        let event = reader.poll(
            &mut self.output,
            &mut self.signals,
            &mut self.tamper,
            now.seconds(),
        );
        #[cfg(feature = "defmt")]
        log(&event);
        Some(event)
    }

    /// The panel output.
    pub fn output(&mut self) -> &mut O {
        &mut self.output
    }

    /// The tamper input.
    pub fn tamper_input(&mut self) -> &mut T {
        &mut self.tamper
    }

    /// The trusted clock.
    pub fn clock(&mut self) -> &mut TrustedClock<St> {
        &mut self.clock
    }
}

/// Brings up the PN532 (`Pn532::init`), trying again until it answers, and serves the panel
/// line meanwhile (`millis` is the board's millisecond clock).
pub fn start_pn532<I, Ck>(
    pn532: &mut Pn532<I, Ck>,
    output: &mut impl Output,
    millis: &mut impl Clock,
) -> FirmwareVersion
where
    I: Interface,
    Ck: Clock,
    pn532::Error<I::Error>: Loggable,
{
    loop {
        match pn532.init() {
            Ok(v) => {
                #[cfg(feature = "defmt")]
                defmt::info!(
                    "PN532 IC {=u8:02X} firmware {=u8}.{=u8}",
                    v.ic,
                    v.ver,
                    v.rev
                );
                return v;
            }
            Err(_e) => {
                #[cfg(feature = "defmt")]
                defmt::warn!("PN532 init: {}", _e);
                output.service(millis.now_ms());
            }
        }
    }
}

/// The audit log line of an event (never card data beyond the credential ID of a GRANT).
#[cfg(feature = "defmt")]
fn log(event: &Event) {
    match event {
        Event::Idle => {}
        // Open: the keys in RAM are wiped and no card is read again, closed or not.
        Event::Tamper(open) => defmt::warn!("tamper, housing open: {=bool}", open),
        Event::Queued(id) => {
            defmt::info!("credential {=u64:016X} granted, queued for the panel", id)
        }
        Event::Granted(id) => {
            defmt::info!("GRANT credential {=u64:016X}, taken by the panel", id)
        }
        Event::NotTaken(id) => defmt::warn!(
            "credential {=u64:016X} granted, never taken by the panel: DENY shown",
            id
        ),
        Event::Denied(reason) => defmt::info!("DENY {=u8} {}", reason.id(), reason),
    }
}
