//! The audit runner: presents each test card to the reader under test, records the exchange,
//! and compares the reader's decision with the conforming verdict (§17).

use desfire_core::wire::Ins;

use super::behaviour::frame;
use super::cards::{CardError, CardSpec, Conforming, ENROLLED_CREDENTIAL_ID, Fixture};
use super::model::{AuditReport, CardResult, ExchangeStep, Outcome};
use super::reader::{FORWARDED, Observation, ReaderUnderTest};
use super::recorder::Recorder;
use crate::virtual_card::VirtualCard;

/// The ISO/IEC 7816-4 class byte (ISO commands such as READ BINARY and SELECT).
const CLA_ISO: u8 = 0x00;
/// ISO/IEC 7816-4 READ BINARY.
const ISO_READ_BINARY: u8 = 0xB0;

/// A C-APDU a reader must never send to a GEN-PACS card (R2): a legacy or EV1 authentication
/// (`0A`, `1A`, `AA`), ISO-wrapped or native, or ISO READ BINARY.
pub fn forbidden(capdu: &[u8]) -> Option<&'static str> {
    if let [CLA_ISO, ISO_READ_BINARY, ..] = capdu {
        return Some("ISO READ BINARY of the credential (R2)");
    }
    match frame::command(capdu).map(|c| Ins(c.ins)) {
        Some(Ins::AUTHENTICATE_LEGACY | Ins::AUTHENTICATE_ISO | Ins::AUTHENTICATE_AES) => {
            Some("legacy authentication (R2)")
        }
        _ => None,
    }
}

/// One presentation: the decision and the exchange.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// What the reader decided.
    pub observation: Observation,
    /// What it exchanged with the card.
    pub exchange: Vec<ExchangeStep>,
    /// What the reader printed ([`ReaderUnderTest::take_output`]).
    pub output: Option<String>,
    /// Whether the reader received what carries the card's fault.
    pub fault_committed: bool,
    /// What the reader did not do when it did not ([`Behaving::unmet`]).
    pub unmet: &'static str,
}

/// Builds `spec`'s card, activates it and presents it to `reader` once.
pub fn present(
    reader: &mut dyn ReaderUnderTest,
    fixture: &Fixture,
    spec: &CardSpec,
) -> Result<Presentation, CardError> {
    let mut card = fixture.build(spec)?;
    card.power_on();
    let mut rec = Recorder::new(&mut card);
    let observation = reader.present(&mut rec);
    let exchange = rec.into_steps();
    let fault_committed = card.fault_committed();
    card.power_off();
    Ok(Presentation {
        observation,
        exchange,
        output: reader.take_output(),
        fault_committed,
        unmet: card.unmet(),
    })
}

/// Judges one presentation: its verdict and the report's one-line detail.
///
/// A forbidden command (R2) fails whatever else happened. Otherwise a card whose fault never
/// reached the reader is INCONCLUSIVE, unless its conforming verdict under the profile is the
/// golden card's (a GRANT with no alternative): then it is a control card.
pub fn judge(spec: &CardSpec, fixture: &Fixture, p: &Presentation) -> (Outcome, String) {
    let Conforming {
        expected,
        granted_id,
        forwarded_issue,
    } = fixture.conforming(spec);
    if let Some((step, why)) = p.exchange.iter().find_map(|s| {
        hex::decode(&s.command)
            .ok()
            .and_then(|c| forbidden(&c))
            .map(|w| (s, w))
    }) {
        return (
            Outcome::Fail,
            format!(
                "the reader sent {} ({why}); {}",
                step.command_name, spec.failure_means
            ),
        );
    }
    if !p.fault_committed && !expected.deny.is_empty() {
        return (
            Outcome::Inconclusive,
            format!(
                "{} (observed {}): this presentation says nothing about {}",
                p.unmet, p.observation, spec.requirement
            ),
        );
    }
    if let (Some(issue), Observation::Grant(id)) = (forwarded_issue, &p.observation)
        && *id == granted_id
    {
        // A reader only: its controller revokes by issue number only if it receives it.
        return match p.output.as_deref().and_then(forwarded_extended) {
            Some((fid, fissue)) if fid == granted_id && fissue == issue => (
                Outcome::Pass,
                format!(
                    "granted and forwarded the extended output with issue number {issue:02X}: \
                     the controller can revoke it"
                ),
            ),
            Some((fid, fissue)) => (
                Outcome::Fail,
                format!(
                    "forwarded credential {fid:016X} issue {fissue:02X}, not {granted_id:016X} \
                     issue {issue:02X}: {}",
                    spec.failure_means
                ),
            ),
            None => (
                Outcome::Fail,
                "granted without forwarding the extended output (§14: no `osdp_RAW` payload \
                 with the issue number in what the reader printed): its controller cannot \
                 revoke a superseded card"
                    .to_owned(),
            ),
        };
    }
    if expected.accepts(&p.observation, granted_id) {
        let why = match &p.observation {
            Observation::Grant(_) if !expected.grant_note.is_empty() => {
                format!("granted: {}", expected.grant_note)
            }
            Observation::Grant(_) => "granted the enrolled credential".to_owned(),
            Observation::Deny(Some(r)) => format!("denied with {r} ({})", spec.differs),
            _ => format!("denied ({})", spec.differs),
        };
        (Outcome::Pass, why)
    } else if let Observation::Error(e) = &p.observation {
        (Outcome::Fail, format!("the reader could not run: {e}"))
    } else if p.observation == Observation::Timeout {
        (
            Outcome::Fail,
            "the reader did not decide in time: it hangs on this card (a door that never \
             answers, or a reader that can be stalled on purpose)"
                .to_owned(),
        )
    } else if forwarded_issue.is_some() || granted_id != ENROLLED_CREDENTIAL_ID {
        (
            Outcome::Fail,
            "a reader only must forward this card to its controller, which holds the \
             revocation lists (§17, Reader role)"
                .to_owned(),
        )
    } else {
        (Outcome::Fail, spec.failure_means.to_owned())
    }
}

/// Runs the audit: each card `repeat` times (at least once); a card passes only when every
/// presentation conforms. `progress` is called before each card with its ID.
pub fn audit(
    reader: &mut dyn ReaderUnderTest,
    fixture: &Fixture,
    cards: &[&CardSpec],
    repeat: u32,
    path: &str,
    progress: &mut dyn FnMut(&CardSpec),
) -> Result<AuditReport, CardError> {
    let mut results = Vec::with_capacity(cards.len());
    for spec in cards {
        progress(spec);
        // The first failing presentation, else the first inconclusive one, else the last.
        let mut verdict: Option<(Outcome, String, Presentation)> = None;
        for _ in 0..repeat.max(1) {
            let p = present(reader, fixture, spec)?;
            let (outcome, mut detail) = judge(spec, fixture, &p);
            if let (Outcome::Fail | Outcome::Inconclusive, Some(output)) = (outcome, &p.output) {
                detail = format!("{detail}; the reader printed {output}");
            }
            let keep_old = verdict.as_ref().is_some_and(|(old, _, _)| {
                *old == Outcome::Fail || (*old == Outcome::Inconclusive && outcome != Outcome::Fail)
            });
            if !keep_old {
                verdict = Some((outcome, detail, p));
            }
        }
        let Some((result, detail, p)) = verdict else {
            continue;
        };
        let conforming = fixture.conforming(spec);
        let mut described = conforming.expected.describe(conforming.granted_id);
        if let Some(issue) = conforming.forwarded_issue {
            described.push_str(&format!(", extended output with issue {issue:02X}"));
        }
        results.push(CardResult {
            id: spec.id.as_str().to_owned(),
            name: spec.name.to_owned(),
            requirement: spec.requirement.to_owned(),
            expected: described,
            observed: p.observation.to_string(),
            pass: result == Outcome::Pass,
            result,
            fault_committed: p.fault_committed,
            detail,
            exchange: p.exchange,
        });
    }
    let result = Outcome::combine(results.iter().map(|c| c.result));
    Ok(AuditReport {
        pass: result == Outcome::Pass,
        result,
        reader: reader.name(),
        profile: fixture.profile_name.clone(),
        path: path.to_owned(),
        role: fixture.role.as_str().to_owned(),
        cards: results,
    })
}

/// The credential ID and issue number of an extended `osdp_RAW` payload (§14:
/// `RR 00 68 00 ‖ SHA-256(IssuerID)[0..4] ‖ CredentialID[8] ‖ IssueNumber`) in what a reader
/// printed after `osdp_RAW `.
pub fn forwarded_extended(output: &str) -> Option<(u64, u8)> {
    let at = output.find(FORWARDED)?;
    let rest = output.get(at + FORWARDED.len()..)?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    let bytes = hex::decode(digits).ok()?;
    let [_, 0x00, 0x68, 0x00, _, _, _, _, id @ .., issue] = bytes.as_slice() else {
        return None;
    };
    let id: [u8; 8] = id.try_into().ok()?;
    Some((u64::from_be_bytes(id), *issue))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::cards::{CardId, Expected, every_card};
    use crate::audit::reader::ReaderRole;
    use desfire_core::encoding::DenyCode;

    /// Spec §17, Reader role: a reader only's T10c passes only with the superseded issue
    /// number in the extended output it forwards; T10b with the deny-listed ID granted.
    #[test]
    fn a_reader_only_is_judged_on_what_it_forwards() {
        let lab = crate::profile::Profile::load(crate::profile::LAB).unwrap();
        let mut f = Fixture::new(lab, "lab", 1_830_297_600).unwrap();
        let (t10b, t10c) = (CardId::T10b.spec(), CardId::T10c.spec());
        let p = |o: Observation, output: Option<&str>| Presentation {
            observation: o,
            exchange: Vec::new(),
            output: output.map(str::to_owned),
            fault_committed: true,
            unmet: "",
        };
        let id = ENROLLED_CREDENTIAL_ID;
        let revoked = || p(Observation::Deny(Some("REVOKED".into())), None);
        // Reader and controller: REVOKED.
        assert_eq!(judge(t10c, &f, &revoked()).0, Outcome::Pass);
        assert_eq!(
            judge(t10c, &f, &p(Observation::Grant(id), None)).0,
            Outcome::Fail
        );
        // Reader only.
        f.role = ReaderRole::ReaderOnly;
        assert_eq!(judge(t10c, &f, &revoked()).0, Outcome::Fail);
        let extended = |issue: u8| {
            format!(
                "stdout \"1A2B3C4D5E6F7081\\nosdp_RAW 00006800F30D93491A2B3C4D5E6F7081{issue:02X}\""
            )
        };
        assert_eq!(forwarded_extended(&extended(0)), Some((id, 0)));
        assert_eq!(
            judge(t10c, &f, &p(Observation::Grant(id), Some(&extended(0)))).0,
            Outcome::Pass
        );
        // The current issue forwarded, or only the 64-bit output: the controller cannot
        // revoke.
        assert_eq!(
            judge(t10c, &f, &p(Observation::Grant(id), Some(&extended(1)))).0,
            Outcome::Fail
        );
        let short = "osdp_RAW 000040001A2B3C4D5E6F7081";
        assert_eq!(forwarded_extended(short), None);
        assert_eq!(
            judge(t10c, &f, &p(Observation::Grant(id), Some(short))).0,
            Outcome::Fail
        );
        assert_eq!(
            judge(t10c, &f, &p(Observation::Grant(id), None)).0,
            Outcome::Fail
        );
        // T10b: the deny-listed credential granted, for the controller to revoke.
        let listed = 0x1A2B_3C4D_5E6F_70FF;
        assert_eq!(f.conforming(t10b).granted_id, listed);
        assert_eq!(
            judge(t10b, &f, &p(Observation::Grant(listed), None)).0,
            Outcome::Pass
        );
        assert_eq!(
            judge(t10b, &f, &p(Observation::Grant(id), None)).0,
            Outcome::Fail
        );
        assert_eq!(judge(t10b, &f, &revoked()).0, Outcome::Fail);
        // Other cards do not depend on the role.
        let t6 = CardId::T6.spec();
        assert_eq!(f.conforming(t6).expected, t6.expected);
        assert_eq!(t6.expected.deny, [DenyCode::MacMismatch]);
    }

    #[test]
    fn legacy_authentication_and_read_binary_are_forbidden() {
        assert_eq!(forbidden(&[0xAA, 0x00]), Some("legacy authentication (R2)"));
        assert_eq!(
            forbidden(&[0x00, 0xB0, 0, 0, 0]),
            Some("ISO READ BINARY of the credential (R2)")
        );
        assert_eq!(
            forbidden(&[0x90, 0xAA, 0, 0, 1, 0, 0]),
            Some("legacy authentication (R2)")
        );
        assert_eq!(forbidden(&[0x90, 0x71, 0, 0, 1, 0, 0]), None);
    }

    #[test]
    fn expected_verdicts_accept_only_conforming_observations() {
        let id = ENROLLED_CREDENTIAL_ID;
        let t0 = CardId::T0.spec().expected;
        assert!(t0.accepts(&Observation::Grant(id), id));
        assert!(!t0.accepts(&Observation::Grant(id ^ 1), id));
        assert!(!t0.accepts(&Observation::Deny(None), id));
        let t6 = CardId::T6.spec().expected;
        assert!(t6.accepts(&Observation::Deny(Some("MAC_MISMATCH".into())), id));
        assert!(t6.accepts(&Observation::Deny(None), id));
        assert!(!t6.accepts(&Observation::Deny(Some("CARD_ERROR".into())), id));
        assert!(!t6.accepts(&Observation::Grant(id), id));
        assert!(!t6.accepts(&Observation::Error("x".into()), id));
        let t1 = CardId::T1.spec().expected;
        assert!(t1.accepts(&Observation::Deny(Some("TRANSPORT".into())), id));
        assert!(!t1.accepts(&Observation::Timeout, id));
        let t12 = CardId::T12.spec().expected;
        assert_eq!(
            t12.describe(id),
            "GRANT 1A2B3C4D5E6F7081 (PC not enabled) or DENY PROXIMITY_FAILED"
        );
        let any: Expected = CardId::T1.spec().expected;
        assert!(any.accepts(&Observation::Deny(Some("UID_POLICY".into())), id));
    }

    #[test]
    fn every_card_has_a_unique_id_and_a_failure_meaning() {
        for id in CardId::ALL {
            let c = id.spec();
            assert_eq!(c.id, id, "the catalogue entry of {id} is another card's");
            assert!(
                !c.failure_means.is_empty() && !c.requirement.is_empty(),
                "{}",
                c.id
            );
        }
        // The lab profile plays every card; a profile without a revocation list cannot play
        // the revocation cards.
        let lab = crate::profile::Profile::load(crate::profile::LAB).unwrap();
        assert_eq!(
            crate::audit::cards::default_set(&lab).len(),
            every_card().count()
        );
        let mut bare = crate::profile::Profile::load(crate::profile::LAB).unwrap();
        bare.revocation.clear();
        let default: Vec<CardId> = crate::audit::cards::default_set(&bare)
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(default.len(), CardId::ALL.len() - 2);
        assert!(!default.contains(&CardId::T10b) && !default.contains(&CardId::T10c));
        assert_eq!(
            crate::audit::cards::select("t0, T10")
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            ["T0", "T10a", "T10b", "T10c"]
        );
    }
}
