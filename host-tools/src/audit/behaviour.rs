//! How a test card misbehaves on purpose (`specs/generic-encoding.md` §17), and whether it
//! did: a wrapper around any [`VirtualCard`], so that the same faults run in process, behind
//! vpcd (`desfire emulate`) and behind a PN532 emulator.
//!
//! The wrapper sees every C-APDU and R-APDU at the ISO/IEC 7816-4 level, as a relay or a
//! manipulated card would, and works on what they mean rather than on how the reader framed
//! them ([`frame`]): ISO-wrapped (`90 INS 00 00 Lc … 00`) or native (`INS …`) frames,
//! ReadData `BD` or `AD`, answers in one frame or chained with `AF` at whatever frame size the
//! card uses, the exact length or the whole file, selection by AID or by DF name, and any
//! other command in between. A verdict on a card whose fault the reader never met proves
//! nothing, so the wrapper also records whether the fault was committed: whether the reader
//! received what carries it ([`FaultSite`]).

use std::time::Duration;

use desfire_core::wire::{Aid, Ins, Status};

use crate::virtual_card::VirtualCard;

/// `6A 82` (file or application not found): what an anticollision-only clone (T1) gives a
/// command it cannot understand, per §17.
const SW_FILE_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
/// DESFire status `AE`: authentication error, the answer of an application with DES/2TDEA
/// keys to an AES authentication it does not support (T5), and of a card asked for something
/// in a session it does not have (T13 beyond its recording).
const AUTHENTICATION_ERROR: u8 = Status::AUTHENTICATION_ERROR.0;
/// DESFire status `00`.
const OPERATION_OK: u8 = Status::OPERATION_OK.0;
/// DESFire status and command code `AF`.
const ADDITIONAL_FRAME: u8 = Status::ADDITIONAL_FRAME.0;
const _: () = assert!(ADDITIONAL_FRAME == Ins::ADDITIONAL_FRAME.0);

// The command codes the faults act on, as the `u8` of a C-APDU (match patterns).
const INS_AUTHENTICATE_EV2_FIRST: u8 = Ins::AUTHENTICATE_EV2_FIRST.0;
const INS_AUTHENTICATE_EV2_NON_FIRST: u8 = Ins::AUTHENTICATE_EV2_NON_FIRST.0;
const INS_LEGACY_AUTHENTICATIONS: [u8; 3] = [
    Ins::AUTHENTICATE_LEGACY.0,
    Ins::AUTHENTICATE_ISO.0,
    Ins::AUTHENTICATE_AES.0,
];
const INS_SELECT_APPLICATION: u8 = Ins::SELECT_APPLICATION.0;
const INS_GET_APPLICATION_IDS: u8 = Ins::GET_APPLICATION_IDS.0;
const INS_GET_DF_NAMES: u8 = Ins::GET_DF_NAMES.0;
const INS_READ_DATA: u8 = Ins::READ_DATA.0;
const INS_READ_DATA_ISO: u8 = Ins::READ_DATA_ISO.0;
const INS_GET_FILE_SETTINGS: u8 = Ins::GET_FILE_SETTINGS.0;
const INS_READ_SIG: u8 = Ins::READ_SIG.0;
/// The most frames of one answer the card fetches ahead (T6): a 2 KiB answer in 1-byte frames.
const MAX_ANSWER_FRAMES: usize = 4096;
/// The credential file of the GEN-PACS application (§7).
const CREDENTIAL_FILE: u8 = 0x01;
/// Its size: a whole-file read (length 0) delivers bytes up to here.
const CREDENTIAL_FILE_SIZE: usize = desfire_core::encoding::CCF_FILE_SIZE;

/// Reading C-APDUs and writing R-APDUs whatever the reader's framing.
pub mod frame {
    use desfire_core::wire::CLA_NATIVE;

    /// How a DESFire command travels.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Framing {
        /// ISO/IEC 7816-4 wrapped: `90 INS 00 00 [Lc data] 00`, answered `data 91 status`.
        Wrapped,
        /// Native: `INS data`, answered `status data`.
        Native,
    }

    /// A DESFire command as the card reads it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Command<'a> {
        /// How it was framed (the answer goes back the same way).
        pub framing: Framing,
        /// The command code.
        pub ins: u8,
        /// The command data after INS.
        pub data: &'a [u8],
    }

    /// A DESFire answer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Answer<'a> {
        /// The status byte (`00`, `AF`, `AE`, …).
        pub status: u8,
        /// The data.
        pub data: &'a [u8],
    }

    /// The DESFire command in `capdu`, or `None` for an ISO/IEC 7816-4 command (CLA `00`) or
    /// a malformed wrapped one. Native or ISO/IEC 7816-4 as the card decides
    /// ([`desfire_core::picc::is_native`]); a first byte `90` with a 7816-4 header is wrapped.
    pub fn command(capdu: &[u8]) -> Option<Command<'_>> {
        if desfire_core::picc::is_native(capdu) {
            let (ins, data) = capdu.split_first()?;
            return Some(Command {
                framing: Framing::Native,
                ins: *ins,
                data,
            });
        }
        match capdu {
            [CLA_NATIVE, ins, 0x00, 0x00] | [CLA_NATIVE, ins, 0x00, 0x00, _] => Some(Command {
                framing: Framing::Wrapped,
                ins: *ins,
                data: &[],
            }),
            [CLA_NATIVE, ins, 0x00, 0x00, lc, rest @ ..] => {
                let data = rest.get(..usize::from(*lc))?;
                // Le (one byte) may follow; nothing else.
                (rest.len() <= usize::from(*lc) + 1).then_some(Command {
                    framing: Framing::Wrapped,
                    ins: *ins,
                    data,
                })
            }
            // ISO/IEC 7816-4 (CLA `00`), or a malformed wrapped frame.
            _ => None,
        }
    }

    /// The DESFire answer in `rapdu` to a command framed `framing`, or `None` when it is not
    /// one (an ISO status word such as `6A 82`, or nothing).
    pub fn answer(framing: Framing, rapdu: &[u8]) -> Option<Answer<'_>> {
        match framing {
            Framing::Wrapped => match rapdu.split_last_chunk::<2>()? {
                (data, [0x91, status]) => Some(Answer {
                    status: *status,
                    data,
                }),
                _ => None,
            },
            Framing::Native => {
                let (status, data) = rapdu.split_first()?;
                Some(Answer {
                    status: *status,
                    data,
                })
            }
        }
    }

    /// The command `ins data` framed `framing`.
    pub fn emit_command(framing: Framing, ins: u8, data: &[u8]) -> Vec<u8> {
        match framing {
            Framing::Wrapped if data.is_empty() => vec![0x90, ins, 0, 0, 0],
            Framing::Wrapped => {
                let mut c = vec![0x90, ins, 0, 0, data.len() as u8];
                c.extend_from_slice(data);
                c.push(0);
                c
            }
            Framing::Native => {
                let mut c = vec![ins];
                c.extend_from_slice(data);
                c
            }
        }
    }

    /// The answer `status data` framed `framing`.
    pub fn emit_answer(framing: Framing, status: u8, data: &[u8]) -> Vec<u8> {
        match framing {
            Framing::Wrapped => {
                let mut r = data.to_vec();
                r.extend_from_slice(&[0x91, status]);
                r
            }
            Framing::Native => {
                let mut r = vec![status];
                r.extend_from_slice(data);
                r
            }
        }
    }
}

use frame::Framing;

/// A recorded genuine session in what it means rather than how it was framed (T13): the
/// activation UID and, per command, the card's whole answer (`AF` frames joined).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// The anticollision UID of the recorded activation.
    pub uid: Vec<u8>,
    /// The card's answers, in the order the reader asked.
    pub answers: Vec<RecordedAnswer>,
}

/// One answer of a [`Recording`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    /// What it answered.
    pub to: ReplayKey,
    /// Its final status.
    pub status: u8,
    /// Its data, every frame joined.
    pub data: Vec<u8>,
}

/// What a recorded answer can be replayed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayKey {
    /// A command with this code (`AD` recorded as `BD`: the same answer either way).
    Command(u8),
    /// The second frame (`AF` with the reader's token) of an authentication with this code.
    AuthenticationPart2(u8),
}

impl Recording {
    /// The recording of a session given as (C-APDU, R-APDU) pairs in either framing.
    pub fn from_exchange<'a>(
        uid: &[u8],
        steps: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Self {
        let mut answers: Vec<RecordedAnswer> = Vec::new();
        let mut open: Option<(ReplayKey, Vec<u8>)> = None;
        let mut last_auth = None;
        for (capdu, rapdu) in steps {
            let Some(c) = frame::command(capdu) else {
                continue;
            };
            let Some(a) = frame::answer(c.framing, rapdu) else {
                open = None;
                continue;
            };
            let key = match (c.ins, &open) {
                (ADDITIONAL_FRAME, Some((key, _))) if c.data.is_empty() => *key,
                (ADDITIONAL_FRAME, _) => match last_auth {
                    Some(auth) => ReplayKey::AuthenticationPart2(auth),
                    None => ReplayKey::Command(ADDITIONAL_FRAME),
                },
                (ins, _) => {
                    last_auth = [INS_AUTHENTICATE_EV2_FIRST, INS_AUTHENTICATE_EV2_NON_FIRST]
                        .contains(&ins)
                        .then_some(ins);
                    ReplayKey::Command(normalise(ins))
                }
            };
            let mut data = match open.take() {
                Some((k, data)) if k == key && c.ins == ADDITIONAL_FRAME && c.data.is_empty() => {
                    data
                }
                _ => Vec::new(),
            };
            data.extend_from_slice(a.data);
            // An authentication's `AF` asks for the reader's token, not for more answer.
            let continues = a.status == ADDITIONAL_FRAME
                && !matches!(
                    key,
                    ReplayKey::Command(INS_AUTHENTICATE_EV2_FIRST | INS_AUTHENTICATE_EV2_NON_FIRST)
                );
            if continues {
                open = Some((key, data));
            } else {
                answers.push(RecordedAnswer {
                    to: key,
                    status: a.status,
                    data,
                });
            }
        }
        Self {
            uid: uid.to_vec(),
            answers,
        }
    }
}

/// `AD` answers as `BD` does (the ISO-chaining code differs only in how the card frames).
fn normalise(ins: u8) -> u8 {
    if ins == INS_READ_DATA_ISO {
        INS_READ_DATA
    } else {
        ins
    }
}

/// One misbehaviour of a test card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// The card answers as it is.
    Genuine,
    /// T1: anticollision with this UID and nothing behind it (a magic UID card or `hf 14a sim`):
    /// every APDU gets `6A 82`.
    AnticollisionOnly {
        /// The UID it shows.
        uid: Vec<u8>,
    },
    /// T5: an application with DES/2TDEA keys (EV1 style). EV2 authentications get `AE`;
    /// a legacy authentication (`0A`, `1A`, `AA`) is noted as a fault of the reader.
    LegacyKeysOnly,
    /// T4: a ReadData sent with a command MACt reaches the card without it (a manipulated card
    /// or a man in the middle), so a file in Plain mode answers in Plain.
    PlainDowngrade,
    /// T6: one byte of the ReadData answer's MACt flipped, wherever the card's framing puts
    /// it (the first MACt byte, so that with 59-byte frames it is the split MACt's first part).
    CorruptReadDataMac,
    /// T12: every answer delayed (a relay).
    Delay(Duration),
    /// T13: plays the genuine card until the reader authenticates, then replays a recorded
    /// session: the authentication's old answers (old RndB, old proof of RndA), then the
    /// recorded answer to each command, framed as the reader asks.
    Replay(Recording),
}

/// Where a test card's fault shows: what the reader must receive before its verdict says
/// anything about the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultSite {
    /// No fault to meet: a control card (the golden card, and a card whose conforming verdict
    /// is the golden card's under the profile).
    None,
    /// What the card shows at activation: its UID (T1, T14). Met on every presentation.
    Activation,
    /// The answer to selecting the GEN-PACS application, by AID or by DF name, or to listing
    /// the applications (T2: it is absent).
    Application,
    /// The answer to the second frame of an authentication with this key of the GEN-PACS
    /// application (T3: the key is wrong).
    Authentication(u8),
    /// These bytes of the credential file delivered by a complete ReadData answer (the bytes
    /// in which the card differs from the golden card, or that carry the UID binding).
    Credential(Vec<usize>),
    /// The answer to Read_Sig (T15).
    Originality,
    /// An error status to a ReadData of the credential file (T4b: a Plain file refuses the
    /// MACed request with `91 7E`).
    ReadRefused,
    /// Where the [`Behaviour`] acts: its manipulated answer delivered (T4, T5, T6, T12, T13).
    Behaviour,
}

impl FaultSite {
    /// What the reader did not do when the fault did not reach it (for an INCONCLUSIVE
    /// verdict).
    pub fn unmet(&self) -> &'static str {
        match self {
            FaultSite::None | FaultSite::Activation => "",
            FaultSite::Application => {
                "the reader never selected the GEN-PACS application nor listed the applications"
            }
            FaultSite::Authentication(_) => {
                "the reader never completed an authentication with the wrong key"
            }
            FaultSite::Credential(_) => {
                "the reader never received the credential bytes that carry the fault"
            }
            FaultSite::Originality => "the reader never received the originality signature",
            FaultSite::ReadRefused => "the reader never asked for the credential file",
            FaultSite::Behaviour => "the card never got to commit its fault",
        }
    }
}

/// The GEN-PACS application as the card's faults are placed in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Application {
    /// Its AID.
    pub aid: Aid,
    /// Its DF name (ISOSelectFile).
    pub df_name: Vec<u8>,
}

/// The command whose answer is on its way (`AF` frames), as the card understood it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    framing: Framing,
    ins: u8,
    /// The command data (ReadData header, key number, …).
    data: Vec<u8>,
    /// The answer's frames prepared ahead (T6, T13), the next one first.
    queued: Vec<Vec<u8>>,
    /// T6: how many frames are left once the frame with the flipped MACt byte is out.
    fault_in: Option<usize>,
}

/// A card with a [`Behaviour`], which records whether its fault was committed.
#[derive(Debug)]
pub struct Behaving<C> {
    card: C,
    behaviour: Behaviour,
    site: FaultSite,
    app: Application,
    /// The GEN-PACS application is selected.
    in_app: bool,
    pending: Option<Pending>,
    /// The authentication in progress: its code and key number.
    authenticating: Option<(u8, u8)>,
    /// T13: the reader has taken a replayed authentication: answers come from the recording.
    replaying: bool,
    used: Vec<bool>,
    committed: bool,
    last_fault: Option<String>,
}

impl<C: VirtualCard> Behaving<C> {
    /// `card` with `behaviour`; its fault shows where the behaviour acts (a genuine card is a
    /// control card). [`Self::showing`] places a fault that lies in the card's data.
    pub fn new(card: C, behaviour: Behaviour) -> Self {
        let site = match behaviour {
            Behaviour::Genuine => FaultSite::None,
            Behaviour::AnticollisionOnly { .. } => FaultSite::Activation,
            _ => FaultSite::Behaviour,
        };
        Self {
            card,
            behaviour,
            site,
            app: Application::default(),
            in_app: false,
            pending: None,
            authenticating: None,
            replaying: false,
            used: Vec::new(),
            committed: false,
            last_fault: None,
        }
    }

    /// The card with its fault at `site` of the GEN-PACS application `app`.
    pub fn showing(mut self, site: FaultSite, app: Application) -> Self {
        self.site = site;
        self.app = app;
        self
    }

    /// The behaviour.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// Where the card's fault shows.
    pub fn site(&self) -> &FaultSite {
        &self.site
    }

    /// What the reader did not do when the card's fault did not reach it (for an INCONCLUSIVE
    /// verdict), in words.
    pub fn unmet(&self) -> &'static str {
        match (&self.site, &self.behaviour) {
            (FaultSite::Behaviour, Behaviour::PlainDowngrade) => {
                "the reader never received the credential file nor its settings"
            }
            (FaultSite::Behaviour, Behaviour::LegacyKeysOnly) => {
                "the reader never tried to authenticate with the application"
            }
            (FaultSite::Behaviour, Behaviour::CorruptReadDataMac) => {
                "the reader never received the whole tampered ReadData answer"
            }
            (FaultSite::Behaviour, Behaviour::Delay(_)) => {
                "the reader never exchanged a frame with the relayed card"
            }
            (FaultSite::Behaviour, Behaviour::Replay(_)) => {
                "the reader never completed an authentication against the replayed session"
            }
            (site, _) => site.unmet(),
        }
    }

    /// Whether the reader met the card's fault since the card was built, across activations
    /// (always for a control card).
    pub fn fault_committed(&self) -> bool {
        self.site == FaultSite::None || self.committed
    }

    /// What the card did on purpose to the last exchange, or what of its fault the reader met
    /// there, if anything.
    pub fn take_fault(&mut self) -> Option<String> {
        self.last_fault.take()
    }

    /// The card inside.
    pub fn inner(&self) -> &C {
        &self.card
    }

    /// The same behaviour and fault around the card `f` makes of the one inside.
    pub fn map_card<E>(self, f: impl FnOnce(C) -> Result<C, E>) -> Result<Self, E> {
        Ok(Self {
            card: f(self.card)?,
            ..self
        })
    }

    fn note(&mut self, what: impl Into<String>) {
        self.last_fault = Some(what.into());
    }

    fn commit(&mut self, what: impl Into<String>) {
        self.committed = true;
        self.note(what);
    }

    /// The inner card's answer to `capdu`, as bytes.
    fn inner_transmit(&mut self, capdu: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; crate::vpcd::MAX_RAPDU];
        let n = self.card.transmit(capdu, &mut r);
        r.truncate(n);
        r
    }

    /// Every frame of the inner card's answer to `c`, fetching the rest with `AF` in the
    /// reader's framing, as (status, data) pairs. Ends at a frame that is not a DESFire answer
    /// (kept raw, status `None`).
    fn inner_answer(&mut self, c: &frame::Command<'_>) -> Vec<(Option<u8>, Vec<u8>)> {
        let mut frames = Vec::new();
        let mut capdu = frame::emit_command(c.framing, c.ins, c.data);
        // A card answers a few KiB at most, in frames of one byte or more; the bound only
        // stops a card that never ends its answer.
        for _ in 0..MAX_ANSWER_FRAMES {
            let r = self.inner_transmit(&capdu);
            let Some(a) = frame::answer(c.framing, &r) else {
                frames.push((None, r));
                break;
            };
            let status = a.status;
            frames.push((Some(status), a.data.to_vec()));
            if status != ADDITIONAL_FRAME {
                break;
            }
            capdu = frame::emit_command(c.framing, ADDITIONAL_FRAME, &[]);
        }
        frames
    }

    /// Hands the next queued frame of the pending answer to the reader.
    fn next_queued(&mut self, rapdu: &mut [u8]) -> usize {
        let Some(p) = self.pending.as_mut() else {
            return 0;
        };
        let frame = if p.queued.is_empty() {
            Vec::new()
        } else {
            p.queued.remove(0)
        };
        let left = p.queued.len();
        let carries_fault = p.fault_in == Some(left);
        let done = left == 0;
        if carries_fault {
            self.note(format!(
                "first byte of the ReadData MACt flipped in this frame ({left} to follow)"
            ));
        }
        if done {
            self.finish_pending(&frame);
        }
        put(rapdu, &frame)
    }

    /// The last frame of the pending command's answer has gone to the reader: what of the
    /// card's fault the reader met with it.
    fn finish_pending(&mut self, last: &[u8]) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let Some(a) = frame::answer(p.framing, last) else {
            return;
        };
        if p.fault_in.is_some() && a.status == OPERATION_OK {
            self.commit("first byte of the ReadData MACt flipped; the whole answer delivered");
            return;
        }
        self.met(&p, a.status);
    }

    /// The complete answer to `p` with final `status` went out: whether it carries the
    /// card's fault.
    fn met(&mut self, p: &Pending, status: u8) {
        let ins = p.ins;
        let in_app = self.in_app;
        match (&self.site, ins) {
            (FaultSite::Application, INS_SELECT_APPLICATION)
                if p.data.as_slice() == self.app.aid.to_wire() =>
            {
                self.commit(format!(
                    "SelectApplication of the GEN-PACS application answered {status:02X}"
                ));
            }
            (FaultSite::Application, INS_GET_APPLICATION_IDS | INS_GET_DF_NAMES)
                if status == OPERATION_OK =>
            {
                self.commit("the card's applications listed: no GEN-PACS application");
            }
            (FaultSite::ReadRefused, INS_READ_DATA | INS_READ_DATA_ISO)
                if in_app && status != OPERATION_OK && p.data.first() == Some(&CREDENTIAL_FILE) =>
            {
                self.commit(format!(
                    "ReadData of the Plain credential file refused with 91 {status:02X}"
                ));
            }
            (FaultSite::Originality, INS_READ_SIG) if status == OPERATION_OK => {
                self.commit("the card's originality signature delivered");
            }
            (FaultSite::Credential(bytes), INS_READ_DATA | INS_READ_DATA_ISO)
                if in_app && status == OPERATION_OK =>
            {
                if let Some(range) = credential_range(&p.data)
                    && bytes.iter().any(|b| range.contains(b))
                {
                    self.commit(format!(
                        "credential bytes {}..{} delivered: they carry the card's fault",
                        range.start, range.end
                    ));
                }
            }
            (FaultSite::Behaviour, INS_READ_DATA | INS_READ_DATA_ISO | INS_GET_FILE_SETTINGS)
                if matches!(self.behaviour, Behaviour::PlainDowngrade)
                    && in_app
                    && status == OPERATION_OK
                    && p.data.first() == Some(&CREDENTIAL_FILE) =>
            {
                self.commit(if ins == INS_GET_FILE_SETTINGS {
                    "file settings delivered: credential file in Plain"
                } else {
                    "credential file delivered in Plain"
                });
            }
            _ => {}
        }
    }

    /// A selection by AID or DF name: whether it is the GEN-PACS application that is now
    /// selected.
    fn selected(&mut self, capdu: &[u8], c: Option<&frame::Command<'_>>, rapdu: &[u8]) {
        match c {
            Some(c) if c.ins == INS_SELECT_APPLICATION => {
                let ok = frame::answer(c.framing, rapdu).is_some_and(|a| a.status == OPERATION_OK);
                self.in_app = ok && c.data == self.app.aid.to_wire();
            }
            Some(_) => {}
            // ISOSelectFile by DF name: `00 A4 04 0x Lc name [Le]`.
            None => {
                if let [0x00, 0xA4, 0x04, _, lc, rest @ ..] = capdu {
                    let name = rest.get(..usize::from(*lc)).unwrap_or(&[]);
                    let ours = !self.app.df_name.is_empty() && name == self.app.df_name;
                    self.in_app = ours && rapdu.ends_with(&[0x90, 0x00]);
                    if ours && self.site == FaultSite::Application {
                        let sw = rapdu.get(rapdu.len().saturating_sub(2)..).unwrap_or(&[]);
                        self.commit(format!(
                            "ISOSelectFile of the GEN-PACS DF name answered {}",
                            hex::encode_upper(sw)
                        ));
                    }
                }
            }
        }
    }

    /// One exchange of a card whose answers come from the inner card, possibly changed.
    fn exchange(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let command = frame::command(capdu);
        let Some(c) = command else {
            // ISO/IEC 7816-4 (ISOSelectFile, …): the card answers it as it is.
            self.pending = None;
            let r = self.inner_transmit(capdu);
            self.selected(capdu, None, &r);
            return put(rapdu, &r);
        };
        let continuation = c.ins == ADDITIONAL_FRAME && c.data.is_empty();
        if continuation && self.pending.as_ref().is_some_and(|p| !p.queued.is_empty()) {
            return self.next_queued(rapdu);
        }
        if !continuation {
            self.pending = None;
            self.start(&c);
        }
        // T13 after a replayed authentication, and its authentications: the recording.
        if let Behaviour::Replay(_) = self.behaviour
            && (self.replaying || self.authenticating.is_some())
        {
            return self.replay(&c, rapdu);
        }
        let forwarded = match (&self.behaviour, c.ins) {
            (Behaviour::LegacyKeysOnly, ins)
                if self.in_app
                    && (ins == INS_AUTHENTICATE_EV2_FIRST
                        || ins == INS_AUTHENTICATE_EV2_NON_FIRST
                        || INS_LEGACY_AUTHENTICATIONS.contains(&ins)) =>
            {
                let r = frame::emit_answer(c.framing, AUTHENTICATION_ERROR, &[]);
                self.pending = None;
                self.authenticating = None;
                if INS_LEGACY_AUTHENTICATIONS.contains(&ins) {
                    self.commit("the reader tried a legacy authentication (R2): refused");
                } else {
                    self.commit("DES application: no AES authentication");
                }
                return put(rapdu, &r);
            }
            (Behaviour::PlainDowngrade, INS_READ_DATA | INS_READ_DATA_ISO)
                if c.data.len() == 7 + 8 =>
            {
                // FileNo Offset(3) Length(3) ‖ MACt(8): the MACt never reaches the card.
                self.note("command MACt dropped: answered in Plain");
                frame::emit_command(c.framing, c.ins, c.data.get(..7).unwrap_or(&[]))
            }
            (Behaviour::CorruptReadDataMac, INS_READ_DATA | INS_READ_DATA_ISO) => {
                return self.corrupt_read_data(&c, rapdu);
            }
            _ => capdu.to_vec(),
        };
        let r = self.inner_transmit(&forwarded);
        self.after(&c, &r);
        put(rapdu, &r)
    }

    /// A new command (not an `AF` continuation) starts.
    fn start(&mut self, c: &frame::Command<'_>) {
        if c.ins == INS_AUTHENTICATE_EV2_FIRST
            || c.ins == INS_AUTHENTICATE_EV2_NON_FIRST
            || INS_LEGACY_AUTHENTICATIONS.contains(&c.ins)
        {
            self.authenticating = c.data.first().map(|k| (c.ins, *k));
        } else if c.ins != ADDITIONAL_FRAME {
            self.authenticating = None;
        }
        self.pending = Some(Pending {
            framing: c.framing,
            ins: c.ins,
            data: c.data.to_vec(),
            queued: Vec::new(),
            fault_in: None,
        });
    }

    /// The inner card answered `c` with `r` (one frame): track selection, authentication and
    /// the end of the answer.
    fn after(&mut self, c: &frame::Command<'_>, r: &[u8]) {
        self.selected(&[], Some(c), r);
        let status = frame::answer(c.framing, r).map(|a| a.status);
        let part2 = c.ins == ADDITIONAL_FRAME && !c.data.is_empty();
        if part2 && let Some((_, key)) = self.authenticating.take() {
            if self.in_app && self.site == FaultSite::Authentication(key) {
                self.commit(format!(
                    "authentication with key {key:02X} answered {:02X}",
                    status.unwrap_or(0xFF)
                ));
            }
            self.pending = None;
            return;
        }
        match status {
            Some(ADDITIONAL_FRAME) => {}
            Some(_) => self.finish_pending(r),
            None => self.pending = None,
        }
    }

    /// T6: the whole ReadData answer fetched ahead, its first MACt byte flipped, handed out in
    /// the card's own frames.
    fn corrupt_read_data(&mut self, c: &frame::Command<'_>, rapdu: &mut [u8]) -> usize {
        let frames = self.inner_answer(c);
        let total: usize = frames.iter().map(|(_, d)| d.len()).sum();
        let ok = matches!(frames.last(), Some((Some(OPERATION_OK), _)));
        let mut datas: Vec<(Option<u8>, Vec<u8>)> = frames;
        let mut fault_frame = None;
        if ok && total >= 8 {
            // The MACt is the last 8 bytes of the joined answer; flip its first byte.
            let mut at = total - 8;
            for (i, (_, d)) in datas.iter_mut().enumerate() {
                if at < d.len() {
                    if let Some(b) = d.get_mut(at) {
                        *b ^= 0x01;
                    }
                    fault_frame = Some(i);
                    break;
                }
                at -= d.len();
            }
        }
        let n = datas.len();
        let queued: Vec<Vec<u8>> = datas
            .into_iter()
            .map(|(status, d)| match status {
                Some(s) => frame::emit_answer(c.framing, s, &d),
                None => d,
            })
            .collect();
        if let Some(p) = self.pending.as_mut() {
            p.queued = queued;
            // Counted as the frames left once the flipped one is out. The fault is committed
            // with the last frame: only then does the reader hold the whole MACt.
            p.fault_in = fault_frame.map(|i| n - 1 - i);
        }
        self.next_queued(rapdu)
    }

    /// T13: the recorded answer to `c`, framed as the reader asked.
    fn replay(&mut self, c: &frame::Command<'_>, rapdu: &mut [u8]) -> usize {
        let Behaviour::Replay(rec) = &self.behaviour else {
            return 0;
        };
        let part2 = c.ins == ADDITIONAL_FRAME && !c.data.is_empty();
        let key = match self.authenticating {
            Some((ins, _)) if part2 => ReplayKey::AuthenticationPart2(ins),
            _ => ReplayKey::Command(normalise(c.ins)),
        };
        self.used.resize(rec.answers.len(), false);
        let found = rec
            .answers
            .iter()
            .enumerate()
            .find(|(i, a)| a.to == key && !self.used.get(*i).copied().unwrap_or(true))
            .map(|(i, a)| (i, a.status, a.data.clone()));
        let Some((i, status, data)) = found else {
            self.note("nothing recorded for this command: answered AE");
            self.pending = None;
            return put(
                rapdu,
                &frame::emit_answer(c.framing, AUTHENTICATION_ERROR, &[]),
            );
        };
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        if part2 {
            self.authenticating = None;
            self.replaying = true;
            self.pending = None;
            self.commit(format!(
                "replayed recorded answer {}: the old proof of RndA",
                i + 1
            ));
            return put(rapdu, &frame::emit_answer(c.framing, status, &data));
        }
        self.note(format!("replayed recorded answer {}", i + 1));
        // Native ReadData is answered in 59-byte frames as the card would; anything else whole.
        let size = if c.ins == INS_READ_DATA && data.len() > 59 {
            59
        } else {
            data.len().max(1)
        };
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(size).collect()
        };
        let last = chunks.len() - 1;
        let queued = chunks
            .iter()
            .enumerate()
            .map(|(k, d)| {
                let s = if k == last { status } else { ADDITIONAL_FRAME };
                frame::emit_answer(c.framing, s, d)
            })
            .collect();
        if let Some(p) = self.pending.as_mut() {
            p.queued = queued;
        }
        let n = self.next_queued(rapdu);
        self.pending = self.pending.take().filter(|p| !p.queued.is_empty());
        n
    }
}

/// The credential-file bytes a ReadData header (`FileNo Offset(3) Length(3)`, then maybe a
/// MACt) asks for: `offset..offset + length`, or to the end of the file for length 0.
fn credential_range(header: &[u8]) -> Option<std::ops::Range<usize>> {
    let [file, o0, o1, o2, l0, l1, l2] = *header.first_chunk::<7>()?;
    if file != CREDENTIAL_FILE {
        return None;
    }
    let offset = usize::from(o0) | usize::from(o1) << 8 | usize::from(o2) << 16;
    let length = usize::from(l0) | usize::from(l1) << 8 | usize::from(l2) << 16;
    let end = if length == 0 {
        CREDENTIAL_FILE_SIZE
    } else {
        offset.saturating_add(length).min(CREDENTIAL_FILE_SIZE)
    };
    Some(offset..end)
}

fn put(rapdu: &mut [u8], bytes: &[u8]) -> usize {
    match rapdu.get_mut(..bytes.len()) {
        Some(out) => {
            out.copy_from_slice(bytes);
            bytes.len()
        }
        None => 0,
    }
}

impl<C: VirtualCard> VirtualCard for Behaving<C> {
    fn atr(&self) -> &[u8] {
        self.card.atr()
    }

    fn power_on(&mut self) {
        // A card is built for one presentation, in which pcscd may power it up and reset it
        // more than once: what the reader met stays met (`committed` is never cleared).
        self.in_app = false;
        self.pending = None;
        self.authenticating = None;
        self.replaying = false;
        self.used.clear();
        self.last_fault = None;
        self.card.power_on();
        if self.site == FaultSite::Activation {
            // The reader meets the UID at activation, whatever it does next.
            self.committed = true;
        }
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }

    fn reset(&mut self) {
        self.power_off();
        self.power_on();
    }

    fn answered_by_reader(&mut self, capdu: &[u8], rapdu: &[u8]) {
        self.card.answered_by_reader(capdu, rapdu);
    }

    fn anticollision_uid(&self) -> &[u8] {
        match &self.behaviour {
            Behaviour::AnticollisionOnly { uid } => uid,
            Behaviour::Replay(r) => &r.uid,
            _ => self.card.anticollision_uid(),
        }
    }

    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.last_fault = None;
        match &self.behaviour {
            Behaviour::AnticollisionOnly { .. } => {
                self.note("no DESFire behind the UID");
                put(rapdu, &SW_FILE_NOT_FOUND)
            }
            Behaviour::Delay(d) => {
                let d = *d;
                let n = self.exchange(capdu, rapdu);
                std::thread::sleep(d);
                self.commit(format!("relayed: answered {} ms late", d.as_millis()));
                n
            }
            _ => self.exchange(capdu, rapdu),
        }
    }
}

#[cfg(test)]
mod tests;
