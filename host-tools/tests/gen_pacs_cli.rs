//! GEN-PACS end to end through the built `desfire` binary on card images, in process:
//! `card encode` → `card verify` → `reader`, and a card built for each deny reason the image
//! can carry (`specs/generic-encoding.md` §13, §17). TEST KEYS ONLY (the lab profile).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use desfire_core::picc::State;
use host_tools::card_image::{self, CardImage};

const ID: &str = "1A2B3C4D5E6F7081";

fn desfire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(args)
        .output()
        .expect("run desfire")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A fresh directory for one test.
fn dir(test: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("gen-pacs-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn encode(profile: &str, image: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "card",
        "encode",
        "--profile",
        profile,
        "--credential-id",
        ID,
        "--image",
        s(image),
    ];
    args.extend_from_slice(extra);
    desfire(&args)
}

fn encoded(profile: &str, image: &Path, extra: &[&str]) {
    let o = encode(profile, image, extra);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn verify(image: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["card", "verify", "--profile", "lab", "--image", s(image)];
    args.extend_from_slice(extra);
    desfire(&args)
}

/// The failed checks of a `verify --json` run, which must exit 1.
fn failed_checks(image: &Path) -> Vec<String> {
    let o = verify(image, &["--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pass"], false);
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["pass"] == false)
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

fn reader(profile: &str, image: &Path) -> Output {
    desfire(&["reader", "--profile", profile, "--image", s(image)])
}

/// Asserts a DENY with the spec's identifier and number.
fn assert_deny(o: &Output, reason: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(
        stderr(o).contains(&format!("DENY {reason}")),
        "{}",
        stderr(o)
    );
    assert!(
        stdout(o).is_empty(),
        "nothing on stdout for a DENY: {}",
        stdout(o)
    );
}

/// The lab profile's text with `from` replaced by `to`, as a file in `d`.
fn lab_variant(d: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = host_tools::profile::LAB_TOML;
    assert!(text.contains(from), "{from}");
    let p = d.join(name);
    std::fs::write(&p, text.replace(from, to)).unwrap();
    p
}

#[test]
fn encode_verify_read_with_the_lab_profile() {
    let d = dir("golden");
    let card = d.join("card.json");
    let o = encode("lab", &card, &["--legacy-wiegand", "26:02026073"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(ID));
    assert!(
        stderr(&o).contains("TEST profile"),
        "a test profile warns: {}",
        stderr(&o)
    );
    // A new image: a 7-byte UID starting 04, Random ID on, Format disabled.
    let image = card_image::load(&card).unwrap();
    assert!(image.uid.starts_with("04") && image.uid.len() == 14);
    assert!(image.random_uid && image.format_disabled);

    let before = std::fs::read(&card).unwrap();
    let o = verify(&card, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(!stdout(&o).contains("FAIL"), "{}", stdout(&o));
    let o = verify(&card, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pass"], true);
    assert!(v["checks"].as_array().unwrap().len() >= 15);
    let o = reader("lab", &card);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().next(), Some(ID));
    // Twice: a new random UID per activation does not matter; the image is not modified.
    let o = reader("lab", &card);
    assert_eq!(stdout(&o).lines().next(), Some(ID));
    assert_eq!(std::fs::read(&card).unwrap(), before);
}

#[test]
fn encode_with_a_chosen_uid() {
    let d = dir("uid");
    let card = d.join("card.json");
    encoded("lab", &card, &["--uid", "04782E21801D80"]);
    assert_eq!(card_image::load(&card).unwrap().uid, "04782E21801D80");
    // --uid names a new image only.
    let o = encode("lab", &card, &["--uid", "04782E21801D80"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn expired_and_not_yet_valid() {
    let d = dir("validity");
    let expired = d.join("expired.json");
    encoded(
        "lab",
        &expired,
        &["--valid-from", "2020-01-01", "--valid-until", "2021-01-01"],
    );
    assert_deny(&reader("lab", &expired), "EXPIRED (18)");
    assert_eq!(failed_checks(&expired), ["validity"]);

    let future = d.join("future.json");
    encoded(
        "lab",
        &future,
        &["--valid-from", "2099-01-01", "--valid-until", "2100-01-01"],
    );
    assert_deny(&reader("lab", &future), "NOT_YET_VALID (17)");

    // The window is valid_from <= t < valid_until (spec section 10).
    let window = d.join("window.json");
    encoded(
        "lab",
        &window,
        &["--valid-from", "2026-01-01", "--valid-until", "2031-01-01"],
    );
    let at = |t: &str| {
        desfire(&[
            "reader",
            "--profile",
            "lab",
            "--image",
            s(&window),
            "--now",
            t,
        ])
    };
    assert_eq!(at("2026-01-01").status.code(), Some(0));
    assert_eq!(at("1924991999").status.code(), Some(0));
    assert_deny(&at("2031-01-01"), "EXPIRED (18)");
    assert_deny(&at("2025-12-31"), "NOT_YET_VALID (17)");
}

#[test]
fn blank_card() {
    let d = dir("blank");
    let blank = d.join("blank.json");
    card_image::save(
        &blank,
        &CardImage::from_state(&State::factory([0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66])),
    )
    .unwrap();
    // A delivery-state card shows a fixed 7-byte UID: step 0 denies it first (section 11).
    assert_deny(&reader("lab", &blank), "UID_POLICY (1)");
    assert_eq!(failed_checks(&blank), ["random_id", "application"]);
    // Where the policy allows fixed UIDs, it is denied for lacking the application.
    let p = lab_variant(
        &d,
        "fixed.toml",
        "allow_fixed_uid = false",
        "allow_fixed_uid = true",
    );
    assert_deny(&reader(s(&p), &blank), "NO_APPLICATION (2)");
}

#[test]
fn tampered_credential() {
    let d = dir("tampered");
    let card = d.join("card.json");
    encoded("lab", &card, &[]);
    let text = std::fs::read_to_string(&card).unwrap();
    let tag = format!("8108{ID}");
    assert!(text.contains(&tag));
    std::fs::write(&card, text.replace(&tag, "81081A2B3C4D5E6F7080")).unwrap();
    assert_deny(&reader("lab", &card), "BAD_SIGNATURE (16)");
    assert_eq!(failed_checks(&card), ["signature"]);
}

#[test]
fn foreign_read_key() {
    let d = dir("foreign");
    let other = lab_variant(
        &d,
        "other.toml",
        "k2 = \"202122232425262728292A2B2C2D2E2F\"",
        "k2 = \"606162636465666768696A6B6C6D6E6F\"",
    );
    let card = d.join("card.json");
    encoded(s(&other), &card, &[]);
    assert_deny(&reader("lab", &card), "AUTH_FAILED (3)");
    assert_eq!(
        failed_checks(&card),
        ["keys_diversified", "credential_read"]
    );
    assert_eq!(reader(s(&other), &card).status.code(), Some(0));
    // `encode` with the lab profile does not take it for an interrupted lab card: K2 has
    // neither its delivery nor the lab value, so it refuses and writes nothing.
    let before = std::fs::read(&card).unwrap();
    let o = encode("lab", &card, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&card).unwrap(),
        before,
        "a refused card is untouched"
    );
}

#[test]
fn encode_refuses_another_credential_unless_forced() {
    let d = dir("force");
    let card = d.join("card.json");
    encoded("lab", &card, &[]);
    let other = |extra: &[&str]| {
        let mut args = vec![
            "card",
            "encode",
            "--profile",
            "lab",
            "--credential-id",
            "C3D2E1F00F1E2D3C",
            "--image",
            s(&card),
        ];
        args.extend_from_slice(extra);
        desfire(&args)
    };
    let before = std::fs::read(&card).unwrap();
    let o = other(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&card).unwrap(),
        before,
        "a refused card is untouched"
    );
    // The same credential again: nothing to do.
    let o = encode("lab", &card, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("already holds"));
    // --force replaces it.
    let o = other(&["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&reader("lab", &card)).lines().next(),
        Some("C3D2E1F00F1E2D3C")
    );
}

#[cfg(unix)]
#[test]
fn key_files_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("keyfile");
    let key = d.join("k2.key");
    std::fs::write(&key, "202122232425262728292A2B2C2D2E2F\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let p = d.join("reader.toml");
    std::fs::write(
        &p,
        "aid = \"0AC501\"\n[keys]\nk1 = \"101112131415161718191A1B1C1D1E1F\"\n\
         k2_file = \"k2.key\"\n[issuer]\nid = \"SE0000000000\"\n",
    )
    .unwrap();
    let card = d.join("card.json");
    encoded("lab", &card, &[]);
    let o = reader(s(&p), &card);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Not a test profile: the inline K1 is refused first.
    assert!(stderr(&o).contains("keys.k1"), "{}", stderr(&o));
    std::fs::write(
        &p,
        "test = true\naid = \"0AC501\"\n[keys]\nk1 = \"101112131415161718191A1B1C1D1E1F\"\n\
         k2_file = \"k2.key\"\n[issuer]\nid = \"SE0000000000\"\n",
    )
    .unwrap();
    let o = reader(s(&p), &card);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("202122"), "no key in messages");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = reader(s(&p), &card);
    // K1 and K2 are enough to run; without issuer public keys it cannot verify anything.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("issuer.public_keys"), "{}", stderr(&o));
}

#[test]
fn profile_errors_are_typed_and_exit_2() {
    let d = dir("profile");
    let card = d.join("card.json");
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "aid = \"0AC501\"\n[keys]\nk0 = 000102030405060708090A0B0C0D0E0F\n",
    )
    .unwrap();
    let o = reader(s(&bad), &card);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.toml:3:"), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("0A0B0C"),
        "no key in messages: {}",
        stderr(&o)
    );
    let o = reader(s(&d.join("missing.toml")), &card);
    assert_eq!(o.status.code(), Some(2));
    let o = encode(s(&bad), &card, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!card.exists());
}

#[test]
fn usage_errors_exit_2() {
    let d = dir("usage");
    let card = d.join("card.json");
    for bad in [
        vec!["--credential-id", "00"],
        vec!["--credential-id", "0000000000000000"],
        vec![
            "--credential-id",
            ID,
            "--valid-from",
            "2030-01-01",
            "--valid-until",
            "2029-01-01",
        ],
        vec!["--credential-id", ID, "--valid-until", "2029-02-30"],
        vec!["--credential-id", ID, "--legacy-wiegand", "26:FF026073"],
    ] {
        let mut args = vec!["card", "encode", "--profile", "lab", "--image", s(&card)];
        args.extend(bad.iter());
        let o = desfire(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    assert!(!card.exists());
    // Neither --image nor --reader.
    assert_eq!(
        desfire(&["reader", "--profile", "lab"]).status.code(),
        Some(2)
    );
}
