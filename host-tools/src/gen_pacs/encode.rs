//! Personalising a card per `specs/generic-encoding.md` §18 over any transport: a blank card,
//! an interrupted personalisation resumed, or (`--force`) a credential rewritten.

use std::fmt::Display;

use desfire_core::crypto::AesKey;
use desfire_core::encoding::provision::KeyValue;
use desfire_core::encoding::{
    AppKey, CCF_FILE_SIZE, CardKey, Credential, KeyProvider, PLAN, Provisioning, RealUid, Step,
    Verdict,
};
use desfire_core::pcd::commands::{Uid, get_card_uid, select_application};
use desfire_core::pcd::{Desfire, Error, Transport};
use desfire_core::wire::{Aid, KeyNo, Status};

use super::read::{ReadPolicy, read_as, spec_reason};
use crate::framing::Variant;
use crate::profile::Profile;

/// What `encode` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// A blank card was personalised.
    Personalised,
    /// The card already held this credential ID: nothing was written.
    AlreadyEncoded,
    /// An interrupted personalisation with this profile and credential was completed
    /// ([`Provisioning::resume`]).
    Resumed {
        /// How many steps were still to do.
        steps: usize,
    },
    /// `--force`: the credential file was rewritten with the new credential.
    Rewritten {
        /// The credential ID it held before, when it could be read.
        previous: Option<u64>,
    },
}

/// Why `encode` stopped.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The card holds another credential.
    #[error("the card already holds credential {existing:016X}; pass --force to replace it")]
    DifferentCredential {
        /// Its credential ID.
        existing: u64,
    },
    /// The card has the application, but its credential does not read with this profile.
    #[error(
        "the card has a GEN-PACS application whose credential does not read with this profile \
         ({reason}); pass --force to rewrite it (needs this profile's K1 and K3 on the card)"
    )]
    Unreadable {
        /// The deny identifier.
        reason: String,
    },
    /// The credential could not be built or signed.
    #[error("cannot build the credential: {0}")]
    Credential(desfire_core::encoding::CredentialError),
    /// A step failed at the card.
    #[error("{step}: {error}")]
    Card {
        /// The step.
        step: String,
        /// What happened.
        error: String,
    },
    /// The reader failed (PC/SC).
    #[error("{0}")]
    Transport(String),
}

impl EncodeError {
    /// Whether the card was refused (exit 1) rather than failing (exit 3).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::DifferentCredential { .. } | Self::Unreadable { .. }
        )
    }
}

fn card_err<E: Display>(step: impl Into<String>) -> impl FnOnce(Error<E>) -> EncodeError {
    let step = step.into();
    move |e| match e {
        Error::Transport(t) => EncodeError::Transport(t.to_string()),
        e => EncodeError::Card {
            step,
            error: e.to_string(),
        },
    }
}

/// Personalises the card behind `d` with `credential` (§18), or, with `force`, rewrites the
/// credential of a card this profile already personalised. `anticollision_uid` is the UID
/// seen at activation. The profile must hold every master and the signing key
/// ([`crate::profile::Needed`]).
pub fn encode<T: Transport>(
    d: &mut Desfire<T>,
    anticollision_uid: &[u8],
    profile: &Profile,
    credential: &Credential,
    force: bool,
    now: u32,
) -> Result<Encoded, EncodeError>
where
    T::Error: Display,
{
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    let mut rx = [0u8; 64];
    let present = match d.execute(&select_application(profile.aid), &mut rx) {
        Ok(_) => true,
        Err(Error::Card(Status::APPLICATION_NOT_FOUND)) => false,
        Err(e) => return Err(card_err("SelectApplication")(e)),
    };
    if !present {
        let uid = match <RealUid>::try_from(anticollision_uid) {
            Ok(uid) => uid,
            Err(_) => picc_real_uid(d)?,
        };
        personalise(d, profile, credential, &uid, &mut rng)?;
        return Ok(Encoded::Personalised);
    }
    // The application is there: a card this profile personalised (complete, or interrupted
    // by a power cut or a card pulled from the field), or someone else's. The reader
    // procedure decides first; `resume` then checks every step of §18 against what the card
    // shows and does the ones not done (see `Provisioning::resume` for the rules). A key that
    // authenticates with neither its delivery nor its final value stops it before any write.
    let t = read_as(
        ReadPolicy::Card,
        Variant::Ad,
        d.transport_mut(),
        profile,
        true,
        anticollision_uid,
        now,
    );
    match t.verdict {
        Verdict::Grant(c) if c.credential_id == credential.credential_id && !force => {
            // The credential is in place; the card-level steps (Random ID, key settings, PICC
            // master key) may not be.
            let steps = resume(d, anticollision_uid, profile, credential, &mut rng)?;
            Ok(if steps == 0 {
                Encoded::AlreadyEncoded
            } else {
                Encoded::Resumed { steps }
            })
        }
        Verdict::Grant(c) if !force => Err(EncodeError::DifferentCredential {
            existing: c.credential_id,
        }),
        Verdict::Deny(r) if !force => {
            let unreadable = || EncodeError::Unreadable {
                reason: spec_reason(&r).map_or_else(|| r.to_string(), |(id, _)| id.to_owned()),
            };
            let steps = match resume(d, anticollision_uid, profile, credential, &mut rng) {
                Ok(steps) => steps,
                Err(EncodeError::Unreadable { .. }) => return Err(unreadable()),
                Err(e) => return Err(e),
            };
            // Resumed: the card must now read with this credential.
            let after = read_as(
                ReadPolicy::Card,
                Variant::Ad,
                d.transport_mut(),
                profile,
                true,
                &[],
                now,
            );
            match after.verdict {
                Verdict::Grant(c) if c.credential_id == credential.credential_id => {
                    Ok(Encoded::Resumed { steps })
                }
                _ => Err(unreadable()),
            }
        }
        Verdict::Grant(c) => {
            resume(d, anticollision_uid, profile, credential, &mut rng)?;
            rewrite(d, profile, credential, &mut rng)?;
            Ok(Encoded::Rewritten {
                previous: Some(c.credential_id),
            })
        }
        Verdict::Deny(_) => {
            resume(d, anticollision_uid, profile, credential, &mut rng)?;
            rewrite(d, profile, credential, &mut rng)?;
            Ok(Encoded::Rewritten { previous: None })
        }
    }
}

/// The real UID of a card that has the application: the anticollision UID when it is the
/// 7-byte UID, else GetCardUID after the PICC master key at its delivery value (Random ID on
/// but the PICC master key not yet changed) or, failing that, after K1 (not diversified).
fn present_card_uid<T: Transport, R: rand_core::CryptoRng>(
    d: &mut Desfire<T>,
    anticollision_uid: &[u8],
    profile: &Profile,
    rng: &mut R,
) -> Result<RealUid, EncodeError>
where
    T::Error: Display,
{
    if let Ok(uid) = <RealUid>::try_from(anticollision_uid) {
        return Ok(uid);
    }
    if let Ok(uid) = picc_real_uid(d) {
        return Ok(uid);
    }
    uid_after_k1(d, profile, rng)
}

/// SelectApplication, AuthenticateEV2First with K1 (not diversified), GetCardUID: the real UID
/// as the reader procedure reads it (steps 2 to 4).
fn uid_after_k1<T: Transport, R: rand_core::CryptoRng>(
    d: &mut Desfire<T>,
    profile: &Profile,
    rng: &mut R,
) -> Result<RealUid, EncodeError>
where
    T::Error: Display,
{
    let mut rx = [0u8; 64];
    d.execute(&select_application(profile.aid), &mut rx)
        .map_err(card_err("SelectApplication"))?;
    let k1 = profile
        .card_keys()
        .card_key(CardKey::App(AppKey::Kuid), &[0; 7])
        .map_err(|_| EncodeError::Card {
            step: "AuthenticateEV2First K1".into(),
            error: "the profile has no K1".into(),
        })?;
    d.authenticate_ev2_first(AppKey::Kuid.key_no(), &k1, rng)
        .map_err(card_err("AuthenticateEV2First K1"))?;
    card_uid(d)
}

/// [`Provisioning::resume`] with this profile and credential: the steps of §18 the card
/// shows as not done, in the plan's order. Returns how many ran.
fn resume<T: Transport, R: rand_core::CryptoRng>(
    d: &mut Desfire<T>,
    anticollision_uid: &[u8],
    profile: &Profile,
    credential: &Credential,
    rng: &mut R,
) -> Result<usize, EncodeError>
where
    T::Error: Display,
{
    let uid = present_card_uid(d, anticollision_uid, profile, rng)?;
    let ccf = signed_ccf(profile, credential, &uid)?;
    let plan = Provisioning {
        aid: profile.aid,
        uid,
        iso: profile.iso.identity(),
        ccf: &ccf,
    };
    let mut keys = profile.card_keys();
    plan.resume(d, &mut keys, rng).map_err(|(step, e)| match e {
        // Not a card this profile (partly) personalised: a refusal, nothing was written.
        desfire_core::encoding::ProvisionError::ForeignKey(k) => EncodeError::Unreadable {
            reason: format!(
                "{k:?} authenticates with neither its delivery value nor this profile's value"
            ),
        },
        e => step_error(step, e),
    })
}

/// The real UID of a blank card with Random ID on: PICC master key at its delivery value.
fn picc_real_uid<T: Transport>(d: &mut Desfire<T>) -> Result<RealUid, EncodeError>
where
    T::Error: Display,
{
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    let mut rx = [0u8; 64];
    d.execute(&select_application(Aid::PICC), &mut rx)
        .map_err(card_err("SelectApplication 000000"))?;
    d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
        .map_err(card_err("AuthenticateEV2First PICC master key (delivery)"))?;
    card_uid(d)
}

fn card_uid<T: Transport>(d: &mut Desfire<T>) -> Result<RealUid, EncodeError>
where
    T::Error: Display,
{
    let mut rx = [0u8; 64];
    let resp = d
        .execute(&get_card_uid(), &mut rx)
        .map_err(card_err("GetCardUID"))?;
    let uid = Uid::parse(&resp).map_err(|e| EncodeError::Card {
        step: "GetCardUID".into(),
        error: e.to_string(),
    })?;
    RealUid::try_from(uid.as_bytes()).map_err(|_| EncodeError::Card {
        step: "GetCardUID".into(),
        error: "the real UID is not 7 bytes".into(),
    })
}

fn signed_ccf(
    profile: &Profile,
    credential: &Credential,
    uid: &RealUid,
) -> Result<[u8; CCF_FILE_SIZE], EncodeError> {
    let signer = profile.signer().ok_or(EncodeError::Credential(
        desfire_core::encoding::CredentialError::InvalidField,
    ))?;
    let mut ccf = [0u8; CCF_FILE_SIZE];
    credential
        .encode_signed(uid, profile.aid, signer, &mut ccf)
        .map_err(EncodeError::Credential)?;
    Ok(ccf)
}

fn personalise<T: Transport, R: rand_core::CryptoRng>(
    d: &mut Desfire<T>,
    profile: &Profile,
    credential: &Credential,
    uid: &RealUid,
    rng: &mut R,
) -> Result<(), EncodeError>
where
    T::Error: Display,
{
    let ccf = signed_ccf(profile, credential, uid)?;
    let plan = Provisioning {
        aid: profile.aid,
        uid: *uid,
        iso: profile.iso.identity(),
        ccf: &ccf,
    };
    let mut keys = profile.card_keys();
    for step in PLAN {
        plan.execute(step, d, &mut keys, rng)
            .map_err(|e| step_error(step, e))?;
    }
    Ok(())
}

fn step_error<E: Display>(step: Step, e: desfire_core::encoding::ProvisionError<E>) -> EncodeError {
    match e {
        desfire_core::encoding::ProvisionError::KeyUnavailable(k) => EncodeError::Card {
            step: format!("{step:?}"),
            error: format!("the profile has no master for {k:?}"),
        },
        desfire_core::encoding::ProvisionError::UidMismatch => EncodeError::Card {
            step: format!("{step:?}"),
            error: "GetCardUID returned another UID than the one the credential is bound to".into(),
        },
        desfire_core::encoding::ProvisionError::ForeignKey(k) => EncodeError::Card {
            step: format!("{step:?}"),
            error: format!(
                "{k:?} authenticates with neither its delivery value nor this profile's value"
            ),
        },
        desfire_core::encoding::ProvisionError::Card(e) => card_err(format!("{step:?}"))(e),
    }
}

/// `--force` on a card this profile personalised: K1 and GetCardUID for the real UID, then K3,
/// WriteData, CommitTransaction (a backup file: the old credential stays until the commit).
fn rewrite<T: Transport, R: rand_core::CryptoRng>(
    d: &mut Desfire<T>,
    profile: &Profile,
    credential: &Credential,
    rng: &mut R,
) -> Result<(), EncodeError>
where
    T::Error: Display,
{
    let uid = uid_after_k1(d, profile, rng)?;
    let mut keys = profile.card_keys();
    let ccf = signed_ccf(profile, credential, &uid)?;
    let plan = Provisioning {
        aid: profile.aid,
        uid,
        iso: profile.iso.identity(),
        ccf: &ccf,
    };
    for step in [
        Step::SelectApplication,
        Step::AuthenticateApp(AppKey::Write, KeyValue::Final),
        Step::WriteCcf,
        Step::CommitTransaction,
    ] {
        plan.execute(step, d, &mut keys, rng)
            .map_err(|e| step_error(step, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::gen_pacs::read;
    use desfire_core::encoding::credential::KeyId;
    use desfire_core::pcd::FrameSize;
    use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};

    type OsRandom = rand_core::UnwrapErr<rand_core::OsRng>;
    type TestCard = Card<RamNvm<NVM_LEN>, OsRandom>;

    struct Link(Box<TestCard>);

    impl Transport for Link {
        type Error = Infallible;
        fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
            Ok(self.0.process(capdu, rapdu))
        }
    }

    const NOW: u32 = 1_830_297_600;

    fn lab_credential(profile: &Profile) -> Credential {
        Credential {
            issuer: profile.issuer_id.clone(),
            valid_from: NOW,
            valid_until: NOW + 86_400,
            key_id: profile
                .signing_key
                .as_ref()
                .map_or(KeyId::one(1), |k| k.key_id()),
            ..Credential::lab_test()
        }
    }

    /// `encode` once, after a fresh activation; the card back.
    fn encode_once(
        card: Box<TestCard>,
        profile: &Profile,
        credential: &Credential,
    ) -> (Box<TestCard>, Result<Encoded, EncodeError>) {
        let mut card = card;
        let ac = card.activate().uid.to_vec();
        let mut d: Desfire<_> = Desfire::new(Link(card), FrameSize::SHORT_APDU);
        let r = encode(&mut d, &ac, profile, credential, false, NOW);
        (d.into_transport().0, r)
    }

    /// `desfire card encode` interrupted by a power cut at every NVM write of a whole
    /// personalisation, then run again with the same profile and credential: the second run
    /// completes the card, a third finds nothing to do, and the reader grants.
    #[test]
    fn encode_completes_a_card_torn_at_every_nvm_write() {
        let profile = Profile::load(crate::profile::LAB).unwrap();
        let credential = lab_credential(&profile);
        let uid = [0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80];
        let factory = || {
            Box::new(
                Card::create(
                    RamNvm::<NVM_LEN>::new(),
                    rand_core::UnwrapErr(rand_core::OsRng),
                    CardConfig::default(),
                    State::factory(uid),
                )
                .unwrap(),
            )
        };
        let card = factory();
        let before = card.nvm().writes();
        let (card, r) = encode_once(card, &profile, &credential);
        assert_eq!(r.unwrap(), Encoded::Personalised);
        let total = card.nvm().writes() - before;
        let (mut resumed, mut again, mut complete) = (0, 0, 0);
        for n in 0..total {
            let mut card = factory();
            card.nvm_mut().cut_after(n);
            let (card, r) = encode_once(card, &profile, &credential);
            assert!(card.nvm().is_cut() && r.is_err(), "cut after {n}: {r:?}");
            let (mut nvm, rng) = card.into_parts();
            nvm.power_on();
            let card = Box::new(Card::open(nvm, rng, CardConfig::default()).unwrap());
            let (card, r) = encode_once(card, &profile, &credential);
            match r {
                Ok(Encoded::Resumed { .. }) => resumed += 1,
                // A cut after the journal's commit marker of the last ChangeKey: the card
                // rolls forward at power-up and is complete although the first run failed.
                Ok(Encoded::Personalised) => again += 1,
                Ok(Encoded::AlreadyEncoded) => complete += 1,
                other => panic!("cut after {n}: re-run gave {other:?}"),
            }
            let (mut card, r) = encode_once(card, &profile, &credential);
            assert_eq!(r.unwrap(), Encoded::AlreadyEncoded, "cut after {n}");
            let ac = card.activate().uid.to_vec();
            assert_eq!(ac.len(), 4, "cut after {n}: Random ID is on");
            let t = read(&mut Link(card), &profile, false, &ac, NOW);
            assert!(
                matches!(&t.verdict, Verdict::Grant(c) if c.credential_id == credential.credential_id),
                "cut after {n}: {:?}",
                t.verdict
            );
        }
        println!(
            "{total} cut points: {resumed} resumed, {again} personalised from the start, \
             {complete} already complete"
        );
        assert!(resumed > total / 2 && total > 20, "{resumed} of {total}");
    }
}
