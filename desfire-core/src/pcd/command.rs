//! A command as the engine sends it, and a response as it reaches the caller.

use crate::wire::{EndsSession, Ins, Status};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// How a command and its response are protected once a session exists: the crate's one
/// [`CommMode`](crate::wire::CommMode), under the name the reader side has always used.
///
/// Without a session every command travels plain; a command whose mode is `Mac` or `Full` and
/// that [`Command::needs_session`] is refused rather than sent plain, so file data meant to be
/// protected never crosses the field in clear.
pub use crate::wire::CommMode as CommandMode;

/// Largest command header: CreateApplication with KeySett3, application key set settings,
/// ISO FID and a 16-byte DF name (3 + 1 + 1 + 1 + 4 + 2 + 16 = 28).
pub const MAX_HEADER: usize = 32;
/// Most response frames whose boundaries a [`Response`] remembers.
pub const MAX_FRAMES: usize = 32;
/// Largest command data the engine builds itself (ChangeKey key data, value operations).
pub const MAX_INLINE_DATA: usize = 32;

/// Command data: borrowed from the caller (file contents) or built by the engine (may be secret,
/// such as ChangeKey key data, so it is zeroized on drop).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub enum CommandData<'a> {
    /// Caller's bytes.
    Borrowed(#[zeroize(skip)] &'a [u8]),
    /// Engine-built bytes.
    Inline([u8; MAX_INLINE_DATA], usize),
}

impl CommandData<'_> {
    /// No data.
    pub const NONE: CommandData<'static> = CommandData::Borrowed(&[]);

    /// Builds inline data. `None` if longer than [`MAX_INLINE_DATA`].
    pub fn inline(bytes: &[u8]) -> Option<Self> {
        let mut buf = [0u8; MAX_INLINE_DATA];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self::Inline(buf, bytes.len()))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Borrowed(b) => b,
            Self::Inline(buf, len) => buf.get(..*len).unwrap_or(&[]),
        }
    }
}

impl core::fmt::Debug for CommandData<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Command data may be secret (key data, Full-mode file contents): print the length only.
        write!(f, "CommandData({} bytes)", self.as_bytes().len())
    }
}

/// One native command: code, header (never encrypted), data (encrypted in Full mode), and mode.
///
/// The session flags come from the command table ([`CommandSpec`](crate::wire::CommandSpec)) and the builders in
/// [`super::commands`]; they are crate-private, so a caller cannot mark a command as ending the
/// session (and have an empty, un-MACed answer accepted) or drop the session requirement.
#[derive(Debug, Clone)]
pub struct Command<'a> {
    pub(crate) ins: Ins,
    pub(crate) header: heapless::Vec<u8, MAX_HEADER>,
    pub(crate) data: CommandData<'a>,
    pub(crate) mode: CommandMode,
    pub(crate) needs_session: bool,
    pub(crate) ends_session: bool,
}

impl<'a> Command<'a> {
    /// A command with a header and no data, in `mode` once a session exists. Its session flags
    /// are the table's for `ins`: a command the table marks as needing a session needs one, and
    /// one that always ends the session (SelectApplication) ends it.
    pub fn new(ins: Ins, header: &[u8], mode: CommandMode) -> Result<Self, crate::wire::Error> {
        let header =
            heapless::Vec::from_slice(header).map_err(|_| crate::wire::Error::BadLength)?;
        Ok(Self::from_table(ins, header, mode))
    }

    /// A command with the table's session flags.
    #[inline(always)]
    pub(crate) fn from_table(
        ins: Ins,
        header: heapless::Vec<u8, MAX_HEADER>,
        mode: CommandMode,
    ) -> Self {
        Self {
            ins,
            header,
            data: CommandData::NONE,
            mode,
            needs_session: ins.needs_session(),
            ends_session: matches!(ins.ends_session(), EndsSession::Always),
        }
    }

    /// Sets the data.
    pub fn with_data(mut self, data: CommandData<'a>) -> Self {
        self.data = data;
        self
    }

    /// Marks the command as requiring a session (a protected file's data, a vector replayed in
    /// its recorded mode).
    pub fn requiring_session(mut self) -> Self {
        self.needs_session = true;
        self
    }

    /// Marks the command as changing the key the session was authenticated with, so that its
    /// successful answer is a bare status and ends the session. Only for a command the table
    /// says can end the session that way (ChangeKey, ChangeKeyEV2): no other command may have
    /// an empty, un-MACed answer accepted. `BadValue` otherwise.
    pub fn changing_authenticated_key(mut self) -> Result<Self, crate::wire::Error> {
        match self.ins.ends_session() {
            EndsSession::IfAuthenticatedKey => {
                self.ends_session = true;
                Ok(self)
            }
            EndsSession::Never | EndsSession::Always => Err(crate::wire::Error::BadValue),
        }
    }

    /// Command code.
    pub const fn ins(&self) -> Ins {
        self.ins
    }

    /// Command header: sent in clear, covered by the MAC.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Command data.
    pub fn data(&self) -> &[u8] {
        self.data.as_bytes()
    }

    /// Protection once authenticated.
    pub const fn mode(&self) -> CommandMode {
        self.mode
    }

    /// The command is not sent without a session (file access in MAC or Full mode,
    /// GetCardUID, ChangeKey, …).
    pub const fn needs_session(&self) -> bool {
        self.needs_session
    }

    /// A successful answer ends the session and carries no MAC (SelectApplication; ChangeKey of
    /// the authenticated key).
    pub const fn ends_session(&self) -> bool {
        self.ends_session
    }
}

/// A proof that response data passed every check of its comm mode: the response MAC verified in
/// constant time before any decryption, the padding was valid, and the counter advanced.
///
/// The only constructors are the engine's, so parsers that take a `Response` cannot be handed
/// unverified bytes. Whether a MAC was among the checks is [`Response::mac_verified`]: a Plain
/// response, or the bare status that ends a session (ChangeKey of the authenticated key), has
/// none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    data: &'a [u8],
    status: Status,
    frame_ends: FrameEnds,
    mac: Option<crate::crypto::ev2::ResponseMacVerified>,
}

/// Where each response frame ended within the assembled data.
pub(crate) type FrameEnds = heapless::Vec<u16, MAX_FRAMES>;

impl<'a> Response<'a> {
    pub(crate) fn verified(data: &'a [u8], status: Status, frame_ends: FrameEnds) -> Self {
        Self {
            data,
            status,
            frame_ends,
            mac: None,
        }
    }

    /// The same response, with the proof that its MAC verified.
    pub(crate) fn with_mac(self, proof: crate::crypto::ev2::ResponseMacVerified) -> Self {
        Self {
            mac: Some(proof),
            ..self
        }
    }

    /// `true` only when a response MAC was verified (MAC and Full mode inside a session).
    pub const fn mac_verified(&self) -> bool {
        self.mac.is_some()
    }

    /// The response data split at the original frame boundaries (GetDFNames sends one
    /// application per frame). The MAC of the last frame is not part of any piece; in Full mode
    /// the boundaries are those of the ciphertext and carry no meaning. Frames beyond
    /// [`MAX_FRAMES`] are merged into the last piece.
    pub fn frames(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let data = self.data;
        let last = core::iter::once(data.len());
        let ends = self.frame_ends.iter().map(|e| usize::from(*e)).chain(last);
        let mut start = 0usize;
        ends.filter_map(move |end| {
            let end = end.min(data.len());
            let piece = data.get(start..end)?;
            start = end;
            Some(piece)
        })
        .filter(|p| !p.is_empty())
    }

    /// The response data, in clear, without MAC or padding.
    pub const fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The final status: one the command table accepts for the command (`OPERATION_OK`, or
    /// `NO_CHANGES` for CommitTransaction and AbortTransaction).
    pub const fn status(&self) -> Status {
        self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_flags_come_from_the_table() {
        let select = Command::new(Ins::SELECT_APPLICATION, &[1, 2, 3], CommandMode::Plain).unwrap();
        assert!(select.ends_session() && !select.needs_session());
        let uid = Command::new(Ins::GET_CARD_UID, &[], CommandMode::Full).unwrap();
        assert!(uid.needs_session() && !uid.ends_session());
        let read = Command::new(Ins::READ_DATA, &[0; 7], CommandMode::Full).unwrap();
        assert!(!read.needs_session() && !read.ends_session());
        // Only a key change may end the session with a bare, un-MACed answer.
        assert_eq!(
            read.changing_authenticated_key().unwrap_err(),
            crate::wire::Error::BadValue
        );
        let change = Command::new(Ins::CHANGE_KEY, &[0], CommandMode::Full).unwrap();
        assert!(!change.ends_session());
        assert!(change.changing_authenticated_key().unwrap().ends_session());
    }
}
