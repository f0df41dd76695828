//! An emulated NXP PN532 (UM0701-02) on its HSU host link, with virtual cards in its field: the
//! firmware in QEMU and libnfc's `pn532_uart` driver read virtual cards through it as they read
//! real cards through a real PN532.
//!
//! The layers, as in the vpcd client: [`frame`] is the host-link framing (§6.2); [`Pn532`] is
//! the chip as a sans-IO state machine (bytes in, bytes out, nothing panics on any input);
//! [`io`] moves the bytes over a Unix socket or a pty.
//!
//! What the chip answers (§7): Diagnose, GetFirmwareVersion (PN532 v1.6), GetGeneralStatus,
//! ReadRegister and WriteRegister (a register file that reads back what was written),
//! SetParameters, SAMConfiguration, PowerDown, RFConfiguration, InListPassiveTarget (106 kbps
//! type A: SENS_RES, SEL_RES `20`, the anticollision UID and the ATS; other modulations find
//! nothing), InDataExchange (ISO-DEP is the chip's business: the host sees APDUs, with the MI
//! bit when they need more than one frame), InCommunicateThru (timeout: no card answers raw
//! frames), InDeselect, InRelease and InSelect. Any other command, or a frame with a TFI other
//! than `D4`, is acknowledged and answered with the application-level error frame.
//!
//! Cards are presented one after another: a card stays in the field for one activation (until
//! InDeselect, InRelease, the field going off, PowerDown, or a new InListPassiveTarget); the
//! next poll then finds the field empty, so the reader sees the card leave; then the next card
//! enters. After the last card the field stays empty, unless the emulator loops.
//!
//! Not modelled: timing (every answer is ready at once, so an ACK from the host never finds a
//! command to abort), the bytes a sleeping chip loses while it wakes up, other modulations than
//! 106 kbps type A, target mode, and registers other than as a store that reads back what was
//! written (others read 0).
//!
//! The chip logic is written from the user manual alone and shares nothing with any PN532
//! driver, so that drivers tested against it are checked against the manual, and real libnfc
//! checks the emulator (`host-tools/tests/pn532_libnfc.rs`).

pub mod command;
pub mod frame;
pub mod io;

mod chip;

pub use self::chip::{FIRMWARE_VERSION, MAX_CAPDU, MAX_DATA_IN, Pn532, SEL_RES, sens_res};
pub use self::io::{Endpoint, Link, LinkError};

#[cfg(test)]
mod tests;
