//! The audit test cards T0..T15 and S1..S4 of `specs/generic-encoding.md` §17 as code: the
//! catalogue ([`CardId::spec`]) holds each card in one entry (name, requirement, conforming
//! verdict and how it varies with the profile's policy and the reader's role, where its fault
//! shows, which profiles can play it, and how its card is built). Each card is a card image made
//! by the GEN-PACS encoder from the profile (then edited where the card differs from the golden
//! card) and, where the card misbehaves actively, a [`Behaviour`].
//!
//! "Enrolled" (§17): the PACS has authorised credential [`ENROLLED_CREDENTIAL_ID`] and, for a
//! UID-only reader, the UID it would see from the golden card: its 7-byte UID [`GOLDEN_UID`],
//! which the fixed-UID golden card (T14) shows and the clone (T1) copies.

use std::time::Duration;

use desfire_core::encoding::provision::KeyValue;
use desfire_core::encoding::{
    AppKey, CCF_FILE_SIZE, Credential, DenyCode, ExtraTlv, KeyId, OriginalityPolicy, ParsedCcf,
    Provisioning, RealUid, Revocation, Step, tbs_digest,
};
use desfire_core::pcd::{Desfire, FrameSize};
use desfire_core::picc::state::{CONFIG_RANDOM_ID, Originality};
use desfire_core::picc::{CardConfig, State};
use desfire_core::wire::{Access, CommMode};

pub use super::card_id::{CardId, UnknownCard};

use super::behaviour::{Application, Behaving, Behaviour, FaultSite, Recording};
use super::reader::{CardLink, Observation, ReaderRole};
use super::recorder::Recorder;
use crate::card_image::CardImage;
use crate::gen_pacs;
use crate::profile::{Needed, Profile};
use crate::virtual_card::EmulatedCard;
use crate::virtual_card::ImageLink;
use crate::virtual_card::VirtualCard;

/// The credential ID the PACS has enrolled (§17, the §9 test card).
pub const ENROLLED_CREDENTIAL_ID: u64 = desfire_core::encoding::lab::CREDENTIAL_ID;
/// The golden card's real UID (the §9 test card).
pub const GOLDEN_UID: RealUid = [0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80];

/// The random-looking 4-byte anticollision UID of T1b (`08` first, as a Random-ID card shows).
pub const RANDOM_LOOKING_UID: [u8; 4] = [0x08, 0x5C, 0x1E, 0x93];

/// Genuine card B of the transplant (T8): same key scheme, another UID.
pub const CARD_B_UID: RealUid = [0x04, 0x5A, 0x3C, 0x11, 0x92, 0x6B, 0x80];
/// A credential ID nobody issued (T7).
const FORGED_CREDENTIAL_ID: u64 = 0x0BAD_C0DE_0BAD_C0DE;
/// The relay's added delay (T12: at least 5 ms).
pub const RELAY_DELAY: Duration = Duration::from_millis(5);
const DAY: u32 = 86_400;

/// A test card as it is played: the emulated card and its behaviour.
pub type TestCard = Behaving<EmulatedCard>;

/// Why a test card could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The profile lacks what the encoder needs.
    #[error("the audit builds its cards with the profile's masters and signing key: {0}")]
    Profile(#[from] crate::profile::ProfileError),
    /// The encoder or the card image failed.
    #[error("building {card}: {message}")]
    Build {
        /// The card.
        card: &'static str,
        /// What failed.
        message: String,
    },
    /// No such card.
    #[error(transparent)]
    Unknown(#[from] UnknownCard),
}

fn build_err(card: &'static str) -> impl Fn(String) -> CardError {
    move |message| CardError::Build { card, message }
}

/// The conforming verdict of a card (§17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// A conforming reader may grant (the enrolled credential).
    pub grant: bool,
    /// The §13 reasons a conforming reader may deny with.
    pub deny: &'static [DenyCode],
    /// Qualifies a grant (`PC not enabled`, `originality policy off`).
    pub grant_note: &'static str,
}

impl Expected {
    const fn deny(reasons: &'static [DenyCode]) -> Self {
        Self {
            grant: false,
            deny: reasons,
            grant_note: "",
        }
    }

    const GRANT: Self = Self {
        grant: true,
        deny: &[],
        grant_note: "",
    };

    const fn grant_only(note: &'static str) -> Self {
        Self {
            grant: true,
            deny: &[],
            grant_note: note,
        }
    }

    /// Whether `o` conforms. A deny without a reason (an external reader that does not say
    /// why) conforms to any expected deny. A reader that did not decide in time conforms to
    /// nothing, not even where a TRANSPORT deny would: a reader that hangs on a card is a
    /// failure of its own (a reader that gives up on a mute card says DENY).
    pub fn accepts(&self, o: &Observation, credential_id: u64) -> bool {
        match o {
            Observation::Grant(id) => self.grant && *id == credential_id,
            Observation::Deny(None) => !self.deny.is_empty(),
            Observation::Deny(Some(r)) => self.deny.iter().any(|c| c.name() == r),
            Observation::Timeout | Observation::Error(_) => false,
        }
    }

    /// As the report prints it: `GRANT 1A2B3C4D5E6F7081`, `DENY AUTH_FAILED`, `DENY
    /// NO_APPLICATION | CARD_ERROR`, `GRANT … (PC not enabled) or DENY PROXIMITY_FAILED`
    /// (spaces around `|`, so that narrow table cells wrap between reasons).
    pub fn describe(&self, credential_id: u64) -> String {
        let grant = self.grant.then(|| {
            let mut s = format!("GRANT {credential_id:016X}");
            if !self.grant_note.is_empty() {
                s.push_str(&format!(" ({})", self.grant_note));
            }
            s
        });
        let deny = (!self.deny.is_empty()).then(|| {
            let names: Vec<&str> = self.deny.iter().map(|c| c.name()).collect();
            format!("DENY {}", names.join(" | "))
        });
        match (grant, deny) {
            (Some(g), Some(d)) => format!("{g} or {d}"),
            (Some(g), None) => g,
            (None, Some(d)) => d,
            (None, None) => "nothing".into(),
        }
    }
}

/// What a conforming reader does with a card under a profile's policy and a reader role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conforming {
    /// The conforming verdict.
    pub expected: Expected,
    /// The credential ID a conforming GRANT carries.
    pub granted_id: u64,
    /// What a reader only must forward besides the credential ID: the issue number, which only
    /// the extended output (§14) carries.
    pub forwarded_issue: Option<u8>,
}

impl Conforming {
    /// `expected`, a GRANT of the enrolled credential, nothing to forward.
    const fn enrolled(expected: Expected) -> Self {
        Self {
            expected,
            granted_id: ENROLLED_CREDENTIAL_ID,
            forwarded_issue: None,
        }
    }
}

/// Where a card's fault shows (decision 0006 D4): what the reader must receive before its
/// verdict says anything about the fault. [`Fixture::build`] places it as a [`FaultSite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A control card: nothing to meet.
    None,
    /// The UID, at activation.
    Activation,
    /// Where the card's [`Behaviour`] acts: its manipulated answer delivered.
    Behaviour,
    /// The answer to selecting the GEN-PACS application or to listing applications.
    Application,
    /// The answer to the second frame of an authentication with this key.
    Authentication(AppKey),
    /// The bytes of the credential file in which the card differs from the golden card.
    Credential,
    /// The bytes of the issuer signature (the UID binding).
    Signature,
    /// The answer to Read_Sig.
    Originality,
    /// A refusal of a ReadData of the credential file.
    ReadRefused,
}

/// How a card's image is built: from the fixture's golden card, for the card it names (for
/// error messages).
type Build = fn(&Fixture, CardId) -> Result<TestCard, CardError>;
/// The conforming verdict under a profile's policy and a reader role where it is not the
/// card's [`CardSpec::expected`].
type Under = fn(&Profile, ReaderRole) -> Option<Conforming>;
/// Why a profile cannot play a card.
type Needs = fn(&Profile) -> Option<&'static str>;

/// One test card of §17: everything about it in one place.
#[derive(Debug, Clone, Copy)]
pub struct CardSpec {
    /// `T0`..`T15`, `T10a`..`T10c`, `S1`..`S4`.
    pub id: CardId,
    /// Short name.
    pub name: &'static str,
    /// The requirement(s) it tests.
    pub requirement: &'static str,
    /// How it differs from the golden card.
    pub differs: &'static str,
    /// The conforming verdict with the reference profile policy.
    pub expected: Expected,
    /// What a wrong verdict means, in plain words (§17).
    pub failure_means: &'static str,
    /// Where its fault shows.
    pub fault: Fault,
    under: Under,
    needs: Needs,
    build: Build,
}

/// The listed verdict under every policy and role.
const AS_LISTED: Under = |_, _| None;
/// Every profile plays the card.
const ANY_PROFILE: Needs = |_| None;

/// A reader only's conforming verdict on a revocation card (spec §17, "Reader role").
const FORWARDED_FOR_REVOCATION: Expected =
    Expected::grant_only("reader only: forwarded for the controller to revoke");

impl CardId {
    /// The card's catalogue entry.
    pub fn spec(self) -> &'static CardSpec {
        use DenyCode as D;
        match self {
            CardId::T0 => {
                const {
                    &CardSpec {
                        id: CardId::T0,
                        name: "Golden",
                        requirement: "interoperability",
                        differs: "none: Random ID, GEN-PACS application, diversified keys, valid \
                              signature",
                        expected: Expected::GRANT,
                        failure_means: "the reader cannot read a conforming card (or it is UID-only: \
                                    it denies because the UID is random)",
                        fault: Fault::None,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| f.behaving(id, &f.golden, Behaviour::Genuine),
                    }
                }
            }
            CardId::T1 => {
                const {
                    &CardSpec {
                        id: CardId::T1,
                        name: "UID clone",
                        requirement: "R1, R10",
                        differs: "anticollision only, with the enrolled UID, no DESFire behind it",
                        // UID_POLICY: the clone's UID is a fixed UID, and the first failing step
                        // wins (§13).
                        expected: Expected::deny(&[
                            D::UidPolicy,
                            D::NoApplication,
                            D::CardError,
                            D::Transport,
                        ]),
                        failure_means: "critical: the reader trusts the UID; any cloner opens the door",
                        fault: Fault::Activation,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let uid = GOLDEN_UID.to_vec();
                            let factory = State::factory(GOLDEN_UID);
                            f.behaving(id, &factory, Behaviour::AnticollisionOnly { uid })
                        },
                    }
                }
            }
            CardId::T1b => {
                const {
                    &CardSpec {
                        id: CardId::T1b,
                        name: "Random-looking clone",
                        requirement: "R1, R10",
                        differs: "anticollision only, a 4-byte 08 UID as a Random-ID card shows, no \
                              DESFire behind it",
                        // Under every policy: the UID passes step 0, and nothing answers step 2.
                        expected: Expected::deny(&[D::NoApplication, D::CardError, D::Transport]),
                        failure_means: "the reader grants on the anticollision UID, or falls back to \
                                    it when the card has no application",
                        fault: Fault::Activation,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let uid = RANDOM_LOOKING_UID.to_vec();
                            let factory = State::factory(GOLDEN_UID);
                            f.behaving(id, &factory, Behaviour::AnticollisionOnly { uid })
                        },
                    }
                }
            }
            CardId::T2 => {
                const {
                    &CardSpec {
                        id: CardId::T2,
                        name: "Blank genuine EV3",
                        requirement: "R10",
                        differs: "genuine card, Random ID, no GEN-PACS application",
                        expected: Expected::deny(&[D::NoApplication]),
                        failure_means: "the reader falls back to the UID or to another application",
                        fault: Fault::Application,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let mut s = State::factory(GOLDEN_UID);
                            s.config |= CONFIG_RANDOM_ID;
                            f.behaving(id, &s, Behaviour::Genuine)
                        },
                    }
                }
            }
            CardId::T3 => {
                const {
                    &CardSpec {
                        id: CardId::T3,
                        name: "Wrong key",
                        requirement: "R4, R7",
                        differs: "K2 not diversified (the master itself)",
                        expected: Expected::deny(&[D::AuthFailed]),
                        failure_means: "the reader ignores authentication failure, or does not \
                                    diversify",
                        fault: Fault::Authentication(AppKey::Read),
                        under: AS_LISTED,
                        needs: |p| {
                            p.masters.read.is_none().then_some(
                                "the K2 master is in a token, which never gives its value out",
                            )
                        },
                        build: |f, id| {
                            let e = build_err(id.as_str());
                            let p = &f.profile;
                            let mut s = f.golden.clone();
                            let master = p
                                .masters
                                .read
                                .clone()
                                .ok_or_else(|| e("no K2 master".into()))?;
                            let slot = app_mut(&mut s, p)
                                .and_then(|a| {
                                    a.keys.get_mut(usize::from(AppKey::Read.key_no().value()))
                                })
                                .ok_or_else(|| e("no K2 slot".into()))?;
                            slot.key = master;
                            f.behaving(id, &s, Behaviour::Genuine)
                        },
                    }
                }
            }
            CardId::T4 => {
                const {
                    &CardSpec {
                        id: CardId::T4,
                        name: "Plain downgrade",
                        requirement: "R3",
                        differs: "file 01 in Plain comm mode with free read; answers ReadData in Plain",
                        expected: Expected::deny(&[D::Downgrade]),
                        failure_means: "critical: the reader accepts unprotected data; anyone can \
                                    write a card",
                        fault: Fault::Behaviour,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let s = f.plain_credential_file(id)?;
                            f.behaving(id, &s, Behaviour::PlainDowngrade)
                        },
                    }
                }
            }
            CardId::T4b => {
                const {
                    &CardSpec {
                        id: CardId::T4b,
                        name: "Plain file, MACed read refused",
                        requirement: "R3, §12 step 9",
                        differs: "file 01 in Plain comm mode with free read; the card refuses the \
                              MACed ReadData with 91 7E",
                        // Step 9 checks the status first (decision 0005, E3, E5).
                        expected: Expected::deny(&[D::CardError]),
                        failure_means: "the reader takes an error for data, or retries the read in \
                                    Plain",
                        fault: Fault::ReadRefused,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        // The card as it is: a Plain file refuses a command that carries a MACt.
                        build: |f, id| {
                            let s = f.plain_credential_file(id)?;
                            f.behaving(id, &s, Behaviour::Genuine)
                        },
                    }
                }
            }
            CardId::T5 => {
                const {
                    &CardSpec {
                        id: CardId::T5,
                        name: "Legacy authentication only",
                        requirement: "R2",
                        differs: "application keys DES/2TDEA (EV1 style): EV2 authentication refused",
                        expected: Expected::deny(&[D::AuthFailed, D::CardError]),
                        failure_means: "the reader downgrades to legacy crypto",
                        fault: Fault::Behaviour,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| f.behaving(id, &f.golden, Behaviour::LegacyKeysOnly),
                    }
                }
            }
            CardId::T6 => {
                const {
                    &CardSpec {
                        id: CardId::T6,
                        name: "Tampered MAC",
                        requirement: "R4",
                        differs: "one byte of the ReadData MACt corrupted",
                        expected: Expected::deny(&[D::MacMismatch]),
                        failure_means: "critical: the reader does not check MACs; data can be \
                                    swapped in the field",
                        fault: Fault::Behaviour,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| f.behaving(id, &f.golden, Behaviour::CorruptReadDataMac),
                    }
                }
            }
            CardId::T7 => {
                const {
                    &CardSpec {
                        id: CardId::T7,
                        name: "Forged credential",
                        requirement: "R8",
                        differs: "credential rewritten with K3: other credential ID, old signature",
                        expected: Expected::deny(&[D::BadSignature]),
                        failure_means: "a holder of K3 can mint identities",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let e = build_err(id.as_str());
                            let forged = Credential {
                                credential_id: FORGED_CREDENTIAL_ID,
                                ..golden_credential(&f.profile, f.now)?
                            };
                            let old = ParsedCcf::parse(&f.golden_ccf)
                                .map_err(|x| e(x.to_string()))?
                                .signature;
                            let mut ccf = [0u8; CCF_FILE_SIZE];
                            forged
                                .encode_with_signature(&old, &mut ccf)
                                .map_err(|x| e(x.to_string()))?;
                            f.rewritten(id, &f.golden, &ccf)
                        },
                    }
                }
            }
            CardId::T8 => {
                const {
                    &CardSpec {
                        id: CardId::T8,
                        name: "Transplanted credential",
                        requirement: "R8",
                        differs: "the golden card's credential written to genuine card B",
                        expected: Expected::deny(&[D::BadSignature]),
                        failure_means: "credentials can be copied between cards (the signature is \
                                    not bound to the real UID)",
                        fault: Fault::Signature,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let p = &f.profile;
                            let credential = golden_credential(p, f.now)?;
                            let b = personalise(p, CARD_B_UID, &credential, f.now, id.as_str())?;
                            f.rewritten(id, &b, &f.golden_ccf)
                        },
                    }
                }
            }
            CardId::T9 => {
                const {
                    &CardSpec {
                        id: CardId::T9,
                        name: "Expired",
                        requirement: "R9",
                        differs: "valid-until in the past, correctly signed",
                        expected: Expected::deny(&[D::Expired]),
                        failure_means: "expired cards keep working offline",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            f.with_credential(id, |c, now| {
                                c.valid_from = now.saturating_sub(400 * DAY);
                                c.valid_until = now.saturating_sub(DAY);
                            })
                        },
                    }
                }
            }
            CardId::T10a => {
                const {
                    &CardSpec {
                        id: CardId::T10a,
                        name: "Not yet valid",
                        requirement: "R9, §10",
                        differs: "valid-from in the future, correctly signed",
                        expected: Expected::deny(&[D::NotYetValid]),
                        failure_means: "validity is not enforced",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            f.with_credential(id, |c, now| {
                                c.valid_from = now.saturating_add(30 * DAY);
                                c.valid_until = now.saturating_add(400 * DAY);
                            })
                        },
                    }
                }
            }
            CardId::T10b => {
                const {
                    &CardSpec {
                        id: CardId::T10b,
                        name: "Deny-listed",
                        requirement: "§10",
                        differs: "a validly signed credential whose ID is on the deny-list",
                        expected: Expected::deny(&[D::Revoked]),
                        failure_means: "revocation is not enforced",
                        fault: Fault::Credential,
                        // A reader only grants the deny-listed credential for its controller.
                        under: |p, role| {
                            (role == ReaderRole::ReaderOnly).then(|| Conforming {
                                granted_id: deny_listed(p).unwrap_or(ENROLLED_CREDENTIAL_ID),
                                ..Conforming::enrolled(FORWARDED_FOR_REVOCATION)
                            })
                        },
                        needs: |p| {
                            deny_listed(p).is_none().then_some(
                            "the profile's revocation list deny-lists no credential of its issuer",
                        )
                        },
                        build: |f, id| {
                            let listed = deny_listed(&f.profile).ok_or_else(|| {
                                build_err(id.as_str())(
                                    "the profile's revocation list deny-lists nothing".into(),
                                )
                            })?;
                            f.with_credential(id, |c, _| c.credential_id = listed)
                        },
                    }
                }
            }
            CardId::T10c => {
                const {
                    &CardSpec {
                        id: CardId::T10c,
                        name: "Superseded issue",
                        requirement: "§10",
                        differs: "issue number one below the current one of the enrolled credential",
                        expected: Expected::deny(&[D::Revoked]),
                        failure_means: "a lost card's predecessor keeps working",
                        fault: Fault::Credential,
                        // A reader only forwards the issue number (§14 extended output) for its
                        // controller to revoke by.
                        under: |p, role| {
                            (role == ReaderRole::ReaderOnly).then(|| Conforming {
                                forwarded_issue: current_issue(p).and_then(|n| n.checked_sub(1)),
                                ..Conforming::enrolled(FORWARDED_FOR_REVOCATION)
                            })
                        },
                        needs: |p| {
                            current_issue(p).is_none_or(|n| n == 0).then_some(
                            "the profile's revocation list gives no current issue number above 0 \
                             for the enrolled credential",
                        )
                        },
                        build: |f, id| {
                            let current = current_issue(&f.profile).unwrap_or(0);
                            let older = current.checked_sub(1).ok_or_else(|| {
                                build_err(id.as_str())(
                                    "no current issue number above 0 for the enrolled ID".into(),
                                )
                            })?;
                            f.with_credential(id, |c, _| c.issue_number = older)
                        },
                    }
                }
            }
            CardId::T11 => {
                const {
                    &CardSpec {
                        id: CardId::T11,
                        name: "Unknown major",
                        requirement: "R11",
                        differs: "header major 02, correctly signed",
                        expected: Expected::deny(&[D::UnknownVersion]),
                        failure_means: "the reader misparses future formats",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let p = &f.profile;
                            let credential = golden_credential(p, f.now)?;
                            let ccf = sign(p, &credential, &GOLDEN_UID, &[], |h| {
                                if let Some(major) = h.first_mut() {
                                    *major = 0x02;
                                }
                            })?;
                            f.rewritten(id, &f.golden, &ccf)
                        },
                    }
                }
            }
            CardId::T12 => {
                const {
                    &CardSpec {
                        id: CardId::T12,
                        name: "Relay",
                        requirement: "R14",
                        differs: "the golden card relayed with 5 ms added to every answer",
                        expected: Expected {
                            grant: true,
                            deny: &[D::ProximityFailed],
                            grant_note: "PC not enabled",
                        },
                        failure_means: "relay attacks work where the reader claims ProximityCheck",
                        fault: Fault::Behaviour,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| f.behaving(id, &f.golden, Behaviour::Delay(RELAY_DELAY)),
                    }
                }
            }
            CardId::T13 => {
                const {
                    &CardSpec {
                        id: CardId::T13,
                        name: "Replay",
                        requirement: "R5, R4",
                        differs: "replays a recorded golden session (old RndB, old responses)",
                        expected: Expected::deny(&[D::AuthFailed]),
                        failure_means: "the reader uses a fixed or reused RndA",
                        fault: Fault::Behaviour,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            f.behaving(id, &f.golden, Behaviour::Replay(f.recording.clone()))
                        },
                    }
                }
            }
            CardId::T14 => {
                const {
                    &CardSpec {
                        id: CardId::T14,
                        name: "Fixed-UID golden",
                        requirement: "R7, §11",
                        differs: "the golden card with Random ID off",
                        expected: Expected::deny(&[D::UidPolicy]),
                        failure_means: "the fixed-UID policy switch is ignored",
                        fault: Fault::Activation,
                        under: |p, _| {
                            p.policy
                                .allow_fixed_uid
                                .then_some(Conforming::enrolled(Expected::GRANT))
                        },
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let mut s = f.golden.clone();
                            s.config &= !CONFIG_RANDOM_ID;
                            f.behaving(id, &s, Behaviour::Genuine)
                        },
                    }
                }
            }
            CardId::T15 => {
                const {
                    &CardSpec {
                        id: CardId::T15,
                        name: "Originality fail",
                        requirement: "§12 step 12",
                        differs: "a wrong Read_Sig signature",
                        expected: Expected {
                            grant: true,
                            deny: &[D::OriginalityFailed],
                            grant_note: "originality policy off",
                        },
                        failure_means: "the counterfeit-chip screen is off although configured",
                        fault: Fault::Originality,
                        // Step 12 runs only under a policy; "log" grants and writes a log line (§12).
                        under: |p, _| {
                            Some(Conforming::enrolled(match p.policy.originality {
                                OriginalityPolicy::Require => {
                                    Expected::deny(&[D::OriginalityFailed])
                                }
                                OriginalityPolicy::Log => {
                                    Expected::grant_only("originality policy log: a log line")
                                }
                                OriginalityPolicy::Off => {
                                    Expected::grant_only("originality policy off")
                                }
                            }))
                        },
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let mut s = f.golden.clone();
                            s.originality = Originality::Signature([0x5A; 56]);
                            f.behaving(id, &s, Behaviour::Genuine)
                        },
                    }
                }
            }
            CardId::S1 => {
                const {
                    &CardSpec {
                        id: CardId::S1,
                        name: "Unknown critical tag",
                        requirement: "R11",
                        differs: "unknown critical tag 90, validly signed",
                        expected: Expected::deny(&[D::UnknownCriticalTag]),
                        failure_means: "the reader ignores fields it does not understand but must",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| f.with_extra_tag(id, 0x90),
                    }
                }
            }
            CardId::S2 => {
                const {
                    &CardSpec {
                        id: CardId::S2,
                        name: "Ignorable tag",
                        requirement: "R11",
                        differs: "ignorable tag A5, validly signed",
                        expected: Expected::GRANT,
                        failure_means: "the reader rejects conforming extensions",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| f.with_extra_tag(id, 0xA5),
                    }
                }
            }
            CardId::S3 => {
                const {
                    &CardSpec {
                        id: CardId::S3,
                        name: "Bad TLV length",
                        requirement: "§8.5",
                        differs: "header L = 157",
                        expected: Expected::deny(&[D::MalformedCredential]),
                        failure_means: "the reader parses past the credential",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let mut ccf = f.golden_ccf;
                            if let Some(l) = ccf.get_mut(2..4) {
                                l.copy_from_slice(&157u16.to_be_bytes());
                            }
                            f.rewritten(id, &f.golden, &ccf)
                        },
                    }
                }
            }
            CardId::S4 => {
                const {
                    &CardSpec {
                        id: CardId::S4,
                        name: "Untrusted signing key",
                        requirement: "R8",
                        differs: "signing key ID 02, not in the trusted list",
                        expected: Expected::deny(&[D::UnknownIssuerKey]),
                        failure_means: "the reader accepts signatures by keys it was not given",
                        fault: Fault::Credential,
                        under: AS_LISTED,
                        needs: ANY_PROFILE,
                        build: |f, id| {
                            let p = &f.profile;
                            let c = Credential {
                                key_id: KeyId::one(0x02),
                                ..golden_credential(p, f.now)?
                            };
                            let ccf = sign(p, &c, &GOLDEN_UID, &[], |_| {})?;
                            f.rewritten(id, &f.golden, &ccf)
                        },
                    }
                }
            }
        }
    }
}

impl CardSpec {
    /// What a conforming reader does with this card under `profile`'s policy and the reader's
    /// `role` (spec §17, "Reader role": a reader only forwards T10b and T10c for its
    /// controller).
    pub fn conforming(&self, profile: &Profile, role: ReaderRole) -> Conforming {
        (self.under)(profile, role).unwrap_or(Conforming::enrolled(self.expected))
    }

    /// The conforming verdict under `profile`'s policy for a reader that is its own
    /// controller (T14 depends on `allow_fixed_uid`, T15 on the originality policy).
    pub fn expected_for(&self, profile: &Profile) -> Expected {
        self.conforming(profile, ReaderRole::ReaderAndController)
            .expected
    }

    /// Why this card cannot be played with `profile`: the revocation cards need the
    /// controller's list (§10) to name them; T3 puts the K2 master itself on the card, which a
    /// token never gives out.
    pub fn unplayable(&self, profile: &Profile) -> Option<&'static str> {
        (self.needs)(profile)
    }
}

/// Every card, in the order of §17.
pub fn every_card() -> impl Iterator<Item = &'static CardSpec> {
    CardId::ALL.into_iter().map(CardId::spec)
}

/// The cards played when none are chosen: every card `profile` can play
/// ([`CardSpec::unplayable`] says why not).
pub fn default_set(profile: &Profile) -> Vec<&'static CardSpec> {
    every_card()
        .filter(|c| c.unplayable(profile).is_none())
        .collect()
}

/// The first credential ID of the profile's issuer on its deny-list (T10b carries it).
fn deny_listed(profile: &Profile) -> Option<u64> {
    profile.revocation.iter().find_map(|r| match r {
        Revocation::DenyListed {
            issuer,
            credential_id,
        } if *issuer == profile.issuer_id => Some(*credential_id),
        _ => None,
    })
}

/// The current issue number of the enrolled credential (T10c carries one below it).
fn current_issue(profile: &Profile) -> Option<u8> {
    profile.revocation.iter().find_map(|r| match r {
        Revocation::CurrentIssue {
            issuer,
            credential_id,
            issue_number,
        } if *issuer == profile.issuer_id && *credential_id == ENROLLED_CREDENTIAL_ID => {
            Some(*issue_number)
        }
        _ => None,
    })
}

/// The cards named in `list` (`T0,T1,T10a`, case-insensitive; `T10` means T10a..T10c).
pub fn select(list: &str) -> Result<Vec<&'static CardSpec>, CardError> {
    let mut out: Vec<&'static CardSpec> = Vec::new();
    for want in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let found: Vec<CardId> = if want.eq_ignore_ascii_case("T10") {
            vec![CardId::T10a, CardId::T10b, CardId::T10c]
        } else {
            vec![CardId::parse(want)?]
        };
        for id in found {
            if !out.iter().any(|o| o.id == id) {
                out.push(id.spec());
            }
        }
    }
    Ok(out)
}

/// What the cards are built from: the profile, trusted time, and the golden card and its
/// recorded session, made once.
#[derive(Debug)]
pub struct Fixture {
    /// The profile the cards are encoded with (and the reference reader reads with).
    pub profile: Profile,
    /// How the report names the profile.
    pub profile_name: String,
    /// Trusted time of the audit (Unix seconds); validity windows are relative to it.
    pub now: u32,
    /// Who decides revocation (T10b, T10c): set it before the audit; the report states it.
    pub role: ReaderRole,
    golden: State,
    golden_ccf: [u8; CCF_FILE_SIZE],
    recording: Recording,
    /// How the test cards frame their answers (59-byte native frames by default).
    card_config: CardConfig,
}

impl Fixture {
    /// Encodes the golden card with `profile` and records it answering the reference reader.
    pub fn new(profile: Profile, profile_name: &str, now: u32) -> Result<Self, CardError> {
        profile.require(&Needed::CARD_MASTERS)?;
        profile.require(&[Needed::SigningKey, Needed::IssuerKeys])?;
        let credential = golden_credential(&profile, now)?;
        let golden = personalise(&profile, GOLDEN_UID, &credential, now, "T0")?;
        let golden_ccf = sign(&profile, &credential, &GOLDEN_UID, &[], |_| {})?;
        let mut f = Self {
            profile,
            profile_name: profile_name.to_owned(),
            now,
            role: ReaderRole::default(),
            golden,
            golden_ccf,
            recording: Recording::default(),
            card_config: CardConfig::default(),
        };
        f.recording = f.record_golden_session()?;
        Ok(f)
    }

    /// What a UID-only reader has enrolled: the golden card's UID as a fixed-UID reader sees it.
    pub fn uid_only_enrolment(&self) -> Vec<(Vec<u8>, u64)> {
        vec![(GOLDEN_UID.to_vec(), ENROLLED_CREDENTIAL_ID)]
    }

    /// T13's recording: the golden card answering the reference reader once.
    fn record_golden_session(&self) -> Result<Recording, CardError> {
        let mut card = Behaving::new(emulated(&self.golden, "T13")?, Behaviour::Genuine);
        card.power_on();
        let uid = card.anticollision_uid().to_vec();
        let mut rec = Recorder::new(&mut card);
        let t = gen_pacs::read(
            &mut CardLink(&mut rec),
            &self.profile,
            self.profile.policy.allow_fixed_uid,
            &uid,
            self.now,
        );
        if !matches!(t.verdict, desfire_core::encoding::Verdict::Grant(_)) {
            return Err(build_err("T13")(format!(
                "the golden card does not read with this profile: {:?}",
                t.verdict
            )));
        }
        let steps: Vec<(Vec<u8>, Vec<u8>)> = rec
            .into_steps()
            .into_iter()
            .map(|s| {
                (
                    hex::decode(s.command).unwrap_or_default(),
                    hex::decode(s.response).unwrap_or_default(),
                )
            })
            .collect();
        Ok(Recording::from_exchange(
            &uid,
            steps.iter().map(|(c, r)| (c.as_slice(), r.as_slice())),
        ))
    }

    /// What a conforming reader does with `spec` under the profile's policy and the reader's
    /// role.
    pub fn conforming(&self, spec: &CardSpec) -> Conforming {
        spec.conforming(&self.profile, self.role)
    }

    /// Builds test card `spec`, powered off, with its fault placed ([`FaultSite`]): what a
    /// reader must receive before its verdict says anything about the fault.
    pub fn build(&self, spec: &CardSpec) -> Result<TestCard, CardError> {
        let id = spec.id;
        let card = (spec.build)(self, id)?;
        let site = match spec.fault {
            Fault::None => FaultSite::None,
            Fault::Activation => FaultSite::Activation,
            Fault::Behaviour => FaultSite::Behaviour,
            Fault::Application => FaultSite::Application,
            Fault::Authentication(key) => FaultSite::Authentication(key.key_no().value()),
            Fault::Originality => FaultSite::Originality,
            Fault::ReadRefused => FaultSite::ReadRefused,
            Fault::Signature => FaultSite::Credential(signature_bytes(&self.golden_ccf)),
            Fault::Credential => {
                let e = build_err(id.as_str());
                let ccf = credential_file(card.inner().state(), self.profile.aid)
                    .ok_or_else(|| e("no credential file".into()))?;
                let differ: Vec<usize> = ccf
                    .iter()
                    .zip(self.golden_ccf.iter())
                    .enumerate()
                    .filter(|(_, (a, b))| a != b)
                    .map(|(i, _)| i)
                    .collect();
                if differ.is_empty() {
                    return Err(e(
                        "the credential does not differ from the golden card's".into()
                    ));
                }
                FaultSite::Credential(differ)
            }
        };
        let app = Application {
            aid: self.profile.aid,
            df_name: self.profile.iso.df_name.clone(),
        };
        let card = if self.card_config == CardConfig::default() {
            card
        } else {
            let config = self.card_config;
            card.map_card(|c| {
                EmulatedCard::from_image_with(CardImage::from_state(c.state()), config)
                    .map_err(|x| build_err(id.as_str())(x.to_string()))
            })?
        };
        Ok(card.showing(site, app))
    }

    /// The cards built from now on answer with `config`: another native frame size, as other
    /// DESFire products and front ends use (the faults must land whatever it is).
    pub fn set_card_config(&mut self, config: CardConfig) {
        self.card_config = config;
    }

    /// A card holding `state` with `behaviour`.
    fn behaving(
        &self,
        id: CardId,
        state: &State,
        behaviour: Behaviour,
    ) -> Result<TestCard, CardError> {
        Ok(Behaving::new(emulated(state, id.as_str())?, behaviour))
    }

    /// The golden card with the credential file in Plain comm mode and free read (T4, T4b).
    fn plain_credential_file(&self, id: CardId) -> Result<State, CardError> {
        let mut s = self.golden.clone();
        let f = s
            .files
            .iter_mut()
            .find(|f| f.aid == self.profile.aid && f.no == 1)
            .ok_or_else(|| build_err(id.as_str())("no file 01".into()))?;
        f.comm = CommMode::Plain;
        f.rights.read = Access::Free;
        Ok(s)
    }

    /// `state` with its credential file rewritten to `ccf` ([`rewrite_ccf`]), genuine.
    fn rewritten(
        &self,
        id: CardId,
        state: &State,
        ccf: &[u8; CCF_FILE_SIZE],
    ) -> Result<TestCard, CardError> {
        let s = rewrite_ccf(&self.profile, state, ccf, id.as_str())?;
        self.behaving(id, &s, Behaviour::Genuine)
    }

    /// The golden card personalised with a credential changed by `edit`, correctly signed.
    fn with_credential(
        &self,
        id: CardId,
        edit: impl FnOnce(&mut Credential, u32),
    ) -> Result<TestCard, CardError> {
        let mut c = golden_credential(&self.profile, self.now)?;
        edit(&mut c, self.now);
        let s = personalise(&self.profile, GOLDEN_UID, &c, self.now, id.as_str())?;
        self.behaving(id, &s, Behaviour::Genuine)
    }

    /// The golden card's credential with an extra one-byte TLV `tag`, correctly signed (S1,
    /// S2).
    fn with_extra_tag(&self, id: CardId, tag: u8) -> Result<TestCard, CardError> {
        let extra = [ExtraTlv {
            tag,
            value: &[0x01],
        }];
        let credential = golden_credential(&self.profile, self.now)?;
        let ccf = sign(&self.profile, &credential, &GOLDEN_UID, &extra, |_| {})?;
        self.rewritten(id, &self.golden, &ccf)
    }
}

/// The §9 test card's credential with a validity window around `now` (so the golden card
/// grants whenever the audit runs).
fn golden_credential(profile: &Profile, now: u32) -> Result<Credential, CardError> {
    let signer = profile
        .signer()
        .ok_or_else(|| build_err("T0")("the profile has no issuer signing key".into()))?;
    Ok(Credential {
        issuer: profile.issuer_id.clone(),
        credential_id: ENROLLED_CREDENTIAL_ID,
        // The controller's current issue (§10), so that T10c can carry the one before it.
        issue_number: current_issue(profile).unwrap_or(1).max(1),
        valid_from: now.saturating_sub(30 * DAY),
        valid_until: now.saturating_add(365 * DAY),
        key_id: signer.key_id(),
        ..Credential::lab_test()
    })
}

/// A credential file signed with the profile's issuer key for `uid`, after `edit` changed the
/// signed bytes (header and TLVs before the signature): how T11 gets a correctly signed major 02.
fn sign(
    profile: &Profile,
    credential: &Credential,
    uid: &RealUid,
    extra: &[ExtraTlv<'_>],
    edit: impl FnOnce(&mut [u8]),
) -> Result<[u8; CCF_FILE_SIZE], CardError> {
    let e = build_err("credential");
    let signer = profile
        .signer()
        .ok_or_else(|| e("the profile has no issuer signing key".into()))?;
    let mut ccf = [0u8; CCF_FILE_SIZE];
    let n = credential
        .emit_signed_part_with(extra, &mut ccf)
        .map_err(|x| e(x.to_string()))?;
    let (signed, rest) = ccf.split_at_mut(n);
    edit(signed);
    let sig = signer
        .sign_digest(&tbs_digest(uid, profile.aid, signed))
        .ok_or_else(|| e("signing failed".into()))?;
    // The signature TLV (9E 40 r‖s) last, zeros after it (§8.1).
    let tlv = rest
        .get_mut(..66)
        .ok_or_else(|| e("no room for the signature".into()))?;
    let (head, body) = tlv.split_at_mut(2);
    head.copy_from_slice(&[0x9E, 0x40]);
    body.copy_from_slice(&sig);
    Ok(ccf)
}

/// The credential file (file 01 of the GEN-PACS application `aid`) as `state` holds it: the
/// committed region of the backup file.
pub fn credential_file(state: &State, aid: desfire_core::wire::Aid) -> Option<[u8; CCF_FILE_SIZE]> {
    let f = state.files.iter().find(|f| f.aid == aid && f.no == 1)?;
    let desfire_core::picc::state::FileKind::Data {
        backup,
        size,
        offset,
        active,
    } = f.kind
    else {
        return None;
    };
    let start = if backup {
        offset.checked_add(size.checked_mul(u32::from(active))?)?
    } else {
        offset
    };
    state.region(start, size)?.try_into().ok()
}

/// The offsets of the issuer signature (`r‖s`, 64 bytes) in a credential file: what binds the
/// credential to the card's real UID (T8).
fn signature_bytes(ccf: &[u8; CCF_FILE_SIZE]) -> Vec<usize> {
    let Ok(parsed) = ParsedCcf::parse(ccf) else {
        return Vec::new();
    };
    let sig = parsed.signature;
    ccf.windows(sig.len())
        .position(|w| w == sig.as_slice())
        .map(|at| (at..at + sig.len()).collect())
        .unwrap_or_default()
}

/// A card holding `state`, powered off.
fn emulated(state: &State, card: &'static str) -> Result<EmulatedCard, CardError> {
    EmulatedCard::from_image(CardImage::from_state(state))
        .map_err(|x| build_err(card)(x.to_string()))
}

fn app_mut<'s>(s: &'s mut State, p: &Profile) -> Option<&'s mut desfire_core::picc::state::App> {
    s.apps.iter_mut().find(|a| a.aid == p.aid)
}

/// A factory card with `uid` personalised by the GEN-PACS encoder (§18) with `credential`.
fn personalise(
    profile: &Profile,
    uid: RealUid,
    credential: &Credential,
    now: u32,
    card: &'static str,
) -> Result<State, CardError> {
    let mut c = emulated(&State::factory(uid), card)?;
    c.power_on();
    let ac = c.anticollision_uid().to_vec();
    let mut d: Desfire<_> = Desfire::new(ImageLink(&mut c), FrameSize::SHORT_APDU);
    gen_pacs::encode(&mut d, &ac, profile, credential, false, now)
        .map_err(|x| build_err(card)(x.to_string()))?;
    Ok(c.state().clone())
}

/// `state` with file 01 rewritten to `ccf` the way an attacker holding K3 would: K3,
/// WriteData, CommitTransaction (the encoder's own steps, §18).
fn rewrite_ccf(
    profile: &Profile,
    state: &State,
    ccf: &[u8; CCF_FILE_SIZE],
    card: &'static str,
) -> Result<State, CardError> {
    let e = build_err(card);
    let mut c = emulated(state, card)?;
    c.power_on();
    let mut d: Desfire<_> = Desfire::new(ImageLink(&mut c), FrameSize::SHORT_APDU);
    let plan = Provisioning {
        aid: profile.aid,
        uid: state.uid,
        iso: profile.iso.identity(),
        ccf,
    };
    let mut keys = profile.card_keys();
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    for step in [
        Step::SelectApplication,
        Step::AuthenticateApp(AppKey::Write, KeyValue::Final),
        Step::WriteCcf,
        Step::CommitTransaction,
    ] {
        plan.execute(step, &mut d, &mut keys, &mut rng)
            .map_err(|x| e(format!("{step:?}: {x:?}")))?;
    }
    drop(d);
    Ok(c.state().clone())
}
