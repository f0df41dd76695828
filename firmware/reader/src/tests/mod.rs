//! Host tests of the application (against the virtual card of `desfire-core`) and of the OSDP
//! PD (against a control panel written with the independent `osdp` crate's Annex D code).

mod app;
mod ecdsa;
mod errors;
mod lab;
mod pd;
mod provisioned;
mod station;
mod wiegand;
