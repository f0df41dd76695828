//! Which comm mode and command header each command uses on this card, in its current state:
//! needed before the command can be opened (where the MAC sits, where ciphertext starts) and to
//! know how long a chained write will be. The rules are the command table's
//! ([`crate::wire::CommandSpec`]); the file's rights and comm mode decide the file commands.

use super::Core;
use super::access::grant;
use crate::wire::{
    Access, CommMode, CommandSpec, EndsSession, FileRight, Ins, Kind, ModeRule, Status,
};

/// How one command travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Comm mode of command and response while authenticated.
    pub(crate) mode: CommMode,
    /// Bytes of header (sent in clear in Full mode).
    pub(crate) header_len: usize,
    /// Plain data length a write announces in its header (chaining).
    pub(crate) data_len: Option<usize>,
    /// A successful answer is a bare status and ends the session (SelectApplication).
    pub(crate) ends_session: bool,
    /// The ISO/IEC 14443-4 chaining code: answered in frames of up to 256 bytes.
    pub(crate) iso_frames: bool,
}

const fn fixed(mode: CommMode, header_len: usize) -> Plan {
    Plan {
        mode,
        header_len,
        data_len: None,
        ends_session: false,
        iso_frames: false,
    }
}

impl Core {
    /// The plan of `ins` given the first frame of its body, from the command table; `Ok(None)`
    /// for a code this card does not answer.
    pub(crate) fn plan(&self, ins: Ins, body: &[u8]) -> Result<Option<Plan>, Status> {
        let Some(spec) = CommandSpec::lookup(ins) else {
            return Ok(None);
        };
        if spec.kind != Kind::Native || !super::handles(ins) {
            return Ok(None);
        }
        let header_len = usize::from(spec.header_len);
        let mut plan = match spec.mode {
            ModeRule::Plain => fixed(CommMode::Plain, header_len),
            ModeRule::Mac => fixed(CommMode::Mac, header_len),
            ModeRule::Full => fixed(CommMode::Full, header_len),
            ModeRule::File(right) => {
                let len_at = spec.length_at.map(usize::from);
                self.file_plan(body, right, header_len, len_at)?
            }
        };
        plan.ends_session = spec.ends_session == EndsSession::Always;
        plan.iso_frames = spec.is_iso_chaining(ins);
        Ok(Some(plan))
    }

    fn file_plan(
        &self,
        body: &[u8],
        op: FileRight,
        header_len: usize,
        len_at: Option<usize>,
    ) -> Result<Plan, Status> {
        let no = *body.first().ok_or(Status::LENGTH_ERROR)?;
        let file = self.file(no)?;
        let r = file.rights;
        let rights: &[Access] = match op {
            FileRight::Read => &[r.read, r.read_write],
            FileRight::Write => &[r.write, r.read_write],
            FileRight::ReadWrite => &[r.read_write],
            FileRight::Debit | FileRight::GetValue => &[r.read, r.write, r.read_write],
            FileRight::Change => &[r.change],
        };
        let free_get = matches!(
            file.kind,
            super::state::FileKind::Value { free_get: true, .. }
        ) && matches!(op, FileRight::GetValue);
        // ChangeFileSettings travels Full whenever a key grants it, whatever the file's mode.
        let comm = match op {
            FileRight::Change => CommMode::Full,
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
            data_len,
            ..fixed(mode, header_len)
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
