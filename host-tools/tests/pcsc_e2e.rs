//! End to end through the real PC/SC stack: our vpcd client presents a test-double card to
//! pcscd's `Virtual PCD 00 00` reader, and `PcscTransport` + `Desfire`, a plain PC/SC client and
//! the built `desfire card …` commands talk to it.
//!
//! Needs pcscd running with vsmartcard-vpcd (scripts/test-all.sh starts it). pcscd is one per
//! machine and vpcd takes one card per reader, so every test here holds [`PCSCD`] for its whole
//! run. Without pcscd the tests FAIL when `CI` is set and are skipped, loudly, otherwise.
#![cfg(feature = "pcsc")]

mod support;

use std::ffi::CString;
use std::io::Write;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use desfire_core::pcd::commands::{self, Version};
use desfire_core::pcd::{Desfire, FrameSize, Transport};
use host_tools::cli::emulate::emulate;
use host_tools::pcsc_reader::{Pcsc, Presence, Sharing};
use host_tools::vpcd::{self, ServeEnd, Stopper};
use support::cli::desfire;
use support::double_card::{self, DoubleCard};

const READER: &str = "Virtual PCD 00 00";
const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// pcscd and vpcd's reader are machine-wide: one test at a time.
static PCSCD: Mutex<()> = Mutex::new(());

/// The lock, pcscd, and the reader; `None` (after saying why) when the test must be skipped.
fn setup(test: &str) -> Option<(MutexGuard<'static, ()>, Pcsc, CString)> {
    let guard = PCSCD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ready = Pcsc::establish().and_then(|p| p.reader_named(READER).map(|r| (p, r)));
    match ready {
        Ok((pcsc, reader)) => {
            // A card left by an earlier test (or another program) must be gone first.
            pcsc.wait_for(&reader, Presence::Empty, WAIT)
                .expect("reader is empty before the test");
            Some((guard, pcsc, reader))
        }
        Err(e) if std::env::var_os("CI").is_some() => panic!(
            "{test}: pcscd with the vpcd reader {READER:?} is required in CI: {e}. \
             scripts/test-all.sh installs pcscd and vsmartcard-vpcd and starts pcscd."
        ),
        Err(e) => {
            // Straight to the process's stderr: libtest captures `eprintln!` of passing tests,
            // and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no pcscd with reader {READER:?} ({e}). Install pcscd and \
                 vsmartcard-vpcd and start `pcscd --foreground`, or run scripts/test-all.sh."
            );
            None
        }
    }
}

/// A card presented to vpcd by our client, served on its own thread.
struct Presented {
    stopper: Stopper,
    thread: JoinHandle<(ServeEnd, DoubleCard)>,
    /// From connecting to vpcd until pcscd reports PRESENT.
    arrival: Duration,
}

fn present(pcsc: &Pcsc, reader: &CString, card: DoubleCard) -> Presented {
    let started = Instant::now();
    let stopper = Stopper::new();
    let s = stopper.clone();
    // What `desfire emulate` runs once it has loaded a card image.
    let thread = std::thread::spawn(move || {
        let mut card = card;
        let end = emulate(&mut card, vpcd::DEFAULT_ADDR, &s, false).expect("emulate");
        (end, card)
    });
    pcsc.wait_for(reader, Presence::Present, WAIT)
        .expect("card PRESENT");
    Presented {
        stopper,
        thread,
        arrival: started.elapsed(),
    }
}

impl Presented {
    /// Takes the card away; returns the card and how long until pcscd reported EMPTY.
    fn remove(self, pcsc: &Pcsc, reader: &CString) -> (DoubleCard, Duration) {
        let started = Instant::now();
        self.stopper.stop();
        let (end, card) = self.thread.join().expect("serve thread");
        assert_eq!(end, ServeEnd::Stopped);
        pcsc.wait_for(reader, Presence::Empty, WAIT)
            .expect("card EMPTY");
        (card, started.elapsed())
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The engine over PC/SC: GetVersion through `PcscTransport` + `Desfire` inside a transaction,
/// and the reader's GET DATA UID through a plain PC/SC transmit. Reports the presentation time.
#[test]
fn desfire_driver_and_get_data_over_pcsc() {
    let Some((_guard, pcsc, reader)) = setup("desfire_driver_and_get_data_over_pcsc") else {
        return;
    };
    let card = present(&pcsc, &reader, DoubleCard::new(false));

    let connected = Instant::now();
    let mut transport = pcsc.connect(&reader, Sharing::Exclusive).expect("connect");
    assert_eq!(
        transport.atr().unwrap(),
        host_tools::virtual_card::ATR_T1,
        "pcscd reports our ATR"
    );
    {
        let tx = transport.transaction().expect("begin transaction");
        let mut d = Desfire::<_>::new(tx, FrameSize::SHORT_APDU);
        let mut rx = [0u8; 64];
        let r = d.execute(&commands::get_version(), &mut rx).unwrap();
        let v = Version::parse(&r).unwrap();
        assert!(v.is_ev3(), "{v}");
        assert_eq!(v.uid, double_card::UID);
        let r = d.execute(&commands::get_free_memory(), &mut rx).unwrap();
        assert_eq!(
            commands::FreeMemory::parse(&r).unwrap().0,
            double_card::FREE
        );
        d.into_transport().end().expect("end transaction");
    }
    // A plain PC/SC client: the reader answers FF CA itself.
    let mut rapdu = [0u8; 32];
    let n = transport
        .transceive(&[0xFF, 0xCA, 0x00, 0x00, 0x00], &mut rapdu)
        .unwrap();
    let mut expected = double_card::UID.to_vec();
    expected.extend_from_slice(&[0x90, 0x00]);
    assert_eq!(&rapdu[..n], expected);
    let n = transport
        .transceive(&[0xFF, 0xCA, 0x01, 0x00, 0x00], &mut rapdu)
        .unwrap();
    assert_eq!(
        &rapdu[..n],
        [0x80, 0x90, 0x00],
        "historical bytes of the ATR"
    );
    transport.disconnect().expect("disconnect");
    let exchanges = connected.elapsed();

    let arrival = card.arrival;
    let (_card, departure) = card.remove(&pcsc, &reader);
    let _ = writeln!(
        std::io::stderr(),
        "timing: card PRESENT {:.0} ms after connecting to vpcd; connect + 5 GetVersion/\
         GetFreeMemory/GET DATA exchanges {:.0} ms; EMPTY {:.0} ms after the card left",
        card_ms(arrival),
        card_ms(exchanges),
        card_ms(departure)
    );
}

fn card_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `desfire card info`, `read`, `write`, `format` and `app create` as built, over pcscd.
#[test]
fn card_commands_over_pcsc() {
    let Some((_guard, pcsc, reader)) = setup("card_commands_over_pcsc") else {
        return;
    };
    let card = present(&pcsc, &reader, DoubleCard::new(false));

    let o = desfire(&["card", "info", "--reader", READER, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(info["reader"], READER);
    assert_eq!(info["anticollision_uid"], "045A1122334480");
    assert_eq!(info["uid_kind"], "fixed");
    assert_eq!(info["version"]["product"], "MIFARE DESFire EV3");
    assert_eq!(info["free_memory"], double_card::FREE);
    assert_eq!(info["applications"][0]["aid"], "0AC501");
    assert_eq!(info["applications"][0]["files"][0]["file"], 1);
    assert_eq!(info["applications"][0]["files"][0]["comm_mode"], "plain");
    assert_eq!(
        info["card_uid"],
        serde_json::Value::Null,
        "no key, no GetCardUID"
    );

    // Human output, by a part of the reader's name.
    let o = desfire(&["card", "info", "--reader", "PCD 00 00"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let human = text(&o.stdout);
    assert!(human.contains("MIFARE DESFire EV3"), "{human}");
    assert!(human.contains("045A1122334480 (fixed UID)"), "{human}");

    let o = desfire(&[
        "card", "write", "--reader", READER, "--app", "0AC501", "--file", "1", "--offset", "8",
        "--data", "C0FFEE", "--yes",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = desfire(&[
        "card", "read", "--reader", READER, "--app", "0AC501", "--file", "1", "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let read: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let mut expected = [0u8; 32];
    expected[..6].copy_from_slice(b"double");
    expected[8..11].copy_from_slice(&[0xC0, 0xFF, 0xEE]);
    assert_eq!(read["data"], hex::encode_upper(expected));

    // Destructive without --yes and without a terminal: refused, nothing sent.
    let o = desfire(&["card", "format", "--reader", READER]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("pass --yes"),
        "{}",
        text(&o.stderr)
    );

    let o = desfire(&["card", "format", "--reader", READER, "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = desfire(&[
        "card", "app", "create", "--reader", READER, "--aid", "123456",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = desfire(&[
        "card", "app", "create", "--reader", READER, "--aid", "123456",
    ]);
    assert_eq!(o.status.code(), Some(3), "duplicate: the card refuses");
    assert!(
        text(&o.stderr).contains("DUPLICATE_ERROR"),
        "{}",
        text(&o.stderr)
    );

    // A key the card does not accept: a card error, exit 3.
    let o = desfire(&[
        "card",
        "info",
        "--reader",
        READER,
        "--json",
        "--key",
        "0=00112233445566778899AABBCCDDEEFF",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(
        info["errors"].to_string().contains("AUTHENTICATION_ERROR"),
        "{info}"
    );

    let (card, _) = card.remove(&pcsc, &reader);
    // The commands reached the card: it was formatted and has the new application only.
    assert!(
        format!("{card:?}").contains("apps: [[86, 52, 18]]"),
        "{card:?}"
    );
}

/// A card with Random ID: GET DATA gives a new `08…` UID per activation and `card info` says
/// the UID is random.
#[test]
fn random_uid_is_reported() {
    let Some((_guard, pcsc, reader)) = setup("random_uid_is_reported") else {
        return;
    };
    let card = present(&pcsc, &reader, DoubleCard::new(true));
    let o = desfire(&["card", "info", "--reader", READER, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(info["uid_kind"], "random");
    let first = info["anticollision_uid"].as_str().unwrap().to_owned();
    assert!(first.starts_with("08") && first.len() == 8, "{first}");
    let o = desfire(&["card", "info", "--reader", READER, "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_ne!(
        info["anticollision_uid"].as_str().unwrap(),
        first,
        "a new activation (the reset on disconnect) gives a new random UID"
    );
    card.remove(&pcsc, &reader);
}

/// Keys of `specs/cards/lab-example.json`, application 0AC501 (lab keys, named as such).
const LAB_KEYS: &str = "\
0=4C41422D4150502D4B45592D302D4E50
1=4C41422D4150502D4B45592D312D4E50
2=4C41422D4150502D4B45592D322D4E50
3=4C41422D4150502D4B45592D332D4E50
";

/// `desfire emulate` as built, with a copy of the lab card image, until SIGINT.
struct Emulator {
    child: std::process::Child,
}

impl Emulator {
    fn start(pcsc: &Pcsc, reader: &CString, image: &std::path::Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_desfire"))
            .args(["emulate", "--save", "--card"])
            .arg(image)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start desfire emulate");
        pcsc.wait_for(reader, Presence::Present, WAIT)
            .expect("emulated card PRESENT");
        Self { child }
    }

    /// SIGINT, as a person stopping it with Ctrl-C; returns its output.
    fn stop(self, pcsc: &Pcsc, reader: &CString) -> Output {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-INT", &pid]).status();
        assert!(killed.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let out = self.child.wait_with_output().expect("emulator exits");
        pcsc.wait_for(reader, Presence::Empty, WAIT)
            .expect("card EMPTY");
        out
    }
}

fn lab_image(dir: &std::path::Path, random_uid: bool) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specs/cards/lab-example.json"
    ))
    .expect("lab example image");
    let mut image: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    image["random_uid"] = serde_json::Value::Bool(random_uid);
    let path = dir.join("card.json");
    std::fs::write(&path, serde_json::to_string_pretty(&image).unwrap()).unwrap();
    path
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("desfire-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The end-to-end path with the real card model: pcscd, `desfire emulate` and the
/// `desfire card` commands; authenticate, write and read back in Plain, MAC and Full mode,
/// create a Full-mode file, read a Full value file and MAC records, and find the writes in the
/// image saved on Ctrl-C.
#[test]
fn emulated_card_every_comm_mode() {
    let Some((_guard, pcsc, reader)) = setup("emulated_card_every_comm_mode") else {
        return;
    };
    let dir = scratch_dir("modes");
    let image = lab_image(&dir, false);
    let keys = dir.join("keys.txt");
    std::fs::write(&keys, LAB_KEYS).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let keys = keys.to_str().unwrap().to_owned();
    let emulator = Emulator::start(&pcsc, &reader, &image);
    let card = |args: &[&str]| {
        let mut all = vec!["card"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--reader", READER, "--key-file", &keys]);
        let o = desfire(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    let app = ["--app", "0AC501"];

    // Plain (file 1: free read, write key 2), MAC (file 2, backup: committed by the tool).
    card(
        &[
            &["write"][..],
            &app,
            &["--file", "1", "--data", "C0FFEE", "--yes"],
        ]
        .concat(),
    );
    assert_eq!(
        card(&[&["read"][..], &app, &["--file", "1", "--length", "3"]].concat()).trim(),
        "C0FFEE"
    );
    card(
        &[
            &["write"][..],
            &app,
            &["--file", "2", "--data", "0102030405060708", "--yes"],
        ]
        .concat(),
    );
    assert_eq!(
        card(&[&["read"][..], &app, &["--file", "2", "--length", "8"]].concat()).trim(),
        "0102030405060708"
    );
    // Full: a new file, created with the application master key, written and read encrypted.
    card(
        &[
            &["file", "create"][..],
            &app,
            &[
                "--file", "6", "--type", "std", "--comm", "full", "--rights", "1,2,3,0", "--size",
                "32",
            ],
        ]
        .concat(),
    );
    card(
        &[
            &["write"][..],
            &app,
            &[
                "--file",
                "6",
                "--data",
                "00112233445566778899AABBCCDDEEFF",
                "--yes",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        card(&[&["read"][..], &app, &["--file", "6", "--length", "16"]].concat()).trim(),
        "00112233445566778899AABBCCDDEEFF"
    );
    // A Full value file and a MAC record file of the image.
    assert_eq!(
        card(&[&["read"][..], &app, &["--file", "3"]].concat()).trim(),
        "250"
    );
    assert_eq!(
        card(&[&["read"][..], &app, &["--file", "4"]].concat()).trim(),
        "454E5452592D3031\n454E5452592D3032"
    );

    let out = emulator.stop(&pcsc, &reader);
    assert!(
        text(&out.stdout).contains("saved the card"),
        "{}",
        text(&out.stdout)
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&image).unwrap()).unwrap();
    let files = &saved["applications"][0]["files"];
    let data = |no: u64| {
        files
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["no"] == no)
            .unwrap()["data"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(data(1).starts_with("C0FFEE"), "{files}");
    assert!(data(2).starts_with("0102030405060708"), "{files}");
    assert!(
        data(6).starts_with("00112233445566778899AABBCCDDEEFF"),
        "{files}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// GetCardUID on a Random ID card: the reader sees a new `08…` UID per activation, and after
/// authenticating `card info` reads the real UID (Full mode).
#[test]
fn emulated_random_uid_card_gives_its_uid_after_authentication() {
    let Some((_guard, pcsc, reader)) = setup("emulated_random_uid_card") else {
        return;
    };
    let dir = scratch_dir("random");
    let image = lab_image(&dir, true);
    let keys = dir.join("keys.txt");
    std::fs::write(&keys, LAB_KEYS).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let emulator = Emulator::start(&pcsc, &reader, &image);
    let info = |with_key: bool| {
        let mut args = vec![
            "card", "info", "--reader", READER, "--json", "--app", "0AC501",
        ];
        if with_key {
            args.extend_from_slice(&["--key-file", keys.to_str().unwrap()]);
        }
        let o = desfire(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON")
    };
    let first = info(false);
    assert_eq!(first["uid_kind"], "random", "{first}");
    let shown = first["anticollision_uid"].as_str().unwrap().to_owned();
    assert!(shown.starts_with("08") && shown.len() == 8, "{shown}");
    assert_eq!(
        first["card_uid"],
        serde_json::Value::Null,
        "no key, no GetCardUID"
    );
    let keyed = info(true);
    assert_ne!(
        keyed["anticollision_uid"].as_str().unwrap(),
        shown,
        "new activation, new UID"
    );
    assert_eq!(keyed["card_uid"], "04A1B2C3D4E5F6", "{keyed}");
    emulator.stop(&pcsc, &reader);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An independent PC/SC program: pyscard with the EV2 implementation of
/// specs/vectors/gen_ev2_vectors.py (Python `cryptography`, not desfire-core) authenticates to
/// the emulated card and reads a MAC-mode file, a Full-mode value and the UID (GetCardUID).
#[test]
fn independent_pyscard_client_authenticates_and_reads() {
    let Some((_guard, pcsc, reader)) = setup("independent_pyscard_client") else {
        return;
    };
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let has_pyscard = Command::new(&python)
        .args(["-c", "import smartcard, cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pyscard {
        assert!(
            std::env::var_os("CI").is_none(),
            "{python} needs pyscard and cryptography in CI (apt: python3-pyscard python3-cryptography)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED independent_pyscard_client: {python} lacks pyscard or cryptography"
        );
        return;
    }
    let dir = scratch_dir("pyscard");
    let image = lab_image(&dir, false);
    let emulator = Emulator::start(&pcsc, &reader, &image);
    let client = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/peers/pyscard_ev2_client.py"
    );
    let o = Command::new(&python)
        .args([client, READER])
        .output()
        .expect("run the pyscard client");
    emulator.stop(&pcsc, &reader);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(r["anticollision_uid"], "04A1B2C3D4E5F6");
    assert_eq!(r["card_uid"], "04A1B2C3D4E5F6");
    assert_eq!(r["backup_file"], "62616C616E63653A3030303032353000"); // "balance:0000250\0"
    assert_eq!(r["value"], 250);
    assert_eq!(r["cmd_ctr"], 3);
}

/// GEN-PACS over PC/SC (issue 4): a blank card image behind `desfire emulate` is personalised by
/// `desfire card encode --reader`, checked by `desfire card verify --reader`, and granted by the
/// reference reader `desfire reader --reader`; the encoded state is what `--save` writes back.
#[test]
fn gen_pacs_encode_verify_and_read_over_pcsc() {
    let Some((_guard, pcsc, reader)) = setup("gen_pacs_over_pcsc") else {
        return;
    };
    let dir = scratch_dir("gen-pacs");
    let image = dir.join("blank.json");
    let blank =
        host_tools::card_image::CardImage::from_state(&desfire_core::picc::State::factory([
            0x04, 0x5E, 0x11, 0x22, 0x33, 0x44, 0x55,
        ]));
    host_tools::card_image::save(&image, &blank).expect("blank image");
    let emulator = Emulator::start(&pcsc, &reader, &image);

    let o = desfire(&[
        "card",
        "encode",
        "--profile",
        "lab",
        "--credential-id",
        "1A2B3C4D5E6F7081",
        "--reader",
        READER,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "encode: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let o = desfire(&[
        "card",
        "verify",
        "--profile",
        "lab",
        "--reader",
        READER,
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "verify: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let o = desfire(&["reader", "--profile", "lab", "--reader", READER]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "reader: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(text(&o.stdout).lines().next(), Some("1A2B3C4D5E6F7081"));

    emulator.stop(&pcsc, &reader);
    // The personalised card, saved by the emulator, grants in process too.
    let o = desfire(&[
        "reader",
        "--profile",
        "lab",
        "--image",
        image.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).lines().next(), Some("1A2B3C4D5E6F7081"));
    let _ = std::fs::remove_dir_all(&dir);
}
