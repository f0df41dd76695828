//! The default panel line: OSDP on UARTE0 through an RS-485 transceiver (spec §14, R12).
//! RO on P1.01, DI on P1.02, DE and /RE on P1.03; 115200 8N1.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use embassy_nrf::buffered_uarte::{self, BufferedUarte};
use embassy_nrf::gpio::{Level, Output, OutputDrive};
use embassy_nrf::peripherals::{P1_01, P1_02, P1_03, PPI_CH0, PPI_CH1, PPI_GROUP0, TIMER1, UARTE0};
use embassy_nrf::{Peri, bind_interrupts, uarte};
use reader::drbg::CtrDrbg;
use reader::osdp::Pd;
use reader::provisioned::Provisioned;

bind_interrupts!(struct LineIrqs {
    UARTE0 => buffered_uarte::InterruptHandler<UARTE0>;
});

/// The panel output of this build.
pub type Line = reader::output::Osdp<'static, Rs485, CtrDrbg>;

/// The OSDP line: a buffered UARTE (interrupt-driven ring buffers, so nothing is lost while a
/// card is read) and the RS-485 driver enable.
pub struct Rs485 {
    uart: BufferedUarte<'static>,
    de: Output<'static>,
}

impl reader::output::OsdpLine for Rs485 {
    fn receive(&mut self, out: &mut [u8]) -> usize {
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

    /// With the transceiver's driver enabled, then back to receive.
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

/// The PD with the record's SCBK and address on UARTE0; its generator seeded from the TRNG
/// (which also feeds the reader's RndA, R5). `None` if called twice.
pub fn output(
    (uarte, timer): (Peri<'static, UARTE0>, Peri<'static, TIMER1>),
    (ppi0, ppi1, ppi_group): (
        Peri<'static, PPI_CH0>,
        Peri<'static, PPI_CH1>,
        Peri<'static, PPI_GROUP0>,
    ),
    (rx, tx, de): (
        Peri<'static, P1_01>,
        Peri<'static, P1_02>,
        Peri<'static, P1_03>,
    ),
    prov: &Provisioned,
    trng: &mut crate::io::Trng,
) -> Option<Line> {
    let mut seed = [0u8; 16];
    rand_core::RngCore::fill_bytes(trng, &mut seed);
    // SAFETY: FICR.DEVICEID[0] (0x1000_0060), a read-only factory register.
    let serial = unsafe { core::ptr::read_volatile(0x1000_0060 as *const u32) };
    let pd = cortex_m::singleton!(: Pd = Pd::new(prov.pd_config(serial)))?;
    let uart_rx = cortex_m::singleton!(: [u8; 512] = [0; 512])?;
    let uart_tx = cortex_m::singleton!(: [u8; 256] = [0; 256])?;
    let mut config = uarte::Config::default();
    config.baudrate = uarte::Baudrate::Baud115200;
    let uart = BufferedUarte::new(
        uarte, timer, ppi0, ppi1, ppi_group, rx, tx, LineIrqs, config, uart_rx, uart_tx,
    );
    let de = Output::new(de, Level::Low, OutputDrive::Standard);
    Some(reader::output::Osdp {
        pd,
        line: Rs485 { uart, de },
        rng: CtrDrbg::new(seed),
    })
}
