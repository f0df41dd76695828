//! What an audit found: the data model every report renders (terminal table, JSON, Markdown,
//! HTML, JUnit XML). The JSON form is the stable machine interface:
//! `{"pass":bool,"result":"PASS|FAIL|INCONCLUSIVE","reader":…,"cards":[{"id","name",
//! "requirement","expected","observed","pass","result","fault_committed","detail"}]}` plus per
//! card the exchange that was observed, each step with the card's fault on it.

use serde::Serialize;

/// The verdict on one card, or on a whole audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// The reader decided as a conforming reader does, and the card's fault reached it.
    Pass,
    /// The reader decided otherwise (or sent what it must never send).
    Fail,
    /// The card's fault never reached the reader (it never asked for what carries it), so its
    /// decision says nothing about what the card tests.
    Inconclusive,
}

impl Outcome {
    /// `PASS`, `FAIL`, `INCONCLUSIVE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Inconclusive => "INCONCLUSIVE",
        }
    }

    /// The verdict on several presentations or cards: any FAIL fails, else any
    /// INCONCLUSIVE, else PASS.
    pub fn combine(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes
            .into_iter()
            .fold(Outcome::Pass, |a, b| match (a, b) {
                (Outcome::Fail, _) | (_, Outcome::Fail) => Outcome::Fail,
                (Outcome::Inconclusive, _) | (_, Outcome::Inconclusive) => Outcome::Inconclusive,
                _ => Outcome::Pass,
            })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit of one reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// True when every card passed (`result` is `PASS`).
    pub pass: bool,
    /// PASS when every card passed, FAIL when any failed, INCONCLUSIVE otherwise.
    pub result: Outcome,
    /// The reader under test, as the user named it (`reference`, a command line, an ELF path).
    pub reader: String,
    /// The profile the cards were built from (`lab` or a file path).
    pub profile: String,
    /// The path the cards took: `in-process`, `pcsc` or `firmware`.
    pub path: String,
    /// One entry per card played, in the order played.
    pub cards: Vec<CardResult>,
}

/// The result of one test card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardResult {
    /// `T0`..`T15`, `S1`..`S4`.
    pub id: String,
    /// Short name (`Golden`, `UID clone`, …).
    pub name: String,
    /// The requirement(s) it tests (`R1, R10`).
    pub requirement: String,
    /// The conforming verdict, e.g. `GRANT 1A2B3C4D5E6F7081` or `DENY AUTH_FAILED`.
    pub expected: String,
    /// What the reader did, e.g. `GRANT 1A2B3C4D5E6F7081`, `DENY`, `TIMEOUT`.
    pub observed: String,
    /// `result` is PASS.
    pub pass: bool,
    /// PASS: observed matches expected with the fault committed; FAIL: it does not;
    /// INCONCLUSIVE: the card's fault never reached the reader.
    pub result: Outcome,
    /// Whether the reader received what carries the card's fault (always true for a card
    /// without a fault).
    pub fault_committed: bool,
    /// One line: on a pass, why it passed; on a failure, what the failure means in plain words.
    pub detail: String,
    /// The command/response pairs the card saw, in order (may be empty, e.g. for a reader that
    /// never talked to the card).
    pub exchange: Vec<ExchangeStep>,
}

/// One command/response pair between the reader under test and the test card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeStep {
    /// The C-APDU as uppercase hex.
    pub command: String,
    /// The R-APDU as uppercase hex (empty when the card did not answer).
    pub response: String,
    /// The command decoded in NXP's terms (`AuthenticateEV2First key 01`, `ReadData file 01`).
    pub command_name: String,
    /// What the card did to this step on purpose (a fault of the test card), if anything.
    pub fault: Option<String>,
}

impl AuditReport {
    /// Number of cards that passed.
    pub fn passed(&self) -> usize {
        self.count(Outcome::Pass)
    }

    /// Number of cards that failed.
    pub fn failed(&self) -> usize {
        self.count(Outcome::Fail)
    }

    /// Number of cards whose fault never reached the reader.
    pub fn inconclusive(&self) -> usize {
        self.count(Outcome::Inconclusive)
    }

    fn count(&self, o: Outcome) -> usize {
        self.cards.iter().filter(|c| c.result == o).count()
    }
}
