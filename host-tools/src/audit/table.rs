//! The terminal table of an audit: one row per card (ID, name, requirement, expected, observed,
//! PASS/FAIL), the detail line of every failed card under it, and a summary line.

use std::fmt::Write;

use super::model::AuditReport;

/// Renders `report` as a plain-text table (no colour: it goes to logs and CI output too).
pub fn render(report: &AuditReport) -> String {
    let head = ["card", "name", "tests", "expected", "observed", "result"];
    let rows: Vec<[String; 6]> = report
        .cards
        .iter()
        .map(|c| {
            [
                c.id.clone(),
                c.name.clone(),
                c.requirement.clone(),
                c.expected.clone(),
                c.observed.clone(),
                if c.pass { "PASS" } else { "FAIL" }.to_owned(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 6]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            let _ = write!(l, "{cell:<w$}");
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    let _ = writeln!(
        out,
        "reader {}, profile {}, {} ({} cards)",
        report.reader,
        report.profile,
        report.path,
        report.cards.len()
    );
    line(&mut out, head);
    for row in &rows {
        line(&mut out, row.each_ref().map(String::as_str));
    }
    for c in report.cards.iter().filter(|c| !c.pass) {
        let _ = writeln!(out, "  {} FAIL: {}", c.id, c.detail);
    }
    let _ = writeln!(
        out,
        "{}: {} passed, {} failed",
        if report.pass { "PASS" } else { "FAIL" },
        report.passed(),
        report.failed()
    );
    out
}
