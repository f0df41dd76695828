//! File management: GetFileIDs, GetISOFileIDs, GetFileSettings, ChangeFileSettings, the five
//! Create*File commands and DeleteFile.

use super::params::Params;
use super::state::{File, FileKind};
use super::{Core, Done, out_err};
use crate::wire::{AccessRights, Aid, CommMode, Ins, Status, Writer};

impl Core {
    fn app_directory(&self) -> Result<(), Status> {
        if self.vol.selected == Aid::PICC {
            return Err(Status::PERMISSION_DENIED);
        }
        self.master_or(self.key_settings().free_directory_list)
    }

    fn app_files(&self) -> impl Iterator<Item = &File> {
        let aid = self.vol.selected;
        self.state.files.iter().filter(move |f| f.aid == aid)
    }

    pub(crate) fn get_file_ids(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        self.app_directory()?;
        for f in self.app_files() {
            out.put_u8(f.no).map_err(out_err)?;
        }
        Done::ok()
    }

    pub(crate) fn get_iso_file_ids(
        &mut self,
        p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        p.finish()?;
        self.app_directory()?;
        for fid in self.app_files().filter_map(|f| f.iso_fid) {
            out.put(&fid.to_le_bytes()).map_err(out_err)?;
        }
        Done::ok()
    }

    /// The file's settings, emitted by the shared [`crate::wire::FileSettings`] repr.
    pub(crate) fn get_file_settings(
        &mut self,
        mut p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        let no = p.u8()?;
        p.finish()?;
        self.app_directory()?;
        let f = self.file(no)?;
        f.settings().emit(out).map_err(out_err)?;
        Done::ok()
    }

    /// `file option rights(2)`; additional access rights and SDM are not modelled.
    pub(crate) fn change_file_settings(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let no = p.u8()?;
        let option = p.u8()?;
        let rights = AccessRights::from_wire(p.array()?);
        p.finish()?;
        if option & !0x03 != 0 || option == 0x02 {
            return Err(Status::PARAMETER_ERROR);
        }
        // The access check was done by the plan (change right).
        let i = self
            .state
            .file_index(self.vol.selected, no)
            .ok_or(Status::FILE_NOT_FOUND)?;
        let f = self.state.files.get_mut(i).ok_or(Status::FILE_NOT_FOUND)?;
        f.comm = CommMode::from_bits(option);
        f.rights = rights;
        Done::persisted()
    }

    /// Create*File. The ISO file identifier is optional for data and record files and
    /// recognised by the command's length.
    pub(crate) fn create_file(&mut self, ins: Ins, mut p: Params<'_>) -> Result<Done, Status> {
        if self.vol.selected == Aid::PICC {
            return Err(Status::PERMISSION_DENIED);
        }
        self.master_or(self.key_settings().free_create_delete)?;
        let (plain_len, has_fid_allowed) = match ins {
            Ins::CREATE_STD_DATA_FILE | Ins::CREATE_BACKUP_DATA_FILE => (7, true),
            Ins::CREATE_VALUE_FILE => (17, false),
            _ => (10, true),
        };
        let no = p.u8()?;
        let iso_fid = match p.remaining().checked_add(1) {
            Some(n) if n == plain_len => None,
            Some(n) if has_fid_allowed && Some(n) == plain_len.checked_add(2) => Some(p.u16()?),
            _ => return Err(Status::LENGTH_ERROR),
        };
        let option = p.u8()?;
        let rights = AccessRights::from_wire(p.array()?);
        if option & !0x03 != 0 || option == 0x02 || no >= 32 {
            return Err(Status::PARAMETER_ERROR);
        }
        let kind = match ins {
            Ins::CREATE_STD_DATA_FILE | Ins::CREATE_BACKUP_DATA_FILE => FileKind::Data {
                backup: ins == Ins::CREATE_BACKUP_DATA_FILE,
                size: p.u24()?,
                offset: 0,
                active: 0,
            },
            Ins::CREATE_VALUE_FILE => {
                let lower = p.i32()?;
                let upper = p.i32()?;
                let value = p.i32()?;
                let flags = p.u8()?;
                if flags > 0x03 {
                    return Err(Status::PARAMETER_ERROR);
                }
                FileKind::Value {
                    lower,
                    upper,
                    value,
                    limited_value: 0,
                    limited_enabled: flags & 1 != 0,
                    free_get: flags & 2 != 0,
                }
            }
            _ => FileKind::Record {
                cyclic: ins == Ins::CREATE_CYCLIC_RECORD_FILE,
                size: p.u24()?,
                max: p.u24()?,
                count: 0,
                offset: 0,
                active: 0,
            },
        };
        p.finish()?;
        self.state.add_file(File {
            aid: self.vol.selected,
            no,
            iso_fid,
            comm: CommMode::from_bits(option),
            rights,
            kind,
        })?;
        Done::persisted()
    }

    /// Memory is not given back until FormatPICC.
    pub(crate) fn delete_file(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let no = p.u8()?;
        p.finish()?;
        if self.vol.selected == Aid::PICC {
            return Err(Status::PERMISSION_DENIED);
        }
        self.master_or(self.key_settings().free_create_delete)?;
        let i = self
            .state
            .file_index(self.vol.selected, no)
            .ok_or(Status::FILE_NOT_FOUND)?;
        self.state.files.remove(i);
        self.vol.tx.forget(no);
        Done::persisted()
    }
}
