//! The personalisation station's throughput: GEN-PACS cards encoded per minute in process
//! (`gen_pacs::encode` on fresh virtual cards, everything of §18 including the issuer
//! signature), with the keys in key files against the same keys in a SoftHSM2 token.
//!
//! `cargo bench -p host-tools --bench encode_throughput [-- CARDS]` (default 200 cards per
//! backend). Prints figures; asserts nothing about time. Needs Debian `softhsm2`; it makes its
//! own token in a temporary directory and runs itself again with `SOFTHSM2_CONF` pointing there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::{Credential, IssuerSigningKey};
use desfire_core::pcd::{Desfire, FrameSize};
use desfire_core::picc::State;
use host_tools::card_image::CardImage;
use host_tools::gen_pacs::{Encoded, encode};
use host_tools::profile::Profile;
use host_tools::virtual_card::EmulatedCard;
use host_tools::virtual_card::ImageLink;
use host_tools::virtual_card::VirtualCard;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SCALAR: &str = "3E0F5C1D2B4A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0";
const KEYS: [(&str, &str); 7] = [
    ("picc_master", "8F1E2D3C4B5A69788796A5B4C3D2E1F0"),
    ("k0", "0F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k1", "1F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k2", "2F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k3", "3F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k4", "4F1E2D3C4B5A69788796A5B4C3D2E1F8"),
    ("k5", "5F1E2D3C4B5A69788796A5B4C3D2E1F8"),
];

fn main() {
    // cargo bench passes `--bench`; the card count is the first number.
    let cards: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    if !Path::new(MODULE).is_file() {
        eprintln!("encode_throughput: {MODULE} is missing (apt-get install softhsm2)");
        std::process::exit(2);
    }
    let Some(dir) = std::env::var_os("ENCODE_THROUGHPUT_DIR") else {
        let dir = tempfile::tempdir().expect("temporary directory");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::create_dir(dir.path().join("tokens")).expect("token directory");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        )
        .expect("softhsm2.conf");
        let status = Command::new(std::env::current_exe().expect("this program"))
            .arg(cards.to_string())
            .env("SOFTHSM2_CONF", &conf)
            .env("ENCODE_THROUGHPUT_DIR", dir.path())
            .status()
            .expect("run again");
        std::process::exit(status.code().unwrap_or(1));
    };
    let dir = PathBuf::from(dir);
    let (file, token) = setup(&dir);
    let file = Profile::load(file.to_str().expect("path")).expect("file profile");
    let token = Profile::load(token.to_str().expect("path")).expect("token profile");
    // Warm up both (first sessions, page faults), then measure alternately.
    run(&file, 5, 0);
    run(&token, 5, 0);
    let mut times = [Duration::ZERO; 2];
    let rounds = 4;
    for round in 0..rounds {
        times[0] += run(&file, cards / rounds, round * cards);
        times[1] += run(&token, cards / rounds, round * cards);
    }
    let n = f64::from(cards / rounds * rounds);
    println!("cards encoded in process ({n} per backend, §18 with signature, one core):");
    for (name, t) in [("key files", times[0]), ("SoftHSM2 token", times[1])] {
        let per_card = t.as_secs_f64() / n;
        println!(
            "  {name:<15} {:>8.0} cards/min  ({:.2} ms/card)",
            60.0 / per_card,
            per_card * 1e3
        );
    }
    println!(
        "  token / files   {:.2} x the time",
        times[1].as_secs_f64() / times[0].as_secs_f64()
    );
}

/// Encodes `cards` fresh virtual cards with `profile`; the time taken.
fn run(profile: &Profile, cards: u32, first: u32) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..cards {
        let n = (first + i).to_be_bytes();
        let uid = [0x04, 0xBE, 0x4C, n[0], n[1], n[2], n[3]];
        let credential = Credential {
            issuer: profile.issuer_id.clone(),
            credential_id: 0x0100_0000_0000_0000 | u64::from(first + i),
            valid_from: 1_767_225_600,
            valid_until: 2_082_758_400,
            key_id: KeyId::one(1),
            ..Credential::lab_test()
        };
        let mut card = EmulatedCard::from_image(CardImage::from_state(&State::factory(uid)))
            .expect("factory card");
        card.power_on();
        let ac = card.anticollision_uid().to_vec();
        let start = Instant::now();
        let mut d: Desfire<_> = Desfire::new(ImageLink(&mut card), FrameSize::SHORT_APDU);
        let r = encode(&mut d, &ac, profile, &credential, false, 1_800_000_000);
        total += start.elapsed();
        assert_eq!(r.expect("encoded"), Encoded::Personalised);
    }
    total
}

/// A token with the keys imported, and the two profiles.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let private = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    };
    private("user.pin", "246810\n");
    private("so.pin", "13579111\n");
    private("issuer.key", SCALAR);
    let scalar: [u8; 32] = hex::decode(SCALAR)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let issuer =
        IssuerSigningKey::from_bytes(IssuerId::new(b"ACME").expect("id"), KeyId::one(1), &scalar)
            .expect("scalar");
    let tail = format!(
        "[issuer]\nid = \"ACME\"\nsigning_key_id = \"01\"\n{{signing}}\n[[issuer.public_keys]]\n\
         key_id = \"01\"\npublic_key = \"{}\"\n",
        hex::encode_upper(issuer.issuer_key().to_sec1_uncompressed())
    );
    let (mut files, mut labels) = (String::from("[keys]\n"), String::from("[keys]\n"));
    for (name, hex) in KEYS {
        private(&format!("{name}.key"), hex);
        files.push_str(&format!("{name}_file = \"{name}.key\"\n"));
        labels.push_str(&format!("{name}_label = \"bench {name}\"\n"));
    }
    let head = "aid = \"F48EE1\"\nsystem_id = \"ACME-SYS\"\n";
    let file = dir.join("file.toml");
    std::fs::write(
        &file,
        format!(
            "{head}{files}{}",
            tail.replace("{signing}", "signing_key_file = \"issuer.key\"")
        ),
    )
    .expect("file profile");
    let token = dir.join("token.toml");
    std::fs::write(
        &token,
        format!(
            "{head}[hsm]\nmodule = \"{MODULE}\"\ntoken = \"bench\"\npin_file = \"user.pin\"\n\
             {labels}{}",
            tail.replace("{signing}", "signing_key_label = \"bench issuer\"")
        ),
    )
    .expect("token profile");
    let so = dir.join("so.pin");
    for args in [
        vec![
            "keys",
            "hsm",
            "init",
            "--profile",
            path(&token),
            "--so-pin-file",
            path(&so),
        ],
        vec![
            "keys",
            "hsm",
            "import",
            "--profile",
            path(&token),
            "--from",
            path(&file),
        ],
    ] {
        let cli = host_tools::cli::Cli::parse_from(std::iter::once("desfire").chain(args));
        host_tools::cli::run(cli, &mut std::io::sink()).expect("token set up");
    }
    (file, token)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
