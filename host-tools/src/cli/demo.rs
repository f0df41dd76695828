//! `desfire demo`: the reader audit with no hardware and no services. Encodes the lab test
//! cards in memory, audits the reference reader (every card conforms) and a UID-only reader
//! model (fooled by the UID clone and the fixed-UID card), and prints both verdict tables.

use std::io::Write;

use crate::audit::cards::{self, Fixture};
use crate::audit::model::AuditReport;
use crate::audit::reader::{ReferenceReader, UidOnlyReader};
use crate::audit::report;
use crate::profile::{LAB, Profile};

use super::audit::{audit_with_progress, color_on_stdout};
use super::{CliError, Exit};

const AFTER_HELP: &str = "\
A card is INCONCLUSIVE when the reader never asked for what carries the card's fault (a UID-only
reader never reads the forged credential): its decision proves nothing about what the card
tests, so a lab reports it as not tested, never as passed.

Exit status: 0 when the reference reader passes every card and the audit catches the UID-only
reader on at least one card; 1 otherwise.";

/// Arguments of `desfire demo`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Trusted time, DATE (YYYY-MM-DD or Unix seconds). Default: the host clock.
    #[arg(long, value_name = "DATE")]
    pub now: Option<String>,
}

/// Runs `desfire demo`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let now = match &args.now {
        Some(d) => crate::dates::parse_date("--now", d)?,
        None => crate::dates::now(),
    };
    let profile = Profile::load(LAB)?;
    profile.warn_if_test();
    let fixture =
        Fixture::new(profile, LAB, now).map_err(|e| CliError::Environment(e.to_string()))?;
    let chosen = cards::default_set(&fixture.profile);

    let mut reference = ReferenceReader::new(&fixture.profile, now);
    let reference = audit_with_progress(&mut reference, &fixture, &chosen, 1)?;
    let mut uid_only = UidOnlyReader::new(fixture.uid_only_enrolment());
    let uid_only = audit_with_progress(&mut uid_only, &fixture, &chosen, 1)?;

    writeln!(
        out,
        "GEN-PACS reader audit: {} test cards (spec section 17) encoded in memory with the lab \
         profile (TEST keys)\n",
        chosen.len()
    )?;
    writeln!(
        out,
        "1. The reference reader (the section 12 procedure): {}\n",
        explain_reference(&reference)
    )?;
    write!(out, "{}", report::table(&reference, color_on_stdout()))?;
    writeln!(
        out,
        "\n2. A UID-only reader (grants the golden card's UID, never authenticates): {}\n",
        explain_uid_only(&uid_only)
    )?;
    write!(out, "{}", report::table(&uid_only, color_on_stdout()))?;

    let caught = uid_only.result == crate::audit::model::Outcome::Fail;
    writeln!(
        out,
        "\nverdict: reference reader {}, UID-only reader {}",
        if reference.pass {
            "conforms"
        } else {
            "DOES NOT CONFORM"
        },
        if caught { "caught" } else { "NOT CAUGHT" }
    )?;
    Ok(if reference.pass && caught {
        Exit::Success
    } else {
        Exit::Fail
    })
}

fn failed_ids(r: &AuditReport) -> Vec<&str> {
    r.cards
        .iter()
        .filter(|c| c.result == crate::audit::model::Outcome::Fail)
        .map(|c| c.id.as_str())
        .collect()
}

fn explain_reference(r: &AuditReport) -> String {
    if r.pass {
        format!(
            "all {} cards conform: every verdict is the one spec section 17 gives a conforming \
             reader (hostile cards denied with the spec's reason).",
            r.cards.len()
        )
    } else {
        format!(
            "FAILS {}: a defect of the reference reader.",
            failed_ids(r).join(", ")
        )
    }
}

fn explain_uid_only(r: &AuditReport) -> String {
    let failed = failed_ids(r);
    if failed.is_empty() {
        return "the audit did not catch it: a defect of the audit.".into();
    }
    let ids = |grant: bool| -> Vec<&str> {
        r.cards
            .iter()
            .filter(|c| {
                c.result == crate::audit::model::Outcome::Fail
                    && c.observed.starts_with("GRANT") == grant
            })
            .map(|c| c.id.as_str())
            .collect()
    };
    let (opened, refused) = (ids(true), ids(false));
    let mut why = Vec::new();
    if !opened.is_empty() {
        why.push(format!(
            "it opens for {} because the UID is all it checks",
            opened.join(" and ")
        ));
    }
    if !refused.is_empty() {
        why.push(format!(
            "it refuses the genuine {} because their UID is random",
            refused.join(" and ")
        ));
    }
    let mut line = format!(
        "caught by {} of {} cards ({}): {}.",
        failed.len(),
        r.cards.len(),
        failed.join(", "),
        why.join("; ")
    );
    let untested: Vec<&str> = r
        .cards
        .iter()
        .filter(|c| c.result == crate::audit::model::Outcome::Inconclusive)
        .map(|c| c.id.as_str())
        .collect();
    if !untested.is_empty() {
        line.push_str(&format!(
            " {} INCONCLUSIVE ({}): it never asked for what carries their fault, so they say \
             nothing about it (a lab reports them as not tested, never as passed).",
            untested.len(),
            untested.join(", ")
        ));
    }
    line
}
