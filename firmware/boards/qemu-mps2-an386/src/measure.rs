//! The figures of `scripts/measure.sh` (feature `measure`): the instructions of one GRANT's
//! reader procedure without the time spent in the front end, one ECDSA P-256 verification,
//! the ECDSA differential vectors on this core, and the stack high-water mark, as text over
//! semihosting. Under `-icount shift=0` one instruction is 1 ns, one SysTick tick 40 of them.

use crate::{clock, fail, stack};
use cortex_m_semihosting::{debug, hprintln};
use reader::{Activation, FrontEnd};

#[path = "../../../../perf/thumb-transaction/src/p256.rs"]
mod p256;

/// The front end with the time spent in it counted, to separate the reader's own compute
/// from waiting for the PN532 and the card.
pub struct Timed<F> {
    pub inner: F,
    pub io_ticks: u32,
}

impl<F> Timed<F> {
    fn count<T>(&mut self, op: impl FnOnce(&mut F) -> T) -> T {
        let t = clock::ticks();
        let r = op(&mut self.inner);
        self.io_ticks = self.io_ticks.wrapping_add(clock::ticks().wrapping_sub(t));
        r
    }
}

impl<F: FrontEnd> FrontEnd for Timed<F> {
    type Error = F::Error;

    fn activate(&mut self) -> Result<Option<Activation>, Self::Error> {
        // A new poll: only the time of this one counts.
        self.io_ticks = 0;
        self.count(F::activate)
    }

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        self.count(|f| f.transceive(capdu, rapdu))
    }

    fn release(&mut self) -> Result<(), Self::Error> {
        self.count(F::release)
    }
}

/// Before the card: the ECDSA differential, then one verification timed on its own; the stack
/// is painted again afterwards, so that the high-water mark is the GRANT's (RustCrypto's
/// verification in the differential, never in a GRANT, runs deeper). Its ticks.
pub fn before_the_card() -> u32 {
    let ticks = ecdsa_ticks();
    ecdsa_differential();
    stack::paint();
    ticks
}

/// SysTick ticks of one ECDSA P-256 verification (the test card's, parse included), from a
/// shallow frame like the reader's own.
#[inline(never)]
fn ecdsa_ticks() -> u32 {
    let t = clock::ticks();
    let ok = p256::verify();
    let dt = clock::ticks().wrapping_sub(t);
    if !ok {
        fail()
    }
    dt
}

/// The ECDSA differential vectors through RustCrypto and p256-cm4 on this core
/// (reader::ecdsa_vectors), and one valid verification by each on its own: a backend that
/// disagrees with the other or with OpenSSL's verdict fails the run.
#[inline(never)]
fn ecdsa_differential() {
    use desfire_core::crypto::ecdsa_p256::{CortexM4P256, RustCryptoP256};
    use reader::ecdsa_vectors::{VECTORS, differential, verdict};
    match differential::<RustCryptoP256, CortexM4P256>() {
        Ok(n) => hprintln!("ecdsa_differential_vectors_agreed={}", n),
        Err(name) => {
            hprintln!("ecdsa_differential_mismatch={}", name);
            fail()
        }
    }
    let per_tick = u64::from(clock::CORE_HZ / 1_000_000);
    let Some(v) = VECTORS.first() else { fail() };
    for (name, run) in [
        ("rustcrypto", verdict::<RustCryptoP256> as fn(&_) -> bool),
        ("p256_cm4", verdict::<CortexM4P256>),
    ] {
        let t = clock::ticks();
        let ok = run(core::hint::black_box(v));
        let dt = clock::ticks().wrapping_sub(t);
        if !ok {
            fail()
        }
        hprintln!(
            "ecdsa_{}_instructions={}",
            name,
            u64::from(dt) * 1000 / per_tick
        );
    }
}

/// The figures of one GRANT, as text over semihosting, then the end of the run.
pub fn report(grant_ticks: u32, ecdsa_ticks: u32) -> ! {
    let per_tick = clock::CORE_HZ / 1_000_000;
    hprintln!("core_hz={}", clock::CORE_HZ);
    hprintln!("grant_compute_ticks={}", grant_ticks);
    hprintln!("ecdsa_verify_ticks={}", ecdsa_ticks);
    hprintln!(
        "grant_compute_instructions={}",
        u64::from(grant_ticks) * 1000 / u64::from(per_tick)
    );
    hprintln!(
        "ecdsa_verify_instructions={}",
        u64::from(ecdsa_ticks) * 1000 / u64::from(per_tick)
    );
    hprintln!("stack_high_water_bytes={}", stack::high_water_mark());
    debug::exit(debug::EXIT_SUCCESS);
    fail()
}
