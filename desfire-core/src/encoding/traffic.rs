//! A transport wrapper that counts what crosses the air interface: frames and bytes in each
//! direction. The reader procedure uses it to tell a downgraded (Plain or MAC-only) answer from
//! a tampered one, and benchmarks report one GRANT with it.

use crate::pcd::Transport;

/// Frames and bytes exchanged (C-APDUs and R-APDUs including status words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Traffic {
    /// Command/response pairs.
    pub frames: u32,
    /// Bytes sent to the card.
    pub to_card: u32,
    /// Bytes received from the card.
    pub from_card: u32,
}

impl core::fmt::Display for Traffic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "frames {}, bytes C->R {}, R->C {}",
            self.frames, self.to_card, self.from_card
        )
    }
}

/// Wraps a transport and counts its traffic.
#[derive(Debug)]
pub struct Metered<T> {
    inner: T,
    traffic: Traffic,
}

impl<T> Metered<T> {
    /// Counting from zero.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            traffic: Traffic::default(),
        }
    }

    /// What was exchanged so far.
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }

    /// The wrapped transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

fn add(a: u32, n: usize) -> u32 {
    a.saturating_add(u32::try_from(n).unwrap_or(u32::MAX))
}

impl<T: Transport> Transport for Metered<T> {
    type Error = T::Error;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let t = &mut self.traffic;
        t.frames = t.frames.saturating_add(1);
        t.to_card = add(t.to_card, capdu.len());
        let n = self.inner.transceive(capdu, rapdu)?;
        self.traffic.from_card = add(self.traffic.from_card, n);
        Ok(n)
    }
}
