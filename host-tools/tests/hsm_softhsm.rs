//! Keys in a PKCS#11 token, against SoftHSM2 (Debian `softhsm2`) in a temporary token
//! directory: the token backend makes the same cards as the file backend, its masters never
//! leave it (checked by us and by OpenSC's `pkcs11-tool`), its failures are clear and touch no
//! card, a production profile refuses TEST keys in it (R15), and encoding stays tear-safe.
//!
//! Without SoftHSM2 the tests say so and pass, unless `CI` is set: then they fail.

#[path = "support/cli.rs"]
mod cli;

use cli::{dir, s, stderr, stdout};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::{IssuerKey, IssuerSigningKey, ParsedCcf, verify_signature};
use desfire_core::picc::State;
use desfire_core::wire::Aid;
use host_tools::card_image::{self, CardImage};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "246810";
const SO_PIN: &str = "13579111";
const UID: &str = "04A1B2C3D4E5F6";
const ID: &str = "C0FFEE0000000042";
const AID: &str = "F48EE1";
/// Non-TEST values for the file backend (and, imported, the token): production-shaped.
const MASTERS: [(&str, &str); 8] = [
    ("picc_master", "8F1E2D3C4B5A69788796A5B4C3D2E1F0"),
    ("k0", "0F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k1", "1F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k2", "2F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k2_next", "2E1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k3", "3F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k4", "4F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k5", "5F1E2D3C4B5A69788796A5B4C3D2E1F8"),
];
const ISSUER_SCALAR: &str = "3E0F5C1D2B4A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0";

/// A SoftHSM2 token directory of its own, and the profiles that use it.
struct SoftHsm {
    dir: PathBuf,
    conf: PathBuf,
}

impl SoftHsm {
    /// `None` (after saying why) when SoftHSM2 is not installed and `CI` is not set.
    fn new(test: &str) -> Option<Self> {
        if !Path::new(MODULE).is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {MODULE} is missing: install softhsm2"
            );
            eprintln!("SKIPPED: {MODULE} is missing (apt-get install softhsm2)");
            return None;
        }
        let dir = dir(test);
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        private(&dir.join("user.pin"), &format!("{PIN}\n"));
        private(&dir.join("so.pin"), &format!("{SO_PIN}\n"));
        Some(Self { dir, conf })
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run desfire")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_desfire"));
        c.args(args).env("SOFTHSM2_CONF", &self.conf);
        c
    }

    fn ok(&self, args: &[&str]) -> Output {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        o
    }

    /// A profile file in the test directory.
    fn profile(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The production-shaped file-backend profile: key files of mode 600.
    fn file_profile(&self) -> PathBuf {
        let mut keys = String::from("[keys]\nk2_version = 1\n");
        for (name, hex) in MASTERS {
            private(&self.dir.join(format!("{name}.key")), &format!("{hex}\n"));
            keys.push_str(&format!("{name}_file = \"{name}.key\"\n"));
        }
        private(&self.dir.join("issuer.key"), ISSUER_SCALAR);
        self.profile(
            "file.toml",
            &format!(
                "aid = \"{AID}\"\nsystem_id = \"ACME-SYS\"\n{keys}{}signing_key_file = \"issuer.key\"\n{}",
                issuer_table(),
                public_keys()
            ),
        )
    }

    /// The same deployment with every key in the token.
    fn token_profile(&self, name: &str, token: &str, pin: &str, extra_keys: &str) -> PathBuf {
        let mut keys = String::from("[keys]\nk2_version = 1\n");
        for (name, _) in MASTERS {
            keys.push_str(&format!("{name}_label = \"acme {name}\"\n"));
        }
        keys.push_str(extra_keys);
        self.profile(
            name,
            &format!(
                "aid = \"{AID}\"\nsystem_id = \"ACME-SYS\"\n[hsm]\nmodule = \"{MODULE}\"\n\
                 token = \"{token}\"\n{pin}\n{keys}{}signing_key_label = \"acme issuer\"\n{}",
                issuer_table(),
                public_keys()
            ),
        )
    }

    /// `keys hsm init` then `keys hsm import` of the file profile's keys.
    fn token_with_imported_keys(&self) -> (PathBuf, PathBuf) {
        let file = self.file_profile();
        let token = self.token_profile("token.toml", "acme", "pin_file = \"user.pin\"", "");
        self.ok(&[
            "keys",
            "hsm",
            "init",
            "--profile",
            s(&token),
            "--so-pin-file",
            s(&self.dir.join("so.pin")),
        ]);
        let o = self.ok(&[
            "keys",
            "hsm",
            "import",
            "--profile",
            s(&token),
            "--from",
            s(&file),
        ]);
        assert!(
            stderr(&o).contains("WARNING: importing keys"),
            "{}",
            stderr(&o)
        );
        assert!(
            stdout(&o).contains("issuer.signing_key: imported"),
            "{}",
            stdout(&o)
        );
        (file, token)
    }
}

fn private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn issuer() -> IssuerSigningKey {
    let scalar: [u8; 32] = hex::decode(ISSUER_SCALAR).unwrap().try_into().unwrap();
    IssuerSigningKey::from_bytes(IssuerId::new(b"ACME").unwrap(), KeyId::one(1), &scalar).unwrap()
}

fn issuer_table() -> &'static str {
    "[issuer]\nid = \"ACME\"\nsigning_key_id = \"01\"\n"
}

fn public_keys() -> String {
    format!(
        "[[issuer.public_keys]]\nkey_id = \"01\"\npublic_key = \"{}\"\n",
        hex::encode_upper(issuer().issuer_key().to_sec1_uncompressed())
    )
}

fn encode_args<'a>(profile: &'a Path, image: &'a Path) -> Vec<&'a str> {
    vec![
        "card",
        "encode",
        "--profile",
        s(profile),
        "--credential-id",
        ID,
        "--valid-from",
        "2026-01-01",
        "--valid-until",
        "2036-01-01",
        "--legacy-wiegand",
        "26:02026073",
        "--image",
        s(image),
        "--uid",
        UID,
    ]
}

/// The credential file's bytes in a card image.
fn ccf_of(image: &serde_json::Value) -> Vec<u8> {
    let data = image["applications"][0]["files"][0]["data"]
        .as_str()
        .unwrap();
    hex::decode(data).unwrap()
}

#[test]
fn token_and_file_backends_make_the_same_card() {
    let Some(hsm) = SoftHsm::new("hsm-same") else {
        return;
    };
    let (file, token) = hsm.token_with_imported_keys();
    let by_file = hsm.dir.join("by-file.json");
    let by_token = hsm.dir.join("by-token.json");
    hsm.ok(&encode_args(&file, &by_file));
    let o = hsm.ok(&encode_args(&token, &by_token));
    assert_eq!(stdout(&o), format!("encoded credential {ID}\n"));

    // Byte for byte the same card: keys, settings, files, the signed part of the credential.
    // Only the signature's bytes differ: CKM_ECDSA draws a random nonce, the file backend uses
    // RFC 6979. Both verify under the issuer's public key.
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (f, mut t) = (read(&by_file), read(&by_token));
    let (f_ccf, t_ccf) = (ccf_of(&f), ccf_of(&t));
    let (fp, tp) = (
        ParsedCcf::parse(&f_ccf).unwrap(),
        ParsedCcf::parse(&t_ccf).unwrap(),
    );
    assert_eq!(fp.signed_part, tp.signed_part);
    assert_ne!(
        fp.signature, tp.signature,
        "a fresh ECDSA nonce in the token"
    );
    let uid: [u8; 7] = hex::decode(UID).unwrap().try_into().unwrap();
    let aid = Aid::new(0xF48EE1).unwrap();
    let keys = [IssuerKey::from_sec1(
        IssuerId::new(b"ACME").unwrap(),
        KeyId::one(1),
        &issuer().issuer_key().to_sec1_uncompressed(),
    )
    .unwrap()];
    verify_signature(&fp, &uid, aid, &keys).unwrap();
    verify_signature(&tp, &uid, aid, &keys).unwrap();
    t["applications"][0]["files"][0]["data"] = f["applications"][0]["files"][0]["data"].clone();
    assert_eq!(f, t, "the images differ beyond the signature");

    // Each backend verifies and reads the other's card.
    for profile in [&file, &token] {
        for image in [&by_file, &by_token] {
            let o = hsm.ok(&[
                "card",
                "verify",
                "--profile",
                s(profile),
                "--image",
                s(image),
            ]);
            assert!(stdout(&o).ends_with("card conforms\n"), "{}", stdout(&o));
            let o = hsm.ok(&["reader", "--profile", s(profile), "--image", s(image)]);
            assert_eq!(stdout(&o), format!("{ID}\n"));
        }
    }
    // The reader audit builds its cards through the token too (T3 needs the K2 master's value,
    // which the token never gives: not played, and said so).
    let o = hsm.ok(&[
        "audit",
        "--in-process",
        "--profile",
        s(&token),
        "--now",
        "2030-01-01",
    ]);
    assert!(stdout(&o).contains(" passed, 0 failed"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("T0 ") && stdout(&o).contains("T8 "),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("T3 (Wrong key) not played: the K2 master is in a token"),
        "{}",
        stderr(&o)
    );
    // Encoding again with the token finds the card done.
    let o = hsm.ok(&encode_args(&token, &by_token)[..14]);
    assert!(stdout(&o).contains("already holds"), "{}", stdout(&o));
}

#[test]
fn masters_never_leave_the_token() {
    let Some(hsm) = SoftHsm::new("hsm-custody") else {
        return;
    };
    let token = hsm.token_profile("gen.toml", "gen", "pin_env = \"ACME_TOKEN_PIN\"", "");
    let gen_cmd = |args: &[&str]| {
        hsm.command(args)
            .env("ACME_TOKEN_PIN", PIN)
            .output()
            .unwrap()
    };
    let so_pin = hsm.dir.join("so.pin");
    let o = gen_cmd(&[
        "keys",
        "hsm",
        "init",
        "--profile",
        s(&token),
        "--so-pin-file",
        s(&so_pin),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = gen_cmd(&["keys", "hsm", "generate", "--profile", s(&token)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("public_key = \"04"), "{}", stdout(&o));
    // Nothing is generated twice.
    let o = gen_cmd(&["keys", "hsm", "generate", "--profile", s(&token)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already holds"), "{}", stderr(&o));

    let o = gen_cmd(&["keys", "hsm", "list", "--profile", s(&token), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let objects: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let masters: Vec<_> = objects
        .iter()
        .filter(|o| o["class"] == "secret" && o["label"] != "acme k1")
        .collect();
    assert_eq!(masters.len(), 7, "{objects:?}");
    for m in &masters {
        assert_eq!(m["sensitive"], true, "{m}");
        assert_eq!(m["extractable"], false, "{m}");
        assert_eq!(m["local"], true, "generated in the token: {m}");
    }
    let private_key = objects.iter().find(|o| o["class"] == "private").unwrap();
    assert_eq!(private_key["sensitive"], true);
    assert_eq!(private_key["extractable"], false);

    // OpenSC's pkcs11-tool, an independent PKCS#11 client, sees the same and cannot read a
    // master's value.
    if which("pkcs11-tool") {
        let tool = |args: &[&str]| {
            Command::new("pkcs11-tool")
                .args([
                    "--module",
                    MODULE,
                    "--token-label",
                    "gen",
                    "--login",
                    "--pin",
                    PIN,
                ])
                .args(args)
                .env("SOFTHSM2_CONF", &hsm.conf)
                .output()
                .unwrap()
        };
        let o = tool(&["--list-objects", "--type", "secrkey"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let listing = stdout(&o);
        for (name, _) in MASTERS.iter().filter(|(n, _)| *n != "k1") {
            let entry = listing
                .split("Secret Key Object")
                .find(|e| e.contains(&format!("label:      acme {name}\n")))
                .unwrap_or_else(|| panic!("acme {name} not listed: {listing}"));
            assert!(
                entry.contains("Access:     sensitive, always sensitive, never extractable, local"),
                "{entry}"
            );
        }
        for (name, _) in MASTERS.iter().filter(|(n, _)| *n != "k1") {
            let o = tool(&[
                "--read-object",
                "--type",
                "secrkey",
                "--label",
                &format!("acme {name}"),
            ]);
            assert!(!o.status.success(), "read acme {name}: {}", stdout(&o));
            assert!(o.stdout.is_empty(), "no bytes of acme {name}");
            assert!(
                stderr(&o).contains("CKR_ATTRIBUTE_SENSITIVE"),
                "{}",
                stderr(&o)
            );
        }
        // K1 is the card key itself: readable, and only it.
        let o = tool(&["--read-object", "--type", "secrkey", "--label", "acme k1"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(o.stdout.len(), 16);
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but pkcs11-tool is missing: install opensc"
        );
        eprintln!("SKIPPED: the pkcs11-tool cross-check (apt-get install opensc)");
    }

    // Cards made with generated keys read back.
    let card = hsm.dir.join("card.json");
    let mut pk = String::new();
    for o in &objects {
        if o["class"] == "public" {
            pk = o["public_key"].as_str().unwrap().to_owned();
        }
    }
    let text = std::fs::read_to_string(&token).unwrap().replace(
        &hex::encode_upper(issuer().issuer_key().to_sec1_uncompressed()),
        &pk,
    );
    std::fs::write(&token, text).unwrap();
    let o = gen_cmd(&encode_args(&token, &card));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = gen_cmd(&["reader", "--profile", s(&token), "--image", s(&card)]);
    assert_eq!(stdout(&o), format!("{ID}\n"), "{}", stderr(&o));
    let o = gen_cmd(&[
        "card",
        "verify",
        "--profile",
        s(&token),
        "--image",
        s(&card),
    ]);
    assert!(stdout(&o).ends_with("card conforms\n"), "{}", stdout(&o));
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn token_failures_are_clear_and_leave_the_card_untouched() {
    let Some(hsm) = SoftHsm::new("hsm-fail") else {
        return;
    };
    let (_, _) = hsm.token_with_imported_keys();
    // A blank card image that must stay as it is.
    let card = hsm.dir.join("blank.json");
    let uid: [u8; 7] = hex::decode(UID).unwrap().try_into().unwrap();
    card_image::save(&card, &CardImage::from_state(&State::factory(uid))).unwrap();
    let before = std::fs::read(&card).unwrap();
    private(&hsm.dir.join("wrong.pin"), "999999\n");
    let cases = [
        (
            hsm.token_profile("wrong-pin.toml", "acme", "pin_file = \"wrong.pin\"", ""),
            "the user PIN was refused (CKR_PIN_INCORRECT)",
        ),
        (
            hsm.token_profile("no-token.toml", "nope", "pin_file = \"user.pin\"", ""),
            "no token labelled \"nope\" (tokens present: \"acme\")",
        ),
        (
            hsm.token_profile("no-label.toml", "acme", "pin_file = \"user.pin\"", ""),
            "",
        ),
        (
            hsm.token_profile("no-env.toml", "acme", "pin_env = \"ACME_PIN_UNSET\"", ""),
            "the environment variable ACME_PIN_UNSET is not set",
        ),
    ];
    // The missing label: K3 names a key the token does not have.
    let no_label = std::fs::read_to_string(&cases[2].0)
        .unwrap()
        .replace("k3_label = \"acme k3\"", "k3_label = \"acme k3 (2027)\"");
    std::fs::write(&cases[2].0, no_label).unwrap();
    for (profile, want) in &cases {
        let want = if want.is_empty() {
            "no AES secret key labelled \"acme k3 (2027)\""
        } else {
            want
        };
        for args in [
            encode_args(profile, &card)
                .into_iter()
                .filter(|a| *a != "--uid" && *a != UID)
                .collect::<Vec<_>>(),
            vec![
                "card",
                "verify",
                "--profile",
                s(profile),
                "--image",
                s(&card),
            ],
            vec!["reader", "--profile", s(profile), "--image", s(&card)],
        ] {
            let o = hsm.run(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
            assert!(!stderr(&o).contains(PIN), "no PIN in messages");
            assert_eq!(std::fs::read(&card).unwrap(), before, "{args:?}");
        }
    }
}

#[test]
fn production_profiles_refuse_test_keys_in_the_token() {
    let Some(hsm) = SoftHsm::new("hsm-r15") else {
        return;
    };
    // TEST masters and the TEST issuer key imported from the lab profile.
    let labels = "[keys]\nk0_label = \"lab k0\"\nk2_label = \"lab k2\"\n";
    let token = hsm.profile(
        "lab-keys.toml",
        &format!(
            "aid = \"{AID}\"\n[hsm]\nmodule = \"{MODULE}\"\ntoken = \"lab\"\n\
             pin_file = \"user.pin\"\n{labels}{}signing_key_label = \"lab issuer\"\n",
            issuer_table().replace("ACME", "SE0000000000")
        ),
    );
    hsm.ok(&[
        "keys",
        "hsm",
        "init",
        "--profile",
        s(&token),
        "--so-pin-file",
        s(&hsm.dir.join("so.pin")),
    ]);
    let o = hsm.ok(&[
        "keys",
        "hsm",
        "import",
        "--profile",
        s(&token),
        "--from",
        "lab",
    ]);
    assert!(stderr(&o).contains("TEST profile"), "{}", stderr(&o));
    let o = hsm.run(&["reader", "--profile", s(&token), "--image", "unused.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("label \"lab k0\": a TEST master is a public TEST value"),
        "{}",
        stderr(&o)
    );
    // The signing key alone: found by a probe signature the TEST public key verifies.
    let signer_only = hsm.profile(
        "lab-signer.toml",
        &format!(
            "aid = \"{AID}\"\n[hsm]\nmodule = \"{MODULE}\"\ntoken = \"lab\"\n\
             pin_file = \"user.pin\"\n{}signing_key_label = \"lab issuer\"\n",
            issuer_table().replace("ACME", "SE0000000000")
        ),
    );
    let o = hsm.run(&[
        "reader",
        "--profile",
        s(&signer_only),
        "--image",
        "unused.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("issuer.signing_key_label: the TEST issuer key"),
        "{}",
        stderr(&o)
    );
    // With test = true the same token is a lab's.
    let lab = hsm.profile(
        "lab-test.toml",
        &std::fs::read_to_string(&signer_only)
            .unwrap()
            .replace(&format!("aid = \"{AID}\""), "test = true\naid = \"0AC501\""),
    );
    let o = hsm.run(&["reader", "--profile", s(&lab), "--image", "unused.json"]);
    assert!(
        !stderr(&o).contains("TEST value") && stderr(&o).contains("WARNING"),
        "{}",
        stderr(&o)
    );
}

/// In a child process that has `SOFTHSM2_CONF`: the tear-safety test of `card encode` (a power
/// cut at every NVM write, then a second run completes the card) with the token backend, and
/// AN10922's published vector diversified by the token.
#[test]
fn encoding_with_the_token_stays_tear_safe() {
    let Some(hsm) = SoftHsm::new("hsm-tear") else {
        return;
    };
    let (file, token) = hsm.token_with_imported_keys();
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "in_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env("GEN_PACS_TOKEN_PIN_FILE", hsm.dir.join("user.pin"))
        .env(
            "GEN_PACS_TEAR_PROFILES",
            format!("{}\n{}", s(&file), s(&token)),
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("2 passed"), "{}", stdout(&o));
    print!("{}", stdout(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("cut points:")).collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
    // The same cut points and outcomes with either backend.
    let outcome = |l: &str| l.split_once(": ").unwrap().1.to_owned();
    assert_eq!(outcome(lines[0]), outcome(lines[1]), "{lines:?}");
}

/// Run by [`encoding_with_the_token_stays_tear_safe`] only: NXP AN10922 Rev. 2.2 §2.2.1 (the
/// vector `desfire-core`'s software AN10922 checks too), with the master imported into the token
/// and the diversification done there by `CKM_AES_CMAC`.
#[test]
#[ignore = "run by encoding_with_the_token_stays_tear_safe with SOFTHSM2_CONF set"]
fn published_vector_in_process() {
    use desfire_core::crypto::{AesKey, DiversificationInput};
    use host_tools::hsm::{PinSource, Token, TokenConfig};
    let pin = std::env::var("GEN_PACS_TOKEN_PIN_FILE").expect("run by the outer test");
    let token = Token::open(
        &TokenConfig {
            module: MODULE.into(),
            token: "acme".into(),
            pin: PinSource::File(pin.into()),
        },
        true,
    )
    .unwrap();
    let master: [u8; 16] = hex::decode("00112233445566778899AABBCCDDEEFF")
        .unwrap()
        .try_into()
        .unwrap();
    token
        .import_master("an10922 vector", &AesKey::new(master))
        .unwrap();
    let handle = token.master("an10922 vector").unwrap();
    let m = DiversificationInput::from_bytes(
        &hex::decode("04782E21801D803042F54E585020416275").unwrap(),
    )
    .unwrap();
    let key = token.diversify(handle, "an10922 vector", &m).unwrap();
    assert_eq!(
        hex::encode_upper(key.expose()),
        "A8DD63A3B89D54B37CA802473FDA9175"
    );
    // An input AN10922 pads to two blocks is not a CMAC: refused, not a wrong key.
    let short = DiversificationInput::from_bytes(&[0x04; 15]).unwrap();
    let e = token
        .diversify(handle, "an10922 vector", &short)
        .unwrap_err();
    assert!(e.to_string().contains("not a CMAC"), "{e}");
    // The token refuses to show the master it was given.
    let p = token.protection(handle, "an10922 vector").unwrap();
    assert!(p.sensitive && !p.extractable && !p.value_readable, "{p:?}");
}

/// Run by [`encoding_with_the_token_stays_tear_safe`] only.
#[test]
#[ignore = "run by encoding_with_the_token_stays_tear_safe with SOFTHSM2_CONF set"]
fn torn_encodings_in_process() {
    use desfire_core::crypto::AesKey;
    use desfire_core::encoding::{AppKey, CardKey, Credential, KeyProvider, Verdict, diversify};
    use desfire_core::pcd::{Desfire, FrameSize, Transport};
    use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm};
    use host_tools::gen_pacs::{Encoded, encode, read};
    use host_tools::profile::Profile;

    type TestCard = Card<RamNvm<NVM_LEN>, rand_core::UnwrapErr<rand_core::OsRng>>;
    struct Link(Box<TestCard>);
    impl Transport for Link {
        type Error = std::convert::Infallible;
        fn transceive(&mut self, c: &[u8], r: &mut [u8]) -> Result<usize, Self::Error> {
            Ok(self.0.process(c, r))
        }
    }
    let profiles = std::env::var("GEN_PACS_TEAR_PROFILES").expect("run by the outer test");
    let now = 1_830_297_600;
    let uid: [u8; 7] = hex::decode(UID).unwrap().try_into().unwrap();
    for path in profiles.lines() {
        let profile = Profile::load(path).unwrap();
        // Both K2 generations (R16), from either backend, equal the software AN10922 of the
        // masters in MASTERS.
        assert_eq!(profile.read_key_generations, [1, 2], "{path}");
        let k2 = CardKey::App(AppKey::Read);
        for (version, name) in [(1, "k2"), (2, "k2_next")] {
            let master = MASTERS.iter().find(|(n, _)| *n == name).unwrap().1;
            let master = AesKey::new(hex::decode(master).unwrap().try_into().unwrap());
            let want = diversify(&master, &uid, profile.aid, k2, &profile.system).unwrap();
            let got = profile
                .card_keys()
                .card_key_generation(k2, version, &uid)
                .unwrap();
            assert_eq!(got, want, "{path}: generation {version}");
        }
        assert!(
            profile
                .card_keys()
                .card_key_generation(k2, 3, &uid)
                .is_err()
        );
        let credential = Credential {
            issuer: profile.issuer_id.clone(),
            valid_from: now,
            valid_until: now + 86_400,
            key_id: KeyId::one(1),
            ..Credential::lab_test()
        };
        let factory = || {
            Box::new(
                Card::create(
                    RamNvm::<NVM_LEN>::new(),
                    rand_core::UnwrapErr(rand_core::OsRng),
                    CardConfig::default(),
                    State::factory(uid),
                )
                .unwrap(),
            )
        };
        let once = |mut card: Box<TestCard>| {
            let ac = card.activate().uid.to_vec();
            let mut d: Desfire<_> = Desfire::new(Link(card), FrameSize::SHORT_APDU);
            let r = encode(&mut d, &ac, &profile, &credential, false, now);
            (d.into_transport().0, r)
        };
        let card = factory();
        let before = card.nvm().writes();
        let (card, r) = once(card);
        assert_eq!(r.unwrap(), Encoded::Personalised);
        let total = card.nvm().writes() - before;
        let (mut resumed, mut again, mut complete) = (0, 0, 0);
        for n in 0..total {
            let mut card = factory();
            card.nvm_mut().cut_after(n);
            let (card, r) = once(card);
            assert!(card.nvm().is_cut() && r.is_err(), "{path}: cut after {n}");
            let (mut nvm, rng) = card.into_parts();
            nvm.power_on();
            let card = Box::new(Card::open(nvm, rng, CardConfig::default()).unwrap());
            let (card, r) = once(card);
            match r {
                Ok(Encoded::Resumed { .. }) => resumed += 1,
                Ok(Encoded::Personalised) => again += 1,
                Ok(Encoded::AlreadyEncoded) => complete += 1,
                other => panic!("{path}: cut after {n}: {other:?}"),
            }
            let (mut card, r) = once(card);
            assert_eq!(r.unwrap(), Encoded::AlreadyEncoded, "{path}: cut after {n}");
            let ac = card.activate().uid.to_vec();
            let t = read(&mut Link(card), &profile, false, &ac, now);
            assert!(
                matches!(&t.verdict, Verdict::Grant(c) if c.credential_id == credential.credential_id),
                "{path}: cut after {n}: {:?}",
                t.verdict
            );
        }
        assert!(resumed > total / 2 && total > 20, "{resumed} of {total}");
        println!(
            "{path} cut points: {total}: {resumed} resumed, {again} personalised from the start, \
             {complete} already complete"
        );
    }
}
