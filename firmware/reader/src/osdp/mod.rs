//! OSDP v2.2 as a peripheral device (PD) with the Secure Channel enforced, heap-free.
//!
//! Why our own and not a crate (checked 2026-11-28 in the crate sources): the pure-Rust `osdp`
//! 0.3 has a PD driver only in plaintext (`Pd` replies with `PacketBuilder::plain`, the Secure
//! Channel session is written for the control panel's side) and both need `alloc`; `libosdp`
//! 0.2 (the C reference behind Rust bindings) does PD + Secure Channel but allocates (`Box`,
//! `Vec`, `CString`, and the C library's `calloc`), needs `gcc-arm-none-eabi` in CI, and the
//! reader image has no heap. So the PD here is our own, on the AES of `desfire-core`; its
//! Annex D cryptography is cross-checked byte for byte against the `osdp` crate
//! (`secure::tests`), and the whole PD against the C libosdp control panel (PyPI `libosdp`) in
//! the QEMU end-to-end test (`firmware/tests/e2e_qemu.py`).

pub mod packet;
pub mod pd;
pub mod secure;

pub use pd::{Pd, PdConfig, QueueFull, READ_MAX_AGE_MS, ReadFate};
