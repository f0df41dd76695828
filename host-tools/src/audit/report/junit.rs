//! JUnit XML for CI systems: one `<testsuite>`, one `<testcase>` per card, a `<failure>` with
//! expected, observed and the detail for each card whose verdict was wrong, `<skipped>` with
//! the reason for each INCONCLUSIVE card (its fault never reached the reader). The exchange goes
//! into `<system-out>` so a CI page shows what the reader did.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::{hex_bytes, printable, response_status};
use crate::audit::model::{AuditReport, CardResult, Outcome};

/// The JUnit XML report.
pub fn render(report: &AuditReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"desfire audit: {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        xml(&report.reader),
        report.cards.len(),
        report.failed(),
        report.inconclusive()
    );
    out.push_str("  <properties>\n");
    for (name, value) in [
        ("reader", &report.reader),
        ("profile", &report.profile),
        ("path", &report.path),
    ] {
        let _ = writeln!(
            out,
            "    <property name=\"{name}\" value=\"{}\"/>",
            xml(value)
        );
    }
    out.push_str("  </properties>\n");
    for c in &report.cards {
        testcase(&mut out, c);
    }
    out.push_str("</testsuite>\n");
    out
}

fn testcase(out: &mut String, c: &CardResult) {
    let _ = writeln!(
        out,
        "  <testcase classname=\"desfire.audit\" name=\"{} {} ({})\">",
        xml(&c.id),
        xml(&c.name),
        xml(&c.requirement)
    );
    if c.result == Outcome::Inconclusive {
        let _ = writeln!(
            out,
            "    <skipped message=\"INCONCLUSIVE: {}\"/>",
            xml(&c.detail)
        );
    }
    if c.result == Outcome::Fail {
        let message = format!(
            "expected {}, observed {}: {}",
            printable(&c.expected),
            printable(&c.observed),
            printable(&c.detail)
        );
        let _ = writeln!(
            out,
            "    <failure type=\"verdict\" message=\"{}\">Expected: {}\nObserved: {}\nRequirement: {}\nDetail: {}</failure>",
            escape(message),
            xml(&c.expected),
            xml(&c.observed),
            xml(&c.requirement),
            xml(&c.detail)
        );
    }
    let mut log = String::new();
    if c.pass {
        let _ = writeln!(log, "{}", printable(&c.detail));
    }
    for (n, step) in c.exchange.iter().enumerate() {
        let _ = writeln!(
            log,
            "{:>3} > {}  {}",
            n.saturating_add(1),
            printable(&step.command_name),
            hex_bytes(&step.command)
        );
        let status = response_status(step).unwrap_or_else(|| "unreadable response".to_owned());
        let _ = writeln!(
            log,
            "    < {}  {}",
            printable(&status),
            hex_bytes(&step.response)
        );
        if let Some(fault) = &step.fault {
            let _ = writeln!(log, "    FAULT injected by the card: {}", printable(fault));
        }
    }
    if !log.is_empty() {
        let _ = writeln!(out, "    <system-out>{}</system-out>", escape(log));
    }
    out.push_str("  </testcase>\n");
}

/// A field as XML text or attribute value: control characters made visible (XML 1.0 forbids
/// most of them outright), then `& < > ' "` escaped.
fn xml(s: &str) -> String {
    escape(printable(s)).into_owned()
}
