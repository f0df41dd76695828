//! The Markdown report: a header, the verdict table, then per card a section with its exchange
//! as a table. CommonMark/GFM: every field is inline text with its punctuation escaped, so a
//! hostile name can neither break a table nor become HTML or a link.

use std::fmt::Write as _;

use super::{hex_bytes, printable, response_status, summary, verdict};
use crate::audit::model::{AuditReport, CardResult};

/// The Markdown report.
pub fn render(report: &AuditReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# DESFire reader audit: {}\n", verdict(report.result));
    let _ = writeln!(out, "| | |\n|---|---|");
    for (label, value) in [
        ("Reader", &report.reader),
        ("Profile", &report.profile),
        ("Path", &report.path),
    ] {
        let _ = writeln!(out, "| {label} | {} |", text(value));
    }
    let _ = writeln!(
        out,
        "| Verdict | **{}**: {} |\n",
        verdict(report.result),
        summary(report)
    );

    let _ = writeln!(out, "## Verdicts\n");
    let _ = writeln!(
        out,
        "| ID | Card | Requirement | Expected | Observed | Result | Detail |\n\
         |---|---|---|---|---|---|---|"
    );
    for c in &report.cards {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | **{}** | {} |",
            text(&c.id),
            text(&c.name),
            text(&c.requirement),
            text(&c.expected),
            text(&c.observed),
            verdict(c.result),
            text(&c.detail),
        );
    }
    for c in &report.cards {
        card(&mut out, c);
    }
    out
}

fn card(out: &mut String, c: &CardResult) {
    let _ = writeln!(
        out,
        "\n## {} {}: {}\n",
        text(&c.id),
        text(&c.name),
        verdict(c.result)
    );
    for (label, value) in [
        ("Requirement", &c.requirement),
        ("Expected", &c.expected),
        ("Observed", &c.observed),
        ("Detail", &c.detail),
    ] {
        let _ = writeln!(out, "- {label}: {}", text(value));
    }
    let _ = writeln!(
        out,
        "- Fault reached the reader: {}",
        if c.fault_committed { "yes" } else { "no" }
    );
    out.push('\n');
    if c.exchange.is_empty() {
        let _ = writeln!(out, "The reader sent the card no command.");
        return;
    }
    let _ = writeln!(
        out,
        "| # | Reader → card | Command | Card → reader | Response | Fault injected by the card |\n\
         |---|---|---|---|---|---|"
    );
    for (n, step) in c.exchange.iter().enumerate() {
        let status = response_status(step).unwrap_or_else(|| "unreadable response".to_owned());
        let fault = step
            .fault
            .as_deref()
            .map_or_else(String::new, |f| format!("**FAULT**: {}", text(f)));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {fault} |",
            n.saturating_add(1),
            text(&step.command_name),
            hex(&step.command),
            text(&status),
            hex(&step.response),
        );
    }
}

/// Inline text with every character that means something inline in CommonMark or a GFM table
/// backslash-escaped (CommonMark allows the escape before any ASCII punctuation).
fn text(s: &str) -> String {
    let s = printable(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '!' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Hex in a code span (it can hold nothing a code span would misread); anything else as text.
fn hex(s: &str) -> String {
    if s.is_empty() {
        "(none)".to_owned()
    } else if s.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("`{}`", hex_bytes(s))
    } else {
        text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_is_escaped() {
        assert_eq!(text("a|b"), "a\\|b");
        assert_eq!(text("<script>"), "\\<script\\>");
        assert_eq!(text("[x](javascript:y)"), "\\[x\\](javascript:y)");
        assert_eq!(text("line\nbreak"), "line\\\\nbreak");
        assert_eq!(hex("9071"), "`90 71`");
        assert_eq!(hex("90`71"), "90\\`71");
    }
}
