//! Access rights of files (read, write, read-write, change; `E` free, `F` never) and the comm
//! mode they imply.
//!
//! Of the rights that allow an operation: one naming the session's key grants it in the file's
//! comm mode; otherwise a free one grants it in plain; otherwise it is `PERMISSION_DENIED` when
//! every right is "never" and `AUTHENTICATION_ERROR` when a key would be needed.

use crate::wire::{Access, CommMode, Status};

/// The comm mode the operation uses, or why it is refused.
pub(crate) fn grant(
    auth: Option<u8>,
    rights: &[Access],
    comm: CommMode,
) -> Result<CommMode, Status> {
    let by_key = auth.is_some_and(|k| {
        rights
            .iter()
            .any(|r| matches!(r, Access::Key(n) if n.value() == k))
    });
    if by_key {
        return Ok(comm);
    }
    if rights.contains(&Access::Free) {
        return Ok(CommMode::Plain);
    }
    if rights.iter().all(|r| *r == Access::Never) {
        Err(Status::PERMISSION_DENIED)
    } else {
        Err(Status::AUTHENTICATION_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::KeyNo;

    #[test]
    fn key_then_free_then_refusal() {
        let k1 = Access::Key(KeyNo::new(1).unwrap());
        assert_eq!(
            grant(Some(1), &[k1, Access::Free], CommMode::Full),
            Ok(CommMode::Full)
        );
        assert_eq!(
            grant(Some(2), &[k1, Access::Free], CommMode::Full),
            Ok(CommMode::Plain)
        );
        assert_eq!(
            grant(None, &[k1], CommMode::Mac),
            Err(Status::AUTHENTICATION_ERROR)
        );
        assert_eq!(
            grant(Some(2), &[k1, Access::Never], CommMode::Mac),
            Err(Status::AUTHENTICATION_ERROR)
        );
        assert_eq!(
            grant(Some(1), &[Access::Never, Access::Never], CommMode::Mac),
            Err(Status::PERMISSION_DENIED)
        );
    }
}
