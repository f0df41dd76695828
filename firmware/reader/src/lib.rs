//! The GEN-PACS v1 reference reader application, board independent and `no_std`, no heap.
//!
//! A board holds pins and init only: it builds its parts (front end, panel output, signals,
//! tamper input, clocks) and runs [`station::Station::step`] in its loop.
//!
//! - [`station`]: the main loop, once for every board: serving the panel line, trusted time,
//!   one [`Reader::poll`] every poll period, the event log; the PN532 start-up.
//! - [`app`]: one poll: tamper input, card activation, the reader procedure of
//!   `desfire_core::encoding::read_card` (spec §12), the decision, signals and one output per
//!   GRANT, nothing for a DENY (R1).
//! - [`frontend`]: the PN532 as the RF front end.
//! - [`output`]: the panel output a board chooses as a type: [`output::Osdp`] (the PD on a
//!   serial line) or [`output::Wiegand`] (the labelled legacy lines).
//! - [`osdp`]: the OSDP peripheral device with the Secure Channel enforced (spec §14, R12).
//! - [`wiegand`]: D0/D1 pulses of the tag 86 image.
//! - [`time`]: trusted time from the panel and the floor kept across reboots.
//! - [`provisioned`]: the key record a real board reads from its flash (no keys in the image).
//! - [`debug_port`]: the nRF52840 debug port rule of a production build (APPROTECT).
//! - [`drbg`]: the AES-CTR generator (the PD's RND.B; QEMU's RNG).
//! - [`ecdsa_vectors`]: the ECDSA P-256 differential vectors (host tests and the QEMU board).
//! - [`lab`]: the lab profile of spec §16 (TEST keys, public; QEMU and lab builds only);
//!   [`lab_values`]: the TEST values a production key record must not hold.
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(test)]
extern crate std;

pub mod app;
pub mod debug_port;
pub mod drbg;
pub mod ecdsa_vectors;
pub mod frontend;
#[cfg(any(test, feature = "lab"))]
pub mod lab;
pub mod lab_values;
pub mod osdp;
pub mod output;
pub mod provisioned;
pub mod station;
pub mod time;
pub mod wiegand;

#[cfg(test)]
mod tests;

pub use app::{
    Activation, Delivery, Event, FrontEnd, Panel, Reader, Signal, Signals, StartError, TamperInput,
    check_config,
};
