//! The panel outputs of spec §14: OSDP `osdp_RAW` with the credential ID through the PD's
//! Secure Channel (the default), and legacy Wiegand carrying only the tag 86 image.
//!
//! A board chooses its output as a type: [`Osdp`] over its serial line ([`OsdpLine`]), or
//! [`Wiegand`] over its D0/D1 lines. Both are an [`Output`], which is all the main loop
//! ([`crate::station`]) knows of the panel.

use crate::app::{Delivery, Panel};
use crate::osdp::packet::MAX_PACKET;
use crate::osdp::{Pd, ReadFate};
use crate::wiegand::{self, Timing, WiegandLines};
use desfire_core::encoding::{
    Credential, DenyReason, OutputFormat, TransportFault, osdp_raw, osdp_raw_extended,
    osdp_raw_legacy,
};

/// The reader number in `osdp_RAW` (a PD with one reader head).
pub const READER_NUMBER: u8 = 0;

/// The panel output of a board: the [`Panel`] the reader hands a GRANT to, and what the line
/// needs between two polls of the reader.
pub trait Output: Panel {
    /// The reader's output format (`ReaderConfig::output`): with
    /// [`OutputFormat::LegacyWiegand`], step 11 denies a credential without tag 86
    /// (`NO_LEGACY_IMAGE`) before anything is sent.
    const FORMAT: OutputFormat;

    /// Answers what the panel sent since the last call, without waiting. `now_ms` is the
    /// board's millisecond clock (the age of queued reads).
    fn service(&mut self, now_ms: u32);

    /// The time the panel set since the last call: Unix seconds, and `now_ms` of the
    /// [`Output::service`] call that received it.
    fn take_panel_time(&mut self) -> Option<(u32, u32)>;

    /// Whether the reader has trusted time: until it has, reads that can carry it go out in
    /// the extended format, for the controller to decide (R9, firmware/README.md).
    fn set_trusted_time(&mut self, trusted: bool);
}

/// A serial line to the panel (a UART, with an RS-485 transceiver on a real reader).
pub trait OsdpLine {
    /// Copies what the line received into `buf`, without waiting; 0 when nothing came.
    fn receive(&mut self, buf: &mut [u8]) -> usize;
    /// Sends one reply, whole, before it returns (a half-duplex transceiver goes back to
    /// receive afterwards).
    fn send(&mut self, reply: &[u8]);
}

/// The OSDP output (spec §14, R12): the PD on a serial line, and the generator of its RND.B.
pub struct Osdp<'p, L, R> {
    /// The peripheral device (long-lived: a board keeps it in a static).
    pub pd: &'p mut Pd,
    /// The line to the panel.
    pub line: L,
    /// The PD's generator (osdp_CCRYPT's RND.B).
    pub rng: R,
}

impl<L, R> core::fmt::Debug for Osdp<'_, L, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Osdp")
            .field("pd", &self.pd)
            .finish_non_exhaustive()
    }
}

impl<L: OsdpLine, R: rand_core::CryptoRng> Panel for Osdp<'_, L, R> {
    fn grant(&mut self, credential: &Credential) -> Result<(), DenyReason> {
        self.pd.grant(credential)
    }

    fn delivery(&mut self) -> Delivery {
        self.pd.delivery()
    }

    fn tamper(&mut self, active: bool) {
        Panel::tamper(self.pd, active);
    }
}

impl<L: OsdpLine, R: rand_core::CryptoRng> Output for Osdp<'_, L, R> {
    const FORMAT: OutputFormat = OutputFormat::Osdp;

    fn service(&mut self, now_ms: u32) {
        self.pd.set_time(now_ms);
        let mut inbox = [0u8; 64];
        let mut reply = [0u8; MAX_PACKET];
        loop {
            let n = self.line.receive(&mut inbox);
            if n == 0 {
                return;
            }
            for &byte in inbox.get(..n).unwrap_or_default() {
                #[cfg(feature = "defmt")]
                let was_secure = self.pd.is_secure();
                if let Some(len) = self.pd.on_byte(byte, &mut self.rng, &mut reply) {
                    self.line.send(reply.get(..len).unwrap_or_default());
                    #[cfg(feature = "defmt")]
                    if self.pd.is_secure() != was_secure {
                        defmt::info!(
                            "OSDP secure channel {}",
                            if self.pd.is_secure() { "up" } else { "down" }
                        );
                    }
                }
            }
        }
    }

    fn take_panel_time(&mut self) -> Option<(u32, u32)> {
        self.pd.take_panel_time()
    }

    fn set_trusted_time(&mut self, trusted: bool) {
        self.pd.set_output(if trusted {
            OutputFormat::Osdp
        } else {
            OutputFormat::Extended
        });
    }
}

impl Panel for Pd {
    fn grant(&mut self, credential: &Credential) -> Result<(), DenyReason> {
        // Queued until the panel's next poll in the session.
        let queued = match self.output() {
            // `RR 00 40 00 || CredentialID[8]`.
            OutputFormat::Osdp => self.report_raw(&osdp_raw(credential, READER_NUMBER)),
            OutputFormat::Extended => {
                self.report_raw(&osdp_raw_extended(credential, READER_NUMBER))
            }
            OutputFormat::LegacyWiegand => {
                let mut out = [0u8; 20];
                let n = osdp_raw_legacy(credential, READER_NUMBER, &mut out)?;
                self.report_raw(out.get(..n).unwrap_or_default())
            }
        };
        queued.map_err(|_| DenyReason::Transport(TransportFault::Reader))
    }

    fn delivery(&mut self) -> Delivery {
        match self.read_fate() {
            ReadFate::Taken => Delivery::Taken,
            // `None`: nothing was queued, so nothing can arrive.
            ReadFate::Lost | ReadFate::None => Delivery::Lost,
            ReadFate::Waiting => Delivery::Waiting,
        }
    }

    fn tamper(&mut self, active: bool) {
        self.set_tamper(active);
        if active {
            self.wipe_keys();
        }
    }
}

/// Physical Wiegand lines, the labelled legacy option (R13).
#[derive(Debug)]
pub struct Wiegand<L> {
    /// The D0/D1 lines.
    pub lines: L,
    /// Pulse timing.
    pub timing: Timing,
}

impl<L: WiegandLines> Panel for Wiegand<L> {
    fn grant(&mut self, credential: &Credential) -> Result<(), DenyReason> {
        let image = credential
            .legacy_image
            .as_ref()
            .ok_or(DenyReason::NoLegacyImage)?;
        wiegand::send(&mut self.lines, image, self.timing);
        Ok(())
    }

    fn tamper(&mut self, _active: bool) {
        // Wiegand has no status channel; the tamper contact is wired to the panel directly.
    }
}

/// The labelled legacy line (R13): nothing to answer, no time from the panel, and only the
/// tag 86 image goes out, whatever the time.
impl<L: WiegandLines> Output for Wiegand<L> {
    const FORMAT: OutputFormat = OutputFormat::LegacyWiegand;

    fn service(&mut self, _now_ms: u32) {}

    fn take_panel_time(&mut self) -> Option<(u32, u32)> {
        None
    }

    fn set_trusted_time(&mut self, _trusted: bool) {}
}
