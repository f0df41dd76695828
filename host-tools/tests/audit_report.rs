//! Every audit report format rendered from a handmade report (a pass, failures, an exchange
//! with an injected fault, a card whose every field is hostile), and `report::write`.

#[path = "support/audit_sample.rs"]
mod audit_sample;

use std::path::Path;

use audit_sample::{HOSTILE_SCRIPT, sample};
use host_tools::audit::model::{AuditReport, Outcome};
use host_tools::audit::report::{self, Format, ReportError, printable};

const ALL: [Format; 4] = [Format::Json, Format::Markdown, Format::Html, Format::JUnit];

#[test]
fn sample_is_what_the_tests_assume() {
    let report = sample();
    assert_eq!(
        (report.passed(), report.failed(), report.inconclusive()),
        (2, 3, 1)
    );
    assert!(!report.pass);
    assert_eq!(report.result, Outcome::Fail);
    let t7 = &report.cards[3];
    assert_eq!((t7.id.as_str(), t7.result), ("T7", Outcome::Inconclusive));
}

#[test]
fn every_format_is_deterministic_and_ends_with_a_newline() {
    for format in ALL {
        let once = report::render(format, &sample());
        assert_eq!(once, report::render(format, &sample()), "{format:?}");
        assert!(once.ends_with('\n'), "{format:?}");
    }
}

#[test]
fn json_has_the_issue_shape_and_keeps_every_string() {
    let report = sample();
    let text = report::render(Format::Json, &report);
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON parses");
    assert_eq!(value["pass"], false);
    assert_eq!(value["reader"], report.reader.as_str());
    let cards = value["cards"].as_array().expect("cards array");
    assert_eq!(cards.len(), report.cards.len());
    for (json, card) in cards.iter().zip(&report.cards) {
        for key in [
            "id",
            "name",
            "requirement",
            "expected",
            "observed",
            "detail",
        ] {
            assert!(json[key].is_string(), "{key}");
        }
        // JSON escapes; it does not rewrite: the exact strings come back.
        assert_eq!(json["id"], card.id.as_str());
        assert_eq!(json["name"], card.name.as_str());
        assert_eq!(json["observed"], card.observed.as_str());
        assert_eq!(json["pass"], card.pass);
        assert_eq!(json["result"], card.result.as_str());
        assert_eq!(json["fault_committed"], card.fault_committed);
        assert_eq!(
            json["exchange"].as_array().map(Vec::len),
            Some(card.exchange.len())
        );
    }
    assert_eq!(
        cards[2]["exchange"][3]["fault"],
        "byte 3 of the ReadData MACt flipped (0x7F to 0x80)"
    );
    assert!(text.contains("\n  \"cards\": ["), "pretty-printed");
}

/// The cells of a GFM table row: split at pipes not escaped by a backslash.
fn cells(row: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in row.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => {
                out.push(row[start..i].trim());
                start = i + 1;
            }
            _ => escaped = false,
        }
    }
    out.push(row[start..].trim());
    out
}

#[test]
fn markdown_table_rows_and_sections_survive_hostile_fields() {
    let report = sample();
    let md = report::render(Format::Markdown, &report);
    assert!(md.starts_with("# DESFire reader audit: FAIL\n"));
    assert!(md.contains(
        "| Verdict | **FAIL**: 2 passed, 3 failed, 1 inconclusive (the card's fault never \
         reached the reader: no verdict on what it tests) |"
    ));
    assert!(md.contains("## T7 Forged credential: INCONCLUSIVE\n"));
    assert!(md.contains("- Fault reached the reader: no\n"));

    let verdicts = md
        .split("## Verdicts\n\n")
        .nth(1)
        .expect("verdict table")
        .split("\n\n")
        .next()
        .expect("table");
    let rows: Vec<&str> = verdicts.lines().collect();
    assert_eq!(
        rows.len(),
        2 + report.cards.len(),
        "header, rule, one row per card"
    );
    for row in &rows {
        // 7 columns: 8 pipes, an empty cell before the first and after the last.
        assert_eq!(cells(row).len(), 9, "{row}");
    }
    assert_eq!(cells(rows[2])[6], "**PASS**");
    assert_eq!(cells(rows[4])[6], "**FAIL**");

    // One section per card, each with its exchange table (or the sentence for none).
    assert_eq!(md.matches("\n## T").count(), report.cards.len());
    assert!(md.contains("## T6 Tampered MAC: FAIL"));
    assert!(md.contains("The reader sent the card no command."));
    let t6: Vec<&str> = md
        .split("## T6 Tampered MAC")
        .nth(1)
        .expect("T6 section")
        .lines()
        .filter(|l| l.starts_with("| 4 |"))
        .collect();
    assert_eq!(t6.len(), 1);
    let step = cells(t6[0]);
    assert_eq!(step[2], "ReadData file 01, 160 bytes, Full");
    assert_eq!(
        step[3],
        "`90 AD 00 00 0F 01 00 00 00 0A 00 00 A1 B2 C3 D4 E5 F6 07 18 00`"
    );
    assert_eq!(step[4], "9100 OPERATION\\_OK");
    assert!(step[6].starts_with("**FAULT**: byte 3 of the ReadData MACt"));

    // No raw markup from the hostile card: every `<` is escaped, and so is every backtick
    // outside our own hex code spans.
    assert_eq!(md.matches('<').count(), md.matches("\\<").count());
    assert!(md.contains("\\[a link\\](javascript:alert(3))"));
    assert!(md.contains("\\<script\\>document.body.remove()\\</script\\>"));
    assert!(!md.contains('\u{1b}'));
}

#[test]
fn html_is_self_contained_escaped_and_has_a_diagram_per_card() {
    let report = sample();
    let html = report::render(Format::Html, &report);
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"));
    // Self-contained and script-free: nothing fetched, nothing run.
    for banned in [
        "<script", "<img", "<link", "<iframe", "<b>", " src=\"", "url(", "@import", "http:",
        "https:",
    ] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    let links: Vec<&str> = html.split(" href=\"").skip(1).collect();
    assert_eq!(links.len(), report.cards.len());
    assert!(
        links.iter().all(|l| l.starts_with("#card-")),
        "only links within the page"
    );
    // Every hostile string is text.
    assert!(html.contains("&lt;script&gt;document.body.remove()&lt;/script&gt;"));
    assert!(html.contains("T9&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;/li&gt;&lt;/ol&gt;&lt;script&gt;alert(4)&lt;/script&gt;"));
    assert!(!html.contains('\u{1b}') && !html.contains('\u{1}'));

    assert!(html.contains("<title>DESFire reader audit: FAIL \u{2014} reference-reader"));
    assert_eq!(html.matches("<table class=\"verdicts\">").count(), 1);
    assert_eq!(html.matches("<th scope=\"col\">").count(), 7);
    assert_eq!(html.matches("<tr class=\"pass\">").count(), 2);
    assert_eq!(html.matches("<tr class=\"fail\">").count(), 3);
    assert_eq!(
        html.matches("<figure class=\"seq\">").count(),
        report.cards.len()
    );
    let steps: usize = report.cards.iter().map(|c| c.exchange.len()).sum();
    assert_eq!(html.matches("<li class=\"step").count(), steps);
    assert_eq!(html.matches("<li class=\"step faulty\">").count(), 3);
    assert!(html.contains("<p class=\"silent\">The reader sent the card no command.</p>"));
    // Decoded names above the arrows, bytes in byte groups below.
    assert!(html.contains("AuthenticateEV2First key 02"));
    assert!(html.contains("91AE AUTHENTICATION_ERROR"));
    assert!(html.contains("<code class=\"hex\">90 71 00 00 02 02 00 00</code>"));
    // Colour is never the only signal.
    assert_eq!(html.matches(">PASS</span>").count(), 2 + 2);
    assert_eq!(html.matches(">FAIL</span>").count(), 3 + 3 + 1);
}

#[test]
fn junit_is_well_formed_with_one_testcase_per_card() {
    let report = sample();
    let xml = report::render(Format::JUnit, &report);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML is well-formed");
    let suite = doc.root_element();
    assert_eq!(suite.tag_name().name(), "testsuite");
    assert_eq!(suite.attribute("tests"), Some("6"));
    assert_eq!(suite.attribute("failures"), Some("3"));
    assert_eq!(suite.attribute("skipped"), Some("1"));
    assert_eq!(
        suite.attribute("name"),
        Some(format!("desfire audit: {}", report.reader).as_str())
    );
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), report.cards.len());
    for (case, card) in cases.iter().zip(&report.cards) {
        let name = format!("{} {} ({})", card.id, card.name, card.requirement);
        assert_eq!(case.attribute("name"), Some(printable(&name).as_ref()));
        let failure = case.children().find(|n| n.has_tag_name("failure"));
        assert_eq!(
            failure.is_some(),
            card.result == Outcome::Fail,
            "{}",
            card.id
        );
        let skipped = case.children().find(|n| n.has_tag_name("skipped"));
        assert_eq!(
            skipped.is_some(),
            card.result == Outcome::Inconclusive,
            "{}",
            card.id
        );
        if let Some(skipped) = skipped {
            let message = skipped.attribute("message").expect("skipped message");
            assert!(message.starts_with("INCONCLUSIVE: the reader never received"));
        }
        if let Some(failure) = failure {
            let message = failure.attribute("message").expect("failure message");
            assert!(message.contains(printable(&card.expected).as_ref()));
            assert!(message.contains(printable(&card.observed).as_ref()));
            let body = failure.text().expect("failure text");
            assert!(body.contains(&format!("Detail: {}", printable(&card.detail))));
        }
    }
    let out = cases[2]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .expect("T6 system-out");
    assert!(out.contains("ReadData file 01, 160 bytes, Full"));
    assert!(out.contains("FAULT injected by the card: byte 3 of the ReadData MACt"));
    // The hostile card: its strings come back as text, control characters made visible.
    let hostile = cases[5];
    assert!(
        hostile
            .attribute("name")
            .is_some_and(|n| n.contains(HOSTILE_SCRIPT))
    );
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{1}'));
}

#[test]
fn terminal_table_rows_detail_lines_and_summary() {
    let report = sample();
    let plain = report::table(&report, false);
    let lines: Vec<&str> = plain.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].ends_with("RESULT"));
    assert!(lines[1].starts_with("T0") && lines[1].ends_with("PASS"));
    assert_eq!(
        lines[2],
        "    The reader read and verified a conforming card."
    );
    assert!(lines[5].starts_with("T6") && lines[5].ends_with("FAIL"));
    assert!(lines[5].contains("DENY MAC_MISMATCH") && lines[5].contains("GRANT 1A2B3C4D5E6F7081"));
    assert_eq!(
        lines.last(),
        Some(
            &"2 passed, 3 failed, 1 inconclusive (the card's fault never reached the reader: no \
              verdict on what it tests)"
        )
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("T7") && l.ends_with("INCONCLUSIVE"))
    );
    // Columns line up: RESULT and every verdict word start in the same column.
    let column = lines[0].chars().count() - "RESULT".len();
    for line in lines
        .iter()
        .filter(|l| !l.starts_with(' ') && l.contains("  "))
    {
        if let Some(word) = line.chars().skip(column).collect::<String>().get(..4) {
            assert!(["RESU", "PASS", "FAIL", "INCO"].contains(&word), "{line}");
        }
    }
    // A hostile field cannot drive the terminal.
    assert!(!plain.contains('\u{1b}'));
    assert!(plain.contains("\\u{1b}[2J"));

    let colored = report::table(&report, true);
    // Exactly our own sequences: bold, colour and reset per verdict.
    assert_eq!(colored.matches('\u{1b}').count(), 3 * report.cards.len());
    assert!(colored.contains("\u{1b}[1m\u{1b}[32mPASS\u{1b}[0m"));
    assert!(colored.contains("\u{1b}[1m\u{1b}[31mFAIL\u{1b}[0m"));
}

#[test]
fn write_picks_the_format_by_extension_and_replaces_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = sample();
    for (name, format) in [
        ("r.json", Format::Json),
        ("r.md", Format::Markdown),
        ("r.HTML", Format::Html),
        ("r.htm", Format::Html),
        ("junit.xml", Format::JUnit),
    ] {
        let path = dir.path().join(name);
        report::write(&path, &report).expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read back"),
            report::render(format, &report),
            "{name}"
        );
    }
    // An existing report is replaced whole.
    let path = dir.path().join("r.json");
    let empty = AuditReport {
        cards: Vec::new(),
        ..sample()
    };
    report::write(&path, &empty).expect("rewrite");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read back"),
        report::render(Format::Json, &empty)
    );
    // Shareable, unlike tempfile's owner-only default.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    // No temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["junit.xml", "r.HTML", "r.htm", "r.json", "r.md"]);
}

#[test]
fn write_refuses_an_unknown_extension_and_reports_io_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let txt = dir.path().join("report.txt");
    let err = report::write(&txt, &sample()).expect_err("unknown extension");
    assert!(matches!(err, ReportError::UnknownExtension { .. }));
    assert!(err.to_string().contains(".json, .md, .html, .htm or .xml"));
    assert!(!txt.exists());

    let missing = dir.path().join("no-such-dir").join("r.json");
    let err = report::write(&missing, &sample()).expect_err("missing directory");
    assert!(matches!(err, ReportError::Io { ref path, .. } if path == &missing));
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    assert!(Format::from_path(Path::new("r.xml")).is_ok());
}
