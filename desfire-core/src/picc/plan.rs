//! Which comm mode and command header each command uses on this card, in its current state:
//! needed before the command can be opened (where the MAC sits, where ciphertext starts) and to
//! know how long a chained write will be.

use super::Core;
use super::access::grant;
use crate::wire::{Access, CommMode, Ins, Status};

/// How one command travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Comm mode of command and response while authenticated.
    pub(crate) mode: CommMode,
    /// Bytes of header (sent in clear in Full mode).
    pub(crate) header_len: usize,
    /// Plain data length a write announces in its header (chaining).
    pub(crate) data_len: Option<usize>,
}

const fn fixed(mode: CommMode, header_len: usize) -> Plan {
    Plan {
        mode,
        header_len,
        data_len: None,
    }
}

/// Which rights allow which file operation.
#[derive(Debug, Clone, Copy)]
enum Op {
    Read,
    Write,
    ReadWrite,
    Debit,
    GetValue,
    Change,
}

impl Core {
    /// The plan of `ins` given the first frame of its body; `Ok(None)` for an unknown code.
    pub(crate) fn plan(&self, ins: Ins, body: &[u8]) -> Result<Option<Plan>, Status> {
        use CommMode::{Full, Mac, Plain};
        let file_op = |op: Op, header_len: usize, len_at: Option<usize>| {
            self.file_plan(body, op, header_len, len_at).map(Some)
        };
        Ok(Some(match ins {
            Ins::GET_VERSION
            | Ins::GET_FREE_MEMORY
            | Ins::FORMAT_PICC
            | Ins::GET_APPLICATION_IDS
            | Ins::GET_DF_NAMES
            | Ins::CREATE_APPLICATION
            | Ins::DELETE_APPLICATION
            | Ins::GET_KEY_SETTINGS
            | Ins::GET_KEY_VERSION
            | Ins::GET_FILE_IDS
            | Ins::GET_ISO_FILE_IDS
            | Ins::GET_FILE_SETTINGS
            | Ins::CREATE_STD_DATA_FILE
            | Ins::CREATE_BACKUP_DATA_FILE
            | Ins::CREATE_VALUE_FILE
            | Ins::CREATE_LINEAR_RECORD_FILE
            | Ins::CREATE_CYCLIC_RECORD_FILE
            | Ins::DELETE_FILE
            | Ins::CLEAR_RECORD_FILE
            | Ins::COMMIT_TRANSACTION
            | Ins::ABORT_TRANSACTION => fixed(Mac, 0),
            Ins::SELECT_APPLICATION => fixed(Plain, 0),
            Ins::GET_CARD_UID | Ins::CHANGE_KEY_SETTINGS => fixed(Full, 0),
            Ins::SET_CONFIGURATION | Ins::READ_SIG | Ins::CHANGE_KEY => fixed(Full, 1),
            Ins::CHANGE_FILE_SETTINGS => return file_op(Op::Change, 1, None),
            Ins::READ_DATA | Ins::READ_DATA_ISO | Ins::READ_RECORDS | Ins::READ_RECORDS_ISO => {
                return file_op(Op::Read, 7, None);
            }
            Ins::WRITE_DATA | Ins::WRITE_DATA_ISO | Ins::WRITE_RECORD | Ins::WRITE_RECORD_ISO => {
                return file_op(Op::Write, 7, Some(4));
            }
            Ins::UPDATE_RECORD | Ins::UPDATE_RECORD_ISO => return file_op(Op::Write, 10, Some(7)),
            Ins::GET_VALUE => return file_op(Op::GetValue, 1, None),
            Ins::DEBIT => return file_op(Op::Debit, 1, None),
            Ins::CREDIT => return file_op(Op::ReadWrite, 1, None),
            Ins::LIMITED_CREDIT => return file_op(Op::Write, 1, None),
            _ => return Ok(None),
        }))
    }

    fn file_plan(
        &self,
        body: &[u8],
        op: Op,
        header_len: usize,
        len_at: Option<usize>,
    ) -> Result<Plan, Status> {
        let no = *body.first().ok_or(Status::LENGTH_ERROR)?;
        let file = self.file(no)?;
        let r = file.rights;
        let rights: &[Access] = match op {
            Op::Read => &[r.read, r.read_write],
            Op::Write => &[r.write, r.read_write],
            Op::ReadWrite => &[r.read_write],
            Op::Debit | Op::GetValue => &[r.read, r.write, r.read_write],
            Op::Change => &[r.change],
        };
        let free_get = matches!(
            file.kind,
            super::state::FileKind::Value { free_get: true, .. }
        ) && matches!(op, Op::GetValue);
        // ChangeFileSettings travels Full whenever a key grants it, whatever the file's mode.
        let comm = match op {
            Op::Change => CommMode::Full,
            _ => file.comm,
        };
        let mode = match grant(self.vol.auth_key(), rights, comm) {
            Ok(m) => m,
            // GetValue with "free GetValue" set: plain for anyone.
            Err(_) if free_get => CommMode::Plain,
            Err(e) => return Err(e),
        };
        let data_len = match len_at {
            Some(at) => {
                let b = body
                    .get(at..at.saturating_add(3))
                    .ok_or(Status::LENGTH_ERROR)?;
                let len = u32::from_le_bytes([
                    b.first().copied().unwrap_or(0),
                    b.get(1).copied().unwrap_or(0),
                    b.get(2).copied().unwrap_or(0),
                    0,
                ]);
                Some(usize::try_from(len).map_err(|_| Status::LENGTH_ERROR)?)
            }
            None => None,
        };
        Ok(Plan {
            mode,
            header_len,
            data_len,
        })
    }

    /// A file of the selected application.
    pub(crate) fn file(&self, no: u8) -> Result<&super::state::File, Status> {
        if self.vol.selected == crate::wire::Aid::PICC {
            return Err(Status::PERMISSION_DENIED);
        }
        self.state
            .file_index(self.vol.selected, no)
            .and_then(|i| self.state.files.get(i))
            .ok_or(Status::FILE_NOT_FOUND)
    }
}
