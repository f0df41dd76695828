//! The reader application: wait for a card, run the GEN-PACS reader procedure (spec §12) over
//! the front end, decide, signal, and output a GRANT to the panel, once (spec §14). Board
//! independent: the RF front end, the LED/buzzer, the tamper input and the panel line come in
//! through the traits below, so the whole decision runs on the host against mocks.

use desfire_core::encoding::{
    Credential, DenyReason, KeyProvider, Masters, OriginalityPolicy, ReaderConfig, Verdict,
    read_card,
};
use desfire_core::pcd::Transport;
use heapless::Vec;

/// The anticollision result of an activated ISO/IEC 14443-4 A card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The anticollision UID (4 bytes starting `08` for a Random ID).
    pub uid: Vec<u8, 10>,
}

/// The RF front end (a PN532, a PC/SC reader, a mock).
pub trait FrontEnd {
    /// The front end's error.
    type Error: core::fmt::Debug;
    /// Looks for a card and activates it up to ISO-DEP. `None` when there is none.
    fn activate(&mut self) -> Result<Option<Activation>, Self::Error>;
    /// Sends a C-APDU to the activated card and writes its R-APDU into `rapdu`.
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error>;
    /// Ends the card session (DESELECT); the card must leave before it is read again.
    fn release(&mut self) -> Result<(), Self::Error>;
}

/// What the reader shows the holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Signal {
    /// Green LED and a short beep.
    Grant,
    /// Red LED and a long beep.
    Deny,
    /// The housing was opened: red flashing, no reads.
    Tamper,
}

/// LED and buzzer.
pub trait Signals {
    /// Shows `signal`.
    fn indicate(&mut self, signal: Signal);
}

/// The tamper switch (R17).
pub trait TamperInput {
    /// Whether the housing is open.
    fn tampered(&mut self) -> bool;
}

/// What became of a granted read handed to the panel line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Delivery {
    /// Still on its way (queued, or sent and not yet acknowledged).
    Waiting,
    /// The panel has it.
    Taken,
    /// It never reached the panel (too old, or the line's session ended).
    Lost,
}

/// A key store the reader can wipe when its housing is opened (R17): every secret it holds is
/// zeroized in RAM. Persistent copies (the key record in flash) are the board's to erase when
/// [`Event::Tamper`]`(true)` comes out of [`Reader::poll`].
pub trait Wipe {
    /// Zeroizes every key; afterwards the store answers no key request.
    fn wipe(&mut self);
}

impl Wipe for Masters {
    fn wipe(&mut self) {
        // Each `AesKey` is zeroized as it is dropped.
        for key in [
            &mut self.picc,
            &mut self.amk,
            &mut self.kuid,
            &mut self.read,
            &mut self.write,
            &mut self.delegated_read,
            &mut self.reserved,
        ] {
            *key = None;
        }
        self.read_next = None;
    }
}

/// The line to the panel: OSDP, Wiegand, or both.
pub trait Panel {
    /// Sends a granted credential in the installation's format. Called once per GRANT and
    /// never for a denied card. A format that cannot carry the credential is a deny reason
    /// (`NO_LEGACY_IMAGE` for Wiegand without tag 86), and then nothing was sent.
    fn grant(&mut self, credential: &Credential) -> Result<(), DenyReason>;
    /// Whether the panel has taken the last granted read; the reader shows GRANT only then.
    /// A line that sends synchronously (Wiegand) has delivered when `grant` returns.
    fn delivery(&mut self) -> Delivery {
        Delivery::Taken
    }
    /// Reports the tamper input (OSDP local status). On `true` the line also wipes its own
    /// keys (the OSDP SCBK) once the report is out.
    fn tamper(&mut self, active: bool);
}

/// What one [`Reader::poll`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// No new card.
    Idle,
    /// The tamper input changed. On `true` the keys in RAM were wiped (the board erases its
    /// key record) and the reader reads no card again.
    Tamper(bool),
    /// A card was granted and its read handed to the panel line, which has not taken it yet:
    /// its credential ID. Nothing is shown to the holder yet.
    Queued(u64),
    /// The panel took the read of a granted card (and the holder was shown GRANT): its
    /// credential ID.
    Granted(u64),
    /// The read of a granted card never reached the panel (too old, or the session ended):
    /// the holder was shown DENY, since the door will not open.
    NotTaken(u64),
    /// A card was denied: the spec §13 reason (for the audit log; never card data).
    Denied(DenyReason),
}

/// Why a reader configuration cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StartError {
    /// The profile asks for step 12 (originality `log` or `require`) and this image was built
    /// without it (the `reader` feature `originality`).
    OriginalityNotBuilt,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OriginalityNotBuilt => f.write_str(
                "the profile asks for the originality check, and this image was built without it",
            ),
        }
    }
}

impl core::error::Error for StartError {}

/// Whether this image can run `config` as the profile asks. A board calls it before it builds
/// the [`Reader`] and refuses to start on an error: a policy this image cannot apply is never
/// quietly weakened. (A reader built anyway denies every card, [`DenyReason::OriginalityFailed`].)
pub fn check_config(config: &ReaderConfig<'_>) -> Result<(), StartError> {
    if config.originality != OriginalityPolicy::Off && !cfg!(feature = "originality") {
        return Err(StartError::OriginalityNotBuilt);
    }
    Ok(())
}

/// The reader: its configuration, key store and RNG, and whether the last card is still there.
pub struct Reader<'a, F, K, R> {
    front: F,
    config: ReaderConfig<'a>,
    keys: K,
    rng: R,
    card_present: bool,
    tampered: bool,
    /// A granted read the panel has not taken yet: no other card is read meanwhile.
    pending: Option<u64>,
    /// The keys were wiped (the housing was opened): no card is read again.
    wiped: bool,
}

impl<F, K, R> core::fmt::Debug for Reader<'_, F, K, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reader")
            .field("card_present", &self.card_present)
            .field("tampered", &self.tampered)
            .finish_non_exhaustive()
    }
}

/// The front end as the engine's transport.
struct Link<'f, F>(&'f mut F);

impl<F: FrontEnd> Transport for Link<'_, F> {
    type Error = F::Error;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.transceive(capdu, rapdu)
    }
}

impl<'a, F: FrontEnd, K: KeyProvider + Wipe, R: rand_core::CryptoRng> Reader<'a, F, K, R> {
    /// A reader over `front` with the profile's `config` and `keys`.
    pub fn new(front: F, config: ReaderConfig<'a>, keys: K, rng: R) -> Self {
        Self {
            front,
            config,
            keys,
            rng,
            card_present: false,
            tampered: false,
            pending: None,
            wiped: false,
        }
    }

    /// Whether `now` given to [`Reader::poll`] is trusted time, or only a lower bound (spec
    /// R18: then only `EXPIRED` is decided here, the rest by the controller).
    pub fn set_trusted_time(&mut self, trusted: bool) {
        self.config.trusted_time = trusted;
    }

    /// The key store (what is left of it after a wipe).
    pub fn keys(&self) -> &K {
        &self.keys
    }

    /// The front end (for the board's own use between polls).
    pub fn front_end(&mut self) -> &mut F {
        &mut self.front
    }

    /// One round: the tamper input, then at most one card. `now` is trusted time (Unix
    /// seconds) for the validity window.
    pub fn poll(
        &mut self,
        panel: &mut impl Panel,
        signals: &mut impl Signals,
        tamper: &mut impl TamperInput,
        now: u32,
    ) -> Event {
        let t = tamper.tampered();
        if t != self.tampered {
            self.tampered = t;
            panel.tamper(t);
            if t {
                // R17: the keys go at once, in RAM here, in flash by the board; a pending read
                // is left to the panel line's own rules.
                self.keys.wipe();
                self.wiped = true;
                signals.indicate(Signal::Tamper);
            }
            return Event::Tamper(t);
        }
        if t || self.wiped {
            // An opened reader reads no cards, and one whose keys were wiped never again.
            return Event::Idle;
        }
        if let Some(id) = self.pending {
            return self.settle(panel, signals, id);
        }
        let activation = match self.front.activate() {
            Ok(Some(a)) => a,
            Ok(None) => {
                self.card_present = false;
                return Event::Idle;
            }
            Err(_) => {
                // The front end failed to poll: no card was involved, nothing to deny.
                self.card_present = false;
                return Event::Idle;
            }
        };
        if self.card_present {
            // The card already read is still in the field.
            return Event::Idle;
        }
        self.card_present = true;
        let verdict = self.transact(panel, &activation.uid, now);
        match verdict {
            Ok(id) => {
                self.pending = Some(id);
                match self.settle(panel, signals, id) {
                    Event::Idle => Event::Queued(id),
                    e => e,
                }
            }
            Err(r) => {
                signals.indicate(Signal::Deny);
                Event::Denied(r)
            }
        }
    }

    /// Shows the holder what became of the pending read `id`: GRANT once the panel took it,
    /// DENY if it was lost; nothing while it waits.
    fn settle(&mut self, panel: &mut impl Panel, signals: &mut impl Signals, id: u64) -> Event {
        match panel.delivery() {
            Delivery::Waiting => Event::Idle,
            Delivery::Taken => {
                self.pending = None;
                signals.indicate(Signal::Grant);
                Event::Granted(id)
            }
            Delivery::Lost => {
                self.pending = None;
                signals.indicate(Signal::Deny);
                Event::NotTaken(id)
            }
        }
    }

    /// The reader procedure against the activated card, then the output of a GRANT. Not
    /// inlined into the caller: the engine's buffers and the credential then live in this frame
    /// only, not under the board's main loop (stack high-water mark).
    #[inline(never)]
    fn transact(
        &mut self,
        panel: &mut impl Panel,
        uid: &[u8],
        now: u32,
    ) -> Result<u64, DenyReason> {
        if check_config(&self.config).is_err() {
            // Fail closed: the card stays unread, the policy is not applied by half.
            let _ = self.front.release();
            return Err(DenyReason::OriginalityFailed);
        }
        // Off already (checked above); spelled out so the linker drops step 12's P-224 code.
        #[cfg(not(feature = "originality"))]
        let config = ReaderConfig {
            originality: OriginalityPolicy::Off,
            originality_keys: &[],
            ..self.config
        };
        #[cfg(feature = "originality")]
        let config = self.config;
        let verdict = read_card(
            &mut Link(&mut self.front),
            &config,
            &mut self.keys,
            &mut self.rng,
            uid,
            now,
        )
        .verdict;
        // DESELECT is a courtesy to the card: the verdict is already final, and a card that
        // does not answer it has left the field anyway.
        let _ = self.front.release();
        match verdict {
            Verdict::Grant(c) => panel.grant(&c).map(|()| c.credential_id),
            Verdict::Deny(r) => Err(r),
        }
    }
}
