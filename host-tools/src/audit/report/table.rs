//! The terminal table `desfire audit` prints: one row per card (id, name, expected, observed,
//! PASS/FAIL/INCONCLUSIVE), the card's detail line under it, and a summary line.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{printable, summary, verdict};
use crate::audit::model::{AuditReport, Outcome};

const HEADINGS: [&str; 4] = ["ID", "CARD", "EXPECTED", "OBSERVED"];

/// The table; with `color`, PASS is green, FAIL red and INCONCLUSIVE yellow (the words stay,
/// for terminals and readers without colour).
pub fn table(report: &AuditReport, color: bool) -> String {
    let rows: Vec<[String; 4]> = report
        .cards
        .iter()
        .map(|c| [&c.id, &c.name, &c.expected, &c.observed].map(|s| printable(s).into_owned()))
        .collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    line(&mut out, &HEADINGS.map(str::to_owned), &widths, "RESULT");
    for (row, card) in rows.iter().zip(&report.cards) {
        let word = verdict(card.result);
        let shown = if color {
            let style = Style::new().bold().fg_color(Some(
                match card.result {
                    Outcome::Pass => AnsiColor::Green,
                    Outcome::Fail => AnsiColor::Red,
                    Outcome::Inconclusive => AnsiColor::Yellow,
                }
                .into(),
            ));
            format!("{style}{word}{style:#}")
        } else {
            word.to_owned()
        };
        line(&mut out, row, &widths, &shown);
        if !card.detail.is_empty() {
            let _ = writeln!(out, "    {}", printable(&card.detail));
        }
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn line(out: &mut String, cells: &[String; 4], widths: &[usize; 4], last: &str) {
    for (cell, width) in cells.iter().zip(widths) {
        // `{:<w$}` pads by characters, as the widths were measured.
        let _ = write!(out, "{cell:<width$}  ");
    }
    let _ = writeln!(out, "{last}");
}
