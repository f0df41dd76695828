//! Typed parsing of what the user gives on the command line or in a key file: AES keys, key
//! specifications (`HEX` or `N=HEX`) and session specifications
//! (`KEYNO:TI:SESENC:SESMAC:CMDCTR`).
//!
//! Keys on a command line are for lab keys only: the process's argument vector is readable by
//! other local users and cannot be wiped. Within this process the text is wrapped in
//! [`SecretArg`] and every parsed key in [`AesKey`], both zeroized on drop.

use desfire_core::crypto::AesKey;
use desfire_core::crypto::ev2::{CmdCtr, SessionKeys, Ti};
use desfire_core::wire::{Access, AccessRights, Aid, CommMode, FileNo, KeyNo};
use zeroize::Zeroizing;

use crate::hex_text::{self, HexError};

/// A command-line value that holds key material: zeroized on drop, printed as `[redacted]`.
#[derive(Clone, Default)]
pub struct SecretArg(Zeroizing<String>);

impl SecretArg {
    /// The text, for parsing. Do not copy it anywhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretArg {
    fn from(s: String) -> Self {
        Self(Zeroizing::new(s))
    }
}

impl From<&str> for SecretArg {
    fn from(s: &str) -> Self {
        Self(Zeroizing::new(s.to_owned()))
    }
}

impl core::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretArg([redacted])")
    }
}

/// Why an argument could not be used. Messages name the argument but never echo a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// Not hex.
    #[error("{what}: {error}")]
    Hex {
        /// Which argument.
        what: String,
        /// What is wrong with the digits.
        error: HexError,
    },
    /// Hex of the wrong length.
    #[error("{what}: expected {expected}, got {got} byte(s)")]
    Length {
        /// Which argument.
        what: String,
        /// The allowed length, in words.
        expected: &'static str,
        /// The length given.
        got: usize,
    },
    /// Anything else.
    #[error("{what}: {message}")]
    Invalid {
        /// Which argument.
        what: String,
        /// What is wrong.
        message: String,
    },
}

impl ArgError {
    fn invalid(what: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            what: what.to_owned(),
            message: message.into(),
        }
    }
}

/// Parses non-secret hex (UIDs, AIDs, diversification input, TIs).
pub fn parse_hex(what: &str, text: &str) -> Result<Vec<u8>, ArgError> {
    hex_text::decode(text).map_err(|error| ArgError::Hex {
        what: what.to_owned(),
        error,
    })
}

/// Parses an AES-128 key from 32 hex digits (whitespace allowed).
pub fn parse_aes_key(what: &str, text: &str) -> Result<AesKey, ArgError> {
    let mut bytes = Zeroizing::new(Vec::new());
    hex_text::decode_into(text, &mut bytes).map_err(|error| ArgError::Hex {
        what: what.to_owned(),
        error,
    })?;
    AesKey::from_slice(&bytes).ok_or(ArgError::Length {
        what: what.to_owned(),
        expected: "an AES-128 key of 16 bytes (32 hex digits)",
        got: bytes.len(),
    })
}

/// Parses a key number written in decimal, 0 to 13.
pub fn parse_key_no(what: &str, text: &str) -> Result<KeyNo, ArgError> {
    text.trim()
        .parse::<u8>()
        .ok()
        .and_then(KeyNo::new)
        .ok_or_else(|| {
            ArgError::invalid(
                what,
                format!(
                    "key number must be 0 to 13 (decimal), got {:?}",
                    text.trim()
                ),
            )
        })
}

/// Parses an application ID as people write it: 6 hex digits, most significant first
/// (`0AC501` is sent as `01 C5 0A`). `000000` is the PICC level, not an application.
pub fn parse_aid(what: &str, text: &str) -> Result<Aid, ArgError> {
    let bytes = parse_hex(what, text)?;
    let [a, b, c] = bytes.as_slice() else {
        return Err(ArgError::Length {
            what: what.to_owned(),
            expected: "3 bytes (6 hex digits)",
            got: bytes.len(),
        });
    };
    match Aid::new(u32::from_be_bytes([0, *a, *b, *c])) {
        Some(aid) if aid != Aid::PICC => Ok(aid),
        _ => Err(ArgError::invalid(
            what,
            "000000 is the PICC level, not an application",
        )),
    }
}

/// Parses a file number written in decimal, 0 to 31.
pub fn parse_file_no(what: &str, text: &str) -> Result<FileNo, ArgError> {
    text.trim()
        .parse::<u8>()
        .ok()
        .and_then(FileNo::new)
        .ok_or_else(|| {
            ArgError::invalid(
                what,
                format!(
                    "file number must be 0 to 31 (decimal), got {:?}",
                    text.trim()
                ),
            )
        })
}

/// Parses a comm mode: `plain`, `mac` or `full`.
pub fn parse_comm_mode(what: &str, text: &str) -> Result<CommMode, ArgError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "plain" => Ok(CommMode::Plain),
        "mac" => Ok(CommMode::Mac),
        "full" => Ok(CommMode::Full),
        other => Err(ArgError::invalid(
            what,
            format!("comm mode must be plain, mac or full, got {other:?}"),
        )),
    }
}

/// Parses access rights `READ,WRITE,READWRITE,CHANGE`, each a key number (decimal 0-13),
/// `free` (or `E`) or `never` (or `F`).
pub fn parse_access_rights(what: &str, text: &str) -> Result<AccessRights, ArgError> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [read, write, read_write, change] = parts.as_slice() else {
        return Err(ArgError::invalid(
            what,
            format!(
                "expected READ,WRITE,READWRITE,CHANGE (4 fields), got {} field(s)",
                parts.len()
            ),
        ));
    };
    let access = |t: &str| -> Result<Access, ArgError> {
        match t.to_ascii_lowercase().as_str() {
            "free" | "e" => Ok(Access::Free),
            "never" | "f" => Ok(Access::Never),
            n => parse_key_no(what, n).map(Access::Key),
        }
    };
    Ok(AccessRights {
        read: access(read)?,
        write: access(write)?,
        read_write: access(read_write)?,
        change: access(change)?,
    })
}

/// A key the trace decoder may try: for one key number, or for any.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// `None`: try this key for every key number.
    pub key_no: Option<KeyNo>,
    /// The key (redacted in `Debug`, zeroized on drop).
    pub key: AesKey,
}

impl KeySpec {
    /// A key for any key number.
    pub fn any(key: AesKey) -> Self {
        Self { key_no: None, key }
    }

    /// A key for key number `key_no`.
    pub fn for_key(key_no: KeyNo, key: AesKey) -> Self {
        Self {
            key_no: Some(key_no),
            key,
        }
    }

    /// Parses `HEX` (any key number) or `N=HEX` (key number N, decimal 0-13).
    pub fn parse(what: &str, text: &str) -> Result<Self, ArgError> {
        match text.split_once('=') {
            Some((n, key)) => Ok(Self::for_key(
                parse_key_no(what, n)?,
                parse_aes_key(what, key)?,
            )),
            None => Ok(Self::any(parse_aes_key(what, text)?)),
        }
    }

    /// Whether the decoder should try this key for key number byte `key_no`.
    pub fn applies_to(&self, key_no: u8) -> bool {
        self.key_no.is_none_or(|k| k.value() == key_no)
    }
}

/// Why the keys of `--key` and `--key-file` could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// A key is malformed.
    #[error(transparent)]
    Arg(ArgError),
    /// The key file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, for messages.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The keys given with `--key` (lab keys) and `--key-file`, in that order. The file's text is
/// zeroized after parsing.
pub fn load_keys(
    keys: &[SecretArg],
    key_file: Option<&std::path::Path>,
) -> Result<Vec<KeySpec>, KeyLoadError> {
    let mut specs = Vec::new();
    for k in keys {
        specs.push(KeySpec::parse("--key", k.expose()).map_err(KeyLoadError::Arg)?);
    }
    if let Some(path) = key_file {
        let shown = path.display().to_string();
        let text = read_secret_file(path)?;
        specs.extend(parse_key_file(&shown, &text).map_err(KeyLoadError::Arg)?);
    }
    Ok(specs)
}

/// Reads a file that holds keys (`--key-file`, `--master-file`, `--new-key-file`, an SCBK
/// file) as the profile reads its key files ([`crate::key_file::read_key_file`]): not through a
/// symbolic link, a regular file of the user running the tool, no access for group or others,
/// all checked on the open descriptor. An unsafe file is a usage error that says why.
pub fn read_secret_file(path: &std::path::Path) -> Result<Zeroizing<String>, KeyLoadError> {
    crate::key_file::read_key_file(path).map_err(|e| match e {
        crate::key_file::KeyFileError::Io { source, .. } => KeyLoadError::Read {
            path: path.display().to_string(),
            source,
        },
        other => KeyLoadError::Arg(ArgError::Invalid {
            what: path.display().to_string(),
            message: other.to_string(),
        }),
    })
}

/// Parses a key file: one `HEX` or `N=HEX` per line; blank lines and `#` comments are ignored.
pub fn parse_key_file(path: &str, text: &str) -> Result<Vec<KeySpec>, ArgError> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        keys.push(KeySpec::parse(
            &format!("{path} line {}", i.saturating_add(1)),
            line,
        )?);
    }
    Ok(keys)
}

/// A session to start the trace decoder in, for excerpts that begin after the authentication.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The key number the session was authenticated with.
    pub key_no: KeyNo,
    /// Transaction identifier.
    pub ti: Ti,
    /// SesAuthENCKey and SesAuthMACKey.
    pub keys: SessionKeys,
    /// The counter value of the first command of the excerpt.
    pub cmd_ctr: CmdCtr,
}

impl SessionSpec {
    /// Parses `KEYNO:TI:SESENC:SESMAC:CMDCTR`, all hex: KEYNO 1-2 digits (0-D), TI 8 digits,
    /// the keys 32 digits each, CMDCTR 1-4 digits (the counter of the first command).
    pub fn parse(what: &str, text: &str) -> Result<Self, ArgError> {
        let fields: Vec<&str> = text.split(':').collect();
        let [key_no, ti, enc, mac, ctr] = fields.as_slice() else {
            return Err(ArgError::invalid(
                what,
                format!(
                    "expected KEYNO:TI:SESENC:SESMAC:CMDCTR (5 fields separated by ':'), got {} field(s)",
                    fields.len()
                ),
            ));
        };
        let key_no = parse_hex_number(what, "KEYNO", key_no, 2)
            .ok()
            .and_then(|n| u8::try_from(n).ok())
            .and_then(KeyNo::new)
            .ok_or_else(|| ArgError::invalid(what, "KEYNO must be hex 0 to D"))?;
        let ti_bytes = parse_hex(&format!("{what} TI"), ti)?;
        let ti = <[u8; 4]>::try_from(ti_bytes.as_slice()).map_err(|_| ArgError::Length {
            what: format!("{what} TI"),
            expected: "4 bytes (8 hex digits)",
            got: ti_bytes.len(),
        })?;
        let keys = SessionKeys {
            enc: parse_aes_key(&format!("{what} SESENC"), enc)?,
            mac: parse_aes_key(&format!("{what} SESMAC"), mac)?,
        };
        let ctr = parse_hex_number(what, "CMDCTR", ctr, 4)?;
        let cmd_ctr = u16::try_from(ctr)
            .map(CmdCtr)
            .map_err(|_| ArgError::invalid(what, "CMDCTR must be at most FFFF"))?;
        Ok(Self {
            key_no,
            ti: Ti(ti),
            keys,
            cmd_ctr,
        })
    }
}

/// A hex number of 1 to `max_digits` digits.
fn parse_hex_number(
    what: &str,
    field: &str,
    text: &str,
    max_digits: usize,
) -> Result<u32, ArgError> {
    let t = text.trim();
    if t.is_empty() || t.len() > max_digits || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ArgError::invalid(
            what,
            format!("{field} must be 1 to {max_digits} hex digits, got {t:?}"),
        ));
    }
    u32::from_str_radix(t, 16).map_err(|_| ArgError::invalid(what, format!("{field} is not hex")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn aes_keys() {
        let k = parse_aes_key("--key", "00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(k.expose(), &hex!("00112233445566778899AABBCCDDEEFF"));
        let k = parse_aes_key("--key", "0011 2233 4455 6677 8899 AABB CCDD EEFF").unwrap();
        assert_eq!(k.expose(), &hex!("00112233445566778899AABBCCDDEEFF"));
        let e = parse_aes_key("--key", "0011").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--key: expected an AES-128 key of 16 bytes (32 hex digits), got 2 byte(s)"
        );
        assert!(matches!(
            parse_aes_key("--key", "zz112233445566778899AABBCCDDEEFF"),
            Err(ArgError::Hex { .. })
        ));
    }

    #[test]
    fn key_specs() {
        let any = KeySpec::parse("--key", "00000000000000000000000000000000").unwrap();
        assert!(any.key_no.is_none() && any.applies_to(0) && any.applies_to(13));
        let two = KeySpec::parse("--key", "2=00112233445566778899AABBCCDDEEFF").unwrap();
        assert_eq!(two.key_no, KeyNo::new(2));
        assert!(two.applies_to(2) && !two.applies_to(0));
        assert!(KeySpec::parse("--key", "14=00112233445566778899AABBCCDDEEFF").is_err());
        assert!(KeySpec::parse("--key", "x=00112233445566778899AABBCCDDEEFF").is_err());
        assert!(KeySpec::parse("--key", "2=0011").is_err());
        // Debug never shows key bytes.
        assert!(!format!("{two:?}").contains("33"));
    }

    #[test]
    fn key_files() {
        let keys = parse_key_file(
            "k.txt",
            "# lab keys\n\n0=00000000000000000000000000000000\n  00112233445566778899AABBCCDDEEFF # any\n",
        )
        .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].key_no, KeyNo::new(0));
        assert!(keys[1].key_no.is_none());
        let e = parse_key_file("k.txt", "\n0=0011\n").unwrap_err();
        assert!(e.to_string().starts_with("k.txt line 2:"), "{e}");
    }

    #[test]
    fn session_specs() {
        let s = SessionSpec::parse(
            "--session",
            "0:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:0",
        )
        .unwrap();
        assert_eq!(s.key_no, KeyNo::MASTER);
        assert_eq!(s.ti, Ti(hex!("7A21085E")));
        assert_eq!(
            s.keys.mac.expose(),
            &hex!("8248134A386E86EB7FAF54A52E536CB6")
        );
        assert_eq!(s.cmd_ctr, CmdCtr(0));
        let s = SessionSpec::parse(
            "--session",
            "d:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:01Ff",
        )
        .unwrap();
        assert_eq!(s.key_no, KeyNo::new(13).unwrap());
        assert_eq!(s.cmd_ctr, CmdCtr(0x01FF));
        for bad in [
            "0:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6",
            "E:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:0",
            "0:7A2108:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:0",
            "0:7A21085E:00:8248134A386E86EB7FAF54A52E536CB6:0",
            "0:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:10000",
            "0:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:",
        ] {
            assert!(SessionSpec::parse("--session", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aids_files_modes_rights() {
        assert_eq!(
            parse_aid("--aid", "0AC501").unwrap().to_wire(),
            [0x01, 0xC5, 0x0A]
        );
        assert!(parse_aid("--aid", "000000").is_err());
        assert!(parse_aid("--aid", "0AC5").is_err());
        assert_eq!(parse_file_no("--file", "31").unwrap().value(), 31);
        assert!(parse_file_no("--file", "32").is_err());
        assert_eq!(parse_comm_mode("--comm", "Full").unwrap(), CommMode::Full);
        assert!(parse_comm_mode("--comm", "enc").is_err());
        let r = parse_access_rights("--rights", "free, 1 ,never,0").unwrap();
        assert_eq!(r.to_wire(), [0xF0, 0xE1]);
        assert_eq!(
            parse_access_rights("--rights", "E,E,E,E")
                .unwrap()
                .to_wire(),
            [0xEE, 0xEE]
        );
        assert!(parse_access_rights("--rights", "1,2,3").is_err());
        assert!(parse_access_rights("--rights", "1,2,3,14").is_err());
    }

    #[test]
    fn secret_arg_is_redacted() {
        let s = SecretArg::from("00112233445566778899AABBCCDDEEFF");
        assert_eq!(format!("{s:?}"), "SecretArg([redacted])");
        assert_eq!(s.expose().len(), 32);
    }
}
