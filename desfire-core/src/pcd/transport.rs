//! What moves frames: a PC/SC reader, a PN532, the virtual card in a test, a recorded trace.

/// Sends one C-APDU and receives one R-APDU (data and status word), blocking.
pub trait Transport {
    /// The transport's own error.
    type Error: core::fmt::Debug;

    /// Sends `capdu` and writes the card's answer into `rapdu`, returning its length.
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error>;
}

/// The async twin of [`Transport`], for executors such as embassy.
pub trait AsyncTransport {
    /// The transport's own error.
    type Error: core::fmt::Debug;

    /// Sends `capdu` and writes the card's answer into `rapdu`, returning its length.
    fn transceive(
        &mut self,
        capdu: &[u8],
        rapdu: &mut [u8],
    ) -> impl core::future::Future<Output = Result<usize, Self::Error>>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    type Error = T::Error;

    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        (**self).transceive(capdu, rapdu)
    }
}
