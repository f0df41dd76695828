//! One logging shim: `log`, `defmt`, or nothing, chosen by cargo features.
//!
//! Secrets (keys, RndA, RndB, session keys, plaintext of Full-mode frames) are never passed to
//! these macros, at any level.

#![allow(unused_macros)] // each layer uses the levels it needs

#[cfg(feature = "defmt")]
macro_rules! net_trace {
    ($($arg:expr),* $(,)?) => { defmt::trace!($($arg),*) };
}
#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! net_trace {
    ($($arg:expr),* $(,)?) => { log::trace!($($arg),*) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! net_trace {
    ($($arg:expr),* $(,)?) => {{ $( let _ = &$arg; )* }};
}

#[cfg(feature = "defmt")]
macro_rules! net_debug {
    ($($arg:expr),* $(,)?) => { defmt::debug!($($arg),*) };
}
#[cfg(all(feature = "log", not(feature = "defmt")))]
macro_rules! net_debug {
    ($($arg:expr),* $(,)?) => { log::debug!($($arg),*) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! net_debug {
    ($($arg:expr),* $(,)?) => {{ $( let _ = &$arg; )* }};
}
