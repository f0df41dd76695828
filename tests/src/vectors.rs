//! The non-zero-key EV2 vectors of `specs/vectors/ev2-nonzero.json` as typed steps.
//!
//! The file is compiled in, so the tests need nothing at run time. It is produced by
//! `specs/vectors/gen_ev2_vectors.py`, an implementation written from the public protocol facts
//! with Python's `cryptography` package, independent of desfire-core (see
//! `specs/vectors/README.md`).

use crate::{Frame, unhex};
use desfire_core::pcd::CommandMode;
use serde_json::Value;

/// The worked transactions of spec §12.1 (`specs/vectors/gen-pacs/gen_worked_transaction.py`).
pub const WORKED_TRANSACTION_JSON: &str =
    include_str!("../../specs/vectors/gen-pacs/worked-transaction.json");

/// The JSON file, as committed.
pub const EV2_NONZERO_JSON: &str = include_str!("../../specs/vectors/ev2-nonzero.json");

/// One complete exchange: EV2First, commands, EV2NonFirst, more commands.
#[derive(Debug, Clone)]
pub struct Vector {
    /// `EV2-NONZERO-n`.
    pub name: String,
    /// Seed of the generator's PRNG.
    pub seed: String,
    /// Largest command data per C-APDU the reader used (longer bodies are chained).
    pub max_command_data: usize,
    /// The application keys 0..13 of the card before the ChangeKey steps.
    pub app_keys: Vec<[u8; 16]>,
    /// The card's 7-byte UID.
    pub uid: Vec<u8>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A step of a [`Vector`].
#[derive(Debug, Clone)]
pub enum Step {
    /// AuthenticateEV2First or AuthenticateEV2NonFirst.
    Auth(AuthStep),
    /// A command inside the session.
    Command(CommandStep),
}

impl Step {
    /// The frames of this step.
    pub fn frames(&self) -> &[Frame] {
        match self {
            Step::Auth(a) => &a.frames,
            Step::Command(c) => &c.frames,
        }
    }
}

/// An authentication with every intermediate value.
#[derive(Debug, Clone)]
pub struct AuthStep {
    /// EV2First (`true`) or EV2NonFirst.
    pub first: bool,
    /// Key number.
    pub key_no: u8,
    /// The key.
    pub key: [u8; 16],
    /// The reader's random.
    pub rnd_a: [u8; 16],
    /// The card's random.
    pub rnd_b: [u8; 16],
    /// `E(K, RndB)` as the card sent it.
    pub rnd_b_enc: Vec<u8>,
    /// `E(K, RndA || RndB')` as the reader sent it.
    pub token_enc: Vec<u8>,
    /// The decrypted confirmation: `TI || RndA' || PDcap2 || PCDcap2` or `RndA'`.
    pub confirmation_dec: Vec<u8>,
    /// Transaction identifier (kept by NonFirst).
    pub ti: [u8; 4],
    /// SV1.
    pub sv1: [u8; 32],
    /// SV2.
    pub sv2: [u8; 32],
    /// SesAuthENCKey.
    pub ses_enc: [u8; 16],
    /// SesAuthMACKey.
    pub ses_mac: [u8; 16],
    /// CmdCtr after the step.
    pub cmd_ctr_after: u16,
    /// Frames.
    pub frames: Vec<Frame>,
}

/// A command with every intermediate value.
#[derive(Debug, Clone)]
pub struct CommandStep {
    /// Command name.
    pub name: String,
    /// INS.
    pub ins: u8,
    /// CmdHeader (never encrypted).
    pub header: Vec<u8>,
    /// CmdData in clear.
    pub data: Vec<u8>,
    /// Comm mode.
    pub mode: CommandMode,
    /// ChangeKey of the authenticated key: bare `9100`, the session ends.
    pub ends_session: bool,
    /// TI.
    pub ti: [u8; 4],
    /// CmdCtr used by the command.
    pub cmd_ctr: u16,
    /// CmdCtr after the command; `None` when the command ended the session.
    pub cmd_ctr_after: Option<u16>,
    /// `E(SesAuthENCKey, A5 5A || TI || CmdCtr || 0^8)`, Full mode with data.
    pub ivc: Option<[u8; 16]>,
    /// Encrypted CmdData, Full mode with data.
    pub data_enc: Option<Vec<u8>>,
    /// Command MAC input, MAC and Full mode.
    pub mac_input: Option<Vec<u8>>,
    /// Command MACt, MAC and Full mode.
    pub mact: Option<[u8; 8]>,
    /// The sealed body after INS: header, (encrypted) data, MACt.
    pub body: Vec<u8>,
    /// Response code (SW2).
    pub status: u8,
    /// All response data of all frames, without status words.
    pub response_body: Vec<u8>,
    /// `E(SesAuthENCKey, 5A A5 || TI || CmdCtr+1 || 0^8)`, Full mode with response data.
    pub ivr: Option<[u8; 16]>,
    /// Encrypted response data, Full mode with response data.
    pub resp_data_enc: Option<Vec<u8>>,
    /// Response MAC input, MAC and Full mode.
    pub resp_mac_input: Option<Vec<u8>>,
    /// Response MACt, MAC and Full mode.
    pub resp_mact: Option<[u8; 8]>,
    /// The response data in clear, as the caller must see it.
    pub response_data: Vec<u8>,
    /// ChangeKey: the key number changed.
    pub target_key_no: Option<u8>,
    /// ChangeKey: old key.
    pub old_key: Option<[u8; 16]>,
    /// ChangeKey: new key.
    pub new_key: Option<[u8; 16]>,
    /// ChangeKey: key version.
    pub key_version: Option<u8>,
    /// ChangeKey of another key: CRC32 of the new key as sent (LSB first).
    pub new_key_crc32: Option<[u8; 4]>,
    /// Frames.
    pub frames: Vec<Frame>,
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name)
        .unwrap_or_else(|| panic!("field {name:?} missing in {v}"))
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    field(v, name)
        .as_str()
        .unwrap_or_else(|| panic!("field {name:?} is not a string"))
}

fn bytes(v: &Value, name: &str) -> Vec<u8> {
    unhex(text(v, name))
}

fn array<const N: usize>(v: &Value, name: &str) -> [u8; N] {
    bytes(v, name)
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("field {name:?} has {} bytes, not {N}", b.len()))
}

fn opt_bytes(v: &Value, name: &str) -> Option<Vec<u8>> {
    v.get(name).map(|_| bytes(v, name))
}

fn opt_array<const N: usize>(v: &Value, name: &str) -> Option<[u8; N]> {
    v.get(name).map(|_| array(v, name))
}

fn number(v: &Value, name: &str) -> u64 {
    field(v, name)
        .as_u64()
        .unwrap_or_else(|| panic!("field {name:?} is not a number"))
}

fn frames(v: &Value) -> Vec<Frame> {
    field(v, "frames")
        .as_array()
        .expect("frames is a list")
        .iter()
        .map(|f| Frame {
            capdu: bytes(f, "capdu"),
            rapdu: bytes(f, "rapdu"),
        })
        .collect()
}

fn auth_step(v: &Value, first: bool) -> AuthStep {
    AuthStep {
        first,
        key_no: number(v, "key_no") as u8,
        key: array(v, "key"),
        rnd_a: array(v, "rnd_a"),
        rnd_b: array(v, "rnd_b"),
        rnd_b_enc: bytes(v, "rnd_b_enc"),
        token_enc: bytes(v, "token_enc"),
        confirmation_dec: bytes(v, "confirmation_dec"),
        ti: array(v, "ti"),
        sv1: array(v, "sv1"),
        sv2: array(v, "sv2"),
        ses_enc: array(v, "ses_enc"),
        ses_mac: array(v, "ses_mac"),
        cmd_ctr_after: number(v, "cmd_ctr_after") as u16,
        frames: frames(v),
    }
}

fn command_step(v: &Value) -> CommandStep {
    let mode = match text(v, "mode") {
        "plain" => CommandMode::Plain,
        "mac" => CommandMode::Mac,
        "full" => CommandMode::Full,
        other => panic!("unknown mode {other:?}"),
    };
    let [ins] = array::<1>(v, "ins");
    let [status] = array::<1>(v, "status");
    CommandStep {
        name: text(v, "name").to_owned(),
        ins,
        header: bytes(v, "header"),
        data: bytes(v, "data"),
        mode,
        ends_session: field(v, "ends_session").as_bool().expect("bool"),
        ti: array(v, "ti"),
        cmd_ctr: number(v, "cmd_ctr") as u16,
        cmd_ctr_after: field(v, "cmd_ctr_after").as_u64().map(|n| n as u16),
        ivc: opt_array(v, "ivc"),
        data_enc: opt_bytes(v, "data_enc"),
        mac_input: opt_bytes(v, "mac_input"),
        mact: opt_array(v, "mact"),
        body: bytes(v, "body"),
        status,
        response_body: bytes(v, "response_body"),
        ivr: opt_array(v, "ivr"),
        resp_data_enc: opt_bytes(v, "resp_data_enc"),
        resp_mac_input: opt_bytes(v, "resp_mac_input"),
        resp_mact: opt_array(v, "resp_mact"),
        response_data: bytes(v, "response_data"),
        target_key_no: v
            .get("target_key_no")
            .and_then(Value::as_u64)
            .map(|n| n as u8),
        old_key: opt_array(v, "old_key"),
        new_key: opt_array(v, "new_key"),
        key_version: opt_array::<1>(v, "key_version").map(|[b]| b),
        new_key_crc32: opt_array(v, "new_key_crc32"),
        frames: frames(v),
    }
}

/// All vectors of `ev2-nonzero.json`.
pub fn ev2_nonzero() -> Vec<Vector> {
    let doc: Value = serde_json::from_str(EV2_NONZERO_JSON).expect("ev2-nonzero.json parses");
    assert_eq!(number(&doc, "format"), 1, "unknown vector file format");
    field(&doc, "vectors")
        .as_array()
        .expect("vectors is a list")
        .iter()
        .map(|v| {
            let keys = field(v, "app_keys");
            Vector {
                name: text(v, "name").to_owned(),
                seed: text(v, "seed").to_owned(),
                max_command_data: number(v, "max_command_data") as usize,
                app_keys: (0..14).map(|n| array(keys, &n.to_string())).collect(),
                uid: bytes(v, "uid"),
                steps: field(v, "steps")
                    .as_array()
                    .expect("steps is a list")
                    .iter()
                    .map(|s| match text(s, "step") {
                        "authenticate_ev2_first" => Step::Auth(auth_step(s, true)),
                        "authenticate_ev2_nonfirst" => Step::Auth(auth_step(s, false)),
                        "command" => Step::Command(command_step(s)),
                        other => panic!("unknown step {other:?}"),
                    })
                    .collect(),
            }
        })
        .collect()
}

impl Vector {
    /// Every frame of the exchange, in order.
    pub fn all_frames(&self) -> Vec<Frame> {
        self.steps
            .iter()
            .flat_map(|s| s.frames().iter().cloned())
            .collect()
    }

    /// The RndA values the reader draws, in order.
    pub fn rnd_as(&self) -> Vec<[u8; 16]> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Auth(a) => Some(a.rnd_a),
                Step::Command(_) => None,
            })
            .collect()
    }

    /// The first authentication step.
    pub fn first_auth(&self) -> &AuthStep {
        match self.steps.first() {
            Some(Step::Auth(a)) if a.first => a,
            _ => panic!("{}: the first step is not AuthenticateEV2First", self.name),
        }
    }
}

impl CommandStep {
    /// The engine command for this step, built with the generic `pcd::Command` API.
    pub fn command(&self) -> desfire_core::pcd::Command<'_> {
        use desfire_core::pcd::{Command, CommandData};
        use desfire_core::wire::Ins;
        let mut cmd = Command::new(Ins(self.ins), &self.header, self.mode)
            .expect("header fits")
            .with_data(CommandData::Borrowed(&self.data));
        if self.mode != CommandMode::Plain {
            cmd = cmd.requiring_session();
        }
        if self.ends_session {
            cmd = cmd
                .changing_authenticated_key()
                .expect("only a ChangeKey of the authenticated key ends the session");
        }
        cmd
    }
}

/// One worked transaction of spec §12.1: the reader procedure against the §9 test card.
#[derive(Debug, Clone)]
pub struct WorkedTransaction {
    /// `GEN-PACS-WT-n`.
    pub id: String,
    /// Trusted time, Unix seconds.
    pub now: u32,
    /// The anticollision UID (a random ID).
    pub anticollision_uid: Vec<u8>,
    /// The card's real UID.
    pub real_uid: [u8; 7],
    /// K1, the key itself.
    pub k1: [u8; 16],
    /// The K2 master.
    pub k2_master: [u8; 16],
    /// The diversification input of K2.
    pub k2_div_input: Vec<u8>,
    /// The card's K2.
    pub k2: [u8; 16],
    /// The K2 generations the reader holds (step 5 runs when not empty).
    pub read_key_generations: Vec<u8>,
    /// Step 12 runs (policy `require`) when set.
    pub originality: bool,
    /// The trusted originality keys (SEC1).
    pub originality_keys: Vec<Vec<u8>>,
    /// Output `extended` (else `osdp`).
    pub extended_output: bool,
    /// The credential file.
    pub credential_file: Vec<u8>,
    /// The steps, in order.
    pub steps: Vec<WorkedStep>,
    /// Every frame, in order.
    pub frames: Vec<Frame>,
    /// The output bytes of step 11.
    pub output_bytes: Vec<u8>,
}

/// A step of a [`WorkedTransaction`] with the spec's step number.
#[derive(Debug, Clone)]
pub struct WorkedStep {
    /// Spec §12 step number.
    pub spec_step: String,
    /// What was exchanged.
    pub kind: WorkedKind,
}

/// What a [`WorkedStep`] is.
#[derive(Debug, Clone)]
pub enum WorkedKind {
    /// A command outside any session (SelectApplication).
    Plain(Vec<Frame>),
    /// An authentication or a command in the session.
    Ev2(Box<Step>),
}

/// The worked transactions of `worked-transaction.json`.
pub fn worked_transactions() -> Vec<WorkedTransaction> {
    let doc: Value =
        serde_json::from_str(WORKED_TRANSACTION_JSON).expect("worked-transaction.json parses");
    assert_eq!(text(&doc, "format"), "gen-pacs-worked-transaction/1");
    field(&doc, "transactions")
        .as_array()
        .expect("transactions is a list")
        .iter()
        .map(|t| {
            let config = field(t, "config");
            let card = field(t, "card");
            let keys = field(t, "keys");
            let gens = field(config, "read_key_generations")
                .as_array()
                .expect("list")
                .iter()
                .map(|g| unhex(g.as_str().expect("hex"))[0])
                .collect();
            WorkedTransaction {
                id: text(t, "id").to_owned(),
                now: number(t, "now") as u32,
                anticollision_uid: bytes(card, "anticollision_uid"),
                real_uid: array(card, "real_uid"),
                k1: array(keys, "K1"),
                k2_master: array(keys, "K2_master"),
                k2_div_input: bytes(keys, "K2_div_input"),
                k2: array(keys, "K2"),
                read_key_generations: gens,
                originality: text(config, "originality") == "require",
                originality_keys: field(config, "originality_keys")
                    .as_array()
                    .expect("list")
                    .iter()
                    .map(|k| unhex(k.as_str().expect("hex")))
                    .collect(),
                extended_output: text(config, "output") == "extended",
                credential_file: bytes(card, "credential_file"),
                steps: field(t, "steps")
                    .as_array()
                    .expect("steps is a list")
                    .iter()
                    .map(|s| WorkedStep {
                        spec_step: text(s, "spec_step").to_owned(),
                        kind: match text(s, "step") {
                            "plain" => WorkedKind::Plain(frames(s)),
                            "authenticate_ev2_first" => {
                                WorkedKind::Ev2(Box::new(Step::Auth(auth_step(s, true))))
                            }
                            "authenticate_ev2_nonfirst" => {
                                WorkedKind::Ev2(Box::new(Step::Auth(auth_step(s, false))))
                            }
                            "command" => WorkedKind::Ev2(Box::new(Step::Command(command_step(s)))),
                            other => panic!("unknown step {other:?}"),
                        },
                    })
                    .collect(),
                frames: frames(t),
                output_bytes: bytes(t, "output_bytes"),
            }
        })
        .collect()
}

impl WorkedTransaction {
    /// The RndA values the reader draws, in order.
    pub fn rnd_as(&self) -> Vec<[u8; 16]> {
        self.steps
            .iter()
            .filter_map(|s| match &s.kind {
                WorkedKind::Ev2(step) => match step.as_ref() {
                    Step::Auth(a) => Some(a.rnd_a),
                    Step::Command(_) => None,
                },
                _ => None,
            })
            .collect()
    }
}
