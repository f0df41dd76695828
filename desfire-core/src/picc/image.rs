//! The NVM byte image of [`State`]: a fixed layout, so that a change rewrites only the bytes it
//! changes, and a decoder that checks every field (a corrupt image is an error, never a panic).
//!
//! Layout: the data arena first (its offsets never move), then a header, fixed-size application
//! and file slots, and a CRC32 of everything before it.

use super::state::{
    App, File, FileKind, KeySlot, MAX_APPS, MAX_ATS, MAX_DF_NAME, MAX_FILES, MAX_KEYS, MEMORY,
    Originality, State,
};
use crate::crypto::{AesKey, crc32};
use crate::wire::{AccessRights, Aid, CommMode, KeySettings, Reader, Writer};

const MAGIC: [u8; 4] = *b"DFV1";
const KEY_LEN: usize = 17;
const HEADER_LEN: usize = 4 + 7 + 1 + KEY_LEN + 1 + KEY_LEN + 1 + MAX_ATS + 4 + 1 + 56 + 1 + 1;
const APP_LEN: usize = 3 + 1 + 1 + MAX_KEYS * KEY_LEN + 3 + 1 + MAX_DF_NAME;
const FILE_LEN: usize = 3 + 1 + 3 + 1 + 2 + 1 + 24;

/// Size of the image in bytes.
pub const IMAGE_LEN: usize = MEMORY + HEADER_LEN + MAX_APPS * APP_LEN + MAX_FILES * FILE_LEN + 4;

/// Why an image does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImageError {
    /// No card image: blank or foreign memory.
    NoImage,
    /// The CRC does not match.
    Crc,
    /// A field is out of range.
    Field,
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::NoImage => "no card image (blank or foreign memory)",
            Self::Crc => "the image CRC does not match",
            Self::Field => "an image field is out of range",
        })
    }
}

impl core::error::Error for ImageError {}

impl From<crate::wire::Error> for ImageError {
    fn from(_: crate::wire::Error) -> Self {
        Self::Field
    }
}

fn put_key(w: &mut Writer<'_>, k: &KeySlot) -> Result<(), crate::wire::Error> {
    w.put(k.key.expose())?;
    w.put_u8(k.version)
}

fn get_key(r: &mut Reader<'_>) -> Result<KeySlot, ImageError> {
    let mut key: [u8; 16] = r.array()?;
    let slot = KeySlot {
        key: AesKey::new(key),
        version: r.u8()?,
    };
    zeroize::Zeroize::zeroize(&mut key);
    Ok(slot)
}

fn put_fid(w: &mut Writer<'_>, fid: Option<u16>) -> Result<(), crate::wire::Error> {
    w.put_u8(u8::from(fid.is_some()))?;
    w.put(&fid.unwrap_or(0).to_le_bytes())
}

fn get_fid(r: &mut Reader<'_>) -> Result<Option<u16>, ImageError> {
    let has = r.u8()?;
    let fid = r.u16_le()?;
    match has {
        0 => Ok(None),
        1 => Ok(Some(fid)),
        _ => Err(ImageError::Field),
    }
}

/// Pads the writer with zeros up to `len` bytes from `start`.
fn pad_to(w: &mut Writer<'_>, start: usize, len: usize) -> Result<(), crate::wire::Error> {
    let end = start
        .checked_add(len)
        .ok_or(crate::wire::Error::BadLength)?;
    while w.len() < end {
        w.put_u8(0)?;
    }
    if w.len() == end {
        Ok(())
    } else {
        Err(crate::wire::Error::BadLength)
    }
}

/// Writes the image of `s` into `out` (at least [`IMAGE_LEN`] bytes).
pub fn encode(s: &State, out: &mut [u8]) -> Result<(), crate::wire::Error> {
    let mut w = Writer::new(out);
    w.put(&s.arena)?;
    w.put(&MAGIC)?;
    w.put(&s.uid)?;
    w.put_u8(s.config)?;
    put_key(&mut w, &s.picc_key)?;
    w.put_u8(s.picc_settings.byte())?;
    put_key(&mut w, &s.default_key)?;
    w.put_u8(u8::try_from(s.ats.len()).map_err(|_| crate::wire::Error::BadLength)?)?;
    let at = w.len();
    w.put(&s.ats)?;
    pad_to(&mut w, at, MAX_ATS)?;
    w.put(&s.used.to_le_bytes())?;
    match &s.originality {
        Originality::Key(k) => {
            w.put_u8(0)?;
            w.put(k)?;
            w.put(&[0; 28])?;
        }
        Originality::Signature(sig) => {
            w.put_u8(1)?;
            w.put(sig)?;
        }
    }
    w.put_u8(u8::try_from(s.apps.len()).map_err(|_| crate::wire::Error::BadLength)?)?;
    w.put_u8(u8::try_from(s.files.len()).map_err(|_| crate::wire::Error::BadLength)?)?;
    for i in 0..MAX_APPS {
        let at = w.len();
        if let Some(a) = s.apps.get(i) {
            w.put(&a.aid.to_wire())?;
            w.put_u8(a.settings.byte())?;
            w.put_u8(a.key_count)?;
            for k in &a.keys {
                put_key(&mut w, k)?;
            }
            put_fid(&mut w, a.iso_fid)?;
            w.put_u8(u8::try_from(a.df_name.len()).map_err(|_| crate::wire::Error::BadLength)?)?;
            w.put(&a.df_name)?;
        }
        pad_to(&mut w, at, APP_LEN)?;
    }
    for i in 0..MAX_FILES {
        let at = w.len();
        if let Some(f) = s.files.get(i) {
            w.put(&f.aid.to_wire())?;
            w.put_u8(f.no)?;
            put_fid(&mut w, f.iso_fid)?;
            w.put_u8(f.comm.bits())?;
            w.put(&f.rights.to_wire())?;
            w.put_u8(f.kind.type_byte())?;
            match f.kind {
                FileKind::Data {
                    size,
                    offset,
                    active,
                    ..
                } => {
                    w.put(&size.to_le_bytes())?;
                    w.put(&offset.to_le_bytes())?;
                    w.put_u8(active)?;
                }
                FileKind::Value {
                    lower,
                    upper,
                    value,
                    limited_value,
                    limited_enabled,
                    free_get,
                } => {
                    w.put(&lower.to_le_bytes())?;
                    w.put(&upper.to_le_bytes())?;
                    w.put(&value.to_le_bytes())?;
                    w.put(&limited_value.to_le_bytes())?;
                    w.put_u8(u8::from(limited_enabled) | (u8::from(free_get) << 1))?;
                }
                FileKind::Record {
                    size,
                    max,
                    count,
                    offset,
                    active,
                    ..
                } => {
                    w.put(&size.to_le_bytes())?;
                    w.put(&max.to_le_bytes())?;
                    w.put(&count.to_le_bytes())?;
                    w.put(&offset.to_le_bytes())?;
                    w.put_u8(active)?;
                }
            }
        }
        pad_to(&mut w, at, FILE_LEN)?;
    }
    let crc = crc32(&[w.written()]);
    w.put(&crc)
}

/// Decodes and checks an image. `Ok` only for a state whose every offset lies in the arena.
pub fn decode(image: &[u8]) -> Result<State, ImageError> {
    let body_len = IMAGE_LEN.checked_sub(4).ok_or(ImageError::Field)?;
    let (body, crc) = image
        .get(..IMAGE_LEN)
        .ok_or(ImageError::NoImage)?
        .split_at_checked(body_len)
        .ok_or(ImageError::NoImage)?;
    if body.get(MEMORY..MEMORY.saturating_add(4)) != Some(&MAGIC[..]) {
        return Err(ImageError::NoImage);
    }
    if crc32(&[body]) != crc {
        return Err(ImageError::Crc);
    }
    let mut r = Reader::new(body);
    let mut s = State::factory([0; 7]);
    s.arena = r.array()?;
    let _magic: [u8; 4] = r.array()?;
    s.uid = r.array()?;
    s.config = r.u8()?;
    s.picc_key = get_key(&mut r)?;
    s.picc_settings = KeySettings::from_byte(r.u8()?);
    s.default_key = get_key(&mut r)?;
    let ats_len = usize::from(r.u8()?);
    let ats = r.take(MAX_ATS)?;
    s.ats = heapless::Vec::from_slice(ats.get(..ats_len).ok_or(ImageError::Field)?)
        .map_err(|_| ImageError::Field)?;
    s.used = u32::from_le_bytes(r.array()?);
    if usize::try_from(s.used).map_or(true, |u| u > MEMORY) {
        return Err(ImageError::Field);
    }
    let kind = r.u8()?;
    let sig: [u8; 56] = r.array()?;
    s.originality = match kind {
        0 => Originality::Key(sig.first_chunk::<28>().copied().ok_or(ImageError::Field)?),
        1 => Originality::Signature(sig),
        _ => return Err(ImageError::Field),
    };
    let napps = usize::from(r.u8()?);
    let nfiles = usize::from(r.u8()?);
    if napps > MAX_APPS || nfiles > MAX_FILES {
        return Err(ImageError::Field);
    }
    for i in 0..MAX_APPS {
        let slot = r.take(APP_LEN)?;
        if i >= napps {
            continue;
        }
        let mut a = Reader::new(slot);
        let aid = Aid::from_wire(a.array()?);
        let settings = KeySettings::from_byte(a.u8()?);
        let key_count = a.u8()?;
        if aid == Aid::PICC || !(1..=MAX_KEYS as u8).contains(&key_count) {
            return Err(ImageError::Field);
        }
        let mut keys: [KeySlot; MAX_KEYS] = core::array::from_fn(|_| KeySlot::zero());
        for k in &mut keys {
            *k = get_key(&mut a)?;
        }
        let iso_fid = get_fid(&mut a)?;
        let name_len = usize::from(a.u8()?);
        let name = a.take(MAX_DF_NAME)?;
        let df_name = heapless::Vec::from_slice(name.get(..name_len).ok_or(ImageError::Field)?)
            .map_err(|_| ImageError::Field)?;
        if s.app_index(aid).is_some() {
            return Err(ImageError::Field);
        }
        s.apps
            .push(App {
                aid,
                settings,
                key_count,
                keys,
                iso_fid,
                df_name,
            })
            .map_err(|_| ImageError::Field)?;
    }
    for i in 0..MAX_FILES {
        let slot = r.take(FILE_LEN)?;
        if i >= nfiles {
            continue;
        }
        let file = decode_file(slot, &s)?;
        s.files.push(file).map_err(|_| ImageError::Field)?;
    }
    r.finish()?;
    Ok(s)
}

fn decode_file(slot: &[u8], s: &State) -> Result<File, ImageError> {
    let mut f = Reader::new(slot);
    let aid = Aid::from_wire(f.array()?);
    let no = f.u8()?;
    let iso_fid = get_fid(&mut f)?;
    let comm_bits = f.u8()?;
    let comm = CommMode::from_bits(comm_bits);
    if comm.bits() != comm_bits {
        return Err(ImageError::Field);
    }
    let rights = AccessRights::from_wire(f.array()?);
    let ty = f.u8()?;
    if s.app_index(aid).is_none() || no >= 32 || s.file_index(aid, no).is_some() {
        return Err(ImageError::Field);
    }
    let u32_ =
        |f: &mut Reader<'_>| -> Result<u32, ImageError> { Ok(u32::from_le_bytes(f.array()?)) };
    let kind = match ty {
        0 | 1 => {
            let size = u32_(&mut f)?;
            let offset = u32_(&mut f)?;
            let active = f.u8()?;
            let backup = ty == 1;
            let regions = if backup { 2 } else { 1 };
            check_region(s, offset, u64::from(size).saturating_mul(regions))?;
            if active > 1 || (!backup && active != 0) || size == 0 {
                return Err(ImageError::Field);
            }
            FileKind::Data {
                backup,
                size,
                offset,
                active,
            }
        }
        2 => {
            let lower = f.i32_le()?;
            let upper = f.i32_le()?;
            let value = f.i32_le()?;
            let limited_value = f.i32_le()?;
            let flags = f.u8()?;
            if lower > upper || !(lower..=upper).contains(&value) || flags > 3 || limited_value < 0
            {
                return Err(ImageError::Field);
            }
            FileKind::Value {
                lower,
                upper,
                value,
                limited_value,
                limited_enabled: flags & 1 != 0,
                free_get: flags & 2 != 0,
            }
        }
        3 | 4 => {
            let size = u32_(&mut f)?;
            let max = u32_(&mut f)?;
            let count = u32_(&mut f)?;
            let offset = u32_(&mut f)?;
            let active = f.u8()?;
            let cyclic = ty == 4;
            let capacity = if cyclic { max.saturating_sub(1) } else { max };
            check_region(
                s,
                offset,
                u64::from(size)
                    .saturating_mul(u64::from(max))
                    .saturating_mul(2),
            )?;
            if active > 1 || size == 0 || capacity == 0 || count > capacity {
                return Err(ImageError::Field);
            }
            FileKind::Record {
                cyclic,
                size,
                max,
                count,
                offset,
                active,
            }
        }
        _ => return Err(ImageError::Field),
    };
    Ok(File {
        aid,
        no,
        iso_fid,
        comm,
        rights,
        kind,
    })
}

fn check_region(s: &State, offset: u32, len: u64) -> Result<(), ImageError> {
    let end = u64::from(offset)
        .checked_add(len)
        .ok_or(ImageError::Field)?;
    if end <= u64::from(s.used) {
        Ok(())
    } else {
        Err(ImageError::Field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Access, KeyNo};

    #[test]
    fn round_trips_and_detects_corruption() {
        let mut s = State::factory([4, 1, 2, 3, 4, 5, 6]);
        s.picc_key = KeySlot {
            key: AesKey::new([0x11; 16]),
            version: 3,
        };
        let aid = Aid::new(0x0AC501).unwrap();
        let mut app = App {
            aid,
            settings: KeySettings::from_byte(0x0B),
            key_count: 3,
            keys: core::array::from_fn(|_| KeySlot::zero()),
            iso_fid: Some(0xE105),
            df_name: heapless::Vec::from_slice(b"NAME").unwrap(),
        };
        app.keys[2].version = 9;
        s.apps.push(app).unwrap();
        let offset = s.allocate(64).unwrap();
        s.files
            .push(File {
                aid,
                no: 3,
                iso_fid: None,
                comm: CommMode::Full,
                rights: AccessRights {
                    read: Access::Key(KeyNo::new(1).unwrap()),
                    write: Access::Free,
                    read_write: Access::Never,
                    change: Access::Key(KeyNo::MASTER),
                },
                kind: FileKind::Data {
                    backup: true,
                    size: 32,
                    offset,
                    active: 1,
                },
            })
            .unwrap();
        s.arena[5] = 0x5A;
        let mut img = std::vec![0u8; IMAGE_LEN];
        encode(&s, &mut img).unwrap();
        assert_eq!(decode(&img).unwrap(), s);
        img[100] ^= 1;
        assert_eq!(decode(&img), Err(ImageError::Crc));
        assert_eq!(decode(&[0u8; 10]), Err(ImageError::NoImage));
        assert_eq!(decode(&std::vec![0u8; IMAGE_LEN]), Err(ImageError::NoImage));
    }
    extern crate std;
}
