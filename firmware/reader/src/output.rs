//! The panel outputs of spec §14: OSDP `osdp_RAW` with the credential ID through the PD's
//! Secure Channel (the default), and legacy Wiegand carrying only the tag 86 image.

use crate::app::{Delivery, Panel};
use crate::osdp::{Pd, ReadFate};
use crate::wiegand::{self, Timing, WiegandLines};
use desfire_core::encoding::{
    Credential, DenyReason, OutputFormat, TransportFault, osdp_raw, osdp_raw_extended,
    osdp_raw_legacy,
};

/// The reader number in `osdp_RAW` (a PD with one reader head).
pub const READER_NUMBER: u8 = 0;

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
