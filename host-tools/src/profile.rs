//! GEN-PACS profiles (`specs/generic-encoding.md` §5, §6, §16): one TOML file naming the AID,
//! the system identifier, the key masters, the issuer signing key (encoders), the issuer public
//! keys (readers) and the validity policy.
//!
//! Keys are given inline as hex only in a profile marked `test = true`; any other profile names
//! key files (`k2_file = "path"`, relative to the profile's directory), which are refused when
//! their mode gives group or others any access. No key is ever printed: keys live in
//! [`AesKey`] and [`IssuerSigningKey`], which redact themselves and zeroize on drop, and no
//! error message quotes a key field's value.
//!
//! `--profile lab` names the lab profile `specs/profiles/lab.toml`, built into the binary.

use std::path::{Path, PathBuf};

use desfire_core::crypto::AesKey;
use desfire_core::crypto::originality::{self, OriginalityKey};
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::provision::IsoIdentity;
use desfire_core::encoding::{
    IssuerKey, IssuerSigningKey, KEY_VERSION, Masters, OriginalityPolicy, OutputFormat, Revocation,
    SystemId,
};
use desfire_core::wire::Aid;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::args::{parse_aes_key, parse_aid, parse_hex};
use crate::card_image::SecretHex;

/// The lab profile's text (TEST keys, §16.1).
pub const LAB_TOML: &str = include_str!("../../specs/profiles/lab.toml");

/// The name `--profile` takes for the built-in lab profile.
pub const LAB: &str = "lab";

/// Settings that had another name once, and the one name the spec and the parser use
/// (spec §16.3, decision 0005 E2). A profile with an old name is refused with a message naming
/// the new one, never read silently as if the setting were absent.
pub const RENAMED: &[(&str, &str)] = &[("policy.allow_non_random_uid", "policy.allow_fixed_uid")];

/// Why a profile could not be used. Messages name the file and field, never a key's value.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The profile or a key file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML of the profile's shape.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The profile.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong (the TOML parser's message, without the source line).
        message: String,
    },
    /// A field has a bad value.
    #[error("{path}: {field}: {message}")]
    Field {
        /// The profile.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A key inline in a profile that is not marked `test = true`.
    #[error(
        "{path}: {field}: keys may be inline only in a profile marked `test = true`; \
         use {field}_file = \"path\" (a file of mode 600)"
    )]
    InlineKey {
        /// The profile.
        path: PathBuf,
        /// The field.
        field: String,
    },
    /// Both the inline key and the key file are given.
    #[error("{path}: give either {field} or {field}_file, not both")]
    KeyTwice {
        /// The profile.
        path: PathBuf,
        /// The field.
        field: String,
    },
    /// A key file that group or others may access.
    #[error(
        "{path}: key file is accessible by group or others (mode {mode:03o}); \
         `chmod 600` it"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The profile lacks a key this command needs.
    #[error("{profile}: this command needs {what}, which the profile does not give")]
    MissingKey {
        /// The profile's name.
        profile: String,
        /// Which key.
        what: &'static str,
    },
}

/// What a profile allows (§10, §11, §12 step 12, §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Accept cards whose anticollision UID is fixed (Random ID off).
    pub allow_fixed_uid: bool,
    /// Validity of a new credential when `encode` gets no `--valid-until`.
    pub default_validity_days: u32,
    /// Step 12, `originality = "off" | "log" | "require"` (default off).
    pub originality: OriginalityPolicy,
    /// Step 11, `output = "osdp" | "extended" | "legacy-wiegand"` (default osdp); `desfire
    /// reader --output` overrides it.
    pub output: OutputFormat,
}

/// ISO identity of the application and of the credential file (§4.1, §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iso {
    /// ISO FID of the application.
    pub app_fid: u16,
    /// ISO FID of file 01.
    pub ccf_fid: u16,
    /// DF name of the application.
    pub df_name: Vec<u8>,
}

impl Iso {
    /// The form the provisioning plan takes.
    pub fn identity(&self) -> IsoIdentity<'_> {
        IsoIdentity {
            app_fid: self.app_fid,
            df_name: &self.df_name,
            ccf_fid: self.ccf_fid,
        }
    }
}

/// A loaded profile.
#[derive(Debug)]
pub struct Profile {
    /// `lab`, or the file's path, for messages.
    pub name: String,
    /// Marked `test = true`: TEST keys, never for real cards.
    pub test: bool,
    /// The GEN-PACS application.
    pub aid: Aid,
    /// The diversification system identifier.
    pub system: SystemId,
    /// ISO identity of the application and file.
    pub iso: Iso,
    /// PICC master and K0-K5 masters, K1 itself: whatever this party holds.
    pub masters: Masters,
    /// Tag 80.
    pub issuer_id: IssuerId,
    /// The issuer signing key (encoders).
    pub signing_key: Option<IssuerSigningKey>,
    /// Trusted issuer public keys (readers).
    pub issuer_keys: Vec<IssuerKey>,
    /// Validity, UID, originality and output policy.
    pub policy: Policy,
    /// The generations (key version bytes) of K2 this reader holds when it holds two
    /// (`keys.k2_next`): then step 5 runs (§5, R16). Empty: one generation, no step 5.
    pub read_key_generations: Vec<u8>,
    /// Originality keys step 12 trusts: NXP's EV3 key, and in a `test = true` profile with
    /// `policy.originality_test_key = true` the virtual card's TEST key.
    pub originality_keys: Vec<OriginalityKey>,
    /// The controller's revocation list (§10) for this profile's issuer.
    pub revocation: Vec<Revocation>,
}

impl Profile {
    /// `lab` is the built-in lab profile; anything else is a file.
    pub fn load(arg: &str) -> Result<Self, ProfileError> {
        if arg == LAB {
            Self::parse(LAB_TOML, Path::new("lab"), None)
        } else {
            let path = Path::new(arg);
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                ProfileError::Io {
                    path: path.to_owned(),
                    source,
                }
            })?);
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
                _ => PathBuf::from("."),
            };
            Self::parse(&text, path, Some(&dir))
        }
    }

    /// Parses profile text; `path` names it in messages, key files are relative to `dir`
    /// (`None`: key files are not allowed, as in the built-in profile).
    pub fn parse(text: &str, path: &Path, dir: Option<&Path>) -> Result<Self, ProfileError> {
        if let Ok(table) = toml::from_str::<toml::Table>(text) {
            for (old, new) in RENAMED {
                let present = old
                    .split_once('.')
                    .and_then(|(t, k)| table.get(t)?.as_table()?.get(k))
                    .is_some();
                if present {
                    return Err(ProfileError::Field {
                        path: path.to_owned(),
                        field: (*old).to_owned(),
                        message: format!("this setting is called {new} (spec section 16.3)"),
                    });
                }
            }
        }
        let raw: RawProfile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            ProfileError::Syntax {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let field = |field: &str, message: String| ProfileError::Field {
            path: path.to_owned(),
            field: field.to_owned(),
            message,
        };
        let aid = parse_aid("aid", &raw.aid).map_err(|e| field("aid", e.to_string()))?;
        let system = match (&raw.system_id, &raw.system_id_hex) {
            (Some(s), None) => <[u8; 8]>::try_from(s.as_bytes())
                .map_err(|_| field("system_id", "must be 8 ASCII characters".into()))?,
            (None, Some(h)) => parse_hex("system_id_hex", h)
                .ok()
                .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
                .ok_or_else(|| field("system_id_hex", "must be 8 bytes (16 hex digits)".into()))?,
            (None, None) => *b"GEN-PACS",
            (Some(_), Some(_)) => {
                return Err(field(
                    "system_id",
                    "give system_id or system_id_hex, not both".into(),
                ));
            }
        };
        let iso = match &raw.iso {
            None => Iso {
                app_fid: 0xAC01,
                ccf_fid: 0xAC11,
                df_name: b"\xF0GEN-PACS01".to_vec(),
            },
            Some(i) => Iso {
                app_fid: fid(&i.app_fid).ok_or_else(|| field("iso.app_fid", FID.into()))?,
                ccf_fid: fid(&i.ccf_fid).ok_or_else(|| field("iso.ccf_fid", FID.into()))?,
                df_name: parse_hex("iso.df_name", &i.df_name)
                    .ok()
                    .filter(|v| (1..=16).contains(&v.len()))
                    .ok_or_else(|| field("iso.df_name", "must be 1 to 16 bytes of hex".into()))?,
            },
        };
        let keys = KeySource {
            path,
            dir,
            test: raw.test,
        };
        let k = &raw.keys;
        let masters = Masters {
            picc: keys.aes("keys.picc_master", &k.picc_master, &k.picc_master_file)?,
            amk: keys.aes("keys.k0", &k.k0, &k.k0_file)?,
            kuid: keys.aes("keys.k1", &k.k1, &k.k1_file)?,
            read: keys.aes("keys.k2", &k.k2, &k.k2_file)?,
            read_version: k.k2_version.unwrap_or(KEY_VERSION),
            read_next: match keys.aes("keys.k2_next", &k.k2_next, &k.k2_next_file)? {
                None => None,
                Some(next) => {
                    let version = k
                        .k2_next_version
                        .or_else(|| k.k2_version.unwrap_or(KEY_VERSION).checked_add(1))
                        .ok_or_else(|| field("keys.k2_next_version", "must be given".into()))?;
                    if version == k.k2_version.unwrap_or(KEY_VERSION) {
                        return Err(field(
                            "keys.k2_next_version",
                            "must differ from keys.k2_version".into(),
                        ));
                    }
                    Some((version, next))
                }
            },
            write: keys.aes("keys.k3", &k.k3, &k.k3_file)?,
            delegated_read: keys.aes("keys.k4", &k.k4, &k.k4_file)?,
            reserved: keys.aes("keys.k5", &k.k5, &k.k5_file)?,
            ..Masters::new(aid, SystemId(system))
        };
        let issuer_id = match (&raw.issuer.id, &raw.issuer.id_hex) {
            (Some(s), None) => IssuerId::new(s.as_bytes()),
            (None, Some(h)) => parse_hex("issuer.id_hex", h)
                .ok()
                .and_then(|v| IssuerId::new(&v)),
            _ => None,
        }
        .ok_or_else(|| {
            field(
                "issuer.id",
                "give issuer.id (ASCII) or issuer.id_hex, 1 to 16 bytes".into(),
            )
        })?;
        let signing_key = match &raw.issuer.signing_key_id {
            None => None,
            Some(id) => {
                let key_id =
                    key_id(id).ok_or_else(|| field("issuer.signing_key_id", KEY_ID.into()))?;
                let secret = keys.secret(
                    "issuer.signing_key",
                    &raw.issuer.signing_key,
                    &raw.issuer.signing_key_file,
                )?;
                match secret {
                    None => None,
                    Some(text) => {
                        let mut bytes = Zeroizing::new(Vec::new());
                        let scalar = crate::hex_text::decode_into(&text, &mut bytes)
                            .ok()
                            .and_then(|()| <[u8; 32]>::try_from(bytes.as_slice()).ok())
                            .map(Zeroizing::new);
                        Some(
                            scalar
                                .and_then(|s| {
                                    IssuerSigningKey::from_bytes(issuer_id.clone(), key_id, &s)
                                })
                                .ok_or_else(|| {
                                    field(
                                        "issuer.signing_key",
                                        "must be a P-256 private scalar, 32 bytes of hex".into(),
                                    )
                                })?,
                        )
                    }
                }
            }
        };
        let mut issuer_keys = Vec::new();
        for (i, pk) in raw.issuer.public_keys.iter().enumerate() {
            let name = format!("issuer.public_keys[{i}]");
            let id = key_id(&pk.key_id).ok_or_else(|| field(&name, KEY_ID.into()))?;
            let key = parse_hex(&name, &pk.public_key)
                .ok()
                .and_then(|b| IssuerKey::from_sec1(issuer_id.clone(), id, &b))
                .ok_or_else(|| {
                    field(
                        &name,
                        "public_key must be a P-256 point in SEC1 form (hex)".into(),
                    )
                })?;
            // §8.5 rule 8: the key's published validity `valid_from <= t < valid_until`.
            let date = |what: &str, text: &Option<String>| {
                text.as_deref()
                    .map(|t| {
                        crate::gen_pacs::parse_date(what, t)
                            .map_err(|e| field(&format!("{name}.{what}"), e.to_string()))
                    })
                    .transpose()
            };
            let key = match (
                date("valid_from", &pk.valid_from)?,
                date("valid_until", &pk.valid_until)?,
            ) {
                (None, None) => key,
                (from, until) => {
                    let (from, until) = (from.unwrap_or(0), until.unwrap_or(u32::MAX));
                    if from >= until {
                        return Err(field(
                            &format!("{name}.valid_until"),
                            "must be after valid_from".into(),
                        ));
                    }
                    key.with_validity(from, until)
                }
            };
            issuer_keys.push(key);
        }
        let read_key_generations = match &masters.read_next {
            Some((next, _)) => vec![masters.read_version, *next],
            None => Vec::new(),
        };
        let originality = match raw.policy.originality.as_deref() {
            None | Some("off") => OriginalityPolicy::Off,
            Some("log") => OriginalityPolicy::Log,
            Some("require") => OriginalityPolicy::Require,
            Some(_) => {
                return Err(field(
                    "policy.originality",
                    "must be \"off\", \"log\" or \"require\"".into(),
                ));
            }
        };
        let output = match raw.policy.output.as_deref() {
            None => OutputFormat::Osdp,
            Some(text) => parse_output(text).ok_or_else(|| {
                field(
                    "policy.output",
                    "must be \"osdp\", \"extended\" or \"legacy-wiegand\"".into(),
                )
            })?,
        };
        // R15: the virtual card's TEST originality key is trusted by TEST profiles only.
        let mut originality_keys = originality::NXP_KEYS
            .iter()
            .filter(|k| k.product == "MIFARE DESFire EV3")
            .copied()
            .collect::<Vec<_>>();
        if raw.policy.originality_test_key {
            if !raw.test {
                return Err(field(
                    "policy.originality_test_key",
                    "the TEST originality key is trusted only in a profile marked `test = true`"
                        .into(),
                ));
            }
            originality_keys.push(originality::TEST_KEY);
        }
        let mut revocation = Vec::new();
        for (i, id) in raw.revocation.deny_list.iter().enumerate() {
            let credential_id = credential_id(id)
                .ok_or_else(|| field(&format!("revocation.deny_list[{i}]"), CRED_ID.into()))?;
            revocation.push(Revocation::DenyListed {
                issuer: issuer_id.clone(),
                credential_id,
            });
        }
        for (id, issue_number) in &raw.revocation.current_issue {
            let credential_id = credential_id(id)
                .ok_or_else(|| field(&format!("revocation.current_issue.{id}"), CRED_ID.into()))?;
            revocation.push(Revocation::CurrentIssue {
                issuer: issuer_id.clone(),
                credential_id,
                issue_number: *issue_number,
            });
        }
        Ok(Self {
            name: path.display().to_string(),
            test: raw.test,
            aid,
            system: SystemId(system),
            iso,
            masters,
            issuer_id,
            signing_key,
            issuer_keys,
            policy: Policy {
                allow_fixed_uid: raw.policy.allow_fixed_uid,
                default_validity_days: raw.policy.default_validity_days.unwrap_or(365),
                originality,
                output,
            },
            read_key_generations,
            originality_keys,
            revocation,
        })
    }

    /// Fails unless the profile holds every key `keys` names.
    pub fn require(&self, keys: &[Needed]) -> Result<(), ProfileError> {
        let m = &self.masters;
        for need in keys {
            let present = match need {
                Needed::PiccMaster => m.picc.is_some(),
                Needed::K0 => m.amk.is_some(),
                Needed::K1 => m.kuid.is_some(),
                Needed::K2 => m.read.is_some(),
                Needed::K3 => m.write.is_some(),
                Needed::K4 => m.delegated_read.is_some(),
                Needed::K5 => m.reserved.is_some(),
                Needed::SigningKey => self.signing_key.is_some(),
                Needed::IssuerKeys => !self.issuer_keys.is_empty(),
            };
            if !present {
                return Err(ProfileError::MissingKey {
                    profile: self.name.clone(),
                    what: need.name(),
                });
            }
        }
        Ok(())
    }

    /// The one-line warning every use of a test profile prints on standard error.
    pub fn warn_if_test(&self) {
        if self.test {
            eprintln!(
                "desfire: WARNING: profile {} is a TEST profile with PUBLIC keys: never use it \
                 for real cards or readers",
                self.name
            );
        }
    }
}

/// A key a command needs from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// The PICC master key's master.
    PiccMaster,
    /// K0 master.
    K0,
    /// K1.
    K1,
    /// K2 master.
    K2,
    /// K3 master.
    K3,
    /// K4 master.
    K4,
    /// K5 master.
    K5,
    /// The issuer signing key.
    SigningKey,
    /// At least one issuer public key.
    IssuerKeys,
}

impl Needed {
    /// The masters of every key a GEN-PACS card holds (§5): what personalising a card and
    /// checking it take.
    pub const CARD_MASTERS: [Needed; 7] = [
        Needed::PiccMaster,
        Needed::K0,
        Needed::K1,
        Needed::K2,
        Needed::K3,
        Needed::K4,
        Needed::K5,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::PiccMaster => "keys.picc_master",
            Self::K0 => "keys.k0",
            Self::K1 => "keys.k1",
            Self::K2 => "keys.k2",
            Self::K3 => "keys.k3",
            Self::K4 => "keys.k4",
            Self::K5 => "keys.k5",
            Self::SigningKey => "issuer.signing_key_id and issuer.signing_key",
            Self::IssuerKeys => "issuer.public_keys",
        }
    }
}

const FID: &str = "must be 2 bytes (4 hex digits)";
const CRED_ID: &str = "a credential ID is 8 bytes (16 hex digits)";

/// `osdp`, `extended` or `legacy-wiegand` (spec §14).
pub fn parse_output(text: &str) -> Option<OutputFormat> {
    match text {
        "osdp" => Some(OutputFormat::Osdp),
        "extended" => Some(OutputFormat::Extended),
        "legacy-wiegand" => Some(OutputFormat::LegacyWiegand),
        _ => None,
    }
}

fn credential_id(text: &str) -> Option<u64> {
    let v = parse_hex("credential ID", text).ok()?;
    <[u8; 8]>::try_from(v.as_slice())
        .ok()
        .map(u64::from_be_bytes)
}
const KEY_ID: &str = "key_id must be 1 or 2 bytes of hex";

fn fid(text: &str) -> Option<u16> {
    let v = parse_hex("fid", text).ok()?;
    <[u8; 2]>::try_from(v.as_slice())
        .ok()
        .map(u16::from_be_bytes)
}

fn key_id(text: &str) -> Option<KeyId> {
    match parse_hex("key_id", text).ok()?.as_slice() {
        bytes @ ([_] | [_, _]) => KeyId::new(bytes),
        _ => None,
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        .saturating_add(1);
    (line, column)
}

struct KeySource<'a> {
    path: &'a Path,
    dir: Option<&'a Path>,
    test: bool,
}

impl KeySource<'_> {
    /// The key text from the inline field or the key file; `None` when neither is given.
    fn secret(
        &self,
        field: &str,
        inline: &Option<SecretHex>,
        file: &Option<PathBuf>,
    ) -> Result<Option<Zeroizing<String>>, ProfileError> {
        match (inline, file) {
            (Some(_), Some(_)) => Err(ProfileError::KeyTwice {
                path: self.path.to_owned(),
                field: field.to_owned(),
            }),
            (Some(_), None) if !self.test => Err(ProfileError::InlineKey {
                path: self.path.to_owned(),
                field: field.to_owned(),
            }),
            (Some(k), None) => Ok(Some(Zeroizing::new(k.expose().to_owned()))),
            (None, Some(f)) => {
                let Some(dir) = self.dir else {
                    return Err(ProfileError::Field {
                        path: self.path.to_owned(),
                        field: format!("{field}_file"),
                        message: "the built-in profile cannot name key files".into(),
                    });
                };
                let path = dir.join(f);
                read_key_file(&path).map(Some)
            }
            (None, None) => Ok(None),
        }
    }

    fn aes(
        &self,
        field: &str,
        inline: &Option<SecretHex>,
        file: &Option<PathBuf>,
    ) -> Result<Option<AesKey>, ProfileError> {
        let Some(text) = self.secret(field, inline, file)? else {
            return Ok(None);
        };
        let stripped: Zeroizing<String> = Zeroizing::new(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(""),
        );
        parse_aes_key(field, &stripped)
            .map(Some)
            .map_err(|e| ProfileError::Field {
                path: self.path.to_owned(),
                field: field.to_owned(),
                message: e.to_string(),
            })
    }
}

/// Reads a key file after checking that only its owner may access it.
pub fn read_key_file(path: &Path) -> Result<Zeroizing<String>, ProfileError> {
    let io = |source| ProfileError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    check_mode(path, &meta)?;
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(io)
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), ProfileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ProfileError::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path, _: &std::fs::Metadata) -> Result<(), ProfileError> {
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    test: bool,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    aid: String,
    system_id: Option<String>,
    system_id_hex: Option<String>,
    iso: Option<RawIso>,
    #[serde(default)]
    keys: RawKeys,
    issuer: RawIssuer,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    revocation: RawRevocation,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevocation {
    #[serde(default)]
    deny_list: Vec<String>,
    #[serde(default)]
    current_issue: std::collections::BTreeMap<String, u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIso {
    app_fid: String,
    ccf_fid: String,
    df_name: String,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    picc_master: Option<SecretHex>,
    picc_master_file: Option<PathBuf>,
    k0: Option<SecretHex>,
    k0_file: Option<PathBuf>,
    k1: Option<SecretHex>,
    k1_file: Option<PathBuf>,
    k2: Option<SecretHex>,
    k2_file: Option<PathBuf>,
    k2_version: Option<u8>,
    k2_next: Option<SecretHex>,
    k2_next_file: Option<PathBuf>,
    k2_next_version: Option<u8>,
    k3: Option<SecretHex>,
    k3_file: Option<PathBuf>,
    k4: Option<SecretHex>,
    k4_file: Option<PathBuf>,
    k5: Option<SecretHex>,
    k5_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    id: Option<String>,
    id_hex: Option<String>,
    signing_key_id: Option<String>,
    signing_key: Option<SecretHex>,
    signing_key_file: Option<PathBuf>,
    #[serde(default)]
    public_keys: Vec<RawPublicKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublicKey {
    key_id: String,
    public_key: String,
    valid_from: Option<String>,
    valid_until: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    allow_fixed_uid: bool,
    default_validity_days: Option<u32>,
    originality: Option<String>,
    #[serde(default)]
    originality_test_key: bool,
    output: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_profile_has_the_test_keys() {
        let p = Profile::load(LAB).unwrap();
        assert!(p.test);
        assert_eq!(p.aid.to_wire(), [0x01, 0xC5, 0x0A]);
        assert_eq!(p.system, SystemId::GEN_PACS);
        assert_eq!(p.iso.df_name, b"\xF0GEN-PACS01");
        assert_eq!(p.masters.amk.as_ref().unwrap().expose()[..2], [0x00, 0x01]);
        assert_eq!(p.masters.reserved.as_ref().unwrap().expose()[0], 0x50);
        assert_eq!(p.issuer_id.as_bytes(), b"SE0000000000");
        assert_eq!(p.signing_key.as_ref().unwrap().key_id(), KeyId::one(1));
        assert_eq!(p.issuer_keys.len(), 1);
        assert!(!p.policy.allow_fixed_uid);
        // Nothing of a key in Debug.
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("C9AF") && !shown.contains("202122"),
            "{shown}"
        );
    }

    #[test]
    fn the_spec_k0_example_diversifies() {
        let p = Profile::load(LAB).unwrap();
        let mut m = p.masters.clone();
        use desfire_core::encoding::{AppKey, CardKey, KeyProvider};
        let k0 = m
            .card_key(
                CardKey::App(AppKey::Amk),
                &[0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80],
            )
            .unwrap();
        assert_eq!(
            crate::hex_text::upper(k0.expose()),
            "E680134BFB864DDCAD199DED2B7ABF79"
        );
    }

    #[test]
    fn inline_keys_only_in_test_profiles() {
        let text = LAB_TOML.replace("test = true", "test = false");
        let e = Profile::parse(&text, Path::new("p.toml"), None).unwrap_err();
        assert!(
            matches!(e, ProfileError::InlineKey { ref field, .. } if field == "keys.picc_master"),
            "{e}"
        );
        assert!(!e.to_string().contains("E0E1"));
    }

    #[test]
    fn syntax_errors_say_where_and_not_what() {
        let text = "aid = \"0AC501\"\n[keys]\nk0 = 000102030405060708090A0B0C0D0E0F\n";
        let e = Profile::parse(text, Path::new("p.toml"), None).unwrap_err();
        let ProfileError::Syntax { line, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*line, 3);
        assert!(!e.to_string().contains("0A0B0C"), "{e}");
        let e = Profile::parse(
            "aid = \"0AC501\"\nbogus = 1\n[issuer]\nid = \"X\"\n",
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, ProfileError::Syntax { line: 2, .. }), "{e}");
        let e = Profile::parse(
            "aid = \"0AC5\"\n[issuer]\nid = \"X\"\n",
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(e, ProfileError::Field { ref field, .. } if field == "aid"),
            "{e}"
        );
    }

    #[test]
    fn reader_policy_fields() {
        let p = Profile::load(LAB).unwrap();
        assert_eq!(p.policy.originality, OriginalityPolicy::Off);
        assert_eq!(p.policy.output, OutputFormat::Osdp);
        assert!(
            p.read_key_generations.is_empty(),
            "one generation: no step 5"
        );
        // The audit's T10b and T10c cards (§17) are revoked by the lab controller.
        assert_eq!(p.revocation.len(), 2);
        // NXP's EV3 key, then the virtual card's TEST key (test = true only).
        assert_eq!(p.originality_keys.len(), 2);
        assert_eq!(p.originality_keys[1], originality::TEST_KEY);

        let base = "aid = \"0AC501\"\n[issuer]\nid = \"SE\"\n";
        let parse = |extra: &str| Profile::parse(&format!("{base}{extra}"), Path::new("p"), None);
        let field_of = |e: ProfileError| match e {
            ProfileError::Field { field, .. } => field,
            e => panic!("{e}"),
        };
        let e = parse("[policy]\noriginality_test_key = true\n").unwrap_err();
        assert_eq!(field_of(e), "policy.originality_test_key");
        let p = parse("[policy]\noriginality = \"require\"\n").unwrap();
        assert_eq!(p.policy.originality, OriginalityPolicy::Require);
        assert_eq!(p.originality_keys.len(), 1, "NXP's EV3 key only");
        assert_eq!(p.originality_keys[0].product, "MIFARE DESFire EV3");
        let e = parse("[policy]\noriginality = \"on\"\n").unwrap_err();
        assert_eq!(field_of(e), "policy.originality");
        let e = parse("[policy]\noutput = \"wiegand\"\n").unwrap_err();
        assert_eq!(field_of(e), "policy.output");
        let p = parse(
            "[revocation]\ndeny_list = [\"1A2B3C4D5E6F7081\"]\n\
             [revocation.current_issue]\n\"C3D2E1F00F1E2D3C\" = 4\n",
        )
        .unwrap();
        let issuer = IssuerId::new(b"SE").unwrap();
        assert_eq!(
            p.revocation,
            [
                Revocation::DenyListed {
                    issuer: issuer.clone(),
                    credential_id: 0x1A2B_3C4D_5E6F_7081
                },
                Revocation::CurrentIssue {
                    issuer,
                    credential_id: 0xC3D2_E1F0_0F1E_2D3C,
                    issue_number: 4
                }
            ]
        );
        let e = parse("[revocation.current_issue]\n\"12\" = 1\n").unwrap_err();
        assert_eq!(field_of(e), "revocation.current_issue.12");
        // Two K2 generations: step 5 with both versions; the next one defaults to N+1.
        let text = LAB_TOML.replace(
            "k2_version = 1\n",
            "k2_version = 4\nk2_next = \"808182838485868788898A8B8C8D8E8F\"\n",
        );
        let p = Profile::parse(&text, Path::new("p"), None).unwrap();
        assert_eq!(p.read_key_generations, [4, 5]);
        let text = LAB_TOML.replace(
            "k2_version = 1\n",
            "k2_next = \"808182838485868788898A8B8C8D8E8F\"\nk2_next_version = 1\n",
        );
        let e = Profile::parse(&text, Path::new("p"), None).unwrap_err();
        assert_eq!(field_of(e), "keys.k2_next_version");
    }

    /// The spec's text, for the naming test.
    const SPEC: &str = include_str!("../../specs/generic-encoding.md");

    /// The setting names of spec §16.3's table (first column).
    fn spec_table_settings() -> std::collections::BTreeSet<String> {
        let start = SPEC.find("### 16.3 Profile settings").expect("spec §16.3");
        let end = start + SPEC[start..].find("\n## ").expect("end of §16.3");
        SPEC[start..end]
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`'))
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The names the parser accepts in one table, from its own refusal of an unknown key
    /// ("unknown field `x`, expected one of `a`, `b`, …"): the parser's list, not a copy.
    fn parser_settings_of(section: &str, prefix: &str) -> Vec<String> {
        let text = if section.is_empty() {
            format!("zz_unknown = 1\n{LAB_TOML}")
        } else {
            let header = format!("{section}\n");
            assert!(LAB_TOML.contains(&header), "{section} in lab.toml");
            LAB_TOML.replacen(&header, &format!("{header}zz_unknown = 1\n"), 1)
        };
        let message = match Profile::parse(&text, Path::new("p"), None) {
            Err(ProfileError::Syntax { message, .. }) => message,
            other => panic!("{section}: an unknown key must be refused: {other:?}"),
        };
        let expected = message
            .split_once("expected")
            .unwrap_or_else(|| panic!("{section}: {message}"))
            .1;
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|name| format!("{prefix}{name}"))
            .collect()
    }

    /// Spec §16.3: every setting the spec names exists in the parser under that name, and
    /// every setting the parser accepts is in the spec's table; a former name is refused with
    /// the current one in the message.
    #[test]
    fn the_spec_and_the_parser_name_the_same_settings() {
        let mut parser = std::collections::BTreeSet::new();
        for (section, prefix) in [
            ("", ""),
            ("[iso]", "iso."),
            ("[keys]", "keys."),
            ("[issuer]", "issuer."),
            ("[[issuer.public_keys]]", "issuer.public_keys[]."),
            ("[policy]", "policy."),
            ("[revocation]", "revocation."),
        ] {
            parser.extend(parser_settings_of(section, prefix));
        }
        let tables: std::collections::BTreeSet<String> =
            ["iso", "keys", "issuer", "policy", "revocation"]
                .into_iter()
                .map(str::to_owned)
                .collect();
        // The sub-tables are settings of their own only where they are lists or maps.
        let parser: std::collections::BTreeSet<String> =
            parser.difference(&tables).cloned().collect();
        let spec = spec_table_settings();
        assert!(spec.len() > 40, "{spec:?}");
        assert_eq!(
            spec.difference(&parser).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "named in spec §16.3 but unknown to the parser"
        );
        assert_eq!(
            parser.difference(&spec).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "accepted by the parser but missing from spec §16.3"
        );

        // Every dotted setting name anywhere in the spec is one of them.
        for token in SPEC.split('`').skip(1).step_by(2) {
            let name = token.split([' ', '=']).next().unwrap_or("");
            let dotted = ["iso.", "keys.", "issuer.", "policy.", "revocation."]
                .iter()
                .any(|p| name.starts_with(p));
            let renamed = RENAMED.iter().any(|(old, _)| *old == name);
            if dotted && !renamed {
                assert!(spec.contains(name), "the spec names `{name}`, not in §16.3");
            }
        }

        // A former name: refused, naming the current one, and never in the lab profile.
        for (old, new) in RENAMED {
            let (table, key) = old.split_once('.').unwrap();
            let text = LAB_TOML.replacen(
                &format!("[{table}]\n"),
                &format!("[{table}]\n{key} = true\n"),
                1,
            );
            let e = Profile::parse(&text, Path::new("p"), None).unwrap_err();
            assert!(
                matches!(&e, ProfileError::Field { field, message, .. }
                    if field == old && message.contains(new)),
                "{e}"
            );
            assert!(spec.contains(*new) && !spec.contains(*old));
        }
    }

    /// §8.5 rule 8: an issuer key's published validity comes from the profile.
    #[test]
    fn issuer_key_validity_comes_from_the_profile() {
        let with = |extra: &str| {
            LAB_TOML.replacen(
                "[[issuer.public_keys]]\n",
                &format!("[[issuer.public_keys]]\n{extra}"),
                1,
            )
        };
        let p = Profile::parse(
            &with("valid_from = \"2026-01-01\"\nvalid_until = \"2027-01-01\"\n"),
            Path::new("p"),
            None,
        )
        .unwrap();
        let key = &p.issuer_keys[0];
        let issuer = IssuerId::lab_test();
        let id = KeyId::one(1);
        assert!(!key.names(&issuer, id, Some(1_767_225_599)));
        assert!(key.names(&issuer, id, Some(1_767_225_600)));
        assert!(key.names(&issuer, id, Some(1_798_761_599)));
        assert!(!key.names(&issuer, id, Some(1_798_761_600)));
        // Without a period the key is valid at any time.
        let p = Profile::load(LAB).unwrap();
        assert!(p.issuer_keys[0].names(&issuer, id, Some(u32::MAX)));
        let e = Profile::parse(
            &with("valid_from = \"2027-01-01\"\nvalid_until = \"2026-01-01\"\n"),
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ProfileError::Field { field, .. }
                if field == "issuer.public_keys[0].valid_until"),
            "{e}"
        );
        let e = Profile::parse(&with("valid_from = \"soon\"\n"), Path::new("p"), None).unwrap_err();
        assert!(
            matches!(&e, ProfileError::Field { field, .. }
                if field == "issuer.public_keys[0].valid_from"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("profile-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("k2.key");
        std::fs::write(&key, "# K2 master\n202122232425262728292A2B2C2D2E2F\n").unwrap();
        let text = "aid = \"0AC501\"\n[keys]\nk2_file = \"k2.key\"\n[issuer]\nid = \"SE\"\n";
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Profile::parse(text, Path::new("p.toml"), Some(&dir)).unwrap_err();
        assert!(
            matches!(e, ProfileError::KeyFilePermissions { mode: 0o644, .. }),
            "{e}"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let p = Profile::parse(text, Path::new("p.toml"), Some(&dir)).unwrap();
        assert_eq!(p.masters.read.as_ref().unwrap().expose()[0], 0x20);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
