//! PICC-level commands: GetVersion, GetCardUID, GetFreeMemory, FormatPICC, SetConfiguration,
//! Read_Sig.

use super::params::Params;
use super::state::{CONFIG_FORMAT_DISABLED, CONFIG_RANDOM_ID, KeySlot, MAX_ATS, MEMORY};
use super::{Core, Done, out_err};
use crate::crypto::AesKey;
use crate::wire::{Aid, Status, Version, VersionPart, Writer};

/// GetVersion hardware part of an EV3 8K: vendor NXP (04), type 01, subtype 01, version 33.00,
/// storage 1A (8192 bytes), protocol 05 (ISO/IEC 14443-2 and -3). Decision record 0003.
pub const HW_VERSION: [u8; 7] = [0x04, 0x01, 0x01, 0x33, 0x00, 0x1A, 0x05];
/// GetVersion software part: the same with version 03.00.
pub const SW_VERSION: [u8; 7] = [0x04, 0x01, 0x01, 0x03, 0x00, 0x1A, 0x05];

impl Core {
    /// 28 bytes in three frames (7, 7, 14), as the card sends them, emitted by the shared
    /// [`Version`] repr. With random ID on, the UID
    /// field is zero: only GetCardUID reveals the UID.
    pub(crate) fn get_version(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        let uid = if self.state.config & CONFIG_RANDOM_ID != 0 {
            [0; 7]
        } else {
            self.state.uid
        };
        let version = Version {
            hardware: VersionPart::from_wire(HW_VERSION),
            software: VersionPart::from_wire(SW_VERSION),
            uid,
            batch_no: self.config.batch,
            production_week: self.config.week,
            production_year: self.config.year,
            fab_key_id: None,
        };
        version.emit(out).map_err(out_err)?;
        Ok(Done {
            frame_ends: heapless::Vec::from_slice(&Version::FRAME_ENDS).unwrap_or_default(),
            ..Done::default()
        })
    }

    /// The real UID, Full mode, after any authentication.
    pub(crate) fn get_card_uid(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        if self.vol.session.is_none() {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        out.put(&self.state.uid).map_err(out_err)?;
        Done::ok()
    }

    pub(crate) fn get_free_memory(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        let [a, b, c, _] = self.state.free_memory().to_le_bytes();
        out.put(&[a, b, c]).map_err(out_err)?;
        Done::ok()
    }

    /// Deletes every application and file and gives all memory back; keeps the PICC master key
    /// and the configuration.
    pub(crate) fn format_picc(&mut self, p: Params<'_>) -> Result<Done, Status> {
        p.finish()?;
        if self.vol.selected != Aid::PICC || !self.is_master() {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        if self.state.config & CONFIG_FORMAT_DISABLED != 0 {
            return Err(Status::PERMISSION_DENIED);
        }
        self.state.apps.clear();
        self.state.files.clear();
        self.state.arena = [0; MEMORY];
        self.state.used = 0;
        self.vol.tx.abort();
        Done::persisted()
    }

    /// Option 00 (PICC configuration: bit 0 FormatPICC disabled, bit 1 random ID; both
    /// irreversible, so bits only ever get set), 01 (default key for new applications: key,
    /// 8 zero bytes, version), 02 (ATS: TL first).
    pub(crate) fn set_configuration(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        if self.vol.selected != Aid::PICC || !self.is_master() {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        match p.u8()? {
            0x00 => {
                let bits = p.u8()?;
                p.finish()?;
                if bits & !(CONFIG_FORMAT_DISABLED | CONFIG_RANDOM_ID) != 0 {
                    return Err(Status::PARAMETER_ERROR);
                }
                self.state.config |= bits;
            }
            0x01 => {
                let key: [u8; 16] = p.array()?;
                let _reserved: [u8; 8] = p.array()?;
                let version = p.u8()?;
                p.finish()?;
                self.state.default_key = KeySlot {
                    key: AesKey::new(key),
                    version,
                };
            }
            0x02 => {
                let ats = p.rest();
                if ats.first().map(|tl| usize::from(*tl)) != Some(ats.len()) || ats.len() > MAX_ATS
                {
                    return Err(Status::LENGTH_ERROR);
                }
                self.state.ats =
                    heapless::Vec::from_slice(ats).map_err(|_| Status::LENGTH_ERROR)?;
            }
            _ => return Err(Status::PARAMETER_ERROR),
        }
        Done::persisted()
    }

    /// The originality signature over the 7-byte UID. Free unless random ID is on; Full mode
    /// when authenticated.
    pub(crate) fn read_sig(
        &mut self,
        mut p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        let address = p.u8()?;
        p.finish()?;
        if address != 0 {
            return Err(Status::PARAMETER_ERROR);
        }
        if self.state.config & CONFIG_RANDOM_ID != 0 && self.vol.session.is_none() {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        let sig = match self.vol.signature {
            Some(s) => s,
            None => {
                let s = super::sig::signature(&self.state).ok_or(Status::PICC_INTEGRITY_ERROR)?;
                self.vol.signature = Some(s);
                s
            }
        };
        out.put(&sig).map_err(out_err)?;
        Done::ok()
    }
}
