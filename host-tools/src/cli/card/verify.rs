//! `desfire card verify`: checks a card, point by point, against `specs/generic-encoding.md`
//! (§3 configuration and Random ID, §4.2 key settings, §5 keys and versions, §7 file layout,
//! rights and comm mode, §8 credential format and signature, §10 validity) with the issuer's
//! profile, and prints a pass/fail table (or JSON).

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ArgGroup;
use desfire_core::crypto::AesKey;
use desfire_core::encoding::provision::{
    APP_KEY_COUNT, APP_KEY_SETTINGS, CCF_ACCESS_RIGHTS, PICC_KEY_SETTINGS,
};
use desfire_core::encoding::{
    AppKey, CCF_FILE_NO, CCF_FILE_SIZE, CardKey, DenyReason, KeyProvider, RealUid, Verdict,
};
use desfire_core::pcd::commands::{
    FileIds, FileKind, FileSettings, KeyConfiguration, KeyType, KeyVersion, Uid, get_card_uid,
    get_file_ids, get_file_settings, get_key_settings, get_key_version, select_application,
};
use desfire_core::pcd::{Desfire, FrameSize, Transport};
use desfire_core::wire::{Aid, FileType, KeyNo};
use serde::Serialize;

use super::ReaderArgs;
use crate::cli::emulate::EmulateError;
use crate::cli::{CliError, Exit};
use crate::dates::parse_date;
use crate::gen_pacs::{self, spec_reason};
use crate::profile::{Needed, Profile};
use crate::virtual_card::EmulatedCard;
use crate::virtual_card::ImageLink;
use crate::virtual_card::VirtualCard;
use crate::{card_image, hex_text};

const AFTER_HELP: &str = "\
Needs an issuer profile: the PICC and K0-K5 masters (to prove every key holds its diversified
value) and the issuer public keys.

Exit status: 0 every check passed, 1 a check failed, 2 bad arguments, profile or image, or no
reader.";

/// Arguments of `desfire card verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("target").required(true).args(["image", "reader"])))]
pub struct Args {
    /// The profile: `lab` (built-in TEST profile) or a profile file.
    #[arg(long, value_name = "lab|FILE")]
    pub profile: String,
    /// Verify this card image in process (not modified).
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Print JSON: {"pass": bool, "checks": [{"check", "pass", "detail"}]}.
    #[arg(long)]
    pub json: bool,
    /// Trusted time for the validity check, DATE (YYYY-MM-DD or Unix seconds).
    #[arg(long, value_name = "DATE")]
    pub now: Option<String>,
    /// The PC/SC reader (builds with `--features pcsc`).
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Its name.
    pub check: &'static str,
    /// Whether the card passed it.
    pub pass: bool,
    /// What was found.
    pub detail: String,
}

#[derive(Serialize)]
struct Report<'a> {
    pass: bool,
    checks: &'a [Check],
}

/// Runs `desfire card verify`.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let profile = Profile::load(&args.profile)?;
    profile.warn_if_test();
    profile.require(&Needed::CARD_MASTERS)?;
    profile.require(&[Needed::IssuerKeys])?;
    let now = match &args.now {
        Some(d) => parse_date("--now", d)?,
        None => crate::dates::now(),
    };
    let checks = match &args.image {
        Some(path) => verify_image(path, &profile, now)?,
        None => verify_reader(&args.reader, &profile, now)?,
    };
    let pass = checks.iter().all(|c| c.pass);
    if args.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &Report {
                pass,
                checks: &checks,
            },
        )?;
        writeln!(out)?;
    } else {
        for c in &checks {
            writeln!(
                out,
                "{:<22} {}  {}",
                c.check,
                if c.pass { "PASS" } else { "FAIL" },
                c.detail
            )?;
        }
        writeln!(
            out,
            "{}",
            if pass {
                "card conforms"
            } else {
                "card does NOT conform"
            }
        )?;
    }
    Ok(if pass { Exit::Success } else { Exit::Fail })
}

fn verify_image(path: &Path, profile: &Profile, now: u32) -> Result<Vec<Check>, CliError> {
    let image = card_image::load(path)?;
    let mut card = EmulatedCard::from_image(image).map_err(|source| EmulateError::Card {
        path: path.to_owned(),
        source,
    })?;
    card.power_on();
    let ac = card.anticollision_uid().to_vec();
    let mut d: Desfire<_> = Desfire::new(ImageLink(&mut card), FrameSize::SHORT_APDU);
    Ok(verify(&mut d, &ac, profile, now))
}

#[cfg(feature = "pcsc")]
fn verify_reader(reader: &ReaderArgs, profile: &Profile, now: u32) -> Result<Vec<Check>, CliError> {
    super::session::with_card(reader, |card, _| {
        let ac = super::session::anticollision_uid(card)?;
        Ok(verify(card, &ac, profile, now))
    })
    // No pcscd, no reader, no card: an environment error (exit 2); a card that fails during the
    // procedure is a verdict.
    .map_err(|e| CliError::Environment(e.to_string()))
}

#[cfg(not(feature = "pcsc"))]
fn verify_reader(_: &ReaderArgs, _: &Profile, _: u32) -> Result<Vec<Check>, CliError> {
    Err(CliError::NoPcsc)
}

struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, check: &'static str, pass: bool, detail: impl Into<String>) -> bool {
        self.0.push(Check {
            check,
            pass,
            detail: detail.into(),
        });
        pass
    }
}

/// Checks the card behind `d`; `anticollision_uid` is the UID seen at activation.
pub fn verify<T: Transport>(
    d: &mut Desfire<T>,
    anticollision_uid: &[u8],
    profile: &Profile,
    now: u32,
) -> Vec<Check>
where
    T::Error: Display,
{
    let mut c = Checks(Vec::new());
    let random = matches!(anticollision_uid, [0x08, _, _, _]);
    c.add(
        "random_id",
        random,
        if random {
            "4-byte random ID at every activation (§3, §11)".to_owned()
        } else {
            format!(
                "anticollision UID of {} bytes: Random ID is off (§11)",
                anticollision_uid.len()
            )
        },
    );
    let _ = app_checks(d, &mut c, anticollision_uid, profile, now);
    c.0
}

fn app_checks<T: Transport>(
    d: &mut Desfire<T>,
    c: &mut Checks,
    anticollision_uid: &[u8],
    profile: &Profile,
    now: u32,
) -> Option<()>
where
    T::Error: Display,
{
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    let mut rx = [0u8; 128];
    let mut keys = profile.card_keys();
    let selected = d.execute(&select_application(profile.aid), &mut rx);
    if !c.add(
        "application",
        selected.is_ok(),
        match &selected {
            Ok(_) => "GEN-PACS application present (§4)".to_owned(),
            Err(e) => format!("SelectApplication: {e}"),
        },
    ) {
        return None;
    }
    // K1 and the real UID.
    let k1 = keys.card_key(CardKey::App(AppKey::Kuid), &[0; 7]).ok()?;
    let uid = d
        .authenticate_ev2_first(AppKey::Kuid.key_no(), &k1, &mut rng)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            let r = d
                .execute(&get_card_uid(), &mut rx)
                .map_err(|e| e.to_string())?;
            let uid = Uid::parse(&r).map_err(|e| e.to_string())?;
            RealUid::try_from(uid.as_bytes()).map_err(|_| "real UID not 7 bytes".to_owned())
        });
    let uid = match uid {
        Ok(uid) => {
            c.add(
                "k1_get_card_uid",
                true,
                "K1 authenticates; GetCardUID gives a 7-byte UID",
            );
            uid
        }
        Err(e) => {
            c.add("k1_get_card_uid", false, format!("K1: {e}"));
            return None;
        }
    };
    picc_checks(d, c, &mut keys, &uid);

    // Application level, with K0.
    let _ = d.execute(&select_application(profile.aid), &mut rx);
    let k0 = keys.card_key(CardKey::App(AppKey::Amk), &uid).ok()?;
    let auth = d.authenticate_ev2_first(KeyNo::MASTER, &k0, &mut rng);
    if c.add(
        "k0_diversified",
        auth.is_ok(),
        match &auth {
            Ok(()) => "K0 holds its diversified value".to_owned(),
            Err(e) => format!("K0: {e}"),
        },
    ) {
        match d
            .execute(&get_key_settings(), &mut rx)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                KeyConfiguration::parse(&r)
                    .map(|k| (k.settings.byte(), k.key_sett2, k.key_type))
                    .map_err(|e| e.to_string())
            }) {
            Ok((s1, s2, kt)) => {
                let want2 = 0x80 | 0x20 | APP_KEY_COUNT;
                c.add(
                    "app_key_settings",
                    s1 == APP_KEY_SETTINGS && s2 == want2 && kt == KeyType::Aes,
                    format!(
                        "KeySett1 {s1:02X} KeySett2 {s2:02X} (want {APP_KEY_SETTINGS:02X} {want2:02X}, §4.2)"
                    ),
                );
            }
            Err(e) => {
                c.add("app_key_settings", false, format!("GetKeySettings: {e}"));
            }
        }
        let versions: Vec<Result<u8, String>> = (0..6u8)
            .map(|n| {
                let no = KeyNo::new(n).ok_or("key number")?;
                let r = d
                    .execute(&get_key_version(no), &mut rx)
                    .map_err(|e| e.to_string())?;
                KeyVersion::parse(&r)
                    .map(|v| v.0)
                    .map_err(|e| e.to_string())
            })
            .collect();
        let ok = versions.iter().all(|v| matches!(v, Ok(1)));
        let shown: Vec<String> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Ok(v) => format!("K{i}={v:02X}"),
                Err(e) => format!("K{i}: {e}"),
            })
            .collect();
        c.add(
            "key_versions",
            ok,
            format!("{} (want 01 each, §5)", shown.join(" ")),
        );
        match d
            .execute(&get_file_ids(), &mut rx)
            .map_err(|e| e.to_string())
            .and_then(|r| FileIds::parse(&r).map_err(|e| e.to_string()))
        {
            Ok(ids) => {
                let ids: Vec<u8> = ids.as_slice().iter().map(|f| f.value()).collect();
                c.add(
                    "file_ids",
                    ids == [CCF_FILE_NO.value()],
                    format!("files {ids:?} (want exactly [1], §7)"),
                );
            }
            Err(e) => {
                c.add("file_ids", false, format!("GetFileIDs: {e}"));
            }
        }
        file_checks(d, c);
    }
    // Every other key holds its diversified value (§5: no factory key anywhere).
    let mut failed = Vec::new();
    for (name, key_no, key) in [
        (
            "K2",
            AppKey::Read.key_no(),
            keys.card_key(CardKey::App(AppKey::Read), &uid).ok(),
        ),
        (
            "K3",
            AppKey::Write.key_no(),
            keys.card_key(CardKey::App(AppKey::Write), &uid).ok(),
        ),
        (
            "K4",
            AppKey::DelegatedRead.key_no(),
            keys.card_key(CardKey::App(AppKey::DelegatedRead), &uid)
                .ok(),
        ),
        (
            "K5",
            AppKey::Reserved.key_no(),
            keys.card_key(CardKey::App(AppKey::Reserved), &uid).ok(),
        ),
    ] {
        let ok = key.is_some_and(|k: AesKey| {
            let _ = d.execute(&select_application(profile.aid), &mut rx);
            d.authenticate_ev2_first(key_no, &k, &mut rng).is_ok()
        });
        if !ok {
            failed.push(name);
        }
    }
    c.add(
        "keys_diversified",
        failed.is_empty(),
        if failed.is_empty() {
            "K2, K3, K4, K5 hold their diversified values (§5, §6)".to_owned()
        } else {
            format!(
                "{} do not authenticate with their diversified values",
                failed.join(", ")
            )
        },
    );
    d.end_session();
    credential_checks(d, c, anticollision_uid, profile, now);
    Some(())
}

fn picc_checks<T: Transport, K: KeyProvider>(
    d: &mut Desfire<T>,
    c: &mut Checks,
    keys: &mut K,
    uid: &RealUid,
) where
    T::Error: Display,
{
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    let mut rx = [0u8; 64];
    let _ = d.execute(&select_application(Aid::PICC), &mut rx);
    let Ok(k) = keys.card_key(CardKey::PiccMaster, uid) else {
        return;
    };
    let auth = d.authenticate_ev2_first(KeyNo::MASTER, &k, &mut rng);
    if !c.add(
        "picc_master_key",
        auth.is_ok(),
        match &auth {
            Ok(()) => "PICC master key holds its diversified value (§3)".to_owned(),
            Err(e) => format!("PICC master key: {e}"),
        },
    ) {
        return;
    }
    let settings = d
        .execute(&get_key_settings(), &mut rx)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            KeyConfiguration::parse(&r)
                .map(|k| (k.settings.byte(), k.key_type))
                .map_err(|e| e.to_string())
        });
    match settings {
        Ok((s, kt)) => c.add(
            "picc_key_settings",
            s == PICC_KEY_SETTINGS && kt == KeyType::Aes,
            format!("{s:02X}, {kt:?} (want {PICC_KEY_SETTINGS:02X}, AES, §3)"),
        ),
        Err(e) => c.add("picc_key_settings", false, format!("GetKeySettings: {e}")),
    };
    let version = d
        .execute(&get_key_version(KeyNo::MASTER), &mut rx)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            KeyVersion::parse(&r)
                .map(|v| v.0)
                .map_err(|e| e.to_string())
        });
    match version {
        Ok(v) => c.add("picc_key_version", v == 1, format!("{v:02X} (want 01, §5)")),
        Err(e) => c.add("picc_key_version", false, format!("GetKeyVersion: {e}")),
    };
}

fn file_checks<T: Transport>(d: &mut Desfire<T>, c: &mut Checks)
where
    T::Error: Display,
{
    let mut rx = [0u8; 128];
    let r = match d.execute(&get_file_settings(CCF_FILE_NO), &mut rx) {
        Ok(r) => r,
        Err(e) => {
            c.add("file_settings", false, format!("GetFileSettings 01: {e}"));
            return;
        }
    };
    match FileSettings::parse(&r) {
        Ok(s) => {
            let size = match s.kind {
                FileKind::Data { size } => Some(size.value()),
                _ => None,
            };
            let ok_type =
                s.file_type == FileType::BackupData && size == u32::try_from(CCF_FILE_SIZE).ok();
            c.add(
                "file_type_size",
                ok_type,
                format!(
                    "{:?}, {} bytes (want a backup data file of 160, §7)",
                    s.file_type,
                    size.map_or_else(|| "?".to_owned(), |n| n.to_string())
                ),
            );
            c.add(
                "file_comm_mode",
                s.option & 0x03 == 0x03,
                format!("FileOption {:02X} (want Full, bits 1-0 = 11, §7)", s.option),
            );
            let rights = s.access_rights.to_wire();
            let want = CCF_ACCESS_RIGHTS.to_wire();
            c.add(
                "file_access_rights",
                rights == want && s.option & 0x80 == 0,
                format!(
                    "{} (want {}: R=K2 W=never RW=K3 Change=K0, no additional rights, §7)",
                    hex_text::upper(&rights),
                    hex_text::upper(&want)
                ),
            );
        }
        Err(e) => {
            c.add("file_settings", false, format!("GetFileSettings 01: {e}"));
        }
    }
}

fn credential_checks<T: Transport>(
    d: &mut Desfire<T>,
    c: &mut Checks,
    anticollision_uid: &[u8],
    profile: &Profile,
    now: u32,
) where
    T::Error: Display,
{
    // The reader procedure itself (§12), with the policy switch off: Random ID is its own row.
    let t = gen_pacs::read_as(
        gen_pacs::ReadPolicy::Card,
        crate::framing::Variant::Ad,
        d.transport_mut(),
        profile,
        true,
        anticollision_uid,
        now,
    );
    let reason = |r: &DenyReason| {
        spec_reason(r).map_or_else(|| r.to_string(), |(id, n)| format!("{id} ({n}): {r}"))
    };
    match t.verdict {
        Verdict::Grant(cred) => {
            c.add(
                "credential_format",
                true,
                format!(
                    "credential {:016X}, format 1.{} (§8)",
                    cred.credential_id, cred.format_minor
                ),
            );
            c.add("signature", true, "issuer signature verifies (§8.6)");
            c.add("validity", true, "valid now (§10)");
        }
        Verdict::Deny(r) => {
            let stage = match r {
                DenyReason::UnknownVersion(_)
                | DenyReason::MalformedCredential(_)
                | DenyReason::UnknownCriticalTag(_)
                | DenyReason::UnsupportedAlgorithm(_) => 1,
                DenyReason::UnknownIssuerKey(_) | DenyReason::BadSignature => 2,
                DenyReason::NotYetValid | DenyReason::Expired => 3,
                _ => 0,
            };
            if stage == 0 {
                c.add("credential_read", false, reason(&r));
                return;
            }
            for (n, name) in [(1, "credential_format"), (2, "signature"), (3, "validity")] {
                if n < stage {
                    c.add(name, true, "ok");
                } else if n == stage {
                    c.add(name, false, reason(&r));
                }
            }
        }
    }
}
