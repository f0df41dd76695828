//! Application commands: SelectApplication, GetApplicationIDs, GetDFNames, CreateApplication,
//! DeleteApplication (ISOSelectFile is in [`super::Card`]: it is not a native command).

use super::params::Params;
use super::state::MAX_DF_NAME;
use super::{Core, Done, out_err};
use crate::wire::{Aid, KeySettings, Status, Writer};

/// DF name of the PICC level of DESFire EV1 and later (ISOSelectFile selects the PICC with it).
pub const PICC_DF_NAME: [u8; 7] = [0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x00];

impl Core {
    /// Selects an application or the PICC level; ends the session, aborts the transaction.
    pub(crate) fn select_application(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let aid = Aid::from_wire(p.array()?);
        p.finish()?;
        self.vol.reset();
        if aid != Aid::PICC && self.state.app_index(aid).is_none() {
            self.vol.selected = Aid::PICC;
            return Err(Status::APPLICATION_NOT_FOUND);
        }
        self.vol.selected = aid;
        // The table's `EndsSession::Always`: the answer is a bare status.
        Done::ok()
    }

    fn picc_directory(&self) -> Result<(), Status> {
        if self.vol.selected != Aid::PICC {
            return Err(Status::PERMISSION_DENIED);
        }
        self.master_or(self.key_settings().free_directory_list)
    }

    pub(crate) fn get_application_ids(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        self.picc_directory()?;
        for a in &self.state.apps {
            out.put(&a.aid.to_wire()).map_err(out_err)?;
        }
        Done::ok()
    }

    /// One frame per application that has a DF name: `AID ISOFileID DFName`.
    pub(crate) fn get_df_names(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        self.picc_directory()?;
        let mut done = Done::default();
        for a in self.state.apps.iter().filter(|a| !a.df_name.is_empty()) {
            if !out.is_empty() {
                let end = u16::try_from(out.len()).map_err(|_| Status::LENGTH_ERROR)?;
                done.frame_ends
                    .push(end)
                    .map_err(|_| Status::LENGTH_ERROR)?;
            }
            out.put(&a.aid.to_wire()).map_err(out_err)?;
            out.put(&a.iso_fid.unwrap_or(0).to_le_bytes())
                .map_err(out_err)?;
            out.put(&a.df_name).map_err(out_err)?;
        }
        Ok(done)
    }

    /// `AID KeySett1 KeySett2 [KeySett3] [ISOFileID DFName]`; AES keys only, no key sets.
    pub(crate) fn create_application(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        if self.vol.selected != Aid::PICC {
            return Err(Status::PERMISSION_DENIED);
        }
        self.master_or(self.key_settings().free_create_delete)?;
        let aid = Aid::from_wire(p.array()?);
        let settings = KeySettings::from_byte(p.u8()?);
        let sett2 = p.u8()?;
        if sett2 & 0x10 != 0 {
            // KeySett3: key sets (bit 0) are not modelled.
            if p.u8()? & 0x01 != 0 {
                return Err(Status::PARAMETER_ERROR);
            }
        }
        let (iso_fid, df_name) = if sett2 & 0x20 != 0 {
            let fid = p.u16()?;
            let name = p.rest();
            if name.is_empty() || name.len() > MAX_DF_NAME {
                return Err(Status::LENGTH_ERROR);
            }
            (Some(fid), name)
        } else {
            (None, &[][..])
        };
        p.finish()?;
        if sett2 & 0xC0 != 0x80 {
            // AES keys only (bit 7); bit 6 is reserved.
            return Err(Status::PARAMETER_ERROR);
        }
        self.state
            .add_application(aid, settings, sett2 & 0x0F, iso_fid, df_name)?;
        Done::persisted()
    }

    /// With the PICC master key, or with the application's own master key while it is
    /// selected. Memory is not given back (only FormatPICC does that).
    pub(crate) fn delete_application(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let aid = Aid::from_wire(p.array()?);
        p.finish()?;
        if aid == Aid::PICC {
            return Err(Status::PARAMETER_ERROR);
        }
        let own = self.vol.selected == aid && self.is_master();
        let picc = self.vol.selected == Aid::PICC && self.is_master();
        if !own && !picc {
            return Err(Status::AUTHENTICATION_ERROR);
        }
        let i = self
            .state
            .app_index(aid)
            .ok_or(Status::APPLICATION_NOT_FOUND)?;
        self.state.apps.remove(i);
        self.state.files.retain(|f| f.aid != aid);
        let mut done = Done {
            persist: true,
            ..Done::default()
        };
        if own {
            self.vol.tx.abort();
            self.vol.selected = Aid::PICC;
            done.drop_session_after = true;
        }
        Ok(done)
    }
}
