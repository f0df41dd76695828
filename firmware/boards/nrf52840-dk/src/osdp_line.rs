//! The default panel line: OSDP on UARTE0 through an RS-485 transceiver (spec §14, R12).

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use embassy_nrf::buffered_uarte::BufferedUarte;
use embassy_nrf::gpio::Output;
use reader::drbg::CtrDrbg;
use reader::osdp::Pd;

/// The OSDP line: a buffered UARTE (interrupt-driven ring buffers, so nothing is lost while a
/// card is read) and the RS-485 driver enable.
pub struct OsdpLine {
    pub uart: BufferedUarte<'static>,
    pub de: Output<'static>,
}

impl OsdpLine {
    /// What has arrived, without waiting.
    fn read_now(&mut self, out: &mut [u8]) -> usize {
        let mut cx = Context::from_waker(Waker::noop());
        let n = {
            let fut = pin!(self.uart.fill_buf());
            match fut.poll(&mut cx) {
                Poll::Ready(Ok(data)) => {
                    let n = data.len().min(out.len());
                    out[..n].copy_from_slice(&data[..n]);
                    n
                }
                _ => 0,
            }
        };
        self.uart.consume(n);
        n
    }

    /// Sends a reply with the transceiver's driver enabled, then back to receive.
    fn send(&mut self, mut bytes: &[u8]) {
        self.de.set_high();
        while !bytes.is_empty() {
            match self.uart.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(_) => break,
            }
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut flush = pin!(self.uart.flush());
        while flush.as_mut().poll(&mut cx).is_pending() {}
        self.de.set_low();
    }
}

pub fn service_osdp(pd: &mut Pd, line: &mut OsdpLine, rng: &mut CtrDrbg) {
    let mut inbox = [0u8; 64];
    let mut out = [0u8; reader::osdp::packet::MAX_PACKET];
    loop {
        let n = line.read_now(&mut inbox);
        if n == 0 {
            return;
        }
        for b in &inbox[..n] {
            if let Some(len) = pd.on_byte(*b, rng, &mut out) {
                line.send(&out[..len]);
            }
        }
    }
}
