//! A checked cursor over command parameters: every shortfall or leftover is `LENGTH_ERROR`,
//! the card's answer to a malformed command.

use crate::wire::{Reader, Status};

/// Command parameters (header and plain data) of one command.
#[derive(Debug, Clone)]
pub(crate) struct Params<'a>(Reader<'a>);

const LEN: Status = Status::LENGTH_ERROR;

impl<'a> Params<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self(Reader::new(bytes))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Status> {
        self.0.u8().map_err(|_| LEN)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Status> {
        self.0.array().map_err(|_| LEN)
    }

    pub(crate) fn u24(&mut self) -> Result<u32, Status> {
        self.0.u24_le().map_err(|_| LEN)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, Status> {
        self.0.i32_le().map_err(|_| LEN)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Status> {
        self.0.u16_le().map_err(|_| LEN)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Status> {
        self.0.take(n).map_err(|_| LEN)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        self.0.rest()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.0.remaining()
    }

    pub(crate) fn finish(self) -> Result<(), Status> {
        self.0.finish().map_err(|_| LEN)
    }
}
