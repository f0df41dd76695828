//! `desfire audit --firmware ELF`: the reference reader firmware under QEMU, observed at its
//! OSDP output through the libosdp control panel (Secure Channel enforced), passes every card
//! of the default set; and the same path can fail (a panel with the wrong SCBK sees no read, so
//! the golden card fails), so the pass is not vacuous.
//!
//! Needs `qemu-system-arm`, the QEMU image (`firmware/boards/qemu-mps2-an386`, release: at
//! `$DESFIRE_FIRMWARE_ELF`, else `${CARGO_TARGET_DIR:-firmware/target}/thumbv7em-none-eabihf/
//! release/reader-qemu`) and PyPI libosdp (`$DESFIRE_OSDP_PYTHON`, else the venv
//! `target/firmware-venv` that scripts/test-all.sh makes, else `python3`). Without them the
//! tests FAIL when `CI` is set and are skipped, loudly, otherwise.

#[path = "support/cli.rs"]
mod cli;

use cli::dir;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const GOLDEN: &str = "GRANT 1A2B3C4D5E6F7081";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The QEMU image, QEMU and the panel's Python, or `None` (after saying why) when the test is
/// skipped; a panic in CI.
fn environment(test: &str) -> Option<(PathBuf, String)> {
    let elf = std::env::var_os("DESFIRE_FIRMWARE_ELF")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo().join("firmware/target"), PathBuf::from)
                .join("thumbv7em-none-eabihf/release/reader-qemu")
        });
    let python = std::env::var("DESFIRE_OSDP_PYTHON").unwrap_or_else(|_| {
        let venv = repo().join("target/firmware-venv/bin/python");
        if venv.exists() {
            venv.to_string_lossy().into_owned()
        } else {
            "python3".into()
        }
    });
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing = if !elf.is_file() {
        Some(format!(
            "no QEMU reader image at {} (cd firmware/boards/qemu-mps2-an386 && cargo build \
             --release, or set DESFIRE_FIRMWARE_ELF)",
            elf.display()
        ))
    } else if !runs("qemu-system-arm", &["--version"]) {
        Some("qemu-system-arm is not installed (apt-get install qemu-system-arm)".into())
    } else if !runs(&python, &["-c", "import osdp"]) {
        Some(format!(
            "{python} has no libosdp (pip install libosdp==3.2.9, or set DESFIRE_OSDP_PYTHON)"
        ))
    } else {
        None
    };
    let Some(why) = missing else {
        return Some((elf, python));
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: required in CI: {why}. scripts/test-all.sh provides it.");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why}, or run scripts/test-all.sh."
    );
    None
}

fn desfire(python: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(args)
        .env("DESFIRE_OSDP_PYTHON", python)
        .env("NO_COLOR", "1")
        .output()
        .expect("run desfire")
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn card<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no card {id} in the report"))
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_reference_firmware_passes_every_card_of_the_default_set() {
    let test = "the_reference_firmware_passes_every_card_of_the_default_set";
    let Some((elf, python)) = environment(test) else {
        return;
    };
    let d = dir("pass");
    let fw_report = d.join("firmware.json");
    let ref_report = d.join("reference.json");
    // A `now` years away from the host clock: the cards' validity windows are relative to it,
    // so the golden card is granted only if the firmware took the audit's time (semihosting
    // `now=`), not the host's.
    let now = "2031-06-01";
    let out = desfire(
        &python,
        &[
            "audit",
            "--firmware",
            elf.to_str().unwrap(),
            "--now",
            now,
            "--timing",
            "--report",
            fw_report.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("QEMU run(s)"), "{stderr}");
    let fw = report(&fw_report);
    assert_eq!(fw["pass"], true);
    assert_eq!(fw["path"], "firmware");

    // The same default set as the in-process reference reader plays.
    let out = desfire(
        &python,
        &[
            "audit",
            "--in-process",
            "--now",
            now,
            "--report",
            ref_report.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let reference = report(&ref_report);
    assert_eq!(ids(&fw), ids(&reference));
    // Revocation (T10b, T10c) and the UID cards (T1, T14) are in it.
    for id in ["T0", "T1", "T10b", "T10c", "T14"] {
        assert!(ids(&fw).iter().any(|c| c == id), "{id} not played");
    }

    let passed = stdout.matches(" PASS").count();
    assert_eq!(passed, ids(&fw).len(), "{stdout}");
    let t0 = card(&fw, "T0");
    assert_eq!(t0["observed"], GOLDEN);
    // The exchange went through the emulated PN532 and was recorded: K2 authenticated, the
    // credential read.
    let steps = t0["exchange"].as_array().unwrap();
    let named = |n: &str| steps.iter().any(|s| s["command_name"] == n);
    assert!(
        named("AuthenticateEV2NonFirst key 02") && named("ReadData (ISO-chaining code) file 01"),
        "{steps:?}"
    );
    // T1 and T14 show a fixed 7-byte anticollision UID (the clone's, the fixed-UID card's)
    // through InListPassiveTarget: the firmware refuses it (UID_POLICY) before any APDU.
    for id in ["T1", "T14"] {
        let steps = card(&fw, id)["exchange"].as_array().unwrap();
        assert!(steps.is_empty(), "{id}: {steps:?}");
    }
    // Every DENY through OSDP is bare: the line carries no reason.
    for c in fw["cards"].as_array().unwrap() {
        let observed = c["observed"].as_str().unwrap();
        assert!(observed == "DENY" || observed == GOLDEN, "{c}");
    }
}

#[test]
fn a_panel_with_the_wrong_scbk_sees_no_read_and_the_golden_card_fails() {
    let test = "a_panel_with_the_wrong_scbk_sees_no_read_and_the_golden_card_fails";
    let Some((elf, python)) = environment(test) else {
        return;
    };
    let d = dir("wrong-scbk");
    let scbk = d.join("scbk.hex");
    // Not the lab SCBK A0A1…AF: the Secure Channel cannot come up, ENFORCE_SECURE forbids the
    // plaintext fallback, so no card read reaches the panel.
    std::fs::write(&scbk, "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF\n").unwrap();
    let path = d.join("r.json");
    let out = desfire(
        &python,
        &[
            "audit",
            "--firmware",
            elf.to_str().unwrap(),
            "--osdp-scbk-file",
            scbk.to_str().unwrap(),
            "--cards",
            "T0",
            "--report",
            path.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let r = report(&path);
    assert_eq!(r["pass"], false);
    let t0 = card(&r, "T0");
    assert_eq!(t0["pass"], false);
    let observed = t0["observed"].as_str().unwrap();
    assert!(observed.contains("Secure Channel"), "{observed}");
    // The reader did read the card: the failure is at the observer, not the card.
    assert!(!t0["exchange"].as_array().unwrap().is_empty());
}

#[test]
fn missing_qemu_or_panel_is_an_environment_error() {
    // Any readable file does as the ELF here: the tools are checked before it is run.
    let elf = env!("CARGO_BIN_EXE_desfire");
    let out = desfire(
        "python3",
        &[
            "audit",
            "--firmware",
            elf,
            "--qemu",
            "/nonexistent/qemu-system-arm",
            "--cards",
            "T0",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("qemu-system-arm"), "{stderr}");

    let out = desfire(
        "python3",
        &[
            "audit",
            "--firmware",
            elf,
            "--qemu",
            "true",
            "--osdp-panel",
            "/nonexistent/panel",
            "--cards",
            "T0",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("OSDP control panel"), "{stderr}");

    let out = desfire(
        "python3",
        &["audit", "--firmware", "/nonexistent/reader-qemu"],
    );
    assert_eq!(out.status.code(), Some(2));
}
