//! Data commands: ReadData, WriteData, GetValue, Credit, Debit, LimitedCredit, ReadRecords,
//! WriteRecord, UpdateRecord, ClearRecordFile, CommitTransaction, AbortTransaction.
//!
//! Access rights and comm mode were checked by the plan before the command was opened; here
//! only the file type, bounds, limits and the transaction remain.

use super::params::Params;
use super::state::FileKind;
use super::tx::{Pending, region_offset};
use super::{Core, Done, out_err};
use crate::wire::{DataHeader, Ins, RecordHeader, Status, Writer};

/// Bytes of response data the card returns in one command (its response buffer, less padding
/// and MAC).
const MAX_READ: u32 = (super::frames::MAX_RESPONSE - 32) as u32;

fn end_of(offset: u32, len: u32, size: u32) -> Result<u32, Status> {
    offset
        .checked_add(len)
        .filter(|e| *e <= size)
        .ok_or(Status::BOUNDARY_ERROR)
}

impl Core {
    fn kind(&self, no: u8) -> Result<FileKind, Status> {
        Ok(self.file(no)?.kind)
    }

    /// `file offset(3) length(3)`; length 0 reads to the end. Backup files answer their
    /// committed contents.
    pub(crate) fn read_data(
        &mut self,
        mut p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        let h = DataHeader::from_wire(p.array()?);
        let (no, offset, len) = (h.file, h.offset.value(), h.length.value());
        p.finish()?;
        let FileKind::Data {
            size,
            offset: at,
            active,
            ..
        } = self.kind(no)?
        else {
            return Err(Status::PARAMETER_ERROR);
        };
        let len = if len == 0 {
            size.checked_sub(offset).ok_or(Status::BOUNDARY_ERROR)?
        } else {
            len
        };
        end_of(offset, len, size)?;
        if len > MAX_READ {
            return Err(Status::LENGTH_ERROR);
        }
        let region = region_offset(at, size, active)?;
        let start = region.checked_add(offset).ok_or(Status::BOUNDARY_ERROR)?;
        let data = self
            .state
            .region(start, len)
            .ok_or(Status::FILE_INTEGRITY_ERROR)?;
        out.put(data).map_err(out_err)?;
        Done::ok()
    }

    /// `file offset(3) length(3) data`: standard files at once, backup files into the shadow.
    pub(crate) fn write_data(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let h = DataHeader::from_wire(p.array()?);
        let (no, offset, len) = (h.file, h.offset.value(), h.length.value());
        let data = p.rest();
        if usize::try_from(len).ok() != Some(data.len()) {
            return Err(Status::LENGTH_ERROR);
        }
        let FileKind::Data {
            backup,
            size,
            offset: at,
            active,
        } = self.kind(no)?
        else {
            return Err(Status::PARAMETER_ERROR);
        };
        if len == 0 {
            return Err(Status::PARAMETER_ERROR);
        }
        end_of(offset, len, size)?;
        let region = if backup {
            self.vol.tx.touch(&mut self.state, self.vol.selected, no)?;
            region_offset(at, size, active ^ 1)?
        } else {
            at
        };
        let start = region.checked_add(offset).ok_or(Status::BOUNDARY_ERROR)?;
        self.state
            .region_mut(start, len)
            .ok_or(Status::FILE_INTEGRITY_ERROR)?
            .copy_from_slice(data);
        Done::persisted()
    }

    /// The committed value.
    pub(crate) fn get_value(
        &mut self,
        mut p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        let no = p.u8()?;
        p.finish()?;
        let FileKind::Value { value, .. } = self.kind(no)? else {
            return Err(Status::PARAMETER_ERROR);
        };
        out.put(&value.to_le_bytes()).map_err(out_err)?;
        Done::ok()
    }

    /// Credit, Debit and LimitedCredit: pending until CommitTransaction. LimitedCredit is
    /// bounded by the debits of the last committed transaction that had any, once.
    pub(crate) fn value_operation(&mut self, ins: Ins, mut p: Params<'_>) -> Result<Done, Status> {
        let no = p.u8()?;
        let amount = p.i32()?;
        p.finish()?;
        let FileKind::Value {
            lower,
            upper,
            limited_value,
            limited_enabled,
            ..
        } = self.kind(no)?
        else {
            return Err(Status::PARAMETER_ERROR);
        };
        if amount < 0 {
            return Err(Status::PARAMETER_ERROR);
        }
        let aid = self.vol.selected;
        let current = match self.vol.tx.get(no) {
            Some(p) => p,
            None => Pending::Value {
                value: match self.kind(no)? {
                    FileKind::Value { value, .. } => value,
                    _ => return Err(Status::PARAMETER_ERROR),
                },
                debited: 0,
                limited: false,
            },
        };
        let Pending::Value {
            value,
            debited,
            limited,
        } = current
        else {
            return Err(Status::FILE_INTEGRITY_ERROR);
        };
        let next = match ins {
            Ins::DEBIT => {
                let v = value
                    .checked_sub(amount)
                    .filter(|v| *v >= lower)
                    .ok_or(Status::BOUNDARY_ERROR)?;
                Pending::Value {
                    value: v,
                    debited: debited.saturating_add(i64::from(amount)),
                    limited,
                }
            }
            Ins::LIMITED_CREDIT => {
                if !limited_enabled || limited {
                    return Err(Status::PERMISSION_DENIED);
                }
                if amount > limited_value {
                    return Err(Status::BOUNDARY_ERROR);
                }
                let v = value
                    .checked_add(amount)
                    .filter(|v| *v <= upper)
                    .ok_or(Status::BOUNDARY_ERROR)?;
                Pending::Value {
                    value: v,
                    debited,
                    limited: true,
                }
            }
            _ => {
                let v = value
                    .checked_add(amount)
                    .filter(|v| *v <= upper)
                    .ok_or(Status::BOUNDARY_ERROR)?;
                Pending::Value {
                    value: v,
                    debited,
                    limited,
                }
            }
        };
        let _ = aid;
        self.vol.tx.set(no, next)?;
        Done::ok()
    }

    /// `file record(3) count(3)`: record 0 is the newest, count 0 means all older ones; the
    /// records come oldest first.
    pub(crate) fn read_records(
        &mut self,
        mut p: Params<'_>,
        out: &mut Writer<'_>,
    ) -> Result<Done, Status> {
        let h = DataHeader::from_wire(p.array()?);
        let (no, record, count) = (h.file, h.offset.value(), h.length.value());
        p.finish()?;
        let FileKind::Record {
            size,
            max,
            count: have,
            offset,
            active,
            ..
        } = self.kind(no)?
        else {
            return Err(Status::PARAMETER_ERROR);
        };
        if record >= have {
            return Err(Status::BOUNDARY_ERROR);
        }
        let n = if count == 0 {
            have.saturating_sub(record)
        } else {
            count
        };
        let newest = have.checked_sub(1).ok_or(Status::BOUNDARY_ERROR)?;
        let last = newest.checked_sub(record).ok_or(Status::BOUNDARY_ERROR)?;
        let first = last
            .checked_add(1)
            .and_then(|l| l.checked_sub(n))
            .ok_or(Status::BOUNDARY_ERROR)?;
        let len = n.checked_mul(size).ok_or(Status::BOUNDARY_ERROR)?;
        if len > MAX_READ {
            return Err(Status::LENGTH_ERROR);
        }
        let region_len = size.checked_mul(max).ok_or(Status::BOUNDARY_ERROR)?;
        let region = region_offset(offset, region_len, active)?;
        let start = first
            .checked_mul(size)
            .and_then(|s| s.checked_add(region))
            .ok_or(Status::BOUNDARY_ERROR)?;
        let data = self
            .state
            .region(start, len)
            .ok_or(Status::FILE_INTEGRITY_ERROR)?;
        out.put(data).map_err(out_err)?;
        Done::ok()
    }

    /// Geometry of a record file: (record size, capacity, region length, shadow offset).
    fn record_shadow(&self, no: u8) -> Result<(u32, u32, u32, u32), Status> {
        let FileKind::Record {
            cyclic,
            size,
            max,
            offset,
            active,
            ..
        } = self.kind(no)?
        else {
            return Err(Status::PARAMETER_ERROR);
        };
        let capacity = if cyclic { max.saturating_sub(1) } else { max };
        let region_len = size.checked_mul(max).ok_or(Status::BOUNDARY_ERROR)?;
        let shadow = region_offset(offset, region_len, active ^ 1)?;
        Ok((size, capacity, region_len, shadow))
    }

    /// `file offset(3) length(3) data`: a new record (zero-filled, then written) in the first
    /// WriteRecord of a transaction, the same record in later ones. A full cyclic file drops its
    /// oldest record; a full linear file refuses.
    pub(crate) fn write_record(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let h = DataHeader::from_wire(p.array()?);
        let (no, offset, len) = (h.file, h.offset.value(), h.length.value());
        let data = p.rest();
        if usize::try_from(len).ok() != Some(data.len()) {
            return Err(Status::LENGTH_ERROR);
        }
        let (size, capacity, _, shadow) = self.record_shadow(no)?;
        let cyclic = matches!(self.kind(no)?, FileKind::Record { cyclic: true, .. });
        if len == 0 {
            return Err(Status::PARAMETER_ERROR);
        }
        end_of(offset, len, size)?;
        let committed = match self.kind(no)? {
            FileKind::Record { count, .. } => count,
            _ => return Err(Status::PARAMETER_ERROR),
        };
        let (count, new_record) = match self.vol.tx.get(no) {
            Some(Pending::Record { count, new_record }) => (count, new_record),
            Some(_) => return Err(Status::FILE_INTEGRITY_ERROR),
            None => (committed, false),
        };
        if !new_record && count >= capacity && !cyclic {
            return Err(Status::BOUNDARY_ERROR);
        }
        let aid = self.vol.selected;
        self.vol.tx.touch(&mut self.state, aid, no)?;
        let count = if new_record {
            count
        } else if count >= capacity {
            // Cyclic and full: drop the oldest record.
            let all = capacity.checked_mul(size).ok_or(Status::BOUNDARY_ERROR)?;
            let region = self
                .state
                .region_mut(shadow, all)
                .ok_or(Status::FILE_INTEGRITY_ERROR)?;
            region.copy_within(
                usize::try_from(size)
                    .unwrap_or(usize::MAX)
                    .min(region.len())..,
                0,
            );
            count
        } else {
            count.checked_add(1).ok_or(Status::BOUNDARY_ERROR)?
        };
        let index = count.checked_sub(1).ok_or(Status::BOUNDARY_ERROR)?;
        let rec = index
            .checked_mul(size)
            .and_then(|r| r.checked_add(shadow))
            .ok_or(Status::BOUNDARY_ERROR)?;
        let record = self
            .state
            .region_mut(rec, size)
            .ok_or(Status::FILE_INTEGRITY_ERROR)?;
        if !new_record {
            record.fill(0);
        }
        let start = usize::try_from(offset).map_err(|_| Status::BOUNDARY_ERROR)?;
        record
            .get_mut(start..)
            .and_then(|r| r.get_mut(..data.len()))
            .ok_or(Status::BOUNDARY_ERROR)?
            .copy_from_slice(data);
        self.vol.tx.set(
            no,
            Pending::Record {
                count,
                new_record: true,
            },
        )?;
        Done::persisted()
    }

    /// `file record(3) offset(3) length(3) data`: changes an existing record (0 = newest).
    pub(crate) fn update_record(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let h = RecordHeader::from_wire(p.array()?);
        let (no, record) = (h.file, h.record.value());
        let (offset, len) = (h.offset.value(), h.length.value());
        let data = p.rest();
        if usize::try_from(len).ok() != Some(data.len()) {
            return Err(Status::LENGTH_ERROR);
        }
        let (size, _, _, shadow) = self.record_shadow(no)?;
        if len == 0 {
            return Err(Status::PARAMETER_ERROR);
        }
        end_of(offset, len, size)?;
        let count = match (self.vol.tx.get(no), self.kind(no)?) {
            (Some(Pending::Record { count, .. }), _) => count,
            (None, FileKind::Record { count, .. }) => count,
            _ => return Err(Status::FILE_INTEGRITY_ERROR),
        };
        if record >= count {
            return Err(Status::BOUNDARY_ERROR);
        }
        let aid = self.vol.selected;
        self.vol.tx.touch(&mut self.state, aid, no)?;
        let index = count
            .checked_sub(1)
            .and_then(|n| n.checked_sub(record))
            .ok_or(Status::BOUNDARY_ERROR)?;
        let start = index
            .checked_mul(size)
            .and_then(|r| r.checked_add(shadow))
            .and_then(|r| r.checked_add(offset))
            .ok_or(Status::BOUNDARY_ERROR)?;
        self.state
            .region_mut(start, len)
            .ok_or(Status::FILE_INTEGRITY_ERROR)?
            .copy_from_slice(data);
        Done::persisted()
    }

    /// Needs the read-write right (checked here: the command itself is always MACed).
    pub(crate) fn clear_record_file(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        let no = p.u8()?;
        p.finish()?;
        let file = self.file(no)?;
        super::access::grant(self.vol.auth_key(), &[file.rights.read_write], file.comm)?;
        if !matches!(file.kind, FileKind::Record { .. }) {
            return Err(Status::PARAMETER_ERROR);
        }
        let aid = self.vol.selected;
        self.vol.tx.touch(&mut self.state, aid, no)?;
        self.vol.tx.set(
            no,
            Pending::Record {
                count: 0,
                new_record: false,
            },
        )?;
        Done::persisted()
    }

    /// Applies the pending changes in one NVM commit; `NO_CHANGES` when none are pending.
    /// Option `01` (return the transaction MAC) needs a TMAC file, which is not modelled.
    pub(crate) fn commit_transaction(&mut self, mut p: Params<'_>) -> Result<Done, Status> {
        if p.remaining() > 0 && p.u8()? != 0 {
            return Err(Status::PARAMETER_ERROR);
        }
        p.finish()?;
        if self.vol.tx.commit(&mut self.state, self.vol.selected) {
            Done::persisted()
        } else {
            Ok(Done {
                status: Status::NO_CHANGES,
                ..Done::default()
            })
        }
    }

    pub(crate) fn abort_transaction(&mut self, p: Params<'_>) -> Result<Done, Status> {
        p.finish()?;
        if self.vol.tx.is_empty() {
            return Ok(Done {
                status: Status::NO_CHANGES,
                ..Done::default()
            });
        }
        self.vol.tx.abort();
        Done::ok()
    }
}
