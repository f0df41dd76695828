//! The reader firmware as the reader under test (`desfire audit --firmware ELF`): the QEMU
//! board of `firmware/` (mps2-an386), observed where a door controller sees it, at its OSDP
//! output.
//!
//! One QEMU run per card presentation (a boot takes ~40 ms):
//!
//! ```text
//! test card (behaviour-wrapped, recorded) <- emulated PN532 (in process) <-UART0- QEMU reader
//! QEMU reader -UART1-> OSDP control panel (libosdp, Secure Channel, ENFORCE_SECURE) -> JSON events
//! ```
//!
//! The PN532 chip of [`crate::pn532`] presents the card once, with the behaviour's
//! anticollision UID (T1, T14, T13 show theirs), and every APDU goes through the audit's
//! recorder. The control panel is `peers/osdp_panel.py` (the reference C libosdp, shipped in
//! this binary and written to the work directory), or the command given with `--osdp-panel`.
//! The observation (spec §17 pass rule: for a denied card neither a UID nor any card byte
//! appears on the OSDP line): one osdp_RAW read of 64 bits is a GRANT of that credential ID;
//! no read while the card was in the field and until the Secure Channel had time to deliver a
//! queued one is a bare DENY (OSDP carries no reason); any other read is reported as it is.
//!
//! Time: the cards' validity windows are relative to the audit's `now`; the board reads
//! `now=SECONDS` from the semihosting command line at boot (and counts uptime from there), so
//! the firmware and the audit agree whatever `--now` says.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use desfire_core::picc::{Activation, DEFAULT_ATS};

use super::reader::{Observation, ReaderUnderTest};
use crate::pn532::{Endpoint, Link, Pn532};
use crate::virtual_card::{FieldCard, VirtualCard};
use crate::vpcd::Stopper;

/// The control panel shipped with the tool (`host-tools/peers/osdp_panel.py`).
pub const PANEL_SCRIPT: &str = include_str!("../../peers/osdp_panel.py");

/// The Python that runs [`PANEL_SCRIPT`] when no `--osdp-panel` is given: this variable (CI
/// points it at the venv holding PyPI `libosdp`), else `python3`.
pub const PANEL_PYTHON_ENV: &str = "DESFIRE_OSDP_PYTHON";

/// After the card left the field and the Secure Channel is up, how long a read queued in the
/// PD may take to reach the panel. The reference firmware queues its read in the same poll as
/// the release, and libosdp polls the PD every 50 ms or so; 500 ms leaves room for a loaded
/// machine. A reader that sends a read later than this after the card left is not observed
/// (for a hostile card that would hide a failure: run with `--repeat` on a loaded machine).
const SETTLE: Duration = Duration::from_millis(500);
/// How long the Secure Channel may take to come up after the card left, before the run is
/// judged unobservable.
const SECURE_CHANNEL_WAIT: Duration = Duration::from_secs(8);
/// How long the panel may take to start listening.
const PANEL_START: Duration = Duration::from_secs(20);
/// How often the watcher looks at QEMU and the field.
const TICK: Duration = Duration::from_millis(10);

/// Why the firmware audit cannot run at all (exit 2): not a verdict on any card.
#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    /// The ELF is not there.
    #[error("cannot read the firmware image {path}: {source}")]
    Elf {
        /// The path given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// QEMU does not run.
    #[error(
        "{program} does not run ({why}): install QEMU (Debian: apt-get install qemu-system-arm) \
         or name it with --qemu"
    )]
    Qemu {
        /// The program.
        program: String,
        /// Why.
        why: String,
    },
    /// The OSDP control panel cannot run.
    #[error(
        "the OSDP control panel `{command}` cannot run: {why}. It needs PyPI libosdp \
         (pip install libosdp==3.2.9; scripts/test-all.sh makes a venv: set {PANEL_PYTHON_ENV} \
         to its python) or another panel with --osdp-panel"
    )]
    Panel {
        /// The command line.
        command: String,
        /// Why.
        why: String,
    },
    /// The work directory.
    #[error("cannot prepare the firmware run: {0}")]
    Io(#[from] std::io::Error),
}

/// How to run the firmware and observe it.
#[derive(Debug, Clone)]
pub struct FirmwareOptions {
    /// The QEMU reader image (`reader-qemu`, a lab build).
    pub elf: PathBuf,
    /// The QEMU program.
    pub qemu: String,
    /// The control panel command line (split at white space), which gets `--socket PATH` and
    /// `--scbk-file FILE` appended; `None`: [`PANEL_SCRIPT`] with [`PANEL_PYTHON_ENV`].
    pub panel: Option<String>,
    /// A file with the SCBK the panel uses (default: the lab SCBK).
    pub scbk_file: Option<PathBuf>,
    /// The audit's trusted time, passed to the firmware.
    pub now: u32,
    /// How long one presentation may take before it is a TIMEOUT.
    pub card_timeout: Duration,
}

/// The QEMU reader, observed at its OSDP output.
#[derive(Debug)]
pub struct FirmwareReader {
    options: FirmwareOptions,
    panel: Vec<String>,
    work: tempfile::TempDir,
    timings: Vec<RunTiming>,
}

/// Where the time of one presentation went, from the start of the run (panel started).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTiming {
    /// The whole run, QEMU and the panel stopped.
    pub total: Duration,
    /// The OSDP Secure Channel came up (boot, libosdp's handshake with the PD).
    pub secure_channel: Option<Duration>,
    /// The reader activated the card (boot, PN532 initialisation, first poll).
    pub activated: Option<Duration>,
    /// The card left the field (the reader procedure ran).
    pub released: Option<Duration>,
}

impl FirmwareReader {
    /// Checks that the ELF, QEMU and the panel are there (a clear error otherwise).
    pub fn new(options: FirmwareOptions) -> Result<Self, FirmwareError> {
        File::open(&options.elf).map_err(|source| FirmwareError::Elf {
            path: options.elf.clone(),
            source,
        })?;
        let qemu = Command::new(&options.qemu)
            .arg("--version")
            .stdin(Stdio::null())
            .output();
        match qemu {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(FirmwareError::Qemu {
                    program: options.qemu.clone(),
                    why: format!("--version: {}", o.status),
                });
            }
            Err(e) => {
                return Err(FirmwareError::Qemu {
                    program: options.qemu.clone(),
                    why: e.to_string(),
                });
            }
        }
        let work = tempfile::Builder::new().prefix("desfire-fw-").tempdir()?;
        let panel = match &options.panel {
            Some(cmd) => cmd.split_whitespace().map(str::to_owned).collect(),
            None => {
                let script = work.path().join("osdp_panel.py");
                std::fs::write(&script, PANEL_SCRIPT)?;
                let python =
                    std::env::var(PANEL_PYTHON_ENV).unwrap_or_else(|_| "python3".to_owned());
                vec![python, script.to_string_lossy().into_owned()]
            }
        };
        let reader = Self {
            options,
            panel,
            work,
            timings: Vec::new(),
        };
        reader.check_panel()?;
        Ok(reader)
    }

    /// How long each presentation took (boot, Secure Channel, card, settle), in order.
    pub fn timings(&self) -> &[RunTiming] {
        &self.timings
    }

    fn panel_command(&self) -> Result<Command, FirmwareError> {
        let (program, args) = self
            .panel
            .split_first()
            .ok_or_else(|| self.panel_error("empty command".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .arg("--socket")
            .arg(self.work.path().join("osdp.sock"));
        if let Some(f) = &self.options.scbk_file {
            cmd.arg("--scbk-file").arg(f);
        }
        Ok(cmd)
    }

    fn panel_error(&self, why: String) -> FirmwareError {
        FirmwareError::Panel {
            command: self.panel.join(" "),
            why,
        }
    }

    /// Runs the panel with `--check`: libosdp importable, the SCBK file readable.
    fn check_panel(&self) -> Result<(), FirmwareError> {
        let out = self
            .panel_command()?
            .arg("--check")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.panel_error(e.to_string()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let ready = text
            .lines()
            .filter_map(PanelEvent::parse)
            .any(|e| e == PanelEvent::Ready);
        if out.status.success() && ready {
            return Ok(());
        }
        let why = text
            .lines()
            .find_map(|l| match PanelEvent::parse(l) {
                Some(PanelEvent::Error(m)) => Some(m),
                _ => None,
            })
            .unwrap_or_else(|| {
                format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )
            });
        Err(self.panel_error(why))
    }

    /// One QEMU run with `card` in the field.
    fn run(
        &mut self,
        card: &mut dyn VirtualCard,
        started: Instant,
        timing: &mut RunTiming,
    ) -> Result<Observation, String> {
        let dir = self.work.path().to_owned();
        let pn532_sock = dir.join("pn532.sock");
        let _ = std::fs::remove_file(dir.join("osdp.sock"));
        let mut panel = Processes::default();
        let (tx, events) = mpsc::channel();
        let mut child = self
            .panel_command()
            .map_err(|e| e.to_string())?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file(&dir, "panel.err")?)
            .spawn()
            .map_err(|e| format!("cannot start the OSDP panel: {e}"))?;
        let stdout = child.stdout.take();
        panel.0.push(child);
        if let Some(out) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if let Some(e) = PanelEvent::parse(&line)
                        && tx.send(e).is_err()
                    {
                        return;
                    }
                }
                let _ = tx.send(PanelEvent::Exited);
            });
        }
        wait_listening(&events, &dir)?;

        let mut link =
            Link::open(&Endpoint::Unix(pn532_sock.clone())).map_err(|e| e.to_string())?;
        let qemu = Command::new(&self.options.qemu)
            .args(["-M", "mps2-an386", "-display", "none", "-monitor", "none"])
            // `now=` on the semihosting command line: the board's trusted time at boot.
            .arg("-semihosting-config")
            .arg(format!(
                "enable=on,target=native,arg=reader-qemu,arg=now={}",
                self.options.now
            ))
            .arg("-serial")
            .arg(format!("unix:{}", pn532_sock.display()))
            .arg("-serial")
            .arg(format!("unix:{}", dir.join("osdp.sock").display()))
            .arg("-kernel")
            .arg(&self.options.elf)
            .stdin(Stdio::null())
            // The defmt log of the firmware (`defmt-print -e ELF < qemu.defmt`).
            .stdout(log_file(&dir, "qemu.defmt")?)
            .stderr(log_file(&dir, "qemu.err")?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.options.qemu))?;
        let mut qemu = Processes(vec![qemu]);

        let field = Arc::new(Mutex::new(Field::default()));
        let mut chip = Pn532::new(
            vec![InField {
                card,
                field: Arc::clone(&field),
            }],
            false,
        );
        let stopper = Stopper::new();
        let timeout = self.options.card_timeout;
        let outcome = std::thread::scope(|s| {
            let (qemu, stopper_w, field_w) = (&mut qemu, &stopper, Arc::clone(&field));
            let watcher = s.spawn(move || {
                let w = watch(&events, &field_w, qemu, stopper_w, timeout, started);
                stopper_w.stop();
                w
            });
            let served = link.serve(&mut chip, &stopper, None);
            stopper.stop();
            let watched = watcher
                .join()
                .unwrap_or_else(|_| Err("the watcher thread failed".into()));
            match served {
                Err(e) => Err(format!("the PN532 link failed: {e}")),
                Ok(()) => watched,
            }
        });
        drop(qemu);
        drop(panel);
        let f = *field.lock().unwrap_or_else(PoisonError::into_inner);
        let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(started));
        timing.activated = since(f.activated);
        timing.released = since(f.released);
        if let Ok(o) = &outcome {
            timing.secure_channel = since(o.secure_at);
        }
        let outcome = outcome.map_err(|e| {
            let qemu_err = std::fs::read_to_string(dir.join("qemu.err")).unwrap_or_default();
            let panel_err = std::fs::read_to_string(dir.join("panel.err")).unwrap_or_default();
            let mut e = e;
            for (what, text) in [("QEMU", qemu_err), ("panel", panel_err)] {
                if let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) {
                    e.push_str(&format!("; {what}: {}", last.trim()));
                }
            }
            e
        })?;
        Ok(outcome.observation())
    }
}

impl ReaderUnderTest for FirmwareReader {
    fn name(&self) -> String {
        format!(
            "firmware {} (QEMU mps2-an386, OSDP)",
            self.options.elf.display()
        )
    }

    fn present(&mut self, card: &mut dyn VirtualCard) -> Observation {
        let started = Instant::now();
        let mut timing = RunTiming::default();
        let observation = self
            .run(card, started, &mut timing)
            .unwrap_or_else(Observation::Error);
        timing.total = started.elapsed();
        self.timings.push(timing);
        observation
    }
}

fn log_file(dir: &Path, name: &str) -> Result<File, String> {
    File::create(dir.join(name)).map_err(|e| format!("cannot create {name}: {e}"))
}

/// Child processes killed and reaped when dropped (also on every error path).
#[derive(Debug, Default)]
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // The panel ends when its standard input closes; QEMU only by a signal.
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What the panel printed (see `peers/osdp_panel.py`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum PanelEvent {
    Ready,
    Listening,
    Connected,
    Secure(bool),
    CardRead(CardRead),
    Status(String),
    Other(String),
    Error(String),
    /// Its standard output closed.
    Exited,
}

/// One card read at the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CardRead {
    format: String,
    bits: u64,
    data: String,
}

impl PanelEvent {
    fn parse(line: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        Some(match v.get("event")?.as_str()? {
            "ready" => Self::Ready,
            "listening" => Self::Listening,
            "connected" => Self::Connected,
            "secure" => Self::Secure(v.get("active")?.as_bool()?),
            "card_read" => Self::CardRead(CardRead {
                format: text("format"),
                bits: v
                    .get("bits")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0),
                data: text("data"),
            }),
            "status" => Self::Status(v.get("detail").map(|d| d.to_string()).unwrap_or_default()),
            "error" => Self::Error(text("message")),
            other => Self::Other(format!("{other}: {}", v.get("detail").unwrap_or(&v))),
        })
    }
}

fn wait_listening(events: &Receiver<PanelEvent>, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + PANEL_START;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(PanelEvent::Listening) => return Ok(()),
            Ok(PanelEvent::Error(m)) => return Err(format!("the OSDP panel failed: {m}")),
            Ok(PanelEvent::Exited) | Err(RecvTimeoutError::Disconnected) => {
                let err = std::fs::read_to_string(dir.join("panel.err")).unwrap_or_default();
                return Err(format!("the OSDP panel exited: {}", err.trim()));
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "the OSDP panel did not listen within {} s",
                    PANEL_START.as_secs()
                ));
            }
        }
    }
}

/// When the card entered and left the field (the PN532's activation and release).
#[derive(Debug, Default, Clone, Copy)]
struct Field {
    activated: Option<Instant>,
    released: Option<Instant>,
}

/// The test card in the emulated PN532's field. The audit's runner already powered it on;
/// activation reports the behaviour's anticollision UID and a DESFire EV3's ATS.
struct InField<'a> {
    card: &'a mut dyn VirtualCard,
    field: Arc<Mutex<Field>>,
}

impl InField<'_> {
    fn note(&self, f: impl FnOnce(&mut Field)) {
        f(&mut self.field.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl FieldCard for InField<'_> {
    fn activate(&mut self) -> Activation {
        let mut a = Activation {
            uid: Default::default(),
            ats: Default::default(),
        };
        // A test card's UID is 4 or 7 bytes (ISO/IEC 14443-3 single or double size); the ATS
        // is not a test card's business (the behaviours act on APDUs).
        let _ = a.uid.extend_from_slice(self.card.anticollision_uid());
        let _ = a.ats.extend_from_slice(&DEFAULT_ATS);
        self.note(|f| f.activated = f.activated.or(Some(Instant::now())));
        a
    }

    fn deactivate(&mut self) {
        self.note(|f| f.released = f.released.or(Some(Instant::now())));
    }

    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.card.transmit(capdu, rapdu)
    }
}

/// What one run showed at the panel.
#[derive(Debug, Default)]
struct Outcome {
    reads: Vec<CardRead>,
    /// When the Secure Channel first came up.
    secure_at: Option<Instant>,
    timed_out: Option<&'static str>,
}

impl Outcome {
    fn observation(&self) -> Observation {
        if let Some(what) = self.timed_out {
            if self.reads.is_empty() {
                return Observation::Timeout;
            }
            return Observation::Error(format!("{what}, after {}", describe(&self.reads)));
        }
        match self.reads.as_slice() {
            [] => Observation::Deny(None),
            [r] if r.format == "raw" && r.bits == 64 => match u64::from_str_radix(&r.data, 16) {
                Ok(id) if r.data.len() == 16 => Observation::Grant(id),
                _ => Observation::Error(format!("unreadable card read: {}", describe(&self.reads))),
            },
            // Not a credential ID: whatever it is, card bytes reached the line (§17).
            _ => Observation::Error(format!(
                "not one osdp_RAW credential ID: {}",
                describe(&self.reads)
            )),
        }
    }
}

fn describe(reads: &[CardRead]) -> String {
    let all: Vec<String> = reads
        .iter()
        .map(|r| format!("{} {} bits {}", r.format, r.bits, r.data))
        .collect();
    format!(
        "{} card read(s) on the OSDP line ({})",
        reads.len(),
        all.join("; ")
    )
}

/// Follows the run until the card has left the field and any read it caused has had time to
/// reach the panel, or until something fails.
fn watch(
    events: &Receiver<PanelEvent>,
    field: &Mutex<Field>,
    qemu: &mut Processes,
    stopper: &Stopper,
    timeout: Duration,
    started: Instant,
) -> Result<Outcome, String> {
    let mut out = Outcome::default();
    let mut secure_since: Option<Instant> = None;
    loop {
        match events.recv_timeout(TICK) {
            Ok(PanelEvent::CardRead(r)) => out.reads.push(r),
            Ok(PanelEvent::Secure(true)) => {
                secure_since = Some(Instant::now());
                out.secure_at = out.secure_at.or(secure_since);
            }
            Ok(PanelEvent::Secure(false)) => secure_since = None,
            Ok(PanelEvent::Error(m)) => return Err(format!("the OSDP panel failed: {m}")),
            Ok(PanelEvent::Exited) | Err(RecvTimeoutError::Disconnected) => {
                return Err("the OSDP panel exited during the run".into());
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
        }
        if stopper.is_stopped() {
            return Err("the PN532 link ended the run".into());
        }
        for c in &mut qemu.0 {
            if let Ok(Some(status)) = c.try_wait() {
                return Err(format!("QEMU exited ({status})"));
            }
        }
        let f = *field.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if let Some(released) = f.released {
            match secure_since {
                Some(since) if now.duration_since(released.max(since)) >= SETTLE => {
                    return Ok(out);
                }
                None if now.duration_since(released) >= SECURE_CHANNEL_WAIT => {
                    return Err(format!(
                        "the OSDP Secure Channel did not come up within {} s of the card \
                         leaving (wrong SCBK?): nothing the reader decided can be observed",
                        SECURE_CHANNEL_WAIT.as_secs()
                    ));
                }
                _ => {}
            }
        }
        if now.duration_since(started) >= timeout {
            out.timed_out = Some(if f.activated.is_none() {
                "the reader never activated the card"
            } else if f.released.is_none() {
                "the reader kept the card in the field"
            } else {
                "the Secure Channel did not come up"
            });
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: &str, bits: u64, data: &str) -> CardRead {
        CardRead {
            format: format.into(),
            bits,
            data: data.into(),
        }
    }

    #[test]
    fn panel_lines_parse_into_events() {
        assert_eq!(
            PanelEvent::parse(
                r#"{"event": "card_read", "format": "raw", "bits": 64, "data": "1A2B3C4D5E6F7081"}"#
            ),
            Some(PanelEvent::CardRead(read("raw", 64, "1A2B3C4D5E6F7081")))
        );
        assert_eq!(
            PanelEvent::parse(r#"{"event": "secure", "active": true}"#),
            Some(PanelEvent::Secure(true))
        );
        assert_eq!(
            PanelEvent::parse(r#"{"event": "error", "message": "no osdp"}"#),
            Some(PanelEvent::Error("no osdp".into()))
        );
        assert_eq!(
            PanelEvent::parse("Traceback (most recent call last):"),
            None
        );
        assert_eq!(PanelEvent::parse(r#"{"event": 3}"#), None);
    }

    #[test]
    fn reads_become_observations() {
        let o = |reads: Vec<CardRead>| {
            Outcome {
                reads,
                timed_out: None,
                secure_at: None,
            }
            .observation()
        };
        assert_eq!(o(vec![]), Observation::Deny(None));
        assert_eq!(
            o(vec![read("raw", 64, "1A2B3C4D5E6F7081")]),
            Observation::Grant(0x1A2B_3C4D_5E6F_7081)
        );
        // A UID on the line, a Wiegand frame, two reads: card bytes left the reader, and they
        // are not one credential ID.
        for bad in [
            vec![read("raw", 32, "082EB512")],
            vec![read("wiegand", 26, "0123AB")],
            vec![
                read("raw", 64, "1A2B3C4D5E6F7081"),
                read("raw", 64, "1A2B3C4D5E6F7081"),
            ],
            vec![read("raw", 64, "NOTHEX0000000000")],
        ] {
            assert!(matches!(o(bad.clone()), Observation::Error(_)), "{bad:?}");
        }
        let timed_out = Outcome {
            reads: vec![],
            timed_out: Some("the reader never activated the card"),
            secure_at: None,
        };
        assert_eq!(timed_out.observation(), Observation::Timeout);
    }

    /// A card whose own anticollision UID is a random one.
    struct RandomIdCard;

    impl VirtualCard for RandomIdCard {
        fn atr(&self) -> &[u8] {
            &crate::virtual_card::ATR_T1
        }
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn reset(&mut self) {}
        fn anticollision_uid(&self) -> &[u8] {
            &[0x08, 0x11, 0x22, 0x33]
        }
        fn transmit(&mut self, _: &[u8], _: &mut [u8]) -> usize {
            0
        }
    }

    #[test]
    fn the_pn532_shows_the_behaviours_anticollision_uid() {
        use crate::audit::behaviour::{Behaving, Behaviour};
        let clone_uid = [0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80];
        let mut card = Behaving::new(
            RandomIdCard,
            Behaviour::AnticollisionOnly {
                uid: clone_uid.to_vec(),
            },
        );
        let field = Arc::new(Mutex::new(Field::default()));
        let mut in_field = InField {
            card: &mut card,
            field: Arc::clone(&field),
        };
        let a = in_field.activate();
        assert_eq!(a.uid.as_slice(), clone_uid);
        assert_eq!(a.ats.as_slice(), DEFAULT_ATS);
        in_field.deactivate();
        let f = *field.lock().unwrap();
        assert!(f.activated.is_some() && f.released.is_some());
        // The genuine card shows its own.
        let mut genuine = Behaving::new(RandomIdCard, Behaviour::Genuine);
        let mut in_field = InField {
            card: &mut genuine,
            field,
        };
        assert_eq!(in_field.activate().uid.as_slice(), [0x08, 0x11, 0x22, 0x33]);
    }

    #[test]
    fn the_shipped_panel_is_the_peers_script() {
        assert!(PANEL_SCRIPT.contains("ENFORCE_SECURE") && PANEL_SCRIPT.contains("--check"));
    }
}
