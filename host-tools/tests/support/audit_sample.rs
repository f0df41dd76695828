//! A handmade audit report for the report tests: a card that passed with a full exchange, a
//! pass on a deny, a failure with the fault the test card injected, a failure where the reader
//! never talked to the card, and a card whose every field is hostile.

use host_tools::audit::model::{AuditReport, CardResult, ExchangeStep, Outcome};

/// What the hostile card puts in its fields: markup for every format, a terminal escape, an
/// XML-forbidden control character, quotes and a CDATA end.
pub const HOSTILE_SCRIPT: &str = "<script>document.body.remove()</script>";

fn step(command_name: &str, command: &str, response: &str, fault: Option<&str>) -> ExchangeStep {
    ExchangeStep {
        command: command.to_owned(),
        response: response.to_owned(),
        command_name: command_name.to_owned(),
        fault: fault.map(str::to_owned),
    }
}

fn card(
    id: &str,
    name: &str,
    requirement: &str,
    expected: &str,
    observed: &str,
    detail: &str,
    exchange: Vec<ExchangeStep>,
) -> CardResult {
    CardResult {
        id: id.to_owned(),
        name: name.to_owned(),
        requirement: requirement.to_owned(),
        expected: expected.to_owned(),
        observed: observed.to_owned(),
        pass: expected == observed,
        result: if expected == observed {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        fault_committed: true,
        detail: detail.to_owned(),
        exchange,
    }
}

/// A card whose fault never reached the reader.
fn untested(card: CardResult) -> CardResult {
    CardResult {
        pass: false,
        result: Outcome::Inconclusive,
        fault_committed: false,
        ..card
    }
}

/// The GEN-PACS golden card's exchange up to the credential read (lab values, shortened).
fn golden_exchange(read_fault: Option<&str>) -> Vec<ExchangeStep> {
    vec![
        step(
            "SelectApplication F48EF1",
            "905A00000331E3F000",
            "9100",
            None,
        ),
        step(
            "AuthenticateEV2First key 02",
            "9071000002020000",
            "B9E2FC789B64BF237CCCAA20EC7E6E4891AF",
            None,
        ),
        step(
            "AuthenticateEV2First (additional frame)",
            "90AF000020C2B7D4A1E0F3968D5A2B0C1D2E3F40518293A4B5C6D7E8F90112233400",
            "9D00C4DF0A1B2C3D4E5F60718293A4B5C6D7E8F900112233445566778899AABB9100",
            None,
        ),
        step(
            "ReadData file 01, 160 bytes, Full",
            "90AD00000F010000000A0000A1B2C3D4E5F6071800",
            "4F2D1E0C9B8A7766554433221100FFEEDDCCBBAA99887766554433221100A1B2C3D4E5F60718\
             293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F905E8A1C0D7F2B3E4A9100",
            read_fault,
        ),
    ]
}

/// The sample report: 2 passed, 3 failed, 1 inconclusive.
pub fn sample() -> AuditReport {
    let cards = vec![
        card(
            "T0",
            "Golden",
            "interoperability",
            "GRANT 1A2B3C4D5E6F7081",
            "GRANT 1A2B3C4D5E6F7081",
            "The reader read and verified a conforming card.",
            golden_exchange(None),
        ),
        card(
            "T3",
            "Wrong key",
            "R4, R7",
            "DENY AUTH_FAILED",
            "DENY AUTH_FAILED",
            "The reader stopped when the card refused its key.",
            vec![
                step(
                    "SelectApplication F48EF1",
                    "905A00000331E3F000",
                    "9100",
                    None,
                ),
                step(
                    "AuthenticateEV2First key 02",
                    "9071000002020000",
                    "91AE",
                    Some("K2 is the undiversified master key"),
                ),
            ],
        ),
        card(
            "T6",
            "Tampered MAC",
            "R4",
            "DENY MAC_MISMATCH",
            "GRANT 1A2B3C4D5E6F7081",
            "Critical: the reader does not check MACs; data can be swapped in the field.",
            golden_exchange(Some("byte 3 of the ReadData MACt flipped (0x7F to 0x80)")),
        ),
        untested(card(
            "T7",
            "Forged credential",
            "R8",
            "DENY BAD_SIGNATURE",
            "DENY",
            "the reader never received the credential bytes that carry the fault (observed DENY): \
             this presentation says nothing about R8",
            Vec::new(),
        )),
        card(
            "T1",
            "UID clone",
            "R1, R10",
            "DENY NO_APPLICATION",
            "GRANT 04A1B2C3D4E5F6",
            "Critical: the reader trusts the UID; any cloner opens the door.",
            Vec::new(),
        ),
        card(
            "T9<img src=x onerror=alert(1)>",
            HOSTILE_SCRIPT,
            "R9 | ]]> & \"quoted\" 'single'",
            "DENY EXPIRED",
            "GRANT <b>bold</b> \u{1b}[2J\u{1}",
            "detail with\na newline, `code`, *stars* and [a link](javascript:alert(3))",
            vec![step(
                "<script>alert(2)</script>",
                "<i>not hex</i>",
                "ZZ",
                Some("</li></ol><script>alert(4)</script>"),
            )],
        ),
    ];
    let result = Outcome::combine(cards.iter().map(|c| c.result));
    AuditReport {
        pass: result == Outcome::Pass,
        result,
        reader: format!("reference-reader --port /dev/ttyUSB0 --label '{HOSTILE_SCRIPT}'"),
        profile: "lab".to_owned(),
        path: "in-process".to_owned(),
        cards,
    }
}
