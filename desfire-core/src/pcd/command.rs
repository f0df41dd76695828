//! A command as the engine sends it, and a response as it reaches the caller.

use crate::wire::{Ins, Status};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// How a command and its response are protected once a session exists.
///
/// Without a session every command travels plain; a command whose mode is [`CommandMode::Mac`]
/// or [`CommandMode::Full`] and that [`Command::needs_session`] is refused rather than sent
/// plain, so file data meant to be protected never crosses the field in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CommandMode {
    /// `CommMode.Plain`: no MAC either way, but the command is counted.
    Plain,
    /// `CommMode.MAC`: MACt on command and response.
    Mac,
    /// `CommMode.Full`: command data and response data encrypted, then MACed.
    Full,
}

impl CommandMode {
    /// The same mode as the `wire` type used in file settings.
    pub const fn from_comm_mode(mode: crate::wire::CommMode) -> Self {
        match mode {
            crate::wire::CommMode::Plain => Self::Plain,
            crate::wire::CommMode::Mac => Self::Mac,
            crate::wire::CommMode::Full => Self::Full,
        }
    }

    /// The `wire` comm mode.
    pub const fn comm_mode(self) -> crate::wire::CommMode {
        match self {
            Self::Plain => crate::wire::CommMode::Plain,
            Self::Mac => crate::wire::CommMode::Mac,
            Self::Full => crate::wire::CommMode::Full,
        }
    }
}

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
#[derive(Debug, Clone)]
pub struct Command<'a> {
    /// Command code.
    pub ins: Ins,
    /// Command header: sent in clear, covered by the MAC.
    pub header: heapless::Vec<u8, MAX_HEADER>,
    /// Command data.
    pub data: CommandData<'a>,
    /// Protection once authenticated.
    pub mode: CommandMode,
    /// The command must not be sent without a session (file access in MAC or Full mode,
    /// GetCardUID, ChangeKey, …).
    pub needs_session: bool,
    /// A successful response ends the session and carries no MAC (ChangeKey of the
    /// authenticated key).
    pub ends_session: bool,
}

impl<'a> Command<'a> {
    /// A command with a header and no data, MACed when a session exists.
    pub fn new(ins: Ins, header: &[u8], mode: CommandMode) -> Result<Self, crate::wire::Error> {
        Ok(Self {
            ins,
            header: heapless::Vec::from_slice(header).map_err(|_| crate::wire::Error::BadLength)?,
            data: CommandData::NONE,
            mode,
            needs_session: false,
            ends_session: false,
        })
    }

    /// Sets the data.
    pub fn with_data(mut self, data: CommandData<'a>) -> Self {
        self.data = data;
        self
    }

    /// Marks the command as requiring a session.
    pub fn requiring_session(mut self) -> Self {
        self.needs_session = true;
        self
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

    /// The final status (`OPERATION_OK` or `NO_CHANGES`).
    pub const fn status(&self) -> Status {
        self.status
    }
}
