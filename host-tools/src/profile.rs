//! GEN-PACS profiles (`specs/generic-encoding.md` §5, §6, §16): one TOML file naming the AID,
//! the system identifier, the key masters, the issuer signing key (encoders), the issuer public
//! keys (readers) and the validity policy.
//!
//! Keys are given inline as hex only in a profile marked `test = true`; any other profile names
//! key files (`k2_file = "path"`, relative to the profile's directory), which are refused unless
//! they are regular files, not symbolic links, owned by the user running the tool and of a mode
//! that gives group and others no access; or keys in a PKCS#11 token (`k2_label = "label"` with
//! an `[hsm]` table naming the module, the token and where its PIN comes from: see
//! [`crate::hsm`]). No key is ever printed: keys live in [`AesKey`] and [`IssuerSigningKey`],
//! which redact themselves and zeroize on drop, and no error message quotes a key field's value.
//!
//! A profile that is not marked `test = true` refuses the TEST values of spec §16 (R15): the
//! lab AID, the TEST masters and K1 (from files, or in the token, found by diversifying a probe
//! input there), and the TEST issuer key (as a trusted public key, a signing key file, or in the
//! token, found by verifying a probe signature with the TEST public key).
//!
//! `--profile lab` names the lab profile `specs/profiles/lab.toml`, built into the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use desfire_core::crypto::originality::{self, OriginalityKey};
use desfire_core::crypto::{AesKey, an10922_aes128};
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::provision::IsoIdentity;
use desfire_core::encoding::{
    AppKey, CardKey, IssuerKey, IssuerSigner, IssuerSigningKey, KEY_VERSION, Masters,
    OriginalityPolicy, OutputFormat, Revocation, SystemId, TbsDigest, lab,
};
use desfire_core::wire::Aid;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::args::{parse_aes_key, parse_aid, parse_hex};
use crate::card_image::SecretHex;
use crate::hsm::{
    CardKeys, HsmError, Kind, PinSource, Token, TokenConfig, TokenKeys, TokenObject, TokenSigner,
};

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
    /// A key file that is a symbolic link, not a regular file, or owned by another user, or
    /// one whose owner and mode cannot be checked on this platform.
    #[error("{path}: {problem}")]
    KeyFileUnsafe {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The PKCS#11 token could not be used.
    #[error("{path}: {source}")]
    Token {
        /// The profile.
        path: PathBuf,
        /// Why.
        source: HsmError,
    },
    /// A TEST value of spec §16 in a profile not marked `test = true` (R15).
    #[error(
        "{path}: {field}: {what} is a public TEST value of spec section 16; a profile without \
         `test = true` refuses it (R15)"
    )]
    TestValue {
        /// The profile.
        path: PathBuf,
        /// The field.
        field: String,
        /// Which TEST value.
        what: &'static str,
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
    /// PICC master and K0-K5 masters, K1 itself: whatever this party holds in memory (inline
    /// or in key files). Keys in a token are in [`Profile::token`]; [`Profile::card_keys`]
    /// gives both.
    pub masters: Masters,
    /// The masters held in a PKCS#11 token (`*_label` keys and `[hsm]`).
    pub token: Option<TokenKeys>,
    /// The issuer signing key in a PKCS#11 token (`issuer.signing_key_label`).
    pub token_signer: Option<TokenSigner>,
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
        let labels = key_labels(&raw);
        // Both generations of K2 in one place: a reader derives either the same way.
        if k.k2_next_label.is_some() != k.k2_label.is_some()
            && (k.k2_next_label.is_some() || k.k2_next.is_some() || k.k2_next_file.is_some())
        {
            return Err(field(
                "keys.k2_next_label",
                "keys.k2 and keys.k2_next must both be in the token or both outside it".into(),
            ));
        }
        for (name, label, inline, file) in [
            (
                "keys.picc_master",
                &k.picc_master_label,
                &k.picc_master,
                &k.picc_master_file,
            ),
            ("keys.k0", &k.k0_label, &k.k0, &k.k0_file),
            ("keys.k1", &k.k1_label, &k.k1, &k.k1_file),
            ("keys.k2", &k.k2_label, &k.k2, &k.k2_file),
            (
                "keys.k2_next",
                &k.k2_next_label,
                &k.k2_next,
                &k.k2_next_file,
            ),
            ("keys.k3", &k.k3_label, &k.k3, &k.k3_file),
            ("keys.k4", &k.k4_label, &k.k4, &k.k4_file),
            ("keys.k5", &k.k5_label, &k.k5, &k.k5_file),
            (
                "issuer.signing_key",
                &raw.issuer.signing_key_label,
                &raw.issuer.signing_key,
                &raw.issuer.signing_key_file,
            ),
        ] {
            if label.is_some() && (inline.is_some() || file.is_some()) {
                return Err(field(
                    &format!("{name}_label"),
                    format!("give one of {name}, {name}_file and {name}_label"),
                ));
            }
        }
        let mut masters = Masters {
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
        let token_config = token_config(&raw, path, dir)?;
        if token_config.is_none() && (!labels.is_empty() || raw.issuer.signing_key_label.is_some())
        {
            return Err(field(
                "hsm",
                "keys named by *_label need an [hsm] table (module, token, pin_file or pin_env)"
                    .into(),
            ));
        }
        let token = match &token_config {
            Some(config) => Some(Arc::new(Token::open(config, false).map_err(|source| {
                ProfileError::Token {
                    path: path.to_owned(),
                    source,
                }
            })?)),
            None => None,
        };
        let token_err = |source| ProfileError::Token {
            path: path.to_owned(),
            source,
        };
        let token_keys = match &token {
            None => None,
            Some(t) => {
                let mut held = Vec::new();
                let mut read_next = None;
                for (key, label) in &labels {
                    match key {
                        LabelledKey::Card(CardKey::App(AppKey::Kuid)) => {
                            masters.kuid = Some(t.readable_aes(label).map_err(token_err)?);
                        }
                        LabelledKey::Card(card_key) => held.push((
                            *card_key,
                            TokenObject {
                                label: label.clone(),
                                handle: t.master(label).map_err(token_err)?,
                            },
                        )),
                        LabelledKey::ReadNext => {
                            read_next = Some(TokenObject {
                                label: label.clone(),
                                handle: t.master(label).map_err(token_err)?,
                            });
                        }
                    }
                }
                let read_version = k.k2_version.unwrap_or(KEY_VERSION);
                let read_next = match read_next {
                    None => None,
                    Some(o) => {
                        let version = k
                            .k2_next_version
                            .or_else(|| read_version.checked_add(1))
                            .filter(|v| *v != read_version)
                            .ok_or_else(|| {
                                field(
                                    "keys.k2_next_version",
                                    "must be given and differ from keys.k2_version".into(),
                                )
                            })?;
                        Some((version, o))
                    }
                };
                Some(TokenKeys {
                    token: Arc::clone(t),
                    aid,
                    system: SystemId(system),
                    masters: held,
                    read_next,
                    read_version,
                })
            }
        };
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
        let token_signer = match (&raw.issuer.signing_key_label, &token) {
            (Some(label), Some(t)) => {
                let id = raw.issuer.signing_key_id.as_ref().ok_or_else(|| {
                    field(
                        "issuer.signing_key_id",
                        "must be given with issuer.signing_key_label".into(),
                    )
                })?;
                let key_id =
                    key_id(id).ok_or_else(|| field("issuer.signing_key_id", KEY_ID.into()))?;
                Some(TokenSigner {
                    token: Arc::clone(t),
                    key: TokenObject {
                        label: label.clone(),
                        handle: t.find(Kind::EcPrivate, label).map_err(token_err)?,
                    },
                    issuer: issuer_id.clone(),
                    key_id,
                })
            }
            _ => None,
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
                        crate::dates::parse_date(what, t)
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
        let next_in_token = token_keys.as_ref().and_then(|t| t.read_next.as_ref());
        let read_key_generations = match (&masters.read_next, next_in_token) {
            (Some((next, _)), _) | (None, Some((next, _))) => vec![masters.read_version, *next],
            (None, None) => Vec::new(),
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
        let profile = Self {
            name: path.display().to_string(),
            test: raw.test,
            aid,
            system: SystemId(system),
            iso,
            masters,
            token: token_keys,
            token_signer,
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
        };
        if !profile.test {
            profile.refuse_test_values(path)?;
        }
        Ok(profile)
    }

    /// R15 for a profile not marked `test = true`: no lab AID, no TEST master or K1 in memory
    /// or in the token, no TEST issuer key trusted, in a key file or in the token.
    fn refuse_test_values(&self, path: &Path) -> Result<(), ProfileError> {
        let refuse = |field: &str, what: &'static str| ProfileError::TestValue {
            path: path.to_owned(),
            field: field.to_owned(),
            what,
        };
        if self.aid == desfire_core::encoding::LAB_AID {
            return Err(refuse("aid", "the lab AID 0AC501"));
        }
        let m = &self.masters;
        for (field, key) in [
            ("keys.picc_master", &m.picc),
            ("keys.k0", &m.amk),
            ("keys.k1", &m.kuid),
            ("keys.k2", &m.read),
            (
                "keys.k2_next",
                &m.read_next.as_ref().map(|(_, k)| k.clone()),
            ),
            ("keys.k3", &m.write),
            ("keys.k4", &m.delegated_read),
            ("keys.k5", &m.reserved),
        ] {
            if key.as_ref().is_some_and(lab::is_test_key) {
                return Err(refuse(field, "a TEST key"));
            }
        }
        if let Some(t) = &self.token {
            let objects = t
                .masters
                .iter()
                .map(|(_, o)| o)
                .chain(t.read_next.as_ref().map(|(_, o)| o));
            for o in objects {
                if token_holds_a_test_master(&t.token, o).map_err(|source| ProfileError::Token {
                    path: path.to_owned(),
                    source,
                })? {
                    return Err(refuse(&format!("label {:?}", o.label), "a TEST master"));
                }
            }
        }
        let test_key = |issuer: &IssuerId, id: KeyId| {
            IssuerKey::from_sec1(issuer.clone(), id, &lab::ISSUER_PUBLIC)
        };
        for (i, k) in self.issuer_keys.iter().enumerate() {
            if test_key(k.issuer(), k.key_id).is_some_and(|t| t == *k) {
                return Err(refuse(
                    &format!("issuer.public_keys[{i}]"),
                    "the TEST issuer public key",
                ));
            }
        }
        if let Some(s) = &self.signing_key
            && test_key(s.issuer(), s.key_id()).is_some_and(|t| t == s.issuer_key())
        {
            return Err(refuse("issuer.signing_key", "the TEST issuer key"));
        }
        if let Some(s) = &self.token_signer {
            // A probe signature that the TEST public key verifies: the token holds the TEST
            // private key, whatever public key object sits next to it.
            let probe: TbsDigest = sha256(b"GEN-PACS R15 probe");
            let test = test_key(&s.issuer, s.key_id);
            let sig = s
                .token
                .sign_digest(s.key.handle, &s.key.label, &probe)
                .map_err(|source| ProfileError::Token {
                    path: path.to_owned(),
                    source,
                })?;
            if test.is_some_and(|t| t.verifies(&probe, &sig)) {
                return Err(refuse("issuer.signing_key_label", "the TEST issuer key"));
            }
        }
        Ok(())
    }

    /// The card keys this profile holds, in memory and in its token, as one key provider.
    pub fn card_keys(&self) -> CardKeys<'_> {
        CardKeys {
            memory: self.masters.clone(),
            token: self.token.as_ref(),
        }
    }

    /// The issuer signing key, in the token or in memory.
    pub fn signer(&self) -> Option<&dyn IssuerSigner> {
        match (&self.token_signer, &self.signing_key) {
            (Some(t), _) => Some(t),
            (None, Some(k)) => Some(k),
            (None, None) => None,
        }
    }

    /// Fails unless the profile holds every key `keys` names.
    pub fn require(&self, keys: &[Needed]) -> Result<(), ProfileError> {
        let m = &self.masters;
        let t = |key: AppKey| {
            self.token
                .as_ref()
                .is_some_and(|t| t.holds(CardKey::App(key)))
        };
        for need in keys {
            let present = match need {
                Needed::PiccMaster => {
                    m.picc.is_some()
                        || self
                            .token
                            .as_ref()
                            .is_some_and(|t| t.holds(CardKey::PiccMaster))
                }
                Needed::K0 => m.amk.is_some() || t(AppKey::Amk),
                Needed::K1 => m.kuid.is_some(),
                Needed::K2 => m.read.is_some() || t(AppKey::Read),
                Needed::K3 => m.write.is_some() || t(AppKey::Write),
                Needed::K4 => m.delegated_read.is_some() || t(AppKey::DelegatedRead),
                Needed::K5 => m.reserved.is_some() || t(AppKey::Reserved),
                Needed::SigningKey => self.signer().is_some(),
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
                Ok(Some(crate::key_file::read_key_file(&path)?))
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

impl From<crate::key_file::KeyFileError> for ProfileError {
    fn from(e: crate::key_file::KeyFileError) -> Self {
        use crate::key_file::KeyFileError;
        match e {
            KeyFileError::Io { path, source } => Self::Io { path, source },
            KeyFileError::Permissions { path, mode } => Self::KeyFilePermissions { path, mode },
            KeyFileError::Unsafe { path, problem } => Self::KeyFileUnsafe { path, problem },
        }
    }
}

/// A key a profile names by token label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelledKey {
    Card(CardKey),
    ReadNext,
}

/// The `*_label` keys of a profile, in the order of the key map.
fn key_labels(raw: &RawProfile) -> Vec<(LabelledKey, String)> {
    let k = &raw.keys;
    [
        (LabelledKey::Card(CardKey::PiccMaster), &k.picc_master_label),
        (LabelledKey::Card(CardKey::App(AppKey::Amk)), &k.k0_label),
        (LabelledKey::Card(CardKey::App(AppKey::Kuid)), &k.k1_label),
        (LabelledKey::Card(CardKey::App(AppKey::Read)), &k.k2_label),
        (LabelledKey::ReadNext, &k.k2_next_label),
        (LabelledKey::Card(CardKey::App(AppKey::Write)), &k.k3_label),
        (
            LabelledKey::Card(CardKey::App(AppKey::DelegatedRead)),
            &k.k4_label,
        ),
        (
            LabelledKey::Card(CardKey::App(AppKey::Reserved)),
            &k.k5_label,
        ),
    ]
    .into_iter()
    .filter_map(|(key, label)| label.clone().map(|l| (key, l)))
    .collect()
}

/// The `[hsm]` table: module, token and PIN source. PIN files are relative to the profile.
fn token_config(
    raw: &RawProfile,
    path: &Path,
    dir: Option<&Path>,
) -> Result<Option<TokenConfig>, ProfileError> {
    let Some(h) = &raw.hsm else {
        return Ok(None);
    };
    let field = |field: &str, message: &str| ProfileError::Field {
        path: path.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    };
    let pin = match (&h.pin_file, &h.pin_env) {
        (Some(f), None) => {
            let dir = dir.ok_or_else(|| {
                field(
                    "hsm.pin_file",
                    "the built-in profile cannot name a PIN file",
                )
            })?;
            PinSource::File(dir.join(f))
        }
        (None, Some(var)) => PinSource::Env(var.clone()),
        _ => {
            return Err(field(
                "hsm.pin_file",
                "give the PIN's source: pin_file = \"path\" (mode 600) or pin_env = \"VAR\" \
                 (never the PIN itself)",
            ));
        }
    };
    Ok(Some(TokenConfig {
        module: h.module.clone(),
        token: h.token.clone(),
        pin,
    }))
}

/// The token and the key labels a profile file names ([`token_plan`]).
#[derive(Debug, Clone)]
pub struct TokenPlan {
    /// The token.
    pub config: TokenConfig,
    /// The AES keys by field (`keys.k0`, …) and label.
    pub labels: Vec<(String, String)>,
    /// The issuer signing key's label.
    pub signing_label: Option<String>,
}

/// The token and the key labels a profile file names, without opening the token: what
/// `desfire keys hsm` works from.
pub fn token_plan(arg: &str) -> Result<TokenPlan, ProfileError> {
    let path = Path::new(arg);
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
                path: path.to_owned(),
                source,
            })?,
        );
    let raw: RawProfile = toml::from_str(&text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_column(&text, s.start));
        ProfileError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let config = token_config(&raw, path, Some(&dir))?.ok_or_else(|| ProfileError::Field {
        path: path.to_owned(),
        field: "hsm".into(),
        message: "the profile has no [hsm] table".into(),
    })?;
    let labels = key_labels(&raw)
        .into_iter()
        .map(|(key, label)| (labelled_field(key).to_owned(), label))
        .collect();
    Ok(TokenPlan {
        config,
        labels,
        signing_label: raw.issuer.signing_key_label.clone(),
    })
}

fn labelled_field(key: LabelledKey) -> &'static str {
    match key {
        LabelledKey::Card(CardKey::PiccMaster) => "keys.picc_master",
        LabelledKey::Card(CardKey::App(AppKey::Amk)) => "keys.k0",
        LabelledKey::Card(CardKey::App(AppKey::Kuid)) => "keys.k1",
        LabelledKey::Card(CardKey::App(AppKey::Read)) => "keys.k2",
        LabelledKey::ReadNext => "keys.k2_next",
        LabelledKey::Card(CardKey::App(AppKey::Write)) => "keys.k3",
        LabelledKey::Card(CardKey::App(AppKey::DelegatedRead)) => "keys.k4",
        LabelledKey::Card(CardKey::App(AppKey::Reserved)) => "keys.k5",
    }
}

/// Whether the master `o` in `token` is one of the TEST masters: its AN10922 of a probe input,
/// computed in the token, equals the software AN10922 of some TEST master.
fn token_holds_a_test_master(token: &Token, o: &TokenObject) -> Result<bool, HsmError> {
    let lab = Masters::lab_test();
    let probe = desfire_core::crypto::DiversificationInput::for_application_key(
        &[0x52, 0x31, 0x35, 0x50, 0x52, 0x4F, 0x42],
        desfire_core::encoding::LAB_AID,
        desfire_core::wire::KeyNo::MASTER,
        &SystemId::GEN_PACS.0,
    )
    .ok_or_else(|| HsmError::Pin("probe input".into()))?;
    let in_token = token.diversify(o.handle, &o.label, &probe)?;
    Ok([
        &lab.picc,
        &lab.amk,
        &lab.kuid,
        &lab.read,
        &lab.write,
        &lab.delegated_read,
        &lab.reserved,
    ]
    .into_iter()
    .flatten()
    .any(|test| an10922_aes128(test, &probe) == in_token))
}

fn sha256(data: &[u8]) -> TbsDigest {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
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
    hsm: Option<RawHsm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHsm {
    module: PathBuf,
    token: String,
    pin_file: Option<PathBuf>,
    pin_env: Option<String>,
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
    picc_master_label: Option<String>,
    k0: Option<SecretHex>,
    k0_file: Option<PathBuf>,
    k0_label: Option<String>,
    k1: Option<SecretHex>,
    k1_file: Option<PathBuf>,
    k1_label: Option<String>,
    k2: Option<SecretHex>,
    k2_file: Option<PathBuf>,
    k2_label: Option<String>,
    k2_version: Option<u8>,
    k2_next: Option<SecretHex>,
    k2_next_file: Option<PathBuf>,
    k2_next_label: Option<String>,
    k2_next_version: Option<u8>,
    k3: Option<SecretHex>,
    k3_file: Option<PathBuf>,
    k3_label: Option<String>,
    k4: Option<SecretHex>,
    k4_file: Option<PathBuf>,
    k4_label: Option<String>,
    k5: Option<SecretHex>,
    k5_file: Option<PathBuf>,
    k5_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    id: Option<String>,
    id_hex: Option<String>,
    signing_key_id: Option<String>,
    signing_key: Option<SecretHex>,
    signing_key_file: Option<PathBuf>,
    signing_key_label: Option<String>,
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

        let base = "aid = \"F48EE1\"\n[issuer]\nid = \"SE\"\n";
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
            if LAB_TOML.contains(&header) {
                LAB_TOML.replacen(&header, &format!("{header}zz_unknown = 1\n"), 1)
            } else {
                // A table the lab profile does not have ([hsm]): appended.
                format!("{LAB_TOML}\n{header}zz_unknown = 1\n")
            }
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
            ("[hsm]", "hsm."),
        ] {
            parser.extend(parser_settings_of(section, prefix));
        }
        let tables: std::collections::BTreeSet<String> =
            ["iso", "keys", "issuer", "policy", "revocation", "hsm"]
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
        std::fs::write(&key, "# K2 master\n5A5B5C5D5E5F606162636465666768A9\n").unwrap();
        let text = "aid = \"F48EE1\"\n[keys]\nk2_file = \"k2.key\"\n[issuer]\nid = \"SE\"\n";
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Profile::parse(text, Path::new("p.toml"), Some(&dir)).unwrap_err();
        assert!(
            matches!(e, ProfileError::KeyFilePermissions { mode: 0o644, .. }),
            "{e}"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let p = Profile::parse(text, Path::new("p.toml"), Some(&dir)).unwrap();
        assert_eq!(p.masters.read.as_ref().unwrap().expose()[0], 0x5A);

        // A symbolic link to a good key file is refused: links are not followed.
        std::os::unix::fs::symlink(&key, dir.join("link.key")).unwrap();
        let linked = text.replace("k2.key", "link.key");
        let e = Profile::parse(&linked, Path::new("p.toml"), Some(&dir)).unwrap_err();
        assert!(
            matches!(&e, ProfileError::KeyFileUnsafe { problem, .. } if problem.contains("symbolic link")),
            "{e}"
        );
        // Not a regular file.
        std::fs::create_dir(dir.join("dir.key")).unwrap();
        let e = Profile::parse(
            &text.replace("k2.key", "dir.key"),
            Path::new("p"),
            Some(&dir),
        )
        .unwrap_err();
        assert!(
            matches!(&e, ProfileError::KeyFileUnsafe { problem, .. } if problem.contains("regular")),
            "{e}"
        );
        // Owned by another user (needs root to give the file away).
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&key, Some(65534), None).unwrap();
            let e = Profile::parse(text, Path::new("p.toml"), Some(&dir)).unwrap_err();
            assert!(
                matches!(&e, ProfileError::KeyFileUnsafe { problem, .. } if problem.contains("owned by user 65534")),
                "{e}"
            );
        } else {
            eprintln!("SKIPPED: the key-file owner check needs root to chown a file away");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn production_profiles_refuse_the_test_values() {
        let dir = std::env::temp_dir().join(format!("profile-r15-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        };
        let field_of = |e: ProfileError| match e {
            ProfileError::TestValue { field, .. } => field,
            e => panic!("{e}"),
        };
        let parse = |text: &str| Profile::parse(text, Path::new("p.toml"), Some(&dir));
        // The lab AID.
        let e = parse("aid = \"0AC501\"\n[issuer]\nid = \"SE\"\n").unwrap_err();
        assert_eq!(field_of(e), "aid");
        // A TEST master from a key file, in any slot (the TEST K0 as K3 here).
        write("k3.key", "000102030405060708090A0B0C0D0E0F\n");
        let e = parse("aid = \"F48EE1\"\n[keys]\nk3_file = \"k3.key\"\n[issuer]\nid = \"SE\"\n")
            .unwrap_err();
        assert_eq!(field_of(e), "keys.k3");
        // The TEST K1.
        write("k1.key", "101112131415161718191A1B1C1D1E1F\n");
        let e = parse("aid = \"F48EE1\"\n[keys]\nk1_file = \"k1.key\"\n[issuer]\nid = \"SE\"\n")
            .unwrap_err();
        assert_eq!(field_of(e), "keys.k1");
        // The TEST issuer key: trusted as a public key, or as a signing key file.
        let public = crate::hex_text::upper(&lab::ISSUER_PUBLIC);
        let e = parse(&format!(
            "aid = \"F48EE1\"\n[issuer]\nid = \"SE\"\n[[issuer.public_keys]]\nkey_id = \"01\"\n\
             public_key = \"{public}\"\n"
        ))
        .unwrap_err();
        assert_eq!(field_of(e), "issuer.public_keys[0]");
        write("issuer.key", &crate::hex_text::upper(&lab::ISSUER_SECRET));
        let e = parse(
            "aid = \"F48EE1\"\n[issuer]\nid = \"SE\"\nsigning_key_id = \"01\"\n\
             signing_key_file = \"issuer.key\"\n",
        )
        .unwrap_err();
        assert_eq!(field_of(e), "issuer.signing_key");
        // The same values with test = true are the lab's business.
        let p = parse(
            "test = true\naid = \"0AC501\"\n[keys]\nk3_file = \"k3.key\"\n[issuer]\nid = \"SE\"\n\
             signing_key_id = \"01\"\nsigning_key_file = \"issuer.key\"\n",
        )
        .unwrap();
        assert!(p.signer().is_some());
        // Non-TEST values pass.
        write("k3.key", "F00102030405060708090A0B0C0D0E0F\n");
        parse("aid = \"F48EE1\"\n[keys]\nk3_file = \"k3.key\"\n[issuer]\nid = \"SE\"\n").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn labels_need_an_hsm_table_and_exclude_files() {
        let e = Profile::parse(
            "aid = \"F48EE1\"\n[keys]\nk2_label = \"k2\"\n[issuer]\nid = \"SE\"\n",
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ProfileError::Field { field, .. } if field == "hsm"),
            "{e}"
        );
        let e = Profile::parse(
            "aid = \"F48EE1\"\n[keys]\nk2_label = \"k2\"\nk2_file = \"k2.key\"\n[issuer]\nid = \"SE\"\n",
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, ProfileError::Field { field, .. } if field == "keys.k2_label"),
            "{e}"
        );
        // The PIN itself is not a profile field.
        let e = Profile::parse(
            "aid = \"F48EE1\"\n[hsm]\nmodule = \"m.so\"\ntoken = \"t\"\npin = \"1234\"\n\
             [issuer]\nid = \"SE\"\n",
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, ProfileError::Syntax { .. }), "{e}");
        let e = Profile::parse(
            "aid = \"F48EE1\"\n[hsm]\nmodule = \"m.so\"\ntoken = \"t\"\n[issuer]\nid = \"SE\"\n",
            Path::new("p"),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("pin_env"), "{e}");
    }
}
