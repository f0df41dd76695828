//! The catch matrix: which test card of the audit catches which known-bad reader model
//! ([`crate::bad_readers`]). One computation for every path the cards take (in process,
//! through pcscd + vpcd), so that the paths can be compared cell by cell.

use std::fmt;

use host_tools::audit::cards::{CardId, CardSpec, Fixture, GOLDEN_UID};
use host_tools::audit::model::{AuditReport, Outcome};
use host_tools::audit::reader::UidOnlyReader;
use host_tools::audit::run;
use host_tools::framing::Variant;

use crate::bad_readers::{Flaw, ModelReader, ModelSetup};

/// The card §17 designs to catch each flaw.
pub fn designed_for(flaw: Flaw) -> CardId {
    match flaw {
        Flaw::UidOnly => CardId::T1,
        Flaw::NoResponseMac => CardId::T6,
        Flaw::MacLengthOnly => CardId::T6,
        Flaw::AcceptsDowngrade => CardId::T4,
        Flaw::SkipsSignature => CardId::T7,
        Flaw::SkipsExpiry => CardId::T9,
        Flaw::UndiversifiedKey => CardId::T3,
        Flaw::NotUidBound => CardId::T8,
        Flaw::SkipsRevocation => CardId::T10b,
    }
}

/// One audit per flaw, every model on the same cards.
#[derive(Debug, Clone)]
pub struct CatchMatrix {
    /// Each flaw with its model's audit.
    pub rows: Vec<(Flaw, AuditReport)>,
}

impl CatchMatrix {
    /// Audits the model of each flaw in [`Flaw::ALL`] with `audit`.
    pub fn compute(mut audit: impl FnMut(Flaw) -> AuditReport) -> Self {
        Self {
            rows: Flaw::ALL.into_iter().map(|f| (f, audit(f))).collect(),
        }
    }

    /// The in-process matrix: each model reads `cards` in this process, once each, framing
    /// as [`Variant::Ad`].
    pub fn in_process(fixture: &Fixture, cards: &[&CardSpec]) -> Self {
        Self::in_process_framed(fixture, cards, Variant::Ad)
    }

    /// The in-process matrix with the models framing as `framing` says.
    pub fn in_process_framed(fixture: &Fixture, cards: &[&CardSpec], framing: Variant) -> Self {
        let setup = ModelSetup::from_profile(
            &fixture.profile,
            fixture.now,
            GOLDEN_UID,
            UidOnlyReader::new(fixture.uid_only_enrolment()),
        )
        .framed(framing);
        Self::compute(|flaw| {
            let mut reader = ModelReader {
                flaw,
                setup: setup.clone(),
            };
            run::audit(&mut reader, fixture, cards, 1, "in-process", &mut |_| {})
                .expect("the test cards build")
        })
    }

    /// The cards that caught `flaw` (failed its model), in card order.
    pub fn caught_by(&self, flaw: Flaw) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|(f, _)| *f == flaw)
            .flat_map(|(_, r)| {
                r.cards
                    .iter()
                    .filter(|c| c.result == Outcome::Fail)
                    .map(|c| c.id.as_str())
            })
            .collect()
    }

    /// The flaws no card caught.
    pub fn uncaught(&self) -> Vec<Flaw> {
        self.rows
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| self.caught_by(*f).is_empty())
            .collect()
    }

    /// Every cell as (flaw, card, verdict), for comparing two paths or two framings.
    pub fn cells(&self) -> Vec<(Flaw, String, Outcome)> {
        self.rows
            .iter()
            .flat_map(|(f, r)| r.cards.iter().map(move |c| (*f, c.id.clone(), c.result)))
            .collect()
    }

    /// The cells where the card's fault never reached the model.
    pub fn inconclusive(&self) -> Vec<(Flaw, String)> {
        self.cells()
            .into_iter()
            .filter(|(_, _, o)| *o == Outcome::Inconclusive)
            .map(|(f, c, _)| (f, c))
            .collect()
    }
}

/// The matrix as a table: `X` where the card caught the flaw, `.` where the model passed, `?`
/// where the card's fault never reached the model (INCONCLUSIVE).
impl fmt::Display for CatchMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<18}", "flaw \\ card")?;
        if let Some((_, first)) = self.rows.first() {
            for c in &first.cards {
                write!(f, "{:>5}", c.id)?;
            }
        }
        writeln!(f, "  caught by")?;
        for (flaw, report) in &self.rows {
            write!(f, "{:<18}", flaw.name())?;
            for c in &report.cards {
                let mark = match c.result {
                    Outcome::Pass => ".",
                    Outcome::Fail => "X",
                    Outcome::Inconclusive => "?",
                };
                write!(f, "{mark:>5}")?;
            }
            writeln!(f, "  {}", self.caught_by(*flaw).join(","))?;
        }
        Ok(())
    }
}
