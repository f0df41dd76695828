//! `desfire audit --reader-cmd` as a user runs it, through pcscd + vpcd: the reference reader
//! (`desfire reader --reader {reader}`) passes every card of the default set, a reader that
//! hangs is a TIMEOUT failure, and one that prints garbage on exit 0 is a failure. (The
//! known-bad reader models through the same path: tests/tests/audit_pcsc_models.rs.)
//!
//! Needs pcscd with vsmartcard-vpcd (the audit starts pcscd when it is installed but not
//! running). pcscd is one per machine: nextest runs this binary in the `pcscd` group, and the
//! tests in it hold [`PCSCD`]. Without pcscd the tests FAIL when `CI` is set and are skipped,
//! loudly, otherwise.
#![cfg(feature = "pcsc")]

use std::io::Write;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use host_tools::audit::pcsc::PcscField;
use host_tools::vpcd;

/// pcscd and vpcd's reader are machine-wide: one test at a time.
static PCSCD: Mutex<()> = Mutex::new(());

/// The trusted time of the cards and of the reader command.
const NOW: &str = "2026-06-01";

/// The lock and the field (pcscd running, the reader empty); `None` (after saying why) when
/// the test must be skipped. The field is held for the test, so a pcscd it started stays up
/// for the `desfire audit` runs inside it.
fn setup(test: &str) -> Option<(MutexGuard<'static, ()>, PcscField)> {
    let guard = PCSCD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match PcscField::open(vpcd::DEFAULT_ADDR, None) {
        Ok(field) => Some((guard, field)),
        Err(e) if std::env::var_os("CI").is_some() => panic!(
            "{test}: pcscd with the vpcd reader is required in CI: {e}. scripts/test-all.sh \
             installs pcscd and vsmartcard-vpcd and starts pcscd."
        ),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no pcscd with vpcd's reader ({e}). Install pcscd and \
                 vsmartcard-vpcd, or run scripts/test-all.sh."
            );
            None
        }
    }
}

/// Runs `desfire audit --reader-cmd CMD` with `extra` arguments; exit code, the JSON report,
/// standard error.
fn audit(cmd: &str, extra: &[&str], report: &str) -> (i32, serde_json::Value, String) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(report);
    let out = Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(["audit", "--reader-cmd", cmd, "--now", NOW, "--timing"])
        .args(["--report", path.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = std::fs::read(&path)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|e| panic!("no report ({e}): {stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// The `--timing` lines, to standard error of the test (shown by nextest's success-output).
fn show_timing(test: &str, stderr: &str) {
    for line in stderr.lines().filter(|l| l.starts_with("timing:")) {
        let _ = writeln!(std::io::stderr(), "{test}: {line}");
    }
}

#[test]
fn the_reference_reader_passes_every_card_through_pcsc() {
    let Some((_guard, field)) = setup("the_reference_reader_passes_every_card_through_pcsc") else {
        return;
    };
    let reader = format!(
        "{} reader --profile lab --now {NOW} --reader {{reader}}",
        env!("CARGO_BIN_EXE_desfire")
    );
    let (code, report, stderr) = audit(&reader, &[], "audit_pcsc_reference.json");
    show_timing("reference", &stderr);
    let cards = report["cards"].as_array().unwrap();
    for c in cards {
        assert_eq!(c["pass"], true, "{c:#}\n{stderr}");
    }
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["path"], "pcsc");
    assert_eq!(report["reader"], reader);
    assert_eq!(report["pass"], true);
    let ids: Vec<&str> = cards.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let lab = host_tools::profile::Profile::load(host_tools::profile::LAB).unwrap();
    let default: Vec<&str> = host_tools::audit::cards::default_set(&lab)
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, default);
    // The exchange is what the reader did through pcscd: GET DATA for the anticollision UID,
    // then the golden card read to the end (SelectApplication, two authentications,
    // GetCardUID, ReadData); the fixed-UID card denied from the UID alone.
    let names = |id: &str| -> Vec<String> {
        cards.iter().find(|c| c["id"] == id).unwrap()["exchange"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["command_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let t0 = names("T0");
    assert!(t0.len() >= 6, "{t0:?}");
    assert_eq!(t0[0], "GET DATA (PC/SC)");
    assert!(t0[1].starts_with("SelectApplication"), "{t0:?}");
    assert!(t0.iter().any(|n| n.starts_with("ReadData")), "{t0:?}");
    assert_eq!(names("T14"), ["GET DATA (PC/SC)"]);
    assert!(
        stderr.contains("presentation(s) through pcscd + vpcd (Virtual PCD 00 00)"),
        "{stderr}"
    );
    drop(field);
}

#[test]
fn a_hanging_reader_times_out_and_garbage_fails() {
    let Some((_guard, _field)) = setup("a_hanging_reader_times_out_and_garbage_fails") else {
        return;
    };
    // Hangs: killed after --timeout, TIMEOUT, a failure; the next card is still presented.
    let (code, report, stderr) = audit(
        "sleep 60",
        &["--timeout", "1", "--cards", "T0,T9"],
        "audit_pcsc_timeout.json",
    );
    show_timing("timeout", &stderr);
    assert_eq!(code, 1, "{stderr}");
    let cards = report["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    for c in cards {
        assert_eq!(c["observed"], "TIMEOUT", "{c:#}");
        assert_eq!(c["pass"], false);
    }

    // Exit 0 without a credential ID on the first line: a failure, with what it printed.
    let (code, report, stderr) = audit(
        "echo 'GRANT to {reader}'; echo oops >&2",
        &["--cards", "T0"],
        "audit_pcsc_garbage.json",
    );
    assert_eq!(code, 1, "{stderr}");
    let t0 = &report["cards"][0];
    assert_eq!(t0["pass"], false);
    let observed = t0["observed"].as_str().unwrap();
    assert!(
        observed.starts_with("ERROR unparseable grant"),
        "{observed}"
    );
    let detail = t0["detail"].as_str().unwrap();
    assert!(
        detail.contains("GRANT to Virtual PCD 00 00") && detail.contains("oops"),
        "{detail}"
    );

    // A plain DENY (exit 1, no reason) fails the golden card; on T9 it says nothing, because
    // the reader never read the credential that carries T9's fault (INCONCLUSIVE); the reader
    // name is in the environment too. --repeat presents each card again.
    let (code, report, stderr) = audit(
        "test \"$DESFIRE_READER\" = {reader} || exit 3; exit 1",
        &["--cards", "T0,T9", "--repeat", "2"],
        "audit_pcsc_deny.json",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("timing: 4 presentation(s)"), "{stderr}");
    assert_eq!(report["cards"][0]["observed"], "DENY");
    assert_eq!(report["cards"][0]["pass"], false);
    assert_eq!(report["cards"][1]["observed"], "DENY");
    assert_eq!(
        report["cards"][1]["result"], "INCONCLUSIVE",
        "{:#}",
        report["cards"][1]
    );
}
