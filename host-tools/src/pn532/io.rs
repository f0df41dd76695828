//! The host link of the emulated PN532: a Unix socket (QEMU's `-serial unix:PATH` connects to
//! it) or a pseudo-terminal (libnfc's `pn532_uart` driver opens it as a serial port). The only
//! part of the emulator that does I/O.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{self, SetArg};

use super::chip::Pn532;
use crate::virtual_card::FieldCard;
use crate::vpcd::Stopper;

/// How often a blocked wait looks at the [`Stopper`] (a pty cannot be shut down from another
/// thread the way a socket can).
const STOP_CHECK_MS: u16 = 100;

/// Where the host controller reaches the emulated PN532.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:PATH`: listen on a Unix stream socket at PATH; one host at a time, and a new one
    /// after it disconnects.
    Unix(PathBuf),
    /// `pty:PATH`: a pseudo-terminal, raw, with a symbolic link at PATH to its slave device.
    Pty(PathBuf),
}

impl FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, path) = s
            .split_once(':')
            .ok_or_else(|| format!("expected unix:PATH or pty:PATH, got {s:?}"))?;
        if path.is_empty() {
            return Err(format!("{kind}: needs a path"));
        }
        match kind {
            "unix" => Ok(Self::Unix(path.into())),
            "pty" => Ok(Self::Pty(path.into())),
            _ => Err(format!("expected unix:PATH or pty:PATH, got {s:?}")),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
            Self::Pty(p) => write!(f, "pty:{}", p.display()),
        }
    }
}

/// Why the host link failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Something else is at the path.
    #[error(
        "{0} exists and is not a stale link or socket of ours: remove it or choose another path"
    )]
    Exists(PathBuf),
    /// Creating the socket, the pty or the link failed.
    #[error("cannot open the PN532 link at {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing failed.
    #[error("PN532 link failed: {0}")]
    Io(#[from] io::Error),
}

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// An open host link, waiting for the host. Dropping it removes the socket or the link.
#[derive(Debug)]
pub enum Link {
    /// A listening Unix socket.
    Unix {
        /// The listener.
        listener: UnixListener,
        /// Its path.
        path: PathBuf,
    },
    /// A pty: the emulator holds the master, and the slave open too, so that a host closing
    /// the slave does not end the link (reads on the master would fail with EIO).
    Pty {
        /// The master side.
        master: File,
        /// The slave side, kept open.
        slave: OwnedFd,
        /// The slave device (`/dev/pts/N`).
        device: PathBuf,
        /// The symbolic link to it.
        path: PathBuf,
    },
}

impl Link {
    /// Creates the socket or the pty and its link.
    pub fn open(endpoint: &Endpoint) -> Result<Self, LinkError> {
        match endpoint {
            Endpoint::Unix(path) => {
                remove_stale(path, |p| {
                    // A socket nobody listens on is left over from a run that was killed.
                    std::fs::metadata(p)
                        .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                        && UnixStream::connect(p).is_err()
                })?;
                let listener = UnixListener::bind(path).map_err(|source| LinkError::Open {
                    path: path.clone(),
                    source,
                })?;
                Ok(Self::Unix {
                    listener,
                    path: path.clone(),
                })
            }
            Endpoint::Pty(path) => {
                let open = |source: io::Error| LinkError::Open {
                    path: path.clone(),
                    source,
                };
                remove_stale(path, |p| {
                    // A link into /dev/pts left over from a run that was killed.
                    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                        && std::fs::read_link(p).is_ok_and(|t| t.starts_with("/dev/pts"))
                })?;
                let pty = nix::pty::openpty(None, None).map_err(|e| open(errno(e)))?;
                // Raw, no echo: the line carries binary frames (cfmakeraw: no line discipline,
                // 8 bits, no parity).
                let mut t = termios::tcgetattr(&pty.slave).map_err(|e| open(errno(e)))?;
                termios::cfmakeraw(&mut t);
                termios::tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(|e| open(errno(e)))?;
                let device = nix::unistd::ttyname(&pty.slave).map_err(|e| open(errno(e)))?;
                std::os::unix::fs::symlink(&device, path).map_err(open)?;
                Ok(Self::Pty {
                    master: File::from(pty.master),
                    slave: pty.slave,
                    device,
                    path: path.clone(),
                })
            }
        }
    }

    /// What to tell the user: the path, and for a pty the device behind it.
    pub fn describe(&self) -> String {
        match self {
            Self::Unix { path, .. } => format!("unix:{}", path.display()),
            Self::Pty { path, device, .. } => {
                format!("pty:{} (-> {})", path.display(), device.display())
            }
        }
    }

    /// Serves `chip` until `stopper` is used. Trace lines go to `trace` as they come.
    pub fn serve<C: FieldCard>(
        &mut self,
        chip: &mut Pn532<C>,
        stopper: &Stopper,
        mut trace: Option<&mut dyn Write>,
    ) -> Result<(), LinkError> {
        match self {
            Self::Pty { master, .. } => {
                pump(master, chip, stopper, &mut trace)?;
            }
            Self::Unix { listener, .. } => {
                while !stopper.is_stopped() {
                    if !readable(listener)? {
                        continue;
                    }
                    let (mut stream, _) = listener.accept()?;
                    chip.reset_line();
                    // The host hung up: wait for the next one (QEMU restarted).
                    match pump(&mut stream, chip, stopper, &mut trace) {
                        Ok(()) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                            ) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Best effort: the path is ours only while it still points at what we created.
        match self {
            Self::Unix { path, .. } => {
                let _ = std::fs::remove_file(path);
            }
            Self::Pty { path, device, .. } => {
                if std::fs::read_link(&*path).is_ok_and(|t| t == *device) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

/// Refuses an existing `path` unless `stale` says it is a leftover of ours, which is removed.
fn remove_stale(path: &Path, stale: impl Fn(&Path) -> bool) -> Result<(), LinkError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if !stale(path) {
        return Err(LinkError::Exists(path.to_owned()));
    }
    std::fs::remove_file(path).map_err(|source| LinkError::Open {
        path: path.to_owned(),
        source,
    })
}

/// Waits up to [`STOP_CHECK_MS`] for `fd` to be readable.
fn readable(fd: &impl AsFd) -> io::Result<bool> {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(STOP_CHECK_MS)) {
        Ok(0) | Err(nix::Error::EINTR) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) => Err(errno(e)),
    }
}

/// Moves bytes between the host and the chip until the host hangs up (`Ok`) or `stopper` is
/// used. Every answer goes out in one write: a UART model such as QEMU's delivers it as it
/// comes, and splitting a frame only adds latency.
fn pump<S: Read + Write + AsFd, C: FieldCard>(
    stream: &mut S,
    chip: &mut Pn532<C>,
    stopper: &Stopper,
    trace: &mut Option<&mut dyn Write>,
) -> io::Result<()> {
    let mut buf = [0u8; 512];
    let mut out = Vec::with_capacity(600);
    while !stopper.is_stopped() {
        if !readable(stream)? {
            continue;
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.clear();
        chip.receive(buf.get(..n).unwrap_or_default(), &mut out);
        if !out.is_empty() {
            stream.write_all(&out)?;
            stream.flush()?;
        }
        if let Some(t) = trace.as_deref_mut() {
            for line in chip.take_trace() {
                // Tracing is best effort: a closed stderr must not take the card away.
                let _ = writeln!(t, "{line}");
            }
        }
    }
    Ok(())
}
