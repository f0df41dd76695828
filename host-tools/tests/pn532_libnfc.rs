//! The PN532 emulator checked by real libnfc: `desfire emulate --pn532 pty:…` with GEN-PACS lab
//! cards, and libnfc's `pn532_uart` driver (`nfc-list`, `nfc-scan-device`) on the pty. libnfc
//! is an independent PN532 host implementation: if it lists the virtual cards with the right
//! SENS_RES, SEL_RES, UID and ATS, the emulator frames, acknowledges and answers as a PN532 does.
//!
//! Needs libnfc's tools (Debian: `libnfc-bin libnfc-examples`, installed by
//! scripts/test-all.sh). Without them the tests FAIL when `CI` is set and are skipped, loudly,
//! otherwise, as the PC/SC tests do without pcscd.

#[path = "support/cli.rs"]
mod cli;

use cli::{desfire, dir, s};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ID: &str = "1A2B3C4D5E6F7081";
const FIXED_UID: &str = "04112233445566";
/// The ATS of a DESFire EV3 without TL, as libnfc prints it.
const ATS: &str = "75  77  81  02  80";
/// Long enough for a slow CI machine; libnfc answers in well under a second here.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether libnfc's tools are installed; `false` (after saying why) when the test must be
/// skipped.
fn libnfc_present(test: &str) -> bool {
    tool_present(test, "nfc-list", "-h", "libnfc-bin libnfc-examples")
}

/// Whether `tool` runs; `false` (after saying why) when the test must be skipped, a panic in CI.
fn tool_present(test: &str, tool: &str, harmless_arg: &str, packages: &str) -> bool {
    let found = Command::new(tool)
        .arg(harmless_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {tool} is required in CI. scripts/test-all.sh installs {packages}.");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {tool} is not installed (apt-get install {packages}), or run \
         scripts/test-all.sh."
    );
    false
}

/// A GEN-PACS lab card image (`desfire card encode`, Random ID on); with `fixed_uid`, the same
/// with Random ID turned off in the image and the UID chosen.
fn lab_card(dir: &Path, name: &str, fixed_uid: Option<&str>) -> PathBuf {
    let image = dir.join(name);
    let mut args = vec![
        "card",
        "encode",
        "--profile",
        "lab",
        "--credential-id",
        ID,
        "--image",
        s(&image),
    ];
    if let Some(uid) = fixed_uid {
        args.extend_from_slice(&["--uid", uid]);
    }
    let o = desfire(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    if fixed_uid.is_some() {
        let text = std::fs::read_to_string(&image).unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["random_uid"] = serde_json::Value::Bool(false);
        std::fs::write(&image, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    }
    image
}

/// `desfire emulate --pn532 …` as built, until SIGTERM or SIGINT; killed if a test fails
/// first, so that no emulator outlives its test.
struct Emulator {
    child: Option<Child>,
    link: PathBuf,
    banner: String,
}

impl Emulator {
    /// On a pty linked at `link`.
    fn start(link: &Path, cards: &[&Path], extra: &[&str]) -> Self {
        Self::start_on(&format!("pty:{}", s(link)), link, cards, extra)
    }

    /// On `endpoint` (`pty:PATH` or `unix:PATH`), whose `path` must exist once it runs.
    fn start_on(endpoint: &str, path: &Path, cards: &[&Path], extra: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_desfire"));
        cmd.args(["emulate", "--pn532", endpoint]);
        for c in cards {
            cmd.arg("--card").arg(c);
        }
        let mut child = cmd
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start desfire emulate");
        // The banner comes once the pty and its link (or the socket) exist.
        let mut banner = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let emulator = Self {
            child: Some(child),
            link: path.to_owned(),
            banner,
        };
        assert!(
            emulator.banner.starts_with("emulating "),
            "no banner: {:?}",
            emulator.banner
        );
        assert!(path.exists(), "{} exists", path.display());
        emulator
    }

    fn connstring(&self) -> String {
        format!("pn532_uart:{}:115200", s(&self.link))
    }

    /// Sends `signal` (`TERM` as a service manager, `INT` as Ctrl-C); returns its exit status and
    /// the rest of its output.
    fn stop_with(mut self, signal: &str) -> Output {
        let child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        assert!(killed.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
        child.wait_with_output().expect("emulator exits")
    }

    fn stop(self) -> Output {
        self.stop_with("TERM")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a libnfc tool with the emulator as its default device; its standard output.
fn libnfc(tool: &str, args: &[&str], emulator: &Emulator) -> String {
    libnfc_on(tool, args, &emulator.connstring())
}

/// Runs a libnfc tool with `connstring` as its default device; its standard output.
fn libnfc_on(tool: &str, args: &[&str], connstring: &str) -> String {
    let mut child = Command::new(tool)
        .args(args)
        .env("LIBNFC_DEFAULT_DEVICE", connstring)
        .env("LIBNFC_LOG_LEVEL", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "{tool} hung for {TIMEOUT:?}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{tool} failed ({}): {out}{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// One ISO/IEC 14443A target as `nfc-list` prints it.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    atqa: Vec<u8>,
    uid: Vec<u8>,
    sak: Vec<u8>,
    ats: String,
}

fn hex_after(line: &str) -> Vec<u8> {
    let (_, bytes) = line.split_once(':').unwrap();
    bytes
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// The ISO/IEC 14443A targets in `nfc-list -v` output, after checking the count line.
fn iso14443a_targets(out: &str) -> Vec<Target> {
    let count = out
        .lines()
        .find_map(|l| l.strip_suffix(" ISO14443A passive target(s) found:"))
        .or_else(|| {
            out.lines()
                .find_map(|l| l.strip_suffix(" ISO14443A passive target(s) found."))
        })
        .unwrap_or_else(|| panic!("no ISO14443A line in:\n{out}"));
    let count: usize = count.trim().parse().unwrap();
    let mut targets = Vec::new();
    let mut lines = out.lines().peekable();
    while let Some(l) = lines.next() {
        if l.trim() != "ISO/IEC 14443A (106 kbps) target:" {
            continue;
        }
        let mut field = |name: &str| {
            let l = lines
                .by_ref()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in:\n{out}"));
            l.to_owned()
        };
        let atqa = hex_after(&field("ATQA (SENS_RES):"));
        let uid = hex_after(&field("UID (NFCID"));
        let sak = hex_after(&field("SAK (SEL_RES):"));
        let ats = field("ATS:").split_once(':').unwrap().1.trim().to_owned();
        targets.push(Target {
            atqa,
            uid,
            sak,
            ats,
        });
    }
    assert_eq!(targets.len(), count, "{out}");
    targets
}

/// The check: `nfc-list` through `pn532_uart` on the pty lists the virtual cards, one
/// presentation per run: first the lab card with a random 4-byte UID `08…`, then a fixed-UID card
/// with its 7-byte UID, then an empty field. The emulator leaves on SIGTERM and removes its link.
#[test]
fn nfc_list_lists_the_virtual_cards() {
    if !libnfc_present("nfc_list_lists_the_virtual_cards") {
        return;
    }
    let d = dir("nfc-list");
    let random = lab_card(&d, "random.json", None);
    let fixed = lab_card(&d, "fixed.json", Some(FIXED_UID));
    let link = d.join("pn532");
    let emulator = Emulator::start(&link, &[&random, &fixed], &["--trace"]);
    assert!(emulator.banner.contains("2 cards"), "{}", emulator.banner);

    let scan = libnfc("nfc-scan-device", &[], &emulator);
    assert!(
        scan.contains("1 NFC device(s) found") && scan.contains(&emulator.connstring()),
        "{scan}"
    );

    let first = libnfc("nfc-list", &["-v"], &emulator);
    let targets = iso14443a_targets(&first);
    assert_eq!(targets.len(), 1, "{first}");
    let t = &targets[0];
    assert_eq!(t.atqa, [0x03, 0x04], "single-size UID: {first}");
    assert_eq!(t.uid.len(), 4, "{first}");
    assert_eq!(t.uid[0], 0x08, "random ID: {first}");
    assert_eq!(t.sak, [0x20], "{first}");
    assert_eq!(t.ats, ATS, "{first}");
    assert!(first.contains("* Random UID"), "{first}");
    assert!(
        first.contains("* Compliant with ISO/IEC 14443-4"),
        "{first}"
    );
    // libnfc probes the other card types with InCommunicateThru and InListPassiveTarget: the
    // emulator's timeouts and empty answers must not look like targets.
    for other in ["Felica (212 kbps)", "ISO14443B", "ISO14443B' ", "Jewel"] {
        assert!(
            first
                .lines()
                .any(|l| l.starts_with("0 ") && l.contains(other.trim())),
            "{other}: {first}"
        );
    }

    let second = libnfc("nfc-list", &["-v"], &emulator);
    let targets = iso14443a_targets(&second);
    assert_eq!(targets.len(), 1, "{second}");
    let t = &targets[0];
    assert_eq!(t.atqa, [0x03, 0x44], "double-size UID: {second}");
    assert_eq!(hex::encode_upper(&t.uid), FIXED_UID, "{second}");
    assert_eq!(t.sak, [0x20], "{second}");
    assert_eq!(t.ats, ATS, "{second}");

    let third = libnfc("nfc-list", &["-v"], &emulator);
    assert_eq!(
        iso14443a_targets(&third),
        [],
        "field empty after the last card"
    );

    let out = emulator.stop();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stdout}{stderr}", out.status);
    assert!(stdout.contains("stopped after 2 activations"), "{stdout}");
    assert!(!link.exists(), "the link is removed on SIGTERM");
    // --trace logged libnfc's commands, the activations and removals.
    for expected in [
        "# pn532 > D4 4A0100",
        "# pn532: card 1 activated, UID 08",
        &format!("# pn532: card 2 activated, UID {FIXED_UID}"),
        "# pn532: card 2 deselected",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
}

/// `--loop`: the one card comes back in every run, with a new random UID each time.
#[test]
fn loop_presents_the_card_to_every_run() {
    if !libnfc_present("loop_presents_the_card_to_every_run") {
        return;
    }
    let d = dir("loop");
    let random = lab_card(&d, "random.json", None);
    let link = d.join("pn532");
    let emulator = Emulator::start(&link, &[&random], &["--loop"]);
    let mut uids = Vec::new();
    for _ in 0..3 {
        let out = libnfc("nfc-list", &[], &emulator);
        let targets = iso14443a_targets(&out);
        assert_eq!(targets.len(), 1, "{out}");
        assert_eq!(targets[0].uid[0], 0x08, "{out}");
        uids.push(targets[0].uid.clone());
    }
    assert!(
        uids[0] != uids[1] || uids[1] != uids[2],
        "random IDs: {uids:02X?}"
    );
    let out = emulator.stop();
    assert!(out.status.success());
    assert!(!link.exists());
}

/// Two emulators cannot share a link path, and a stale link left by a killed one is replaced.
#[test]
fn link_path_in_use_is_refused_and_stale_links_are_replaced() {
    let d = dir("stale");
    let random = lab_card(&d, "random.json", None);
    let link = d.join("pn532");
    std::fs::write(&link, "not ours").unwrap();
    let o = desfire(&[
        "emulate",
        "--pn532",
        &format!("pty:{}", s(&link)),
        "--card",
        s(&random),
    ]);
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("exists"),
        "{o:?}"
    );
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/dev/pts/999999", &link).unwrap();
    let emulator = Emulator::start(&link, &[&random], &[]);
    assert!(emulator.banner.contains("/dev/pts/"), "{}", emulator.banner);
    let out = emulator.stop();
    assert!(out.status.success());
}

#[test]
fn several_cards_need_pn532_and_loop_needs_pn532() {
    let d = dir("args");
    let random = lab_card(&d, "random.json", None);
    let o = desfire(&["emulate", "--card", s(&random), "--card", s(&random)]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--pn532"),
        "{o:?}"
    );
    let o = desfire(&["emulate", "--card", s(&random), "--loop"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = desfire(&[
        "emulate",
        "--card",
        s(&random),
        "--vpcd",
        "127.0.0.1:1",
        "--pn532",
        "pty:/tmp/x",
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = desfire(&["emulate", "--card", s(&random), "--pn532", "tcp:1"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}

/// `unix:PATH` as QEMU's `-serial unix:PATH` uses it: a client connects, talks HSU frames,
/// hangs up, and the next client finds the same chip (the card presented to the first client
/// has left by then). Needs no libnfc: the frames are those of UM0701-02 §7.2.10 and §7.3.5.
#[test]
fn unix_socket_serves_one_host_after_another() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    let d = dir("unix");
    let random = lab_card(&d, "random.json", None);
    let socket = d.join("pn532.sock");
    let emulator = Emulator::start_on(&format!("unix:{}", s(&socket)), &socket, &[&random], &[]);
    assert!(emulator.banner.contains("unix:"), "{}", emulator.banner);

    let exchange = |stream: &mut UnixStream, tx: &[u8], expected_len: usize| {
        stream.write_all(tx).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rx = vec![0u8; expected_len];
        stream.read_exact(&mut rx).unwrap();
        rx
    };
    let ack = [0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00];
    // Wake-up, then SAMConfiguration normal mode: ACK, then D5 15.
    let mut stream = UnixStream::connect(&socket).unwrap();
    let mut tx = vec![0x55, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    tx.extend_from_slice(&[0x00, 0x00, 0xFF, 0x03, 0xFD, 0xD4, 0x14, 0x01, 0x17, 0x00]);
    let rx = exchange(&mut stream, &tx, 6 + 9);
    assert_eq!(rx[..6], ack);
    assert_eq!(
        rx[6..],
        [0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD5, 0x15, 0x16, 0x00]
    );
    // InListPassiveTarget 106 kbps type A: one target, 4-byte UID 08…, then the ATS.
    let poll = [
        0x00, 0x00, 0xFF, 0x04, 0xFC, 0xD4, 0x4A, 0x01, 0x00, 0xE1, 0x00,
    ];
    // LEN 18: D5 4B NbTg Tg SENS_RES(2) SEL_RES NFCIDLength, 4 UID bytes, 6 ATS bytes.
    let rx = exchange(&mut stream, &poll, 6 + 5 + 18 + 2);
    assert_eq!(rx[..6], ack);
    assert_eq!(rx[6..11], [0x00, 0x00, 0xFF, 0x12, 0xEE]);
    assert_eq!(rx[11..19], [0xD5, 0x4B, 0x01, 0x01, 0x03, 0x04, 0x20, 0x04]);
    assert_eq!(rx[19], 0x08);
    assert_eq!(rx[23..29], [0x06, 0x75, 0x77, 0x81, 0x02, 0x80]);
    drop(stream);

    // The next host: the card it did not release has left; the poll after finds the field
    // empty (one card, no --loop).
    let mut stream = UnixStream::connect(&socket).unwrap();
    let none = [0x00, 0x00, 0xFF, 0x03, 0xFD, 0xD5, 0x4B, 0x00, 0xE0, 0x00];
    for _ in 0..2 {
        let rx = exchange(&mut stream, &poll, 6 + none.len());
        assert_eq!(rx[..6], ack);
        assert_eq!(rx[6..], none);
    }
    drop(stream);

    let out = emulator.stop_with("INT");
    assert!(out.status.success(), "{out:?}");
    assert!(!socket.exists(), "the socket is removed on Ctrl-C");
}

/// libnfc through `unix:PATH` too: socat makes the socket a pty (connecting as a client, as
/// QEMU's `-serial unix:PATH` does), and `nfc-list` lists the card on it.
#[test]
fn nfc_list_through_the_unix_socket() {
    let test = "nfc_list_through_the_unix_socket";
    if !libnfc_present(test) || !tool_present(test, "socat", "-V", "socat") {
        return;
    }
    let d = dir("socat");
    let random = lab_card(&d, "random.json", None);
    let socket = d.join("pn532.sock");
    let emulator = Emulator::start_on(&format!("unix:{}", s(&socket)), &socket, &[&random], &[]);

    let pty = d.join("pty");
    let mut socat = Command::new("socat")
        .arg(format!("PTY,link={},raw,echo=0", s(&pty)))
        .arg(format!("UNIX-CONNECT:{}", s(&socket)))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !pty.exists() {
        assert!(start.elapsed() < TIMEOUT, "socat made no pty");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = libnfc_on("nfc-list", &[], &format!("pn532_uart:{}:115200", s(&pty)));
    let _ = socat.kill();
    let _ = socat.wait();
    let targets = iso14443a_targets(&out);
    assert_eq!(targets.len(), 1, "{out}");
    assert_eq!(targets[0].uid[0], 0x08, "{out}");
    assert_eq!(targets[0].sak, [0x20], "{out}");
    assert_eq!(targets[0].ats, ATS, "{out}");

    let out = emulator.stop();
    assert!(out.status.success(), "{out:?}");
    assert!(!socket.exists(), "the socket is removed on SIGTERM");
}
