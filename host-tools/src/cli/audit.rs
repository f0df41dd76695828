//! `desfire audit`: plays the GEN-PACS test cards (`specs/generic-encoding.md` §17) against a
//! reader under test and prints one verdict per card.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::audit::cards::{self, CardSpec, Fixture};
use crate::audit::firmware::{FirmwareOptions, FirmwareReader, RunTiming};
use crate::audit::model::AuditReport;
use crate::audit::reader::{ReaderUnderTest, ReferenceReader, UidOnlyReader};
use crate::audit::{report, run};
use crate::gen_pacs::{self, parse_date};
use crate::profile::Profile;

use super::{CliError, Exit};

const AFTER_HELP: &str = "\
Cards (spec section 17): T0 golden, T1 UID clone, T2 blank EV3, T3 wrong key, T4 Plain downgrade,
T5 legacy authentication only, T6 tampered MAC, T7 forged, T8 transplanted, T9 expired, T10a not
yet valid, T11 unknown major, T12 relay, T13 replay, T14 fixed-UID golden, S1..S4 supplementary.
T10b, T10c (revocation) and T15 (originality) are built but not in the default set: the reference
reader does not enforce them yet.

--report FILE writes the report by the file's extension: .json (the stable machine interface),
.md, .html (a self-contained page to hand to a vendor) or .xml (JUnit).

--firmware ELF runs the QEMU reader image once per card (qemu-system-arm, mps2-an386) and
observes it at its OSDP output (PyPI libosdp control panel, Secure Channel enforced): one card
read of the credential ID is a GRANT, no read a DENY.

Exit status: 0 every card conforms, 1 some card does not, 2 bad arguments or profile (or, with
--firmware, QEMU or the OSDP panel missing).";

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
    /// Audit an external reader through PC/SC (not yet).
    #[arg(long, value_name = "CMD", conflicts_with = "in_process")]
    pub reader_cmd: Option<String>,
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
    /// The cards to play, e.g. `T0,T1,T6` (default: every card not marked "not yet").
    #[arg(long, value_name = "IDS")]
    pub cards: Option<String>,
    /// The profile the cards are built from and the reference reader reads with.
    #[arg(long, value_name = "lab|FILE", default_value = "lab")]
    pub profile: String,
    /// Present every card N times; a card passes only if every presentation conforms.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// Trusted time of the audit, DATE (YYYY-MM-DD or Unix seconds). Default: the host clock.
    #[arg(long, value_name = "DATE")]
    pub now: Option<String>,
    /// Also write the report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print how long building the cards and auditing took (standard error).
    #[arg(long)]
    pub timing: bool,
}

/// Runs `desfire audit`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    if args.reader_cmd.is_some() {
        return Err(CliError::Environment(
            "--reader-cmd is not implemented yet; use --in-process or --firmware".into(),
        ));
    }
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
            for c in cards::CARDS {
                if let Some(why) = c.unplayable(&profile) {
                    eprintln!("desfire: {} ({}) not played: {why}", c.id, c.name);
                }
            }
            cards::default_set(&profile)
        }
    };
    let now = match &args.now {
        Some(d) => parse_date("--now", d)?,
        None => gen_pacs::now(),
    };
    let started = Instant::now();
    let fixture = Fixture::new(profile, &args.profile, now).map_err(audit_err)?;
    let built = started.elapsed();
    let report = match (&args.firmware, args.model.as_str()) {
        (Some(elf), _) => {
            let mut reader = FirmwareReader::new(FirmwareOptions {
                elf: elf.clone(),
                qemu: args.qemu.clone(),
                panel: args.osdp_panel.clone(),
                scbk_file: args.osdp_scbk_file.clone(),
                now,
                card_timeout: Duration::from_secs(args.card_timeout),
            })
            .map_err(|e| CliError::Environment(e.to_string()))?;
            let mut report = audit_with_progress(&mut reader, &fixture, &chosen, args.repeat)?;
            report.path = "firmware".into();
            if args.timing {
                print_firmware_timing(reader.timings());
            }
            report
        }
        (None, "reference") => {
            let mut reader = ReferenceReader::new(&fixture.profile, now);
            audit_with_progress(&mut reader, &fixture, &chosen, args.repeat)?
        }
        (None, "uid-only") => {
            let mut reader = UidOnlyReader::new(fixture.uid_only_enrolment());
            audit_with_progress(&mut reader, &fixture, &chosen, args.repeat)?
        }
        (None, other) => {
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
    }
    write!(out, "{}", report::table(&report, color_on_stdout()))?;
    if let Some(path) = &args.report {
        report::write(path, &report)
            .map_err(|e| CliError::Environment(format!("cannot write the report: {e}")))?;
    }
    Ok(if report.pass {
        Exit::Success
    } else {
        Exit::Fail
    })
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

/// [`run::audit`] in process, with a progress bar on standard error when it is a terminal.
pub fn audit_with_progress(
    reader: &mut dyn ReaderUnderTest,
    fixture: &Fixture,
    chosen: &[&CardSpec],
    repeat: u32,
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
    let report = run::audit(reader, fixture, chosen, repeat, "in-process", &mut progress)
        .map_err(audit_err)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

/// Colour the terminal table only for a person at a terminal (and never under `NO_COLOR`).
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
