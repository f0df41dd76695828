//! PKCS#11 key custody (spec R6): the GEN-PACS masters and the issuer's signing key stay in a
//! token (a hardware security module, or SoftHSM2 in the tests), and only per-card keys and
//! signatures come out.
//!
//! - AN10922 diversification is `CKM_AES_CMAC` signing with the master: for the GEN-PACS input
//!   (19 bytes, so `16 < |01 || M| ≤ 32`) AN10922 is plain AES-CMAC of `01 || M`
//!   ([`DiversificationInput::cmac_message`]). The masters are `CKA_SENSITIVE` and not
//!   `CKA_EXTRACTABLE`, and may only sign.
//! - The issuer signs with `CKM_ECDSA` on a P-256 key; the host computes the SHA-256 of the TBS
//!   bytes (spec §8.6) and turns the token's `r || s` into the credential's form
//!   ([`normalise_signature`]).
//! - K1 is not a master but the card key itself, the same on every card and used in clear by
//!   every reader: in a token it is a secret key the host may read (`CKA_SENSITIVE` false).
//!
//! The module is loaded at run time (`dlopen`), so building needs no PKCS#11 library. One
//! context per module stays initialised for the life of the process: PKCS#11 allows one
//! `C_Initialize` per process and library.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use desfire_core::crypto::{AesKey, DiversificationInput};
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::{
    AppKey, CardKey, IssuerSigner, KeyProvider, KeyUnavailable, RealUid, SIGNATURE_LEN, SystemId,
    TbsDigest, diversification_input, normalise_signature,
};
use desfire_core::wire::Aid;
use zeroize::Zeroizing;

/// DER of the P-256 curve's OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of its keys.
pub const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// Where the user PIN comes from: never the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// A file readable by its owner alone (checked like a key file); surrounding white space
    /// is not part of the PIN.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl PinSource {
    /// Reads the PIN.
    pub fn read(&self) -> Result<AuthPin, HsmError> {
        let text = match self {
            Self::File(path) => crate::key_file::read_key_file(path)
                .map_err(|e| HsmError::Pin(format!("PIN file: {e}")))?,
            Self::Env(var) => Zeroizing::new(std::env::var(var).map_err(|_| {
                HsmError::Pin(format!("the environment variable {var} is not set"))
            })?),
        };
        let pin = text.trim();
        if pin.is_empty() {
            return Err(HsmError::Pin("the PIN is empty".into()));
        }
        Ok(AuthPin::new(pin.into()))
    }
}

/// The token a profile names (`[hsm]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// The PKCS#11 module (shared library).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The user PIN's source.
    pub pin: PinSource,
}

/// Why the token could not be used. Messages name the module, token and label, never a key
/// or the PIN.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {message}")]
    Module {
        /// The module.
        module: PathBuf,
        /// Why.
        message: String,
    },
    /// No token with this label.
    #[error("PKCS#11 module {module}: no token labelled {token:?} (tokens present: {present})")]
    NoToken {
        /// The module.
        module: PathBuf,
        /// The label.
        token: String,
        /// The labels present.
        present: String,
    },
    /// The PIN could not be read.
    #[error("token PIN: {0}")]
    Pin(String),
    /// The token refused the PIN.
    #[error("token {token:?}: the user PIN was refused (CKR_PIN_INCORRECT)")]
    WrongPin {
        /// The token.
        token: String,
    },
    /// The user PIN is locked.
    #[error("token {token:?}: the user PIN is locked (CKR_PIN_LOCKED)")]
    PinLocked {
        /// The token.
        token: String,
    },
    /// No object with this label, or more than one.
    #[error("token {token:?}: {problem} labelled {label:?}")]
    Object {
        /// The token.
        token: String,
        /// The label.
        label: String,
        /// `no AES secret key`, `2 objects`, ….
        problem: String,
    },
    /// A key's attributes do not allow the use the profile makes of it.
    #[error("token {token:?}: key {label:?}: {problem}")]
    Attributes {
        /// The token.
        token: String,
        /// The label.
        label: String,
        /// What is wrong.
        problem: String,
    },
    /// A PKCS#11 call failed.
    #[error("token {token:?}: {operation}: {error}")]
    Call {
        /// The token.
        token: String,
        /// What was done.
        operation: String,
        /// The module's answer.
        error: String,
    },
}

/// The process's PKCS#11 contexts, one per module, never finalised (see the module docs).
fn context(module: &Path) -> Result<Pkcs11, HsmError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(ctx) = map.get(module) {
        return Ok(ctx.clone());
    }
    let err = |message: String| HsmError::Module {
        module: module.to_owned(),
        message,
    };
    if !module.is_file() {
        return Err(err(
            "no such file (install the module or fix [hsm] module)".into()
        ));
    }
    let ctx = Pkcs11::new(module).map_err(|e| err(format!("cannot load: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(err(format!("C_Initialize: {e}"))),
    }
    map.insert(module.to_owned(), ctx.clone());
    Ok(ctx)
}

fn slot_label(ctx: &Pkcs11, slot: Slot) -> Option<String> {
    ctx.get_token_info(slot)
        .ok()
        .map(|i| i.label().trim_end().to_owned())
}

/// The slot holding the initialised token labelled `token`.
fn find_slot(ctx: &Pkcs11, module: &Path, token: &str) -> Result<Slot, HsmError> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| HsmError::Module {
            module: module.to_owned(),
            message: format!("C_GetSlotList: {e}"),
        })?;
    let labels: Vec<(Slot, String)> = slots
        .into_iter()
        .filter_map(|s| slot_label(ctx, s).map(|l| (s, l)))
        .collect();
    labels
        .iter()
        .find(|(_, l)| l == token)
        .map(|(s, _)| *s)
        .ok_or_else(|| HsmError::NoToken {
            module: module.to_owned(),
            token: token.to_owned(),
            present: if labels.is_empty() {
                "none".into()
            } else {
                labels
                    .iter()
                    .map(|(_, l)| format!("{l:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// Initialises the token in the first slot whose token is not initialised (`C_InitToken`),
/// then sets its user PIN. Returns the slot's description.
pub fn init_token(
    module: &Path,
    label: &str,
    so_pin: &AuthPin,
    user_pin: &AuthPin,
) -> Result<String, HsmError> {
    let ctx = context(module)?;
    let call = |operation: &str, e: CkError| HsmError::Call {
        token: label.to_owned(),
        operation: operation.to_owned(),
        error: e.to_string(),
    };
    if find_slot(&ctx, module, label).is_ok() {
        return Err(HsmError::Object {
            token: label.to_owned(),
            label: label.to_owned(),
            problem: "a token is already".into(),
        });
    }
    let slot = ctx
        .get_slots_with_token()
        .map_err(|e| call("C_GetSlotList", e))?
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|i| !i.token_initialized()))
        .ok_or_else(|| HsmError::Module {
            module: module.to_owned(),
            message: "no slot with an uninitialised token".into(),
        })?;
    ctx.init_token(slot, so_pin, label)
        .map_err(|e| call("C_InitToken", e))?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| call("C_OpenSession", e))?;
    session
        .login(UserType::So, Some(so_pin))
        .map_err(|e| call("C_Login (SO)", e))?;
    session
        .init_pin(user_pin)
        .map_err(|e| call("C_InitPIN", e))?;
    session.logout().map_err(|e| call("C_Logout", e))?;
    Ok(format!("slot {}", slot.id()))
}

/// A logged-in session with a token.
pub struct Token {
    label: String,
    // Session is Send but not Sync: one caller at a time.
    session: Mutex<Session>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("label", &self.label).finish()
    }
}

/// What kind of object a label must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An AES secret key.
    Aes,
    /// An EC private key.
    EcPrivate,
    /// An EC public key.
    EcPublic,
}

impl Kind {
    fn template(self, label: &str) -> Vec<Attribute> {
        let (class, key_type) = match self {
            Self::Aes => (ObjectClass::SECRET_KEY, KeyType::AES),
            Self::EcPrivate => (ObjectClass::PRIVATE_KEY, KeyType::EC),
            Self::EcPublic => (ObjectClass::PUBLIC_KEY, KeyType::EC),
        };
        vec![
            Attribute::Class(class),
            Attribute::KeyType(key_type),
            Attribute::Label(label.as_bytes().to_vec()),
        ]
    }

    fn name(self) -> &'static str {
        match self {
            Self::Aes => "AES secret key",
            Self::EcPrivate => "EC private key",
            Self::EcPublic => "EC public key",
        }
    }
}

/// One object of [`Token::list`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectInfo {
    /// `CKA_LABEL`.
    pub label: String,
    /// `secret`, `private` or `public`.
    pub class: String,
    /// `AES`, `EC` or the type's name.
    pub key_type: String,
    /// `CKA_SENSITIVE` (absent for public keys).
    pub sensitive: Option<bool>,
    /// `CKA_EXTRACTABLE` (absent for public keys).
    pub extractable: Option<bool>,
    /// `CKA_LOCAL`: generated inside the token (false: imported).
    pub local: Option<bool>,
    /// A public key's point, SEC1 uncompressed, hex.
    pub public_key: Option<String>,
}

/// A key's protection attributes, as the token reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    /// `CKA_SENSITIVE`.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// Whether `C_GetAttributeValue(CKA_VALUE)` gave a value.
    pub value_readable: bool,
}

impl Token {
    /// Loads the module, finds the token and logs the user in with the PIN. `read_write` for
    /// management (creating keys).
    pub fn open(config: &TokenConfig, read_write: bool) -> Result<Self, HsmError> {
        let ctx = context(&config.module)?;
        let slot = find_slot(&ctx, &config.module, &config.token)?;
        let pin = config.pin.read()?;
        let call = |operation: &str, e: CkError| HsmError::Call {
            token: config.token.clone(),
            operation: operation.to_owned(),
            error: e.to_string(),
        };
        let session = if read_write {
            ctx.open_rw_session(slot)
        } else {
            ctx.open_ro_session(slot)
        }
        .map_err(|e| call("C_OpenSession", e))?;
        match session.login(UserType::User, Some(&pin)) {
            // Login state is per application and token: another session of this process
            // logged in already.
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(HsmError::WrongPin {
                    token: config.token.clone(),
                });
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(HsmError::PinLocked {
                    token: config.token.clone(),
                });
            }
            Err(e) => return Err(call("C_Login", e)),
        }
        Ok(Self {
            label: config.token.clone(),
            session: Mutex::new(session),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call(&self, operation: &str, label: &str, e: CkError) -> HsmError {
        HsmError::Call {
            token: self.label.clone(),
            operation: format!("{operation} {label:?}"),
            error: e.to_string(),
        }
    }

    /// The handles of every object labelled `label` of kind `kind`.
    fn find_all(&self, kind: Kind, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session()
            .find_objects(&kind.template(label))
            .map_err(|e| self.call("C_FindObjects", label, e))
    }

    /// The one object labelled `label` of kind `kind`.
    pub fn find(&self, kind: Kind, label: &str) -> Result<ObjectHandle, HsmError> {
        let found = self.find_all(kind, label)?;
        match found.as_slice() {
            [h] => Ok(*h),
            [] => Err(HsmError::Object {
                token: self.label.clone(),
                label: label.to_owned(),
                problem: format!("no {}", kind.name()),
            }),
            more => Err(HsmError::Object {
                token: self.label.clone(),
                label: label.to_owned(),
                problem: format!("{} objects of kind {}", more.len(), kind.name()),
            }),
        }
    }

    /// Whether an object labelled `label` of kind `kind` exists.
    pub fn exists(&self, kind: Kind, label: &str) -> Result<bool, HsmError> {
        Ok(!self.find_all(kind, label)?.is_empty())
    }

    /// The protection attributes of `key`.
    pub fn protection(&self, key: ObjectHandle, label: &str) -> Result<Protection, HsmError> {
        let attrs = self
            .session()
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Value,
                ],
            )
            .map_err(|e| self.call("C_GetAttributeValue", label, e))?;
        let mut p = Protection {
            sensitive: false,
            extractable: false,
            value_readable: false,
        };
        for a in attrs {
            match a {
                Attribute::Sensitive(v) => p.sensitive = v,
                Attribute::Extractable(v) => p.extractable = v,
                Attribute::Value(mut v) => {
                    p.value_readable = true;
                    zeroize::Zeroize::zeroize(&mut v);
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// A master: an AES key that is sensitive and not extractable (refused otherwise: a master
    /// the token would give out is not in custody).
    pub fn master(&self, label: &str) -> Result<ObjectHandle, HsmError> {
        let h = self.find(Kind::Aes, label)?;
        let p = self.protection(h, label)?;
        if !p.sensitive || p.extractable || p.value_readable {
            return Err(HsmError::Attributes {
                token: self.label.clone(),
                label: label.to_owned(),
                problem: format!(
                    "a master must be CKA_SENSITIVE and not CKA_EXTRACTABLE (sensitive {}, \
                     extractable {})",
                    p.sensitive, p.extractable
                ),
            });
        }
        Ok(h)
    }

    /// The value of an AES key the host may read (K1).
    pub fn readable_aes(&self, label: &str) -> Result<AesKey, HsmError> {
        let h = self.find(Kind::Aes, label)?;
        let attrs = self
            .session()
            .get_attributes(h, &[AttributeType::Value])
            .map_err(|e| self.call("C_GetAttributeValue", label, e))?;
        let value = attrs.into_iter().find_map(|a| match a {
            Attribute::Value(v) => Some(Zeroizing::new(v)),
            _ => None,
        });
        let bad = |problem: &str| HsmError::Attributes {
            token: self.label.clone(),
            label: label.to_owned(),
            problem: problem.to_owned(),
        };
        let value = value.ok_or_else(|| {
            bad(
                "its value cannot be read (K1 is the card key itself: store it with \
                 CKA_SENSITIVE false)",
            )
        })?;
        <[u8; 16]>::try_from(value.as_slice())
            .map(AesKey::new)
            .map_err(|_| bad("not an AES-128 key"))
    }

    /// `CKM_AES_CMAC` of `data` with `key`.
    pub fn cmac(&self, key: ObjectHandle, label: &str, data: &[u8]) -> Result<AesKey, HsmError> {
        let mut mac = Zeroizing::new(
            self.session()
                .sign(&Mechanism::AesCMac, key, data)
                .map_err(|e| self.call("C_Sign CKM_AES_CMAC", label, e))?,
        );
        let key = <[u8; 16]>::try_from(mac.as_slice()).map(AesKey::new);
        zeroize::Zeroize::zeroize(&mut *mac);
        key.map_err(|_| HsmError::Attributes {
            token: self.label.clone(),
            label: label.to_owned(),
            problem: format!("CKM_AES_CMAC gave {} bytes, not 16", mac.len()),
        })
    }

    /// AN10922 AES-128 of `master` for input `m`, inside the token.
    pub fn diversify(
        &self,
        master: ObjectHandle,
        label: &str,
        m: &DiversificationInput,
    ) -> Result<AesKey, HsmError> {
        let d = m.cmac_message().ok_or_else(|| HsmError::Attributes {
            token: self.label.clone(),
            label: label.to_owned(),
            problem: "AN10922 of an input under 16 bytes is not a CMAC; the token cannot \
                      diversify it"
                .into(),
        })?;
        self.cmac(master, label, &d)
    }

    /// `CKM_ECDSA` of `digest` with `key`, in the credential's form.
    pub fn sign_digest(
        &self,
        key: ObjectHandle,
        label: &str,
        digest: &TbsDigest,
    ) -> Result<[u8; SIGNATURE_LEN], HsmError> {
        let raw = self
            .session()
            .sign(&Mechanism::Ecdsa, key, digest)
            .map_err(|e| self.call("C_Sign CKM_ECDSA", label, e))?;
        normalise_signature(&raw).ok_or_else(|| HsmError::Attributes {
            token: self.label.clone(),
            label: label.to_owned(),
            problem: format!(
                "CKM_ECDSA gave {} bytes that are not a P-256 r || s",
                raw.len()
            ),
        })
    }

    /// The point of the EC public key labelled `label`, SEC1 uncompressed.
    pub fn public_point(&self, label: &str) -> Result<[u8; 65], HsmError> {
        let h = self.find(Kind::EcPublic, label)?;
        let attrs = self
            .session()
            .get_attributes(h, &[AttributeType::EcPoint])
            .map_err(|e| self.call("C_GetAttributeValue", label, e))?;
        attrs
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => sec1_point(&p),
                _ => None,
            })
            .ok_or_else(|| HsmError::Attributes {
                token: self.label.clone(),
                label: label.to_owned(),
                problem: "CKA_EC_POINT is not an uncompressed P-256 point".into(),
            })
    }

    fn create(&self, label: &str, template: &[Attribute]) -> Result<ObjectHandle, HsmError> {
        self.session()
            .create_object(template)
            .map_err(|e| self.call("C_CreateObject", label, e))
    }

    fn refuse_existing(&self, kind: Kind, label: &str) -> Result<(), HsmError> {
        if self.exists(kind, label)? {
            return Err(HsmError::Object {
                token: self.label.clone(),
                label: label.to_owned(),
                problem: format!("there already is an {}", kind.name()),
            });
        }
        Ok(())
    }

    /// Generates an AES-128 master inside the token: sensitive, never extractable, CMAC
    /// signing only.
    pub fn generate_master(&self, label: &str) -> Result<(), HsmError> {
        self.refuse_existing(Kind::Aes, label)?;
        self.session()
            .generate_key(&Mechanism::AesKeyGen, &master_template(label, None))
            .map(|_| ())
            .map_err(|e| self.call("C_GenerateKey CKM_AES_KEY_GEN", label, e))
    }

    /// Generates K1 inside the token: a card key the host reads (see the module docs).
    pub fn generate_readable(&self, label: &str) -> Result<(), HsmError> {
        self.refuse_existing(Kind::Aes, label)?;
        self.session()
            .generate_key(&Mechanism::AesKeyGen, &readable_template(label, None))
            .map(|_| ())
            .map_err(|e| self.call("C_GenerateKey CKM_AES_KEY_GEN", label, e))
    }

    /// Imports `value` as a master (as [`Self::generate_master`] makes them).
    pub fn import_master(&self, label: &str, value: &AesKey) -> Result<(), HsmError> {
        self.refuse_existing(Kind::Aes, label)?;
        let mut t = master_template(label, Some(value));
        self.create(label, &t).map(|_| ())?;
        wipe(&mut t);
        Ok(())
    }

    /// Imports K1.
    pub fn import_readable(&self, label: &str, value: &AesKey) -> Result<(), HsmError> {
        self.refuse_existing(Kind::Aes, label)?;
        let mut t = readable_template(label, Some(value));
        self.create(label, &t).map(|_| ())?;
        wipe(&mut t);
        Ok(())
    }

    /// Generates a P-256 key pair inside the token (the private key sensitive, never
    /// extractable, signing only); returns the public point, SEC1 uncompressed.
    pub fn generate_p256(&self, label: &str) -> Result<[u8; 65], HsmError> {
        self.refuse_existing(Kind::EcPrivate, label)?;
        self.refuse_existing(Kind::EcPublic, label)?;
        self.session()
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template(label, None),
                &private_template(label, None),
            )
            .map_err(|e| self.call("C_GenerateKeyPair CKM_EC_KEY_PAIR_GEN", label, e))?;
        self.public_point(label)
    }

    /// Imports a P-256 key pair: the private scalar and its public point.
    pub fn import_p256(
        &self,
        label: &str,
        scalar: &[u8; 32],
        public: &[u8; 65],
    ) -> Result<(), HsmError> {
        self.refuse_existing(Kind::EcPrivate, label)?;
        self.refuse_existing(Kind::EcPublic, label)?;
        let mut t = private_template(label, Some(scalar));
        let created = self.create(label, &t);
        wipe(&mut t);
        created?;
        self.create(label, &public_template(label, Some(public)))
            .map(|_| ())
    }

    /// Every key object of the token, by label.
    pub fn list(&self) -> Result<Vec<ObjectInfo>, HsmError> {
        let session = self.session();
        let handles = session
            .find_objects(&[])
            .map_err(|e| self.call("C_FindObjects", "*", e))?;
        let mut out = Vec::new();
        for h in handles {
            let attrs = session
                .get_attributes(
                    h,
                    &[
                        AttributeType::Label,
                        AttributeType::Class,
                        AttributeType::KeyType,
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                        AttributeType::Local,
                        AttributeType::EcPoint,
                    ],
                )
                .map_err(|e| self.call("C_GetAttributeValue", "*", e))?;
            let mut info = ObjectInfo {
                label: String::new(),
                class: String::new(),
                key_type: String::new(),
                sensitive: None,
                extractable: None,
                local: None,
                public_key: None,
            };
            for a in attrs {
                match a {
                    Attribute::Label(l) => info.label = String::from_utf8_lossy(&l).into_owned(),
                    Attribute::Class(c) => {
                        info.class = match c {
                            ObjectClass::SECRET_KEY => "secret".into(),
                            ObjectClass::PRIVATE_KEY => "private".into(),
                            ObjectClass::PUBLIC_KEY => "public".into(),
                            c => c.to_string(),
                        }
                    }
                    Attribute::KeyType(t) => {
                        let name = t.to_string();
                        info.key_type = name.strip_prefix("CKK_").unwrap_or(&name).to_owned();
                    }
                    Attribute::Sensitive(v) => info.sensitive = Some(v),
                    Attribute::Extractable(v) => info.extractable = Some(v),
                    Attribute::Local(v) => info.local = Some(v),
                    Attribute::EcPoint(p) => {
                        info.public_key = sec1_point(&p).map(|p| crate::hex_text::upper(&p));
                    }
                    _ => {}
                }
            }
            if info.class == "public" {
                info.sensitive = None;
                info.extractable = None;
            }
            out.push(info);
        }
        out.sort_by(|a, b| (&a.label, &a.class).cmp(&(&b.label, &b.class)));
        Ok(out)
    }
}

fn wipe(template: &mut [Attribute]) {
    for a in template {
        if let Attribute::Value(v) = a {
            zeroize::Zeroize::zeroize(v);
        }
    }
}

fn master_template(label: &str, value: Option<&AesKey>) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Verify(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
    ];
    aes_value(&mut t, value);
    t
}

fn readable_template(label: &str, value: Option<&AesKey>) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
        Attribute::Sign(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
    ];
    aes_value(&mut t, value);
    t
}

fn aes_value(t: &mut Vec<Attribute>, value: Option<&AesKey>) {
    match value {
        Some(v) => {
            t.push(Attribute::Class(ObjectClass::SECRET_KEY));
            t.push(Attribute::KeyType(KeyType::AES));
            t.push(Attribute::Value(v.expose().to_vec()));
        }
        None => t.push(Attribute::ValueLen(16.into())),
    }
}

fn private_template(label: &str, scalar: Option<&[u8; 32]>) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
    ];
    if let Some(s) = scalar {
        t.push(Attribute::Class(ObjectClass::PRIVATE_KEY));
        t.push(Attribute::KeyType(KeyType::EC));
        t.push(Attribute::EcParams(P256_EC_PARAMS.to_vec()));
        t.push(Attribute::Value(s.to_vec()));
    }
    t
}

fn public_template(label: &str, point: Option<&[u8; 65]>) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Verify(true),
        Attribute::EcParams(P256_EC_PARAMS.to_vec()),
    ];
    if let Some(p) = point {
        t.push(Attribute::Class(ObjectClass::PUBLIC_KEY));
        t.push(Attribute::KeyType(KeyType::EC));
        // CKA_EC_POINT is the DER OCTET STRING of the point (PKCS#11 v2.40 §2.3.3).
        let mut der = vec![0x04, 0x41];
        der.extend_from_slice(p);
        t.push(Attribute::EcPoint(der));
    }
    t
}

/// An uncompressed P-256 point from `CKA_EC_POINT`: the DER OCTET STRING the standard asks
/// for, or the bare point some modules give.
fn sec1_point(v: &[u8]) -> Option<[u8; 65]> {
    let bare = match v {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        rest => rest,
    };
    <[u8; 65]>::try_from(bare)
        .ok()
        .filter(|p| p.first() == Some(&0x04))
}

/// The keys of a profile held in a token: handles of the masters (checked sensitive and not
/// extractable when the profile was loaded) and of the issuer signing key.
#[derive(Debug, Clone)]
pub struct TokenKeys {
    /// The token.
    pub token: Arc<Token>,
    /// The application.
    pub aid: Aid,
    /// The system identifier.
    pub system: SystemId,
    /// Masters by key, with their labels.
    pub masters: Vec<(CardKey, TokenObject)>,
    /// Generation N+1 of the K2 master, during a rollover: its version byte and object.
    pub read_next: Option<(u8, TokenObject)>,
    /// The K2 master's generation.
    pub read_version: u8,
}

/// A key object of the token and its label (for messages).
#[derive(Debug, Clone)]
pub struct TokenObject {
    /// The label.
    pub label: String,
    /// The handle in this process's session.
    pub handle: ObjectHandle,
}

impl TokenKeys {
    /// Whether the token holds the master of `key`.
    pub fn holds(&self, key: CardKey) -> bool {
        self.masters.iter().any(|(k, _)| *k == key)
    }

    fn object(&self, key: CardKey) -> Option<&TokenObject> {
        self.masters
            .iter()
            .find_map(|(k, o)| (*k == key).then_some(o))
    }

    /// The per-card key of `key` for `uid`, diversified in the token.
    pub fn card_key(&self, key: CardKey, uid: &RealUid) -> Result<AesKey, HsmError> {
        let o = self.object(key).ok_or_else(|| HsmError::Object {
            token: self.token.label().to_owned(),
            label: format!("{key:?}"),
            problem: "no master".into(),
        })?;
        self.diversify_with(o, key, uid)
    }

    fn diversify_with(
        &self,
        o: &TokenObject,
        key: CardKey,
        uid: &RealUid,
    ) -> Result<AesKey, HsmError> {
        let m = diversification_input(uid, self.aid, key, &self.system).ok_or_else(|| {
            HsmError::Attributes {
                token: self.token.label().to_owned(),
                label: o.label.clone(),
                problem: format!("{key:?} is not diversified"),
            }
        })?;
        self.token.diversify(o.handle, &o.label, &m)
    }

    /// K2 of generation `version`.
    pub fn read_generation(&self, version: u8, uid: &RealUid) -> Option<AesKey> {
        let read = CardKey::App(AppKey::Read);
        let o = if version == self.read_version {
            self.object(read)
        } else {
            match &self.read_next {
                Some((v, o)) if *v == version => Some(o),
                _ => None,
            }
        }?;
        self.diversify_with(o, read, uid)
            .map_err(|e| eprintln!("desfire: {e}"))
            .ok()
    }
}

/// The issuer signing key in a token.
#[derive(Debug, Clone)]
pub struct TokenSigner {
    /// The token.
    pub token: Arc<Token>,
    /// The private key.
    pub key: TokenObject,
    /// Tag 80 of the credentials it signs.
    pub issuer: IssuerId,
    /// Tag 8E.
    pub key_id: KeyId,
}

impl IssuerSigner for TokenSigner {
    fn issuer(&self) -> &IssuerId {
        &self.issuer
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn sign_digest(&self, digest: &TbsDigest) -> Option<[u8; SIGNATURE_LEN]> {
        self.token
            .sign_digest(self.key.handle, &self.key.label, digest)
            .map_err(|e| eprintln!("desfire: {e}"))
            .ok()
    }
}

/// The keys a profile holds in memory and in a token, as one [`KeyProvider`]: a key the token
/// holds is diversified there, any other from its master in memory.
#[derive(Debug)]
pub struct CardKeys<'a> {
    /// Masters (and K1) in memory.
    pub memory: desfire_core::encoding::Masters,
    /// Masters in a token.
    pub token: Option<&'a TokenKeys>,
}

impl KeyProvider for CardKeys<'_> {
    fn card_key(&mut self, key: CardKey, uid: &RealUid) -> Result<AesKey, KeyUnavailable> {
        match self.token {
            Some(t) if t.holds(key) => t.card_key(key, uid).map_err(|e| {
                eprintln!("desfire: {e}");
                KeyUnavailable
            }),
            _ => self.memory.card_key(key, uid),
        }
    }

    fn card_key_generation(
        &mut self,
        key: CardKey,
        version: u8,
        uid: &RealUid,
    ) -> Result<AesKey, KeyUnavailable> {
        match self.token {
            Some(t) if key == CardKey::App(AppKey::Read) && t.holds(key) => {
                t.read_generation(version, uid).ok_or(KeyUnavailable)
            }
            _ => self.memory.card_key_generation(key, version, uid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_points_in_either_form() {
        let mut p = [0x11u8; 65];
        p[0] = 0x04;
        let mut der = vec![0x04, 0x41];
        der.extend_from_slice(&p);
        assert_eq!(sec1_point(&der), Some(p));
        assert_eq!(sec1_point(&p), Some(p));
        assert_eq!(sec1_point(&der[..66]), None);
        assert_eq!(sec1_point(&[0x02; 33]), None);
    }

    #[test]
    fn pins_come_from_the_environment_or_a_file() {
        let missing = PinSource::Env("DESFIRE_TEST_PIN_THAT_IS_NOT_SET".into()).read();
        assert!(
            matches!(&missing, Err(HsmError::Pin(m)) if m.contains("not set")),
            "{missing:?}"
        );
        let e = PinSource::File("/nonexistent/pin".into())
            .read()
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/pin"), "{e}");
    }

    #[test]
    fn a_missing_module_is_a_clear_error() {
        let e = Token::open(
            &TokenConfig {
                module: "/nonexistent/libpkcs11.so".into(),
                token: "t".into(),
                pin: PinSource::Env("X".into()),
            },
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("/nonexistent/libpkcs11.so: no such file"),
            "{e}"
        );
    }
}
