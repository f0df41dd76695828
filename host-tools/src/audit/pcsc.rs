//! The audit's PC/SC path (`desfire audit --reader-cmd`, cargo feature `pcsc`): each test card
//! is put behind pcscd's vpcd reader by this process, and the reader under test, an external
//! command, reads it through PC/SC as it would read a real card.
//!
//! One presentation ([`PcscField::present`]): connect the card to vpcd (the card is served on
//! the calling thread, so the card type need not be `Send`), wait until pcscd reports it PRESENT
//! (`SCardGetStatusChange`, never a sleep), run the reader, take the card away, and wait for
//! EMPTY, without which the next card's connect finds pcscd still busy with this one.
//!
//! pcscd is one per machine: when it runs it is used, otherwise it is started as a child
//! (`pcscd --foreground`) and stopped when the field is dropped.

use std::ffi::CString;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::command::{CommandError, ReaderCommand};
use super::reader::{Observation, ReaderUnderTest};
use crate::pcsc_reader::{Pcsc, PcscError, Presence};
use crate::virtual_card::VirtualCard;
use crate::vpcd::{self, ServeEnd, Session, Stopper, VpcdError};

/// The port of vpcd's first reader; the second is the next port.
const VPCD_FIRST_PORT: u16 = 35963;
/// How long pcscd we started may take to accept clients and load vpcd (tens of ms in practice).
const PCSCD_READY: Duration = Duration::from_secs(10);
/// How long the card may take to arrive in, or leave, the reader (pcscd polls vpcd; 0.3-0.5 s).
const ARRIVAL: Duration = Duration::from_secs(10);

/// Why the PC/SC path could not present a card.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    /// pcscd, the reader, or a wait for the card failed.
    #[error(transparent)]
    Pcsc(#[from] PcscError),
    /// The virtual card could not reach vpcd, or lost it.
    #[error(transparent)]
    Vpcd(#[from] VpcdError),
    /// pcscd was not running and could not be started.
    #[error("pcscd is not running and `pcscd --foreground` could not be started: {0}")]
    StartPcscd(String),
    /// No reader name was given and none follows from the vpcd address.
    #[error(
        "--vpcd {addr} is not at one of vpcd's default ports (35963, 35964): name its reader \
         with --pcsc-reader"
    )]
    UnknownReader {
        /// The vpcd address given.
        addr: String,
    },
    /// vpcd ended the connection before the reader was done.
    #[error("vpcd closed the connection while the card was presented")]
    VpcdClosed,
    /// The reader command could not be run.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// The PC/SC reader name vpcd gives the reader listening at `addr`: `Virtual PCD 00 00` on
/// port 35963, `Virtual PCD 00 01` on 35964.
pub fn vpcd_reader_name(addr: &str) -> Option<String> {
    let port: u16 = addr.rsplit_once(':')?.1.parse().ok()?;
    match port.checked_sub(VPCD_FIRST_PORT)? {
        slot @ (0 | 1) => Some(format!("Virtual PCD 00 {slot:02}")),
        _ => None,
    }
}

/// A pcscd this process started, stopped (SIGTERM, then reaped) when dropped.
#[derive(Debug)]
struct StartedPcscd(Child);

impl Drop for StartedPcscd {
    fn drop(&mut self) {
        match i32::try_from(self.0.id()) {
            Ok(pid) if kill(Pid::from_raw(pid), Signal::SIGTERM).is_ok() => {}
            _ => {
                let _ = self.0.kill();
            }
        }
        let _ = self.0.wait();
    }
}

/// How long each part of one presentation took.
#[derive(Debug, Clone, Copy, Default)]
pub struct PresentTiming {
    /// From connecting to vpcd until pcscd reported the card PRESENT (pcscd's polling).
    pub arrival: Duration,
    /// The reader's run.
    pub reader: Duration,
    /// From taking the card away until pcscd reported EMPTY.
    pub departure: Duration,
    /// The whole presentation.
    pub total: Duration,
}

/// The vpcd reader of a pcscd, with the card slot empty between presentations.
pub struct PcscField {
    // Declared first, dropped first: our context ends before the pcscd we may have started.
    pcsc: Pcsc,
    reader: CString,
    vpcd: String,
    started: Option<StartedPcscd>,
}

impl core::fmt::Debug for PcscField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PcscField")
            .field("reader", &self.reader)
            .field("vpcd", &self.vpcd)
            .field("started_pcscd", &self.started.is_some())
            .finish_non_exhaustive()
    }
}

impl PcscField {
    /// Opens the field: pcscd (started if it is not running), the reader (`reader`, or the one
    /// vpcd at `vpcd` creates), empty.
    pub fn open(vpcd: &str, reader: Option<&str>) -> Result<Self, FieldError> {
        let wanted = match reader {
            Some(r) => r.to_owned(),
            None => vpcd_reader_name(vpcd)
                .ok_or_else(|| FieldError::UnknownReader { addr: vpcd.into() })?,
        };
        let (pcsc, reader, started) = match Pcsc::establish() {
            Ok(pcsc) => {
                let reader = pcsc.reader_named(&wanted)?;
                (pcsc, reader, None)
            }
            Err(PcscError::NoService(_)) => {
                let (started, pcsc, reader) = start_pcscd(&wanted)?;
                (pcsc, reader, Some(started))
            }
            Err(e) => return Err(e.into()),
        };
        // A card left in the reader (by another program) would be read instead of ours.
        pcsc.wait_for(&reader, Presence::Empty, Some(ARRIVAL))?;
        Ok(Self {
            pcsc,
            reader,
            vpcd: vpcd.to_owned(),
            started,
        })
    }

    /// The reader's PC/SC name.
    pub fn reader_name(&self) -> String {
        self.reader.to_string_lossy().into_owned()
    }

    /// The pcscd this field started (and stops when dropped), if it started one.
    pub fn started_pcscd(&self) -> Option<u32> {
        self.started.as_ref().map(|p| p.0.id())
    }

    /// Presents `card` behind vpcd, runs `reader` with the PC/SC reader name once pcscd reports
    /// the card PRESENT, takes the card away and waits for EMPTY.
    pub fn present<R: Send>(
        &self,
        card: &mut dyn VirtualCard,
        reader: impl FnOnce(&str) -> R + Send,
    ) -> Result<(R, PresentTiming), FieldError> {
        let started = Instant::now();
        let stream = vpcd::connect(&self.vpcd)?;
        let stopper = Stopper::new();
        let name = self.reader_name();
        let (served, decided) = std::thread::scope(|s| {
            let control = s.spawn(|| {
                let outcome = self
                    .pcsc
                    .wait_for(&self.reader, Presence::Present, Some(ARRIVAL))
                    .map(|arrival| {
                        let t = Instant::now();
                        let r = reader(&name);
                        (r, arrival, t.elapsed())
                    });
                // The card leaves the reader whatever happened.
                stopper.stop();
                outcome
            });
            let mut session = Session::new(card);
            let served = vpcd::serve(stream, &mut session, &stopper, None);
            if !matches!(served, Ok(ServeEnd::Stopped)) {
                // The card is gone before the reader got it: do not wait out the arrival.
                let _ = self.pcsc.cancel();
            }
            (served, control.join())
        });
        let left = Instant::now();
        let (r, arrival, ran) = match decided {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                return Err(match served {
                    Err(v) => v.into(),
                    Ok(ServeEnd::VpcdClosed) => FieldError::VpcdClosed,
                    Ok(ServeEnd::Stopped) => e.into(),
                });
            }
            Err(_) => return Err(FieldError::VpcdClosed),
        };
        match served {
            Ok(ServeEnd::Stopped) => {}
            Ok(ServeEnd::VpcdClosed) => return Err(FieldError::VpcdClosed),
            Err(e) => return Err(e.into()),
        }
        self.pcsc
            .wait_for(&self.reader, Presence::Empty, Some(ARRIVAL))?;
        Ok((
            r,
            PresentTiming {
                arrival,
                reader: ran,
                departure: left.elapsed(),
                total: started.elapsed(),
            },
        ))
    }
}

/// Starts `pcscd --foreground` and waits until it accepts clients and shows `wanted`.
fn start_pcscd(wanted: &str) -> Result<(StartedPcscd, Pcsc, CString), FieldError> {
    let child = Command::new("pcscd")
        .arg("--foreground")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| FieldError::StartPcscd(e.to_string()))?;
    let mut started = StartedPcscd(child);
    let deadline = Instant::now() + PCSCD_READY;
    loop {
        if let Ok(Some(status)) = started.0.try_wait() {
            return Err(FieldError::StartPcscd(format!(
                "it exited at once ({status})"
            )));
        }
        let last = match Pcsc::establish().and_then(|p| p.reader_named(wanted).map(|r| (p, r))) {
            Ok((pcsc, reader)) => return Ok((started, pcsc, reader)),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(FieldError::StartPcscd(format!(
                "not ready after {PCSCD_READY:?}: {last}"
            )));
        }
        // A daemon starting up offers no event to block on: a poll with a deadline.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An external reader command audited through pcscd + vpcd.
#[derive(Debug)]
pub struct PcscCommandReader<'f> {
    field: &'f PcscField,
    command: ReaderCommand,
    output: Option<String>,
    /// Every presentation's timing, in order.
    pub timings: Vec<PresentTiming>,
}

impl<'f> PcscCommandReader<'f> {
    /// `command` reading the cards presented in `field`.
    pub fn new(field: &'f PcscField, command: ReaderCommand) -> Self {
        Self {
            field,
            command,
            output: None,
            timings: Vec::new(),
        }
    }
}

impl ReaderUnderTest for PcscCommandReader<'_> {
    fn name(&self) -> String {
        self.command.template.clone()
    }

    fn present(&mut self, card: &mut dyn VirtualCard) -> Observation {
        let command = &self.command;
        match self.field.present(card, |reader| command.run(reader)) {
            Ok((Ok(run), timing)) => {
                self.timings.push(timing);
                self.output = Some(run.output_summary());
                run.observation
            }
            Ok((Err(e), _)) => Observation::Error(e.to_string()),
            Err(e) => Observation::Error(format!("PC/SC: {e}")),
        }
    }

    fn take_output(&mut self) -> Option<String> {
        self.output.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpcd_ports_name_their_readers() {
        assert_eq!(
            vpcd_reader_name(vpcd::DEFAULT_ADDR).as_deref(),
            Some("Virtual PCD 00 00")
        );
        assert_eq!(
            vpcd_reader_name("localhost:35964").as_deref(),
            Some("Virtual PCD 00 01")
        );
        assert_eq!(vpcd_reader_name("127.0.0.1:35965"), None);
        assert_eq!(vpcd_reader_name("127.0.0.1"), None);
    }
}
