//! `desfire audit`: plays the GEN-PACS test cards (`specs/generic-encoding.md` §17) against a
//! reader under test and prints one verdict per card.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::audit::cards::{self, CardSpec, Fixture};
use crate::audit::command::ReaderCommand;
use crate::audit::firmware::{FirmwareOptions, FirmwareReader, RunTiming};
use crate::audit::model::AuditReport;
use crate::audit::reader::ReaderRole;
use crate::audit::reader::{ReaderUnderTest, ReferenceReader, UidOnlyReader};
use crate::audit::{report, run};
use crate::dates::parse_date;
use crate::framing::Variant;
use crate::profile::Profile;

use super::{CliError, Exit};

const AFTER_HELP: &str = "\
Cards (spec section 17): T0 golden, T1 UID clone, T1b random-looking clone (a 4-byte 08 UID,
no DESFire behind it), T2 blank EV3, T3 wrong key, T4 Plain downgrade, T4b Plain file refusing
the MACed read, T5 legacy authentication only, T6 tampered MAC, T7 forged, T8 transplanted, T9
expired, T10a not yet valid, T10b deny-listed, T10c superseded issue, T11 unknown major, T12
relay, T13 replay, T14 fixed-UID golden, T15 originality fail, S1..S4 supplementary. T10b and
T10c are played when the profile's revocation list names them (the lab profile does); T15's
conforming verdict follows the profile's originality policy.

--role states who revokes (spec section 17, Reader role). reader+controller (the default): the
reader holds the revocation lists, and T10b and T10c must be DENY REVOKED. reader: it forwards
the extended output (section 14) to its controller; T10b must be a GRANT of the deny-listed
credential ID, and T10c a GRANT whose forwarded payload, printed as `osdp_RAW <hex>` (as
`desfire reader --print-payload` does), carries the enrolled ID and the superseded issue number.
The report states the role.

--reader-cmd CMD audits reader software through PC/SC (builds with --features pcsc): each card
is put behind pcscd's vpcd reader (pcscd is started for the audit if it is not running), then
`sh -c CMD` runs with {reader} replaced by the shell-quoted reader name (write {reader}, not
'{reader}'), which is also in the environment as DESFIRE_READER, and {now} by the audit's
trusted time in Unix seconds (--now; also in DESFIRE_NOW): a reader with its own clock must
judge the validity cards at that time. Exit 0 is a GRANT, the first line of standard output the
16-hex-digit credential ID; exit 1 a DENY (`DENY <IDENTIFIER>` on standard error gives the
reason); any other exit an ERROR; a command still running after --timeout is killed with its
process group (TIMEOUT, a failure). `desfire reader --profile lab --reader {reader} --now {now}`
is the reference and passes every card:
  desfire audit --reader-cmd 'desfire reader --profile lab --reader {reader} --now {now}'

--report FILE writes the report by the file's extension: .json (the stable machine interface),
.md, .html (a self-contained page to hand to a vendor) or .xml (JUnit).

--firmware ELF runs the QEMU reader image once per card (qemu-system-arm, mps2-an386) and
observes it at its OSDP output (PyPI libosdp control panel, Secure Channel enforced): one card
read of the credential ID is a GRANT, no read a DENY.

Each card is PASS (the conforming verdict, with the card's fault received by the reader), FAIL,
or INCONCLUSIVE: the reader never asked for what carries the card's fault (it never read the
credential bytes a forged card changed, never completed the authentication a wrong key breaks,
...), so its decision proves nothing about what the card tests. A lab reports an INCONCLUSIVE
card as not tested, never as passed; the detail line says what the reader did not do. A card
whose conforming verdict is the golden card's GRANT under the profile is a control card and is
never INCONCLUSIVE.

Exit status: 0 every card PASS, 1 some card FAIL, 3 no FAIL but some card INCONCLUSIVE, 2 bad
arguments or profile (or, with --firmware, QEMU or the OSDP panel missing).";

/// Arguments of `desfire audit`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Audit a reader in this process: the reference reader procedure (no services needed).
    #[arg(long, required_unless_present_any = ["reader_cmd", "firmware"])]
    pub in_process: bool,
    /// With --in-process: which reader (`reference`, or the `uid-only` model).
    #[arg(
        long,
        value_name = "MODEL",
        default_value = "reference",
        requires = "in_process"
    )]
    pub model: String,
    /// With --in-process and the reference reader: how it frames its commands (`ad`, `bd`,
    /// `whole-file`, `df-name`, `inquisitive`; see `desfire reader --help`).
    #[arg(long, value_name = "VARIANT", default_value = "ad", requires = "in_process",
          value_parser = Variant::parse)]
    pub framing: Variant,
    /// Audit reader software through PC/SC: run CMD for each card presented behind vpcd
    /// (`{reader}` is replaced by the reader name). Builds with `--features pcsc`.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["in_process", "firmware"])]
    pub reader_cmd: Option<String>,
    /// With --reader-cmd: seconds the command may take for one card before it is killed.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        conflicts_with = "in_process"
    )]
    pub timeout: f64,
    /// With --reader-cmd: where vpcd listens.
    #[arg(
        long,
        value_name = "HOST:PORT",
        default_value = crate::vpcd::DEFAULT_ADDR,
        conflicts_with = "in_process"
    )]
    pub vpcd: String,
    /// With --reader-cmd: the PC/SC name of vpcd's reader (default: the name vpcd gives the
    /// reader at --vpcd, `Virtual PCD 00 00` for port 35963).
    #[arg(long, value_name = "NAME", conflicts_with = "in_process")]
    pub pcsc_reader: Option<String>,
    /// Audit the reader firmware: its QEMU image (mps2-an386, e.g. `reader-qemu`), observed at
    /// its OSDP output through a control panel with the Secure Channel enforced.
    #[arg(long, value_name = "ELF", conflicts_with = "in_process")]
    pub firmware: Option<PathBuf>,
    /// With --firmware: the QEMU program.
    #[arg(
        long,
        value_name = "PROGRAM",
        default_value = "qemu-system-arm",
        requires = "firmware"
    )]
    pub qemu: String,
    /// With --firmware: the OSDP control panel command (split at spaces; it gets `--socket PATH`
    /// and prints JSON events, see host-tools/peers/osdp_panel.py). Default: that script, shipped
    /// in this binary, run by $DESFIRE_OSDP_PYTHON or python3 (needs PyPI libosdp).
    #[arg(long, value_name = "CMD", requires = "firmware")]
    pub osdp_panel: Option<String>,
    /// With --firmware: a file holding the SCBK (32 hex digits) the panel uses. Default: the
    /// lab SCBK of the QEMU image.
    #[arg(long, value_name = "FILE", requires = "firmware")]
    pub osdp_scbk_file: Option<PathBuf>,
    /// With --firmware: seconds one card presentation may take before it is a TIMEOUT.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        requires = "firmware"
    )]
    pub card_timeout: u64,
    /// The cards to play, e.g. `T0,T1,T6` (default: every card the profile can play).
    #[arg(long, value_name = "IDS")]
    pub cards: Option<String>,
    /// The profile the cards are built from and the reference reader reads with.
    #[arg(long, value_name = "lab|FILE", default_value = "lab")]
    pub profile: String,
    /// Present every card N times; a card passes only if every presentation conforms.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// Trusted time of the audit, DATE (YYYY-MM-DD or Unix seconds). Default: the host clock.
    /// It reaches a --reader-cmd reader as {now} and DESFIRE_NOW, the firmware on its
    /// semihosting command line.
    #[arg(long, value_name = "DATE")]
    pub now: Option<String>,
    /// The reader's role (spec section 17): `reader+controller` revokes itself (T10b and T10c
    /// are REVOKED); `reader` forwards the extended output to its controller, and T10b and
    /// T10c are judged on what it forwards.
    #[arg(long, value_name = "ROLE", default_value = "reader+controller", value_parser = parse_role)]
    pub role: ReaderRole,
    /// Also write the report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print how long building the cards and auditing took (standard error).
    #[arg(long)]
    pub timing: bool,
}

fn parse_role(text: &str) -> Result<ReaderRole, String> {
    ReaderRole::parse(text).ok_or_else(|| "expected reader+controller or reader".to_owned())
}

/// Runs `desfire audit`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let timeout = (args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 86_400.0)
        .then(|| Duration::from_secs_f64(args.timeout))
        .ok_or_else(|| crate::args::ArgError::Invalid {
            what: "--timeout".into(),
            message: format!("expected seconds between 0 and 86400, got {}", args.timeout),
        })?;
    // A report that cannot be written is a usage error before any card is played.
    if let Some(path) = &args.report {
        report::Format::from_path(path).map_err(|e| crate::args::ArgError::Invalid {
            what: "--report".into(),
            message: e.to_string(),
        })?;
    }
    let profile = Profile::load(&args.profile)?;
    profile.warn_if_test();
    let chosen = match &args.cards {
        Some(list) => cards::select(list).map_err(audit_err)?,
        None => {
            for c in cards::every_card() {
                if let Some(why) = c.unplayable(&profile) {
                    eprintln!("desfire: {} ({}) not played: {why}", c.id, c.name);
                }
            }
            cards::default_set(&profile)
        }
    };
    let now = match &args.now {
        Some(d) => parse_date("--now", d)?,
        None => crate::dates::now(),
    };
    let started = Instant::now();
    let mut fixture = Fixture::new(profile, &args.profile, now).map_err(audit_err)?;
    fixture.role = args.role;
    let built = started.elapsed();
    let mut per_card = None;
    let report = match (&args.reader_cmd, &args.firmware, args.model.as_str()) {
        (Some(template), _, _) => {
            let command = ReaderCommand::new(template.clone(), timeout).with_now(now);
            let (report, timing) = audit_reader_command(&args, command, &fixture, &chosen)?;
            per_card = timing;
            report
        }
        (None, Some(elf), _) => {
            let mut reader = FirmwareReader::new(FirmwareOptions {
                elf: elf.clone(),
                qemu: args.qemu.clone(),
                panel: args.osdp_panel.clone(),
                scbk_file: args.osdp_scbk_file.clone(),
                now,
                card_timeout: Duration::from_secs(args.card_timeout),
            })
            .map_err(|e| CliError::Environment(e.to_string()))?;
            let report = audit_on_path(&mut reader, &fixture, &chosen, args.repeat, "firmware")?;
            if args.timing {
                print_firmware_timing(reader.timings());
            }
            report
        }
        (None, None, "reference") => {
            let mut reader = ReferenceReader::new(&fixture.profile, now)
                .framed(args.framing)
                .in_role(args.role);
            audit_with_progress(&mut reader, &fixture, &chosen, args.repeat)?
        }
        (None, None, "uid-only") => {
            let mut reader = UidOnlyReader::new(fixture.uid_only_enrolment());
            audit_with_progress(&mut reader, &fixture, &chosen, args.repeat)?
        }
        (None, None, other) => {
            return Err(crate::args::ArgError::Invalid {
                what: "--model".into(),
                message: format!("expected reference or uid-only, got {other:?}"),
            }
            .into());
        }
    };
    let total = started.elapsed();
    if args.timing {
        eprintln!(
            "timing: golden card and recording {:.1} ms; audit of {} card(s) x {} {:.1} ms",
            built.as_secs_f64() * 1e3,
            chosen.len(),
            args.repeat.max(1),
            total.saturating_sub(built).as_secs_f64() * 1e3
        );
        if let Some(line) = per_card {
            eprintln!("timing: {line}");
        }
    }
    write!(out, "{}", report::table(&report, color_on_stdout()))?;
    if let Some(path) = &args.report {
        report::write(path, &report)
            .map_err(|e| CliError::Environment(format!("cannot write the report: {e}")))?;
    }
    Ok(Exit::of_audit(report.result))
}

/// `--timing` with `--firmware`: one QEMU run per presentation (boot, Secure Channel, the
/// card, the wait for a queued read), and the mean time from the run's start to each phase.
fn print_firmware_timing(runs: &[RunTiming]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = |f: &dyn Fn(&RunTiming) -> Option<Duration>| {
        let seen: Vec<Duration> = runs.iter().filter_map(f).collect();
        let n = u32::try_from(seen.len()).unwrap_or(u32::MAX).max(1);
        ms(seen.iter().sum::<Duration>() / n)
    };
    let total: Duration = runs.iter().map(|r| r.total).sum();
    eprintln!(
        "timing: {} QEMU run(s), {:.1} ms in all; per card mean {:.1} ms, fastest {:.1} ms, \
         slowest {:.1} ms; from the start of a run: Secure Channel up {:.1} ms, card activated \
         {:.1} ms, card left the field {:.1} ms (mean)",
        runs.len(),
        ms(total),
        mean(&|r| Some(r.total)),
        ms(runs.iter().map(|r| r.total).min().unwrap_or_default()),
        ms(runs.iter().map(|r| r.total).max().unwrap_or_default()),
        mean(&|r| r.secure_channel),
        mean(&|r| r.activated),
        mean(&|r| r.released),
    );
}

fn audit_err(e: cards::CardError) -> CliError {
    match e {
        cards::CardError::Profile(p) => CliError::Profile(p),
        cards::CardError::Unknown(_) => CliError::Arg(crate::args::ArgError::Invalid {
            what: "--cards".into(),
            message: e.to_string(),
        }),
        e => CliError::Environment(e.to_string()),
    }
}

/// The audit through pcscd + vpcd with an external reader command; with the per-card timing
/// line for `--timing`.
#[cfg(feature = "pcsc")]
fn audit_reader_command(
    args: &Args,
    command: ReaderCommand,
    fixture: &Fixture,
    chosen: &[&CardSpec],
) -> Result<(AuditReport, Option<String>), CliError> {
    use crate::audit::pcsc::{PcscCommandReader, PcscField};
    let field = PcscField::open(&args.vpcd, args.pcsc_reader.as_deref())
        .map_err(|e| CliError::Environment(e.to_string()))?;
    let pcscd = field.started_pcscd();
    if pcscd.is_some() {
        eprintln!("pcscd was not running: started it for the audit (stopped at the end)");
    }
    // Ctrl-C or SIGTERM in the middle of a card: the reader command runs in its own process
    // group and would not see it; end it, and the pcscd started here, with the audit.
    let running = command.running();
    ctrlc::set_handler(move || {
        running.kill();
        if let Some(pid) = pcscd.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        std::process::exit(130);
    })
    .map_err(|e| CliError::Environment(format!("cannot handle Ctrl-C: {e}")))?;
    let mut reader = PcscCommandReader::new(&field, command);
    let report = audit_on_path(&mut reader, fixture, chosen, args.repeat, "pcsc")?;
    let timing = presentation_timing(&reader.timings, &field.reader_name());
    Ok((report, timing))
}

#[cfg(not(feature = "pcsc"))]
fn audit_reader_command(
    _: &Args,
    _: ReaderCommand,
    _: &Fixture,
    _: &[&CardSpec],
) -> Result<(AuditReport, Option<String>), CliError> {
    Err(CliError::NoPcsc)
}

/// `--timing`'s line for the PC/SC path: the mean presentation and its parts.
#[cfg(feature = "pcsc")]
fn presentation_timing(
    timings: &[crate::audit::pcsc::PresentTiming],
    reader: &str,
) -> Option<String> {
    let n = u32::try_from(timings.len()).ok().filter(|n| *n > 0)?;
    let mean = |f: fn(&crate::audit::pcsc::PresentTiming) -> Duration| {
        timings.iter().map(f).sum::<Duration>() / n
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let max = timings.iter().map(|t| t.total).max().unwrap_or_default();
    Some(format!(
        "{n} presentation(s) through pcscd + vpcd ({reader}): mean {:.0} ms a card (max {:.0} ms) \
         = card PRESENT {:.0} ms + reader command {:.0} ms + EMPTY {:.0} ms",
        ms(mean(|t| t.total)),
        ms(max),
        ms(mean(|t| t.arrival)),
        ms(mean(|t| t.reader)),
        ms(mean(|t| t.departure)),
    ))
}

/// [`run::audit`] in process, with a progress bar on standard error when it is a terminal.
pub fn audit_with_progress(
    reader: &mut dyn ReaderUnderTest,
    fixture: &Fixture,
    chosen: &[&CardSpec],
    repeat: u32,
) -> Result<AuditReport, CliError> {
    audit_on_path(reader, fixture, chosen, repeat, "in-process")
}

/// [`run::audit`] on `path` (`in-process`, `pcsc`, `firmware`), with a progress bar on standard error when
/// it is a terminal.
pub fn audit_on_path(
    reader: &mut dyn ReaderUnderTest,
    fixture: &Fixture,
    chosen: &[&CardSpec],
    repeat: u32,
    path: &str,
) -> Result<AuditReport, CliError> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(chosen.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("auditing {}", reader.name()));
        bar
    });
    let mut progress = |spec: &CardSpec| {
        if let Some(b) = &bar {
            b.set_message(format!("{} {}", spec.id, spec.name));
            b.inc(1);
        }
    };
    let report =
        run::audit(reader, fixture, chosen, repeat, path, &mut progress).map_err(audit_err)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

/// Colour the terminal table only for a person at a terminal (and never under `NO_COLOR`).
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
