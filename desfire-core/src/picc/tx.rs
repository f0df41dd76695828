//! Pending changes of backup, value and record files until CommitTransaction.
//!
//! Backup and record files own two arena regions; the committed one is `active`. The first
//! change in a transaction copies it into the other (the shadow), changes go to the shadow, and
//! CommitTransaction flips `active` (with new record counts and values) in one journaled NVM
//! commit. Abort, a new authentication, a selection or a deselect forget the pending list: the
//! shadow is garbage again. Reads see the committed state.

use super::state::{FileKind, State};
use crate::wire::{Aid, Status};

/// Most files with pending changes (all files of one application).
const MAX_PENDING: usize = 32;

/// What one file has pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    /// The shadow region of a backup file holds the new contents.
    Data,
    /// A value file's new value; debits and a LimitedCredit of this transaction.
    Value {
        value: i32,
        debited: i64,
        limited: bool,
    },
    /// A record file's new record count (records in the shadow); whether this transaction
    /// already started a new record (further WriteRecords fill the same one).
    Record { count: u32, new_record: bool },
}

/// The pending transaction of the selected application.
#[derive(Debug, Default)]
pub(crate) struct Tx {
    files: heapless::Vec<(u8, Pending), MAX_PENDING>,
}

impl Tx {
    pub(crate) fn abort(&mut self) {
        self.files.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub(crate) fn get(&self, no: u8) -> Option<Pending> {
        self.files.iter().find(|(n, _)| *n == no).map(|(_, p)| *p)
    }

    pub(crate) fn forget(&mut self, no: u8) {
        self.files.retain(|(n, _)| *n != no);
    }

    pub(crate) fn set(&mut self, no: u8, p: Pending) -> Result<(), Status> {
        if let Some(slot) = self.files.iter_mut().find(|(n, _)| *n == no) {
            slot.1 = p;
            return Ok(());
        }
        self.files.push((no, p)).map_err(|_| Status::COUNT_ERROR)
    }

    /// The pending state of file `no` of `aid`, starting it (copying the committed region to
    /// the shadow) if this is the file's first change in the transaction.
    pub(crate) fn touch(&mut self, state: &mut State, aid: Aid, no: u8) -> Result<Pending, Status> {
        if let Some(p) = self.get(no) {
            return Ok(p);
        }
        let i = state.file_index(aid, no).ok_or(Status::FILE_NOT_FOUND)?;
        let kind = state.files.get(i).ok_or(Status::FILE_NOT_FOUND)?.kind;
        let p = match kind {
            FileKind::Data {
                size,
                offset,
                active,
                ..
            } => {
                copy_to_shadow(state, offset, size, active)?;
                Pending::Data
            }
            FileKind::Value { value, .. } => Pending::Value {
                value,
                debited: 0,
                limited: false,
            },
            FileKind::Record {
                size,
                max,
                count,
                offset,
                active,
                ..
            } => {
                let len = size.checked_mul(max).ok_or(Status::BOUNDARY_ERROR)?;
                copy_to_shadow(state, offset, len, active)?;
                Pending::Record {
                    count,
                    new_record: false,
                }
            }
        };
        self.set(no, p)?;
        Ok(p)
    }

    /// Applies every pending change to `state` (the caller persists it). `false` if nothing
    /// was pending.
    pub(crate) fn commit(&mut self, state: &mut State, aid: Aid) -> bool {
        if self.files.is_empty() {
            return false;
        }
        for (no, p) in &self.files {
            let Some(f) = state
                .file_index(aid, *no)
                .and_then(|i| state.files.get_mut(i))
            else {
                continue;
            };
            match (&mut f.kind, *p) {
                (FileKind::Data { active, .. }, Pending::Data) => *active ^= 1,
                (
                    FileKind::Value {
                        value,
                        limited_value,
                        ..
                    },
                    Pending::Value {
                        value: v,
                        debited,
                        limited,
                    },
                ) => {
                    *value = v;
                    if limited {
                        *limited_value = 0;
                    } else if debited > 0 {
                        *limited_value = i32::try_from(debited).unwrap_or(i32::MAX);
                    }
                }
                (FileKind::Record { active, count, .. }, Pending::Record { count: c, .. }) => {
                    *active ^= 1;
                    *count = c;
                }
                _ => {}
            }
        }
        self.files.clear();
        true
    }
}

/// Region `r` (0 or 1) of a two-region file.
pub(crate) fn region_offset(offset: u32, len: u32, r: u8) -> Result<u32, Status> {
    if r == 0 {
        Ok(offset)
    } else {
        offset.checked_add(len).ok_or(Status::BOUNDARY_ERROR)
    }
}

fn copy_to_shadow(state: &mut State, offset: u32, len: u32, active: u8) -> Result<(), Status> {
    let from =
        usize::try_from(region_offset(offset, len, active)?).map_err(|_| Status::BOUNDARY_ERROR)?;
    let to = usize::try_from(region_offset(offset, len, active ^ 1)?)
        .map_err(|_| Status::BOUNDARY_ERROR)?;
    let n = usize::try_from(len).map_err(|_| Status::BOUNDARY_ERROR)?;
    let end = from.checked_add(n).ok_or(Status::BOUNDARY_ERROR)?;
    if to.checked_add(n).is_none_or(|e| e > state.arena.len()) {
        return Err(Status::BOUNDARY_ERROR);
    }
    if end > state.arena.len() {
        return Err(Status::BOUNDARY_ERROR);
    }
    state.arena.copy_within(from..end, to);
    Ok(())
}
