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
        .map(|c| c.id.as_str())
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
    // The golden card fails; T9's fault (its validity) never reached a reader that read
    // nothing, so it proves nothing.
    assert_eq!(cards[0]["result"], "FAIL");
    assert_eq!(cards[1]["result"], "INCONCLUSIVE");

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

    // A plain DENY (exit 1, no reason) fails the golden card, and says nothing about T9 whose
    // credential it never read; the reader name is in the environment too. --repeat presents
    // each card again.
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
    assert_eq!(report["cards"][1]["fault_committed"], false);

    // Nothing failed, something untested: exit 3, INCONCLUSIVE overall.
    let (code, report, stderr) = audit("exit 1", &["--cards", "T9"], "audit_pcsc_untested.json");
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(report["result"], "INCONCLUSIVE");
    assert_eq!(report["pass"], false);
}

/// A reader we did not write, framed as our reference reader is not: the GEN-PACS procedure
/// in Python (tests/peers/gen_pacs_reader.py: pyscard, and the EV2 and credential code of the
/// independent vector generators), selecting by DF name and reading with the native `BD` in
/// the card's 59-byte frames, every response MAC verified. It passes every card, each card's
/// fault committed; with SelectApplication and `BD` (the framing that once made T6 fail a
/// conforming reader) it passes T6 too.
#[test]
fn an_independent_reader_that_frames_differently_passes_every_card() {
    let Some((_guard, field)) =
        setup("an_independent_reader_that_frames_differently_passes_every_card")
    else {
        return;
    };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    // The Python with Debian's pyscard and cryptography (apt python3-pyscard
    // python3-cryptography), as tests/pcsc_e2e.rs runs the independent client.
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let reader = format!(
        "{python} {root}/tests/peers/gen_pacs_reader.py --profile {root}/specs/profiles/lab.toml \
         --now {{now}} {{reader}}"
    );
    let (code, report, stderr) = audit(&reader, &[], "audit_pcsc_independent.json");
    show_timing("independent reader", &stderr);
    let cards = report["cards"].as_array().unwrap();
    for c in cards {
        assert_eq!(c["result"], "PASS", "{c:#}\n{stderr}");
    }
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(cards.len(), 24);
    // T6's answer came in four frames, the tampered MACt split across the last two, and the
    // reader had all of it.
    let t6 = cards.iter().find(|c| c["id"] == "T6").unwrap();
    assert_eq!(t6["observed"], "DENY MAC_MISMATCH");
    assert_eq!(t6["fault_committed"], true);
    let frames: Vec<&str> = t6["exchange"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["command_name"].as_str().unwrap())
        .collect();
    assert!(
        frames.iter().any(|n| n.starts_with("ReadData")),
        "{frames:?}"
    );
    assert!(frames.ends_with(&["AdditionalFrame"; 3]), "{frames:?}");

    let by_aid = format!("{reader} --select aid --read bd");
    let (code, report, stderr) = audit(&by_aid, &["--cards", "T0,T6"], "audit_pcsc_indep_aid.json");
    assert_eq!(code, 0, "{stderr}\n{report:#}");

    // Native frames through PC/SC (`INS data`, answered `status data`), as EV1-era software
    // sends them: the card answers them and every active fault lands on them.
    let native = format!("{reader} --frames native");
    let (code, report, stderr) = audit(
        &native,
        &["--cards", "T0,T2,T3,T4,T5,T6,T13"],
        "audit_pcsc_indep_native.json",
    );
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let t6 = &report["cards"][5];
    assert_eq!(t6["id"], "T6");
    let read = t6["exchange"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["command"].as_str().unwrap().starts_with("BD"))
        .expect("a native ReadData");
    assert!(
        read["response"].as_str().unwrap().starts_with("AF"),
        "{read:#}"
    );
    drop(field);
}
