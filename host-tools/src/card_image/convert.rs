//! Conversion between the image and the card's persistent state ([`State`]): every field
//! checked on the way in, with the path of the field in the error.

use desfire_core::crypto::AesKey;
use desfire_core::picc::state::{
    App, CONFIG_FORMAT_DISABLED, CONFIG_RANDOM_ID, File, FileKind, KeySlot, MAX_ATS, MAX_DF_NAME,
    MAX_KEYS, Originality as SigSource,
};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State, sig};
use desfire_core::wire::{Access, AccessRights, Aid, KeyNo, KeySettings, Status};
use zeroize::Zeroizing;

use super::FORMAT;
use super::error::{ImageError, Problem};
use super::schema::*;
use crate::hex_text;

fn err(path: impl Into<String>, problem: Problem) -> ImageError {
    ImageError {
        path: path.into(),
        problem,
    }
}

/// `N` bytes from hex.
fn bytes<const N: usize>(
    path: &str,
    text: &str,
    expected: &'static str,
) -> Result<[u8; N], ImageError> {
    let v = Zeroizing::new(hex_text::decode(text).map_err(|e| err(path, Problem::Hex(e)))?);
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| {
        err(
            path,
            Problem::Length {
                expected,
                got: v.len(),
            },
        )
    })
}

/// Up to `max` bytes from hex (`min` at least).
fn var_bytes(
    path: &str,
    text: &str,
    min: usize,
    max: usize,
    expected: &'static str,
) -> Result<Vec<u8>, ImageError> {
    let v = hex_text::decode(text).map_err(|e| err(path, Problem::Hex(e)))?;
    if (min..=max).contains(&v.len()) {
        Ok(v)
    } else {
        Err(err(
            path,
            Problem::Length {
                expected,
                got: v.len(),
            },
        ))
    }
}

fn byte(path: &str, text: &str) -> Result<u8, ImageError> {
    bytes::<1>(path, text, "1").map(|[b]| b)
}

fn fid(path: &str, text: &Option<String>) -> Result<Option<u16>, ImageError> {
    text.as_deref()
        .map(|t| bytes::<2>(path, t, "2").map(u16::from_be_bytes))
        .transpose()
}

fn key_slot(path: &str, k: &Key) -> Result<KeySlot, ImageError> {
    let raw = Zeroizing::new(bytes::<16>(&format!("{path}.key"), k.key.expose(), "16")?);
    Ok(KeySlot {
        key: AesKey::new(*raw),
        version: k.version,
    })
}

fn key_image(k: &KeySlot) -> Key {
    Key {
        key: SecretHex::encode(k.key.expose()),
        version: k.version,
    }
}

fn access(path: &str, text: &str) -> Result<Access, ImageError> {
    match text {
        "free" => Ok(Access::Free),
        "never" => Ok(Access::Never),
        n => n
            .parse::<u8>()
            .ok()
            .and_then(KeyNo::new)
            .map(Access::Key)
            .ok_or_else(|| err(path, Problem::BadAccess)),
    }
}

fn access_text(a: Access) -> String {
    match a {
        Access::Free => "free".into(),
        Access::Never => "never".into(),
        Access::Key(k) => k.value().to_string(),
    }
}

/// Maps a status of [`State::add_application`] / [`State::add_file`] to a problem.
fn refused(path: &str, s: Status) -> ImageError {
    let problem = match s {
        Status::DUPLICATE_ERROR => Problem::Duplicate,
        Status::OUT_OF_EEPROM | Status::COUNT_ERROR => Problem::OutOfMemory,
        s => Problem::Refused(s),
    };
    err(path, problem)
}

/// The committed region `active` of a two-region object of `len` bytes at `offset`.
fn committed(state: &State, offset: u32, len: u32, active: u8) -> &[u8] {
    let start = if active == 0 {
        Some(offset)
    } else {
        offset.checked_add(len)
    };
    start.and_then(|s| state.region(s, len)).unwrap_or_default()
}

impl CardImage {
    /// The image of a card's persistent state. Uncommitted changes are not part of the state
    /// (they live in the card's volatile memory) and so not of the image.
    pub fn from_state(s: &State) -> Self {
        let originality = match &s.originality {
            SigSource::Key(k) if *k == sig::TEST_SECRET => Originality::TestKey(true),
            SigSource::Key(k) => Originality::PrivateKey(SecretHex::encode(k)),
            SigSource::Signature(sig) => Originality::Signature(hex_text::upper(sig)),
        };
        Self {
            format: FORMAT.into(),
            uid: hex_text::upper(&s.uid),
            random_uid: s.config & CONFIG_RANDOM_ID != 0,
            format_disabled: s.config & CONFIG_FORMAT_DISABLED != 0,
            picc: Picc {
                master_key: key_image(&s.picc_key),
                key_settings: hex_text::upper(&[s.picc_settings.byte()]),
            },
            default_key: key_image(&s.default_key),
            ats: (!s.ats.is_empty()).then(|| hex_text::upper(&s.ats)),
            originality,
            applications: s
                .apps
                .iter()
                .map(|a| Application::from_state(s, a))
                .collect(),
        }
    }

    /// The state this image describes: applications added in order, each followed by its files,
    /// through the card's own [`State::add_application`] and [`State::add_file`]. Every
    /// committed region is region 0; shadow regions read as fresh memory (zeros).
    pub fn to_state(&self) -> Result<State, ImageError> {
        if self.format != FORMAT {
            return Err(err("format", Problem::UnknownFormat(self.format.clone())));
        }
        let mut s = State::factory(bytes::<7>("uid", &self.uid, "7")?);
        s.config = if self.random_uid { CONFIG_RANDOM_ID } else { 0 }
            | if self.format_disabled {
                CONFIG_FORMAT_DISABLED
            } else {
                0
            };
        s.picc_key = key_slot("picc.master_key", &self.picc.master_key)?;
        s.picc_settings =
            KeySettings::from_byte(byte("picc.key_settings", &self.picc.key_settings)?);
        s.default_key = key_slot("default_key", &self.default_key)?;
        if let Some(ats) = &self.ats {
            let v = var_bytes("ats", ats, 1, MAX_ATS, "1 to 20")?;
            if v.first().map(|tl| usize::from(*tl)) != Some(v.len()) {
                return Err(err(
                    "ats",
                    Problem::Length {
                        expected: "TL (the first byte)",
                        got: v.len(),
                    },
                ));
            }
            s.ats.clear();
            s.ats.extend_from_slice(&v).map_err(|_| {
                err(
                    "ats",
                    Problem::Length {
                        expected: "1 to 20",
                        got: v.len(),
                    },
                )
            })?;
        }
        s.originality = match &self.originality {
            Originality::TestKey(true) => SigSource::Key(sig::TEST_SECRET),
            Originality::TestKey(false) => {
                return Err(err("originality.test_key", Problem::TestKeyFalse));
            }
            Originality::PrivateKey(k) => {
                let path = "originality.private_key";
                let k = Zeroizing::new(bytes::<28>(path, k.expose(), "28")?);
                if sig::sign(&k, &s.uid).is_none() {
                    return Err(err(path, Problem::BadPrivateKey));
                }
                SigSource::Key(*k)
            }
            Originality::Signature(sig) => {
                SigSource::Signature(bytes::<56>("originality.signature", sig, "56")?)
            }
        };
        for (i, app) in self.applications.iter().enumerate() {
            app.add_to(&mut s, &format!("applications[{i}]"))?;
        }
        Ok(s)
    }

    /// A virtual card holding this image, in RAM, powered up.
    pub fn into_card<R: rand_core::CryptoRng>(
        self,
        rng: R,
    ) -> Result<Card<RamNvm<NVM_LEN>, R>, ImageError> {
        self.into_card_with(rng, CardConfig::default())
    }

    /// The same with `config` (frame size, GetVersion production data).
    pub fn into_card_with<R: rand_core::CryptoRng>(
        self,
        rng: R,
        config: CardConfig,
    ) -> Result<Card<RamNvm<NVM_LEN>, R>, ImageError> {
        let state = self.to_state()?;
        Card::create(RamNvm::new(), rng, config, state)
            .map_err(|e| err("", Problem::Refused(status_of(e))))
    }

    /// The image of a card's persistent state.
    pub fn from_card<N: desfire_core::picc::Nvm, R: rand_core::CryptoRng>(
        card: &Card<N, R>,
    ) -> Self {
        Self::from_state(card.state())
    }
}

/// A state that passed [`CardImage::to_state`] always encodes; should the NVM image still fail,
/// say so as the card would (integrity error) rather than panic.
fn status_of<E>(_: desfire_core::picc::OpenError<E>) -> Status {
    Status::FILE_INTEGRITY_ERROR
}

impl Application {
    fn from_state(s: &State, a: &App) -> Self {
        let keys = a
            .keys
            .iter()
            .take(usize::from(a.key_count))
            .map(key_image)
            .collect();
        Self {
            aid: format!("{:06X}", a.aid.value()),
            key_settings: hex_text::upper(&[a.settings.byte()]),
            keys,
            iso_fid: a.iso_fid.map(|f| format!("{f:04X}")),
            df_name: (!a.df_name.is_empty()).then(|| hex_text::upper(&a.df_name)),
            files: s
                .files
                .iter()
                .filter(|f| f.aid == a.aid)
                .map(|f| FileImage::from_state(s, f))
                .collect(),
        }
    }

    fn add_to(&self, s: &mut State, path: &str) -> Result<(), ImageError> {
        let p = |field: &str| format!("{path}.{field}");
        let [a, b, c] = bytes::<3>(&p("aid"), &self.aid, "3")?;
        let aid = Aid::new(u32::from_be_bytes([0, a, b, c]))
            .filter(|a| *a != Aid::PICC)
            .ok_or_else(|| err(p("aid"), Problem::Refused(Status::PARAMETER_ERROR)))?;
        let settings = KeySettings::from_byte(byte(&p("key_settings"), &self.key_settings)?);
        if !(1..=MAX_KEYS).contains(&self.keys.len()) {
            return Err(err(
                p("keys"),
                Problem::Length {
                    expected: "1 to 14 keys",
                    got: self.keys.len(),
                },
            ));
        }
        let keys = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| key_slot(&p(&format!("keys[{i}]")), k))
            .collect::<Result<Vec<_>, _>>()?;
        let iso_fid = fid(&p("iso_fid"), &self.iso_fid)?;
        let df_name = self
            .df_name
            .as_deref()
            .map(|n| var_bytes(&p("df_name"), n, 1, MAX_DF_NAME, "1 to 16"))
            .transpose()?
            .unwrap_or_default();
        if iso_fid.is_some() == df_name.is_empty() {
            return Err(err(path, Problem::IsoPair));
        }
        let key_count = u8::try_from(keys.len()).unwrap_or(u8::MAX);
        let app = s
            .add_application(aid, settings, key_count, iso_fid, &df_name)
            .map_err(|e| refused(path, e))?;
        for (slot, key) in app.keys.iter_mut().zip(keys) {
            *slot = key;
        }
        for (i, f) in self.files.iter().enumerate() {
            f.add_to(s, aid, &p(&format!("files[{i}]")))?;
        }
        Ok(())
    }
}

impl FileImage {
    fn from_state(s: &State, f: &File) -> Self {
        let mut img = Self {
            no: f.no,
            file_type: FileType::Std,
            iso_fid: f.iso_fid.map(|v| format!("{v:04X}")),
            comm_mode: f.comm.into(),
            access_rights: Rights {
                read: access_text(f.rights.read),
                write: access_text(f.rights.write),
                read_write: access_text(f.rights.read_write),
                change: access_text(f.rights.change),
            },
            size: None,
            data: None,
            lower_limit: None,
            upper_limit: None,
            value: None,
            limited_credit: None,
            free_get_value: None,
            record_size: None,
            max_records: None,
            records: None,
        };
        match f.kind {
            FileKind::Data {
                backup,
                size,
                offset,
                active,
            } => {
                img.file_type = if backup {
                    FileType::Backup
                } else {
                    FileType::Std
                };
                img.size = Some(size);
                img.data = Some(hex_text::upper(committed(s, offset, size, active)));
            }
            FileKind::Value {
                lower,
                upper,
                value,
                limited_value,
                limited_enabled,
                free_get,
            } => {
                img.file_type = FileType::Value;
                img.lower_limit = Some(lower);
                img.upper_limit = Some(upper);
                img.value = Some(value);
                img.limited_credit = Some(LimitedCredit {
                    enabled: limited_enabled,
                    value: limited_value,
                });
                img.free_get_value = Some(free_get);
            }
            FileKind::Record {
                cyclic,
                size,
                max,
                count,
                offset,
                active,
            } => {
                img.file_type = if cyclic {
                    FileType::CyclicRecord
                } else {
                    FileType::LinearRecord
                };
                img.record_size = Some(size);
                img.max_records = Some(max);
                let region = committed(s, offset, size.saturating_mul(max), active);
                let records = region
                    .chunks(usize::try_from(size).unwrap_or(usize::MAX).max(1))
                    .take(usize::try_from(count).unwrap_or(0))
                    .map(hex_text::upper)
                    .collect();
                img.records = Some(records);
            }
        }
        img
    }

    /// Checks that exactly the fields of this file type are present.
    fn check_fields(&self, path: &str) -> Result<(), ImageError> {
        let (data, value, record) = match self.file_type {
            FileType::Std | FileType::Backup => (true, false, false),
            FileType::Value => (false, true, false),
            FileType::LinearRecord | FileType::CyclicRecord => (false, false, true),
        };
        // (field, present, allowed, required)
        let fields = [
            ("iso_fid", self.iso_fid.is_some(), !value, false),
            ("size", self.size.is_some(), data, data),
            ("data", self.data.is_some(), data, false),
            ("lower_limit", self.lower_limit.is_some(), value, value),
            ("upper_limit", self.upper_limit.is_some(), value, value),
            ("value", self.value.is_some(), value, value),
            (
                "limited_credit",
                self.limited_credit.is_some(),
                value,
                false,
            ),
            (
                "free_get_value",
                self.free_get_value.is_some(),
                value,
                false,
            ),
            ("record_size", self.record_size.is_some(), record, record),
            ("max_records", self.max_records.is_some(), record, record),
            ("records", self.records.is_some(), record, false),
        ];
        for (name, present, allowed, required) in fields {
            if present && !allowed {
                return Err(err(format!("{path}.{name}"), Problem::NotForType));
            }
            if required && !present {
                return Err(err(format!("{path}.{name}"), Problem::Missing));
            }
        }
        Ok(())
    }

    fn add_to(&self, s: &mut State, aid: Aid, path: &str) -> Result<(), ImageError> {
        let p = |field: &str| format!("{path}.{field}");
        self.check_fields(path)?;
        let r = &self.access_rights;
        let rights = AccessRights {
            read: access(&p("access_rights.read"), &r.read)?,
            write: access(&p("access_rights.write"), &r.write)?,
            read_write: access(&p("access_rights.read_write"), &r.read_write)?,
            change: access(&p("access_rights.change"), &r.change)?,
        };
        // Contents to lay into region 0 once the file is placed.
        let mut contents = Vec::new();
        let kind = match self.file_type {
            FileType::Std | FileType::Backup => {
                let size = self.size.unwrap_or(0);
                if let Some(d) = &self.data {
                    contents = hex_text::decode(d).map_err(|e| err(p("data"), Problem::Hex(e)))?;
                    if u32::try_from(contents.len()).map_or(true, |n| n > size) {
                        let got = contents.len();
                        return Err(err(p("data"), Problem::DataTooLong { got, size }));
                    }
                }
                FileKind::Data {
                    backup: self.file_type == FileType::Backup,
                    size,
                    offset: 0,
                    active: 0,
                }
            }
            FileType::Value => {
                let (lower, upper, value) = (
                    self.lower_limit.unwrap_or(0),
                    self.upper_limit.unwrap_or(0),
                    self.value.unwrap_or(0),
                );
                if lower > upper {
                    return Err(err(p("lower_limit"), Problem::Limits));
                }
                if !(lower..=upper).contains(&value) {
                    return Err(err(p("value"), Problem::Limits));
                }
                let limited = self.limited_credit.unwrap_or(LimitedCredit {
                    enabled: false,
                    value: 0,
                });
                if limited.value < 0 {
                    return Err(err(
                        p("limited_credit.value"),
                        Problem::Refused(Status::PARAMETER_ERROR),
                    ));
                }
                FileKind::Value {
                    lower,
                    upper,
                    value,
                    limited_value: limited.value,
                    limited_enabled: limited.enabled,
                    free_get: self.free_get_value.unwrap_or(false),
                }
            }
            FileType::LinearRecord | FileType::CyclicRecord => {
                let cyclic = self.file_type == FileType::CyclicRecord;
                let size = self.record_size.unwrap_or(0);
                let max = self.max_records.unwrap_or(0);
                let records = self.records.as_deref().unwrap_or_default();
                let capacity = if cyclic { max.saturating_sub(1) } else { max };
                if u32::try_from(records.len()).map_or(true, |n| n > capacity) {
                    let got = records.len();
                    return Err(err(
                        p("records"),
                        Problem::TooManyRecords { got, max: capacity },
                    ));
                }
                for (i, rec) in records.iter().enumerate() {
                    let path = p(&format!("records[{i}]"));
                    let v = hex_text::decode(rec).map_err(|e| err(&path, Problem::Hex(e)))?;
                    if u32::try_from(v.len()).ok() != Some(size) {
                        let got = v.len();
                        return Err(err(
                            path,
                            Problem::Length {
                                expected: "record_size",
                                got,
                            },
                        ));
                    }
                    contents.extend_from_slice(&v);
                }
                FileKind::Record {
                    cyclic,
                    size,
                    max,
                    count: u32::try_from(records.len()).unwrap_or(u32::MAX),
                    offset: 0,
                    active: 0,
                }
            }
        };
        let file = File {
            aid,
            no: self.no,
            iso_fid: fid(&p("iso_fid"), &self.iso_fid)?,
            comm: self.comm_mode.into(),
            rights,
            kind,
        };
        let placed = s.add_file(file).map_err(|e| refused(path, e))?;
        if let FileKind::Data { offset, .. } | FileKind::Record { offset, .. } = placed.kind {
            let len = u32::try_from(contents.len()).unwrap_or(u32::MAX);
            s.region_mut(offset, len)
                .ok_or_else(|| err(path, Problem::OutOfMemory))?
                .copy_from_slice(&contents);
        }
        Ok(())
    }
}
