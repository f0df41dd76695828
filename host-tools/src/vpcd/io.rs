//! Frames over a socket: the only part of the vpcd client that does I/O.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{MAX_RAPDU, Message, Session};
use crate::virtual_card::VirtualCard;

/// Where vpcd listens for its first reader, `Virtual PCD 00 00` (the second, `00 01`, is on
/// port 35964).
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// Why the connection to vpcd failed.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// Nothing listens at the address.
    #[error(
        "cannot connect to vpcd at {addr}: {source} (is pcscd running, with vsmartcard-vpcd installed?)"
    )]
    Connect {
        /// The address as given.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The address does not resolve.
    #[error("cannot resolve vpcd address {addr}: {reason}")]
    Address {
        /// The address as given.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing a frame failed.
    #[error("vpcd connection failed: {0}")]
    Io(#[from] io::Error),
}

/// How [`serve`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// vpcd closed the connection (pcscd stopped, or the driver was unloaded).
    VpcdClosed,
    /// The [`Stopper`] was used (SIGINT, SIGTERM, or a test taking the card away).
    Stopped,
}

/// Ends a running [`serve`] from another thread or a signal handler: it shuts the socket down,
/// so the blocked read returns at once, without a polling timeout.
#[derive(Debug, Clone, Default)]
pub struct Stopper {
    inner: Arc<StopperInner>,
}

#[derive(Debug, Default)]
struct StopperInner {
    stopped: AtomicBool,
    stream: Mutex<Option<TcpStream>>,
}

impl Stopper {
    /// A stopper that has not been used.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the session: the card leaves the reader.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        if let Some(stream) = self.lock().take() {
            // Already closed by the peer is fine too.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Whether [`Self::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    fn register(&self, stream: &TcpStream) -> io::Result<()> {
        let clone = stream.try_clone()?;
        *self.lock() = Some(clone);
        // A stop between connect and here must still end the session.
        if self.is_stopped() {
            self.stop();
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<TcpStream>> {
        // The guarded value is a socket handle: a panic elsewhere cannot leave it inconsistent.
        self.inner
            .stream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Connects to vpcd at `addr` (`HOST:PORT`), with Nagle off: every frame is one write, and
/// waiting to coalesce them only adds latency to each APDU.
pub fn connect(addr: &str) -> Result<TcpStream, VpcdError> {
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| VpcdError::Address {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })?
        .collect();
    let stream = TcpStream::connect(addrs.as_slice()).map_err(|source| VpcdError::Connect {
        addr: addr.to_owned(),
        source,
    })?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Serves `session`'s card over `stream` until vpcd closes the connection or `stopper` is used.
///
/// Each exchange is written to `trace` (when given) in the format `desfire trace decode` reads:
/// `> C-APDU` and `< R-APDU` lines, control messages as `#` comments.
pub fn serve<C: VirtualCard>(
    stream: TcpStream,
    session: &mut Session<C>,
    stopper: &Stopper,
    trace: Option<&mut dyn Write>,
) -> Result<ServeEnd, VpcdError> {
    stopper.register(&stream)?;
    let end = serve_stream(stream, session, trace);
    if stopper.is_stopped() {
        // Whatever the read saw after the shutdown (EOF or an error), this was a stop.
        return Ok(ServeEnd::Stopped);
    }
    end
}

/// [`serve`] over any byte stream: the loop itself, testable without sockets.
pub fn serve_stream<S: Read + Write, C: VirtualCard>(
    mut stream: S,
    session: &mut Session<C>,
    mut trace: Option<&mut dyn Write>,
) -> Result<ServeEnd, VpcdError> {
    let mut payload = vec![0u8; usize::from(u16::MAX)];
    let mut frame = vec![0u8; 2 + MAX_RAPDU];
    loop {
        let mut header = [0u8; 2];
        match stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(ServeEnd::VpcdClosed),
            Err(e) => return Err(e.into()),
        }
        let len = usize::from(u16::from_be_bytes(header));
        let Some(payload) = payload.get_mut(..len) else {
            // A u16 length always fits the buffer.
            return Ok(ServeEnd::VpcdClosed);
        };
        match stream.read_exact(payload) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(ServeEnd::VpcdClosed),
            Err(e) => return Err(e.into()),
        }
        let (head, body) = frame.split_at_mut(2);
        let answer = session.handle(payload, body);
        if let Some(t) = trace.as_deref_mut() {
            // Tracing is best effort: a closed stderr must not take the card away.
            let _ = write_trace(t, payload, answer.and_then(|n| body.get(..n)));
        }
        let Some(n) = answer else { continue };
        let Ok(n16) = u16::try_from(n) else { continue };
        head.copy_from_slice(&n16.to_be_bytes());
        let whole = frame.get(..n.saturating_add(2)).unwrap_or_default();
        stream.write_all(whole)?;
        stream.flush()?;
    }
}

fn write_trace(t: &mut dyn Write, payload: &[u8], answer: Option<&[u8]>) -> io::Result<()> {
    match Message::parse(payload) {
        Message::Empty => writeln!(t, "# empty vpcd frame"),
        Message::Control(c) => writeln!(t, "# vpcd: {c}"),
        Message::Apdu(capdu) => {
            writeln!(t, "> {}", hex::encode_upper(capdu))?;
            writeln!(t, "< {}", hex::encode_upper(answer.unwrap_or_default()))
        }
    }
}
