//! The audit test cards T0..T15 and S1..S4 of `specs/generic-encoding.md` §17 as code: each is a
//! card image made by the GEN-PACS encoder from the profile (then edited where the card differs
//! from the golden card) and, where the card misbehaves actively, a [`Behaviour`].
//!
//! "Enrolled" (§17): the PACS has authorised credential [`ENROLLED_CREDENTIAL_ID`] and, for a
//! UID-only reader, the UID it would see from the golden card: its 7-byte UID [`GOLDEN_UID`],
//! which the fixed-UID golden card (T14) shows and the clone (T1) copies.

use std::time::Duration;

use desfire_core::encoding::provision::KeyValue;
use desfire_core::encoding::{
    AppKey, CCF_FILE_SIZE, Credential, ExtraTlv, KeyId, OriginalityPolicy, ParsedCcf, Provisioning,
    RealUid, Revocation, Step, tbs_digest,
};
use desfire_core::pcd::{Desfire, FrameSize};
use desfire_core::picc::state::{CONFIG_RANDOM_ID, Originality};
use desfire_core::picc::{CardConfig, State};
use desfire_core::wire::{Access, CommMode};

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
    #[error("unknown test card {0:?} (known: {known})", known = known_ids())]
    Unknown(String),
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
    pub deny: &'static [&'static str],
    /// Qualifies a grant (`PC not enabled`, `originality policy off`).
    pub grant_note: &'static str,
}

impl Expected {
    const fn deny(reasons: &'static [&'static str]) -> Self {
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

    /// Whether `o` conforms. A deny without a reason (an external reader that does not say
    /// why) conforms to any expected deny. A reader that did not decide in time conforms to
    /// nothing, not even where a TRANSPORT deny would: a reader that hangs on a card is a
    /// failure of its own (a reader that gives up on a mute card says DENY).
    pub fn accepts(&self, o: &Observation, credential_id: u64) -> bool {
        match o {
            Observation::Grant(id) => self.grant && *id == credential_id,
            Observation::Deny(None) => !self.deny.is_empty(),
            Observation::Deny(Some(r)) => self.deny.contains(&r.as_str()),
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
        let deny = (!self.deny.is_empty()).then(|| format!("DENY {}", self.deny.join(" | ")));
        match (grant, deny) {
            (Some(g), Some(d)) => format!("{g} or {d}"),
            (Some(g), None) => g,
            (None, Some(d)) => d,
            (None, None) => "nothing".into(),
        }
    }
}

/// One test card of §17.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardSpec {
    /// `T0`..`T15`, `T10a`..`T10c`, `S1`..`S4`.
    pub id: &'static str,
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
}

impl CardSpec {
    /// The conforming verdict under `profile`'s policy (T14 depends on
    /// `allow_non_random_uid`).
    pub fn expected_for(&self, profile: &Profile) -> Expected {
        match self.id {
            "T14" if profile.policy.allow_fixed_uid => Expected::GRANT,
            // Step 12 runs only under a policy; "log" grants and writes a log line (§12).
            "T15" => match profile.policy.originality {
                OriginalityPolicy::Require => Expected::deny(&["ORIGINALITY_FAILED"]),
                OriginalityPolicy::Log => Expected {
                    grant: true,
                    deny: &[],
                    grant_note: "originality policy log: a log line",
                },
                OriginalityPolicy::Off => Expected {
                    grant: true,
                    deny: &[],
                    grant_note: "originality policy off",
                },
            },
            _ => self.expected,
        }
    }

    /// Why this card cannot be played with `profile`: the revocation cards need the
    /// controller's list (§10) to name them; T3 puts the K2 master itself on the card, which a
    /// token never gives out.
    pub fn unplayable(&self, profile: &Profile) -> Option<&'static str> {
        match self.id {
            "T3" if profile.masters.read.is_none() => {
                Some("the K2 master is in a token, which never gives its value out")
            }
            "T10b" if deny_listed(profile).is_none() => {
                Some("the profile's revocation list deny-lists no credential of its issuer")
            }
            "T10c" if current_issue(profile).is_none_or(|n| n == 0) => Some(
                "the profile's revocation list gives no current issue number above 0 for the \
                 enrolled credential",
            ),
            _ => None,
        }
    }
}

/// Every card, in the order of §17.
pub const CARDS: &[CardSpec] = &[
    CardSpec {
        id: "T0",
        name: "Golden",
        requirement: "interoperability",
        differs: "none: Random ID, GEN-PACS application, diversified keys, valid signature",
        expected: Expected::GRANT,
        failure_means: "the reader cannot read a conforming card (or it is UID-only: it denies \
                        because the UID is random)",
    },
    CardSpec {
        id: "T1",
        name: "UID clone",
        requirement: "R1, R10",
        differs: "anticollision only, with the enrolled UID, no DESFire behind it",
        // UID_POLICY: the clone's UID is a fixed UID, and the first failing step wins (§13).
        expected: Expected::deny(&["UID_POLICY", "NO_APPLICATION", "CARD_ERROR", "TRANSPORT"]),
        failure_means: "critical: the reader trusts the UID; any cloner opens the door",
    },
    CardSpec {
        id: "T1b",
        name: "Random-looking clone",
        requirement: "R1, R10",
        differs: "anticollision only, a 4-byte 08 UID as a Random-ID card shows, no DESFire \
                  behind it",
        // Under every policy: the UID passes step 0, and nothing answers step 2.
        expected: Expected::deny(&["NO_APPLICATION", "CARD_ERROR", "TRANSPORT"]),
        failure_means: "the reader grants on the anticollision UID, or falls back to it when \
                        the card has no application",
    },
    CardSpec {
        id: "T2",
        name: "Blank genuine EV3",
        requirement: "R10",
        differs: "genuine card, Random ID, no GEN-PACS application",
        expected: Expected::deny(&["NO_APPLICATION"]),
        failure_means: "the reader falls back to the UID or to another application",
    },
    CardSpec {
        id: "T3",
        name: "Wrong key",
        requirement: "R4, R7",
        differs: "K2 not diversified (the master itself)",
        expected: Expected::deny(&["AUTH_FAILED"]),
        failure_means: "the reader ignores authentication failure, or does not diversify",
    },
    CardSpec {
        id: "T4",
        name: "Plain downgrade",
        requirement: "R3",
        differs: "file 01 in Plain comm mode with free read; answers ReadData in Plain",
        expected: Expected::deny(&["DOWNGRADE"]),
        failure_means: "critical: the reader accepts unprotected data; anyone can write a card",
    },
    CardSpec {
        id: "T4b",
        name: "Plain file, MACed read refused",
        requirement: "R3, §12 step 9",
        differs: "file 01 in Plain comm mode with free read; the card refuses the MACed \
                  ReadData with 91 7E",
        // Step 9 checks the status first (decision 0005, E3, E5).
        expected: Expected::deny(&["CARD_ERROR"]),
        failure_means: "the reader takes an error for data, or retries the read in Plain",
    },
    CardSpec {
        id: "T5",
        name: "Legacy authentication only",
        requirement: "R2",
        differs: "application keys DES/2TDEA (EV1 style): EV2 authentication refused",
        expected: Expected::deny(&["AUTH_FAILED", "CARD_ERROR"]),
        failure_means: "the reader downgrades to legacy crypto",
    },
    CardSpec {
        id: "T6",
        name: "Tampered MAC",
        requirement: "R4",
        differs: "one byte of the ReadData MACt corrupted",
        expected: Expected::deny(&["MAC_MISMATCH"]),
        failure_means: "critical: the reader does not check MACs; data can be swapped in the \
                        field",
    },
    CardSpec {
        id: "T7",
        name: "Forged credential",
        requirement: "R8",
        differs: "credential rewritten with K3: other credential ID, old signature",
        expected: Expected::deny(&["BAD_SIGNATURE"]),
        failure_means: "a holder of K3 can mint identities",
    },
    CardSpec {
        id: "T8",
        name: "Transplanted credential",
        requirement: "R8",
        differs: "the golden card's credential written to genuine card B",
        expected: Expected::deny(&["BAD_SIGNATURE"]),
        failure_means: "credentials can be copied between cards (the signature is not bound \
                        to the real UID)",
    },
    CardSpec {
        id: "T9",
        name: "Expired",
        requirement: "R9",
        differs: "valid-until in the past, correctly signed",
        expected: Expected::deny(&["EXPIRED"]),
        failure_means: "expired cards keep working offline",
    },
    CardSpec {
        id: "T10a",
        name: "Not yet valid",
        requirement: "R9, §10",
        differs: "valid-from in the future, correctly signed",
        expected: Expected::deny(&["NOT_YET_VALID"]),
        failure_means: "validity is not enforced",
    },
    CardSpec {
        id: "T10b",
        name: "Deny-listed",
        requirement: "§10",
        differs: "a validly signed credential whose ID is on the deny-list",
        expected: Expected::deny(&["REVOKED"]),
        failure_means: "revocation is not enforced",
    },
    CardSpec {
        id: "T10c",
        name: "Superseded issue",
        requirement: "§10",
        differs: "issue number one below the current one of the enrolled credential",
        expected: Expected::deny(&["REVOKED"]),
        failure_means: "a lost card's predecessor keeps working",
    },
    CardSpec {
        id: "T11",
        name: "Unknown major",
        requirement: "R11",
        differs: "header major 02, correctly signed",
        expected: Expected::deny(&["UNKNOWN_VERSION"]),
        failure_means: "the reader misparses future formats",
    },
    CardSpec {
        id: "T12",
        name: "Relay",
        requirement: "R14",
        differs: "the golden card relayed with 5 ms added to every answer",
        expected: Expected {
            grant: true,
            deny: &["PROXIMITY_FAILED"],
            grant_note: "PC not enabled",
        },
        failure_means: "relay attacks work where the reader claims ProximityCheck",
    },
    CardSpec {
        id: "T13",
        name: "Replay",
        requirement: "R5, R4",
        differs: "replays a recorded golden session (old RndB, old responses)",
        expected: Expected::deny(&["AUTH_FAILED"]),
        failure_means: "the reader uses a fixed or reused RndA",
    },
    CardSpec {
        id: "T14",
        name: "Fixed-UID golden",
        requirement: "R7, §11",
        differs: "the golden card with Random ID off",
        expected: Expected::deny(&["UID_POLICY"]),
        failure_means: "the fixed-UID policy switch is ignored",
    },
    CardSpec {
        id: "T15",
        name: "Originality fail",
        requirement: "§12 step 12",
        differs: "a wrong Read_Sig signature",
        expected: Expected {
            grant: true,
            deny: &["ORIGINALITY_FAILED"],
            grant_note: "originality policy off",
        },
        failure_means: "the counterfeit-chip screen is off although configured",
    },
    CardSpec {
        id: "S1",
        name: "Unknown critical tag",
        requirement: "R11",
        differs: "unknown critical tag 90, validly signed",
        expected: Expected::deny(&["UNKNOWN_CRITICAL_TAG"]),
        failure_means: "the reader ignores fields it does not understand but must",
    },
    CardSpec {
        id: "S2",
        name: "Ignorable tag",
        requirement: "R11",
        differs: "ignorable tag A5, validly signed",
        expected: Expected::GRANT,
        failure_means: "the reader rejects conforming extensions",
    },
    CardSpec {
        id: "S3",
        name: "Bad TLV length",
        requirement: "§8.5",
        differs: "header L = 157",
        expected: Expected::deny(&["MALFORMED_CREDENTIAL"]),
        failure_means: "the reader parses past the credential",
    },
    CardSpec {
        id: "S4",
        name: "Untrusted signing key",
        requirement: "R8",
        differs: "signing key ID 02, not in the trusted list",
        expected: Expected::deny(&["UNKNOWN_ISSUER_KEY"]),
        failure_means: "the reader accepts signatures by keys it was not given",
    },
];

fn known_ids() -> String {
    CARDS.iter().map(|c| c.id).collect::<Vec<_>>().join(",")
}

/// The cards played when none are chosen: every card `profile` can play
/// ([`CardSpec::unplayable`] says why not).
pub fn default_set(profile: &Profile) -> Vec<&'static CardSpec> {
    CARDS
        .iter()
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
        let found: Vec<&'static CardSpec> = CARDS
            .iter()
            .filter(|c| {
                c.id.eq_ignore_ascii_case(want)
                    || (want.eq_ignore_ascii_case("T10") && c.id.starts_with("T10"))
            })
            .collect();
        if found.is_empty() {
            return Err(CardError::Unknown(want.to_owned()));
        }
        for c in found {
            if !out.iter().any(|o| o.id == c.id) {
                out.push(c);
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

    /// The conforming verdict of `spec` under the profile's policy and the reader's role
    /// (spec §17, "Reader role"): a reader only forwards T10b and T10c for its controller.
    pub fn expected(&self, spec: &CardSpec) -> Expected {
        match (spec.id, self.role) {
            ("T10b" | "T10c", ReaderRole::ReaderOnly) => Expected {
                grant: true,
                deny: &[],
                grant_note: "reader only: forwarded for the controller to revoke",
            },
            _ => spec.expected_for(&self.profile),
        }
    }

    /// The credential ID a conforming GRANT of `spec` carries: the deny-listed one for a
    /// reader only's T10b, the enrolled one otherwise.
    pub fn granted_id(&self, spec: &CardSpec) -> u64 {
        match (spec.id, self.role) {
            ("T10b", ReaderRole::ReaderOnly) => {
                deny_listed(&self.profile).unwrap_or(ENROLLED_CREDENTIAL_ID)
            }
            _ => ENROLLED_CREDENTIAL_ID,
        }
    }

    /// What a reader only must forward for `spec` besides the credential ID: T10c's issue
    /// number (below the current one), which only the extended output (§14) carries.
    pub fn forwarded_issue(&self, spec: &CardSpec) -> Option<u8> {
        match (spec.id, self.role) {
            ("T10c", ReaderRole::ReaderOnly) => current_issue(&self.profile)?.checked_sub(1),
            _ => None,
        }
    }

    /// Builds test card `spec`, powered off, with its fault placed ([`FaultSite`]): what a
    /// reader must receive before its verdict says anything about the fault.
    pub fn build(&self, spec: &CardSpec) -> Result<TestCard, CardError> {
        let card = self.build_card(spec)?;
        let site = match spec.id {
            "T2" => FaultSite::Application,
            "T3" => FaultSite::Authentication(AppKey::Read.key_no().value()),
            "T14" => FaultSite::Activation,
            "T15" => FaultSite::Originality,
            "T4b" => FaultSite::ReadRefused,
            "T8" => FaultSite::Credential(signature_bytes(&self.golden_ccf)),
            "T7" | "T9" | "T10a" | "T10b" | "T10c" | "T11" | "S1" | "S2" | "S3" | "S4" => {
                let ccf = credential_file(card.inner().state(), self.profile.aid)
                    .ok_or_else(|| build_err(spec.id)("no credential file".into()))?;
                let differ: Vec<usize> = ccf
                    .iter()
                    .zip(self.golden_ccf.iter())
                    .enumerate()
                    .filter(|(_, (a, b))| a != b)
                    .map(|(i, _)| i)
                    .collect();
                if differ.is_empty() {
                    return Err(build_err(spec.id)(
                        "the credential does not differ from the golden card's".into(),
                    ));
                }
                FaultSite::Credential(differ)
            }
            _ => card.site().clone(),
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
                    .map_err(|x| build_err(spec.id)(x.to_string()))
            })?
        };
        Ok(card.showing(site, app))
    }

    /// The cards built from now on answer with `config`: another native frame size, as other
    /// DESFire products and front ends use (the faults must land whatever it is).
    pub fn set_card_config(&mut self, config: CardConfig) {
        self.card_config = config;
    }

    fn build_card(&self, spec: &CardSpec) -> Result<TestCard, CardError> {
        let id = spec.id;
        let e = build_err(id);
        let p = &self.profile;
        let genuine = |s: &State| Ok(Behaving::new(emulated(s, id)?, Behaviour::Genuine));
        match id {
            "T0" => genuine(&self.golden),
            "T1" => Ok(Behaving::new(
                emulated(&State::factory(GOLDEN_UID), id)?,
                Behaviour::AnticollisionOnly {
                    uid: GOLDEN_UID.to_vec(),
                },
            )),
            "T2" => {
                let mut s = State::factory(GOLDEN_UID);
                s.config |= CONFIG_RANDOM_ID;
                genuine(&s)
            }
            "T3" => {
                let mut s = self.golden.clone();
                let master = p
                    .masters
                    .read
                    .clone()
                    .ok_or_else(|| e("no K2 master".into()))?;
                let slot = app_mut(&mut s, p)
                    .and_then(|a| a.keys.get_mut(usize::from(AppKey::Read.key_no().value())))
                    .ok_or_else(|| e("no K2 slot".into()))?;
                slot.key = master;
                genuine(&s)
            }
            "T4" => {
                let mut s = self.golden.clone();
                let f = s
                    .files
                    .iter_mut()
                    .find(|f| f.aid == p.aid && f.no == 1)
                    .ok_or_else(|| e("no file 01".into()))?;
                f.comm = CommMode::Plain;
                f.rights.read = Access::Free;
                Ok(Behaving::new(emulated(&s, id)?, Behaviour::PlainDowngrade))
            }
            "T1b" => Ok(Behaving::new(
                emulated(&State::factory(GOLDEN_UID), id)?,
                Behaviour::AnticollisionOnly {
                    uid: RANDOM_LOOKING_UID.to_vec(),
                },
            )),
            "T4b" => {
                let mut s = self.golden.clone();
                let f = s
                    .files
                    .iter_mut()
                    .find(|f| f.aid == p.aid && f.no == 1)
                    .ok_or_else(|| e("no file 01".into()))?;
                f.comm = CommMode::Plain;
                f.rights.read = Access::Free;
                // The card as it is: a Plain file refuses a command that carries a MACt.
                genuine(&s)
            }
            "T5" => Ok(Behaving::new(
                emulated(&self.golden, id)?,
                Behaviour::LegacyKeysOnly,
            )),
            "T6" => Ok(Behaving::new(
                emulated(&self.golden, id)?,
                Behaviour::CorruptReadDataMac,
            )),
            "T7" => {
                let forged = Credential {
                    credential_id: FORGED_CREDENTIAL_ID,
                    ..golden_credential(p, self.now)?
                };
                let old = ParsedCcf::parse(&self.golden_ccf)
                    .map_err(|x| e(x.to_string()))?
                    .signature;
                let mut ccf = [0u8; CCF_FILE_SIZE];
                forged
                    .encode_with_signature(&old, &mut ccf)
                    .map_err(|x| e(x.to_string()))?;
                genuine(&rewrite_ccf(p, &self.golden, &ccf, id)?)
            }
            "T8" => {
                let b = personalise(
                    p,
                    CARD_B_UID,
                    &golden_credential(p, self.now)?,
                    self.now,
                    id,
                )?;
                genuine(&rewrite_ccf(p, &b, &self.golden_ccf, id)?)
            }
            "T9" => self.with_credential(id, |c, now| {
                c.valid_from = now.saturating_sub(400 * DAY);
                c.valid_until = now.saturating_sub(DAY);
            }),
            "T10a" => self.with_credential(id, |c, now| {
                c.valid_from = now.saturating_add(30 * DAY);
                c.valid_until = now.saturating_add(400 * DAY);
            }),
            "T10b" => {
                let listed = deny_listed(p).ok_or_else(|| {
                    build_err(id)("the profile's revocation list deny-lists nothing".into())
                })?;
                self.with_credential(id, |c, _| c.credential_id = listed)
            }
            "T10c" => {
                let current = current_issue(p).unwrap_or(0);
                let older = current.checked_sub(1).ok_or_else(|| {
                    build_err(id)("no current issue number above 0 for the enrolled ID".into())
                })?;
                self.with_credential(id, |c, _| c.issue_number = older)
            }
            "T11" => {
                let ccf = sign(p, &golden_credential(p, self.now)?, &GOLDEN_UID, &[], |h| {
                    if let Some(major) = h.first_mut() {
                        *major = 0x02;
                    }
                })?;
                genuine(&rewrite_ccf(p, &self.golden, &ccf, id)?)
            }
            "T12" => Ok(Behaving::new(
                emulated(&self.golden, id)?,
                Behaviour::Delay(RELAY_DELAY),
            )),
            "T13" => Ok(Behaving::new(
                emulated(&self.golden, id)?,
                Behaviour::Replay(self.recording.clone()),
            )),
            "T14" => {
                let mut s = self.golden.clone();
                s.config &= !CONFIG_RANDOM_ID;
                genuine(&s)
            }
            "T15" => {
                let mut s = self.golden.clone();
                s.originality = Originality::Signature([0x5A; 56]);
                genuine(&s)
            }
            "S1" | "S2" => {
                let tag = if id == "S1" { 0x90 } else { 0xA5 };
                let extra = [ExtraTlv {
                    tag,
                    value: &[0x01],
                }];
                let ccf = sign(
                    p,
                    &golden_credential(p, self.now)?,
                    &GOLDEN_UID,
                    &extra,
                    |_| {},
                )?;
                genuine(&rewrite_ccf(p, &self.golden, &ccf, id)?)
            }
            "S3" => {
                let mut ccf = self.golden_ccf;
                if let Some(l) = ccf.get_mut(2..4) {
                    l.copy_from_slice(&157u16.to_be_bytes());
                }
                genuine(&rewrite_ccf(p, &self.golden, &ccf, id)?)
            }
            "S4" => {
                let c = Credential {
                    key_id: KeyId::one(0x02),
                    ..golden_credential(p, self.now)?
                };
                let ccf = sign(p, &c, &GOLDEN_UID, &[], |_| {})?;
                genuine(&rewrite_ccf(p, &self.golden, &ccf, id)?)
            }
            other => Err(CardError::Unknown(other.to_owned())),
        }
    }

    /// The golden card personalised with a credential changed by `edit`, correctly signed.
    fn with_credential(
        &self,
        id: &'static str,
        edit: impl FnOnce(&mut Credential, u32),
    ) -> Result<TestCard, CardError> {
        let mut c = golden_credential(&self.profile, self.now)?;
        edit(&mut c, self.now);
        let s = personalise(&self.profile, GOLDEN_UID, &c, self.now, id)?;
        Ok(Behaving::new(emulated(&s, id)?, Behaviour::Genuine))
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
