//! The PN532 as the application's RF front end: InListPassiveTarget (106 kbps type A, the PN532
//! sends RATS itself), InDataExchange for each APDU, InRelease at the end.

use crate::app::{Activation, FrontEnd};
use pn532::{Clock, Interface, Pn532};

/// A PN532 and the target it activated.
#[derive(Debug)]
pub struct Pn532FrontEnd<I, C> {
    /// The driver.
    pub pn532: Pn532<I, C>,
    tg: Option<u8>,
}

impl<I, C> Pn532FrontEnd<I, C> {
    /// Over an initialised driver.
    pub fn new(pn532: Pn532<I, C>) -> Self {
        Self { pn532, tg: None }
    }
}

impl<I: Interface, C: Clock> FrontEnd for Pn532FrontEnd<I, C> {
    type Error = pn532::Error<I::Error>;

    fn activate(&mut self) -> Result<Option<Activation>, Self::Error> {
        self.tg = None;
        let Some(target) = self.pn532.list_passive_target()? else {
            return Ok(None);
        };
        // A card without ISO-DEP (MIFARE Classic, a UID-only emulation) is still handed to the
        // procedure: its first APDU fails and it is denied with a reason, like any other card.
        self.tg = Some(target.tg);
        Ok(Some(Activation { uid: target.uid }))
    }

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let tg = self.tg.ok_or(pn532::Error::Unexpected)?;
        self.pn532.data_exchange(tg, capdu, rapdu)
    }

    fn release(&mut self) -> Result<(), Self::Error> {
        match self.tg.take() {
            Some(tg) => self.pn532.release(tg),
            None => Ok(()),
        }
    }
}
