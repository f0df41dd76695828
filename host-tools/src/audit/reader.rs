//! The reader under test: what the audit presents a card to and what it observes. In process
//! there are two product readers: the reference reader (the §12 procedure of
//! `desfire_core::encoding`, built from the profile by [`gen_pacs::read`]) and the UID-only
//! reader model that `desfire demo` shows failing. Known-bad models with one flaw each live in
//! the test suite (`tests/src/bad_readers.rs`).

use std::convert::Infallible;
use std::fmt;

use desfire_core::encoding::{Verdict, osdp_raw_extended};
use desfire_core::pcd::Transport;

use crate::framing::Variant;
use crate::gen_pacs::{self, spec_reason};
use crate::profile::Profile;
use crate::virtual_card::VirtualCard;

/// Who decides revocation (spec §17, "Reader role"): the audited reader itself, or the
/// controller it forwards the extended output (§14) to. It decides T10b and T10c.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReaderRole {
    /// A reader that is its own controller (a standalone reader, the reference reader): T10b
    /// and T10c are `REVOKED`.
    #[default]
    ReaderAndController,
    /// A reader that forwards the extended output for its controller to revoke: T10b and T10c
    /// are judged on what it forwards.
    ReaderOnly,
}

impl ReaderRole {
    /// As `--role` takes it and the report states it: `reader+controller`, `reader`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReaderAndController => "reader+controller",
            Self::ReaderOnly => "reader",
        }
    }

    /// Parses `--role`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reader+controller" => Some(Self::ReaderAndController),
            "reader" | "reader-only" => Some(Self::ReaderOnly),
            _ => None,
        }
    }
}

/// What a reader did with one presented card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// It output this credential ID.
    Grant(u64),
    /// It output nothing; the §13 identifier when the reader tells it (the reference reader
    /// does, an external reader may not).
    Deny(Option<String>),
    /// It did not decide in time.
    Timeout,
    /// It could not run (no key, a broken reader): not a verdict on the card.
    Error(String),
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Grant(id) => write!(f, "GRANT {id:016X}"),
            Self::Deny(Some(r)) => write!(f, "DENY {r}"),
            Self::Deny(None) => f.write_str("DENY"),
            Self::Timeout => f.write_str("TIMEOUT"),
            Self::Error(e) => write!(f, "ERROR {e}"),
        }
    }
}

/// How a reader's forwarded output appears in what it prints: `osdp_RAW` and the payload in
/// hex, as `desfire reader --print-payload` prints it. A reader only (spec §17, "Reader role")
/// prints it so that the audit can judge T10b and T10c on what the controller would receive.
pub const FORWARDED: &str = "osdp_RAW";

/// A reader the audit can present test cards to. The card is already activated
/// ([`VirtualCard::power_on`]): [`VirtualCard::anticollision_uid`] is what anticollision gave.
pub trait ReaderUnderTest {
    /// How the report names this reader.
    fn name(&self) -> String;
    /// Runs one card presentation and reports the reader's decision.
    fn present(&mut self, card: &mut dyn VirtualCard) -> Observation;
    /// What the reader printed during the last presentation (an external reader's standard
    /// output and error, bounded), for the detail of a card it failed.
    fn take_output(&mut self) -> Option<String> {
        None
    }
}

/// Any activated [`VirtualCard`] as a `desfire_core::pcd::Transport`: the reader side of the
/// in-process field.
#[derive(Debug)]
pub struct CardLink<'a, C: ?Sized>(pub &'a mut C);

impl<C: VirtualCard + ?Sized> Transport for CardLink<'_, C> {
    type Error = Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.0.transmit(capdu, rapdu))
    }
}

/// The reference reader: the GEN-PACS procedure with the profile's keys and policy
/// (`policy.allow_fixed_uid` from the profile), trusted time `now`, framed as its
/// [`Variant`] says. As a reader+controller it revokes itself; as a reader only it forwards
/// the extended output (§14) and says so in [`ReaderUnderTest::take_output`].
#[derive(Debug)]
pub struct ReferenceReader<'a> {
    profile: &'a Profile,
    now: u32,
    framing: Variant,
    role: ReaderRole,
    output: Option<String>,
}

impl<'a> ReferenceReader<'a> {
    /// The reference reader for `profile` at trusted time `now` (Unix seconds), framing as
    /// [`Variant::Ad`].
    pub fn new(profile: &'a Profile, now: u32) -> Self {
        Self {
            profile,
            now,
            framing: Variant::Ad,
            role: ReaderRole::ReaderAndController,
            output: None,
        }
    }

    /// The same reader in `role`.
    pub fn in_role(self, role: ReaderRole) -> Self {
        Self { role, ..self }
    }

    /// The same reader framing its commands as `framing` says.
    pub fn framed(self, framing: Variant) -> Self {
        Self { framing, ..self }
    }
}

impl ReaderUnderTest for ReferenceReader<'_> {
    fn name(&self) -> String {
        match self.framing {
            Variant::Ad => "reference".into(),
            other => format!("reference (framing {other})"),
        }
    }

    fn present(&mut self, card: &mut dyn VirtualCard) -> Observation {
        let ac = card.anticollision_uid().to_vec();
        let policy = match self.role {
            ReaderRole::ReaderAndController => gen_pacs::ReadPolicy::Reader,
            ReaderRole::ReaderOnly => gen_pacs::ReadPolicy::Forwarding,
        };
        let t = gen_pacs::read_as(
            policy,
            self.framing,
            &mut CardLink(card),
            self.profile,
            self.profile.policy.allow_fixed_uid,
            &ac,
            self.now,
        );
        self.output = None;
        match t.verdict {
            Verdict::Grant(c) => {
                if self.role == ReaderRole::ReaderOnly {
                    // What it forwards to its controller (§14 extended output).
                    self.output = Some(format!(
                        "{FORWARDED} {}",
                        hex::encode_upper(osdp_raw_extended(&c, 0))
                    ));
                }
                Observation::Grant(c.credential_id)
            }
            Verdict::Deny(r) => match spec_reason(&r) {
                Some((name, _)) => Observation::Deny(Some(name.to_owned())),
                None => Observation::Error(r.to_string()),
            },
        }
    }

    fn take_output(&mut self) -> Option<String> {
        self.output.take()
    }
}

/// A reader that trusts the anticollision UID ("CSN reader"): it grants the credential it
/// enrolled for a UID and never talks to the card. The flaw §11 and T1 exist for; the one
/// UID-only implementation (`desfire demo` and the test suite's flaw models use it).
#[derive(Debug, Clone)]
pub struct UidOnlyReader {
    enrolled: Vec<(Vec<u8>, u64)>,
}

impl UidOnlyReader {
    /// A UID-only reader with these (UID, credential ID) enrolments.
    pub fn new(enrolled: Vec<(Vec<u8>, u64)>) -> Self {
        Self { enrolled }
    }

    /// The decision on an anticollision UID.
    pub fn decide(&self, anticollision_uid: &[u8]) -> Observation {
        self.enrolled
            .iter()
            .find(|(uid, _)| uid.as_slice() == anticollision_uid)
            .map_or(Observation::Deny(None), |(_, id)| Observation::Grant(*id))
    }
}

impl ReaderUnderTest for UidOnlyReader {
    fn name(&self) -> String {
        "uid-only (model)".into()
    }

    fn present(&mut self, card: &mut dyn VirtualCard) -> Observation {
        self.decide(card.anticollision_uid())
    }
}
