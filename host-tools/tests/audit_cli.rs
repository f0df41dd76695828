//! `desfire demo` (the README's main command) and `desfire audit --in-process` as a user runs
//! them.

use std::process::Command;

fn desfire(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The rows of the table that follows `heading` in the demo's output: (card, observed, result).
fn rows<'a>(out: &'a str, heading: &str) -> Vec<(&'a str, &'a str)> {
    let start = out.find(heading).unwrap();
    out[start..]
        .lines()
        .skip_while(|l| !l.starts_with("ID "))
        .skip(1)
        // Card rows, each followed by its indented detail line, up to the summary line.
        .take_while(|l| !l.ends_with(" failed"))
        .filter(|l| l.starts_with('T') || l.starts_with('S'))
        .map(|l| {
            let id = l.split_whitespace().next().unwrap();
            let result = l.split_whitespace().last().unwrap();
            (id, result)
        })
        .collect()
}

#[test]
fn demo_passes_the_reference_reader_and_catches_the_uid_only_reader() {
    let (code, out, err) = desfire(&["demo"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("TEST profile"), "{err}");
    assert!(
        out.contains("verdict: reference reader conforms, UID-only reader caught"),
        "{out}"
    );
    let reference = rows(&out, "1. The reference reader");
    let uid_only = rows(&out, "2. A UID-only reader");
    assert!(reference.len() >= 16, "{out}");
    assert_eq!(reference.len(), uid_only.len());
    assert!(reference.iter().all(|(_, r)| *r == "PASS"), "{out}");
    let failed: Vec<&str> = uid_only
        .iter()
        .filter(|(_, r)| *r == "FAIL")
        .map(|(id, _)| *id)
        .collect();
    for id in ["T1", "T14"] {
        assert!(failed.contains(&id), "{id} not failed: {failed:?}\n{out}");
    }
    // The clone and the fixed-UID card are the ones it opens for.
    let t1 = out[out.find("2. A UID-only reader").unwrap()..]
        .lines()
        .find(|l| l.starts_with("T1 "))
        .unwrap();
    assert!(t1.contains("GRANT 1A2B3C4D5E6F7081"), "{t1}");
}

#[test]
fn audit_in_process_writes_a_json_report() {
    let dir = std::env::temp_dir().join(format!("desfire-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    let (code, out, err) = desfire(&[
        "audit",
        "--in-process",
        "--cards",
        "T0,T6,T13",
        "--repeat",
        "2",
        "--report",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report["pass"], true);
    let cards = report["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 3);
    assert_eq!(cards[1]["id"], "T6");
    assert_eq!(cards[1]["observed"], "DENY MAC_MISMATCH");
    let faults: Vec<&str> = cards[1]["exchange"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["fault"].as_str())
        .collect();
    // The reference reader reads with AD: one frame, the MACt in it, the fault committed.
    assert_eq!(
        faults,
        ["first byte of the ReadData MACt flipped; the whole answer delivered"]
    );
    assert_eq!(report["result"], "PASS");
    assert_eq!(cards[1]["fault_committed"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn audit_of_the_uid_only_model_fails_and_unknown_cards_are_usage_errors() {
    let (code, out, _) = desfire(&[
        "audit",
        "--in-process",
        "--model",
        "uid-only",
        "--cards",
        "T1",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("critical: the reader trusts the UID"), "{out}");
    let (code, _, err) = desfire(&["audit", "--in-process", "--cards", "T99"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown test card"), "{err}");
}

/// `--reader-cmd` without the services: its usage errors exit 2 before any card is presented,
/// and a build without PC/SC says how to get it.
#[test]
fn reader_cmd_usage_errors() {
    let (code, _, err) = desfire(&["audit", "--reader-cmd", "true", "--timeout", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--timeout"), "{err}");
    let (code, _, err) = desfire(&["audit", "--in-process", "--timeout", "3"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = desfire(&["audit", "--reader-cmd", "true", "--vpcd", "127.0.0.1:1"]);
    assert_eq!(code, 2, "{err}");
    if cfg!(feature = "pcsc") {
        assert!(err.contains("--pcsc-reader"), "{err}");
    } else {
        assert!(err.contains("without PC/SC support"), "{err}");
    }
}
