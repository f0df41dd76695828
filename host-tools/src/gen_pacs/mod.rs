//! GEN-PACS on the host: what `desfire card encode`, `desfire card verify` and `desfire reader`
//! share.
//!
//! - [`read`](read_as): the reader procedure (`specs/generic-encoding.md` §12) with a profile's
//!   keys and policy, and the spec's deny identifiers (§13).
//! - [`encode`]: personalising a card (§18) over any transport, resuming an interrupted
//!   personalisation, rewriting a credential.

mod encode;
mod read;

pub use self::encode::{EncodeError, Encoded, encode};
pub use self::read::{ReadPolicy, read, read_as, spec_reason};
