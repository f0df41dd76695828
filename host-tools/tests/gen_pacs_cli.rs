//! GEN-PACS end to end through the built `desfire` binary on card images, in process:
//! `card encode` → `card verify` → `reader`, and a card built for each deny reason the image
//! can carry (`specs/generic-encoding.md` §13, §17). TEST KEYS ONLY (the lab profile).

#[path = "support/cli.rs"]
mod cli;

use cli::{desfire, dir, s, stderr, stdout};

use std::path::{Path, PathBuf};
use std::process::Output;

use desfire_core::picc::State;
use host_tools::card_image::{self, CardImage};

const ID: &str = "1A2B3C4D5E6F7081";

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

/// The lab profile's deny-list (the audit's T10b credential).
const LAB_DENY_LIST: &str = "deny_list = [\"1A2B3C4D5E6F70FF\"]";

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

/// `desfire reader` with extra arguments.
fn reader_with(profile: &str, image: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["reader", "--profile", profile, "--image", s(image)];
    args.extend_from_slice(extra);
    desfire(&args)
}

/// Edits the image's JSON in place.
fn edit_image(image: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(image).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(image, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn output_formats_and_no_legacy_image() {
    let d = dir("output");
    let card = d.join("card.json");
    encoded("lab", &card, &["--legacy-wiegand", "26:02026073"]);
    // Default: the credential ID first; the payload is spec section 14's osdp_RAW.
    let o = reader_with("lab", &card, &["--print-payload"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        [ID, "osdp_RAW 000040001A2B3C4D5E6F7081"]
    );
    // Legacy Wiegand: the tag 86 bits in Wiegand order, format 01 left-justified, labelled.
    let o = reader_with(
        "lab",
        &card,
        &["--output", "legacy-wiegand", "--print-payload"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        ["10000000100110000001110011", "osdp_RAW 00011A0080981CC0"]
    );
    assert!(stderr(&o).contains("LEGACY GRADE"), "{}", stderr(&o));
    // Extended: the issue number travels too (SHA-256("SE0000000000") starts F30D9349).
    let o = reader_with("lab", &card, &["--output", "extended", "--print-payload"]);
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        [ID, "osdp_RAW 00006800F30D93491A2B3C4D5E6F708101"]
    );
    // Reason 21: a credential without tag 86 on a legacy line, by option or by profile.
    let plain = d.join("plain.json");
    encoded("lab", &plain, &[]);
    assert_deny(
        &reader_with("lab", &plain, &["--output", "legacy-wiegand"]),
        "NO_LEGACY_IMAGE (21)",
    );
    let p = lab_variant(
        &d,
        "legacy.toml",
        "output = \"osdp\"",
        "output = \"legacy-wiegand\"",
    );
    assert_deny(&reader(s(&p), &plain), "NO_LEGACY_IMAGE (21)");
    assert_eq!(reader(s(&p), &card).status.code(), Some(0));
    // The card itself conforms: encode and verify do not apply the output policy.
    let o = verify(&plain, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = encode(s(&p), &plain, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        desfire(&[
            "reader",
            "--profile",
            "lab",
            "--image",
            s(&card),
            "--output",
            "wiegand"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn revoked_by_deny_list_and_by_issue_number() {
    let d = dir("revoked");
    let card = d.join("card.json");
    encoded("lab", &card, &["--issue-number", "1"]);
    // T10b: the credential ID on the deny-list.
    let p = lab_variant(
        &d,
        "deny.toml",
        LAB_DENY_LIST,
        &format!("deny_list = [\"{ID}\"]"),
    );
    assert_deny(&reader(s(&p), &card), "REVOKED (19)");
    let other = lab_variant(
        &d,
        "other.toml",
        LAB_DENY_LIST,
        "deny_list = [\"1A2B3C4D5E6F7080\"]",
    );
    assert_eq!(reader(s(&other), &card).status.code(), Some(0));
    // T10c: issue number 1, current issue 2: the replaced card is revoked, the new one grants.
    let p = lab_variant(
        &d,
        "issue.toml",
        "\"1A2B3C4D5E6F7081\" = 1",
        &format!("\"{ID}\" = 2"),
    );
    assert_deny(&reader(s(&p), &card), "REVOKED (19)");
    let new = d.join("new.json");
    encoded("lab", &new, &["--issue-number", "2"]);
    let o = reader(s(&p), &new);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().next(), Some(ID));
    // A revoked credential is still a conforming card.
    assert_eq!(verify(&card, &[]).status.code(), Some(0));
    // A malformed entry is a profile error.
    let bad = lab_variant(&d, "bad.toml", LAB_DENY_LIST, "deny_list = [\"1A2B\"]");
    let o = reader(s(&bad), &card);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("revocation.deny_list[0]"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn key_generations_and_unknown_key_version() {
    use desfire_core::crypto::AesKey;
    use desfire_core::encoding::{AppKey, CardKey, LAB_AID, SystemId, diversify};
    let d = dir("generations");
    let card = d.join("card.json");
    encoded("lab", &card, &[]);
    // A reader in a K2 rollover holds generations 01 (`20..2F`) and 02 (`80..8F`).
    let p = lab_variant(
        &d,
        "rollover.toml",
        "k2_version = 1\n",
        "k2_version = 1\nk2_next = \"808182838485868788898A8B8C8D8E8F\"\nk2_next_version = 2\n",
    );
    let o = reader(s(&p), &card);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The card rolled over to generation 02: K2 is the new master's key, version 02.
    let uid: [u8; 7] = {
        let image = card_image::load(&card).unwrap();
        let b: Vec<u8> = (0..7)
            .map(|i| u8::from_str_radix(&image.uid[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        b.try_into().unwrap()
    };
    let next = AesKey::new(core::array::from_fn(|i| 0x80 + i as u8));
    let k2 = diversify(
        &next,
        &uid,
        LAB_AID,
        CardKey::App(AppKey::Read),
        &SystemId::GEN_PACS,
    )
    .unwrap();
    let k2_hex: String = k2.expose().iter().map(|b| format!("{b:02X}")).collect();
    edit_image(&card, |v| {
        v["applications"][0]["keys"][2] = serde_json::json!({"key": k2_hex, "version": 2});
    });
    let o = reader(s(&p), &card);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().next(), Some(ID));
    // The lab profile holds generation 01 only: no step 5, and the new key does not
    // authenticate.
    assert_deny(&reader("lab", &card), "AUTH_FAILED (3)");
    // Reason 9: version 03, which the rollover reader does not hold.
    edit_image(&card, |v| {
        v["applications"][0]["keys"][2]["version"] = serde_json::json!(3);
    });
    assert_deny(&reader(s(&p), &card), "UNKNOWN_KEY_VERSION (9)");
}

#[test]
fn originality_policy_t15() {
    let d = dir("originality");
    let card = d.join("card.json");
    encoded("lab", &card, &[]);
    let require = lab_variant(
        &d,
        "require.toml",
        "originality = \"off\"",
        "originality = \"require\"",
    );
    let log = lab_variant(
        &d,
        "log.toml",
        "originality = \"off\"",
        "originality = \"log\"",
    );
    // The image signs with the virtual card's TEST key, which the lab profile trusts.
    let o = reader(s(&require), &card);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("originality signature verified"),
        "{}",
        stderr(&o)
    );
    // Without the TEST key only NXP's EV3 key is trusted: a virtual card is no genuine chip.
    let nxp_only = d.join("nxp.toml");
    std::fs::write(
        &nxp_only,
        std::fs::read_to_string(&require).unwrap().replace(
            "originality_test_key = true",
            "originality_test_key = false",
        ),
    )
    .unwrap();
    assert_deny(&reader(s(&nxp_only), &card), "ORIGINALITY_FAILED (20)");
    // T15: a wrong signature (another card's).
    let other = d.join("other.json");
    encoded("lab", &other, &[]);
    let sig = desfire_core::picc::sig::sign(
        &desfire_core::picc::sig::TEST_SECRET,
        &[0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66],
    )
    .unwrap();
    let sig_hex: String = sig.iter().map(|b| format!("{b:02X}")).collect();
    edit_image(&card, |v| {
        v["originality"] = serde_json::json!({ "signature": sig_hex });
    });
    assert_deny(&reader(s(&require), &card), "ORIGINALITY_FAILED (20)");
    // Policy log: GRANT, and the failure on standard error.
    let o = reader(s(&log), &card);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().next(), Some(ID));
    assert!(
        stderr(&o).contains("originality signature FAILED"),
        "{}",
        stderr(&o)
    );
    // Policy off (the lab default): not asked.
    let o = reader("lab", &card);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("originality"), "{}", stderr(&o));
}
