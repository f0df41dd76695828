//! Known-bad reader models: the GEN-PACS reader procedure (`specs/generic-encoding.md` §12)
//! written from the engine's public building blocks, with exactly one flaw each. The audit
//! (`host_tools::audit`) must catch every one of them with at least one test card
//! (`tests/tests/audit_catch.rs`).
//!
//! A model runs over any `desfire_core::pcd::Transport` ([`read_over`]), so the same models can
//! run as an external reader command against a PC/SC reader. The UID-only model is the
//! product's [`UidOnlyReader`] (the one implementation, which `desfire demo` shows).
//!
//! The models read file 01 themselves rather than through `Desfire::execute`, because the
//! engine makes the flaws impossible (it never hands out unverified data): they take RndA from
//! the RNG they pass to the handshake, RndB from the card's challenge, derive the session keys
//! (`SessionKeys::derive`) and open the answer with a `SecureChannel`, skipping what their flaw
//! skips.

use desfire_core::crypto::ev2::{Direction, SecureChannel, SessionKeys};
use desfire_core::crypto::{AesKey, Random16, aes, cbc_decrypt, decrypt_block, unpad_iso9797_m2};
use desfire_core::encoding::{
    AppKey, CCF_FILE_NO, CCF_FILE_SIZE, CardKey, CredentialError, DenyReason, IssuerKey,
    KeyProvider, Masters, ParsedCcf, RealUid, Revocation, SignatureError, check_revocation,
    check_validity, select_gen_pacs, verify_signature_at,
};
use desfire_core::pcd::commands::{ReadData, Uid, get_card_uid, get_key_version, read_sig};
use desfire_core::pcd::{Desfire, Error, FrameSize, ProtocolError, Transport};
use desfire_core::wire::{Aid, CLA_NATIVE, CommMode, Ins, Status, U24};
use host_tools::audit::reader::{CardLink, Observation, ReaderUnderTest, UidOnlyReader};
use host_tools::framing::Variant;
use host_tools::profile::Profile;
use host_tools::virtual_card::VirtualCard;

/// The one flaw of a model reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// Grants on the anticollision UID alone (§11, T1).
    UidOnly,
    /// Takes the ReadData answer as it comes (R4, R3): never verifies its MAC, and takes a
    /// Plain or MAC-mode answer as the credential.
    NoResponseMac,
    /// Checks the ReadData answer's length (a Plain or MAC-mode answer is `DOWNGRADE`) but
    /// never verifies the MAC value (R4).
    MacLengthOnly,
    /// Accepts the credential file answered in Plain or MAC mode (R3).
    AcceptsDowngrade,
    /// Does not verify the issuer signature (R8).
    SkipsSignature,
    /// Does not check the validity window (R9).
    SkipsExpiry,
    /// Authenticates with the K2 master instead of the card's diversified K2 (R7).
    UndiversifiedKey,
    /// Verifies the signature over the enrolled card's UID, not the real UID the card proved
    /// (§8.6: the binding that stops transplants).
    NotUidBound,
    /// Does not consult the controller's revocation list (§10).
    SkipsRevocation,
}

impl Flaw {
    /// Every flaw.
    pub const ALL: [Flaw; 9] = [
        Flaw::UidOnly,
        Flaw::NoResponseMac,
        Flaw::MacLengthOnly,
        Flaw::AcceptsDowngrade,
        Flaw::SkipsSignature,
        Flaw::SkipsExpiry,
        Flaw::UndiversifiedKey,
        Flaw::NotUidBound,
        Flaw::SkipsRevocation,
    ];

    /// The name `--reader NAME` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Flaw::UidOnly => "uid-only",
            Flaw::NoResponseMac => "no-response-mac",
            Flaw::MacLengthOnly => "mac-length-only",
            Flaw::AcceptsDowngrade => "accepts-downgrade",
            Flaw::SkipsSignature => "skips-signature",
            Flaw::SkipsExpiry => "skips-expiry",
            Flaw::UndiversifiedKey => "undiversified-key",
            Flaw::NotUidBound => "not-uid-bound",
            Flaw::SkipsRevocation => "skips-revocation",
        }
    }

    /// The flaw named `name`.
    pub fn from_name(name: &str) -> Option<Flaw> {
        Flaw::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What a model reader knows: keys, trusted issuer keys, time, and its enrolment.
#[derive(Debug, Clone)]
pub struct ModelSetup {
    /// The application.
    pub aid: Aid,
    /// The masters (K1 and K2 are used).
    pub masters: Masters,
    /// Trusted issuer keys.
    pub issuer_keys: Vec<IssuerKey>,
    /// Trusted time (Unix seconds).
    pub now: u32,
    /// The controller's revocation list (§10).
    pub revocation: Vec<Revocation>,
    /// The enrolled card's real UID (what [`Flaw::NotUidBound`] verifies signatures over).
    pub enrolled_uid: RealUid,
    /// The UID-only model with its enrolment.
    pub uid_only: UidOnlyReader,
    /// The GEN-PACS application's DF name (selection by name).
    pub df_name: Vec<u8>,
    /// How the model frames its commands.
    pub framing: Variant,
}

impl ModelSetup {
    /// A setup from `profile`'s reader keys.
    pub fn from_profile(
        profile: &Profile,
        now: u32,
        enrolled_uid: RealUid,
        uid_only: UidOnlyReader,
    ) -> Self {
        Self {
            aid: profile.aid,
            masters: profile.masters.clone(),
            issuer_keys: profile.issuer_keys.clone(),
            revocation: profile.revocation.clone(),
            now,
            enrolled_uid,
            uid_only,
            df_name: profile.iso.df_name.clone(),
            framing: Variant::Ad,
        }
    }

    /// The same setup with the models framing as `framing` says.
    pub fn framed(self, framing: Variant) -> Self {
        Self { framing, ..self }
    }
}

/// A model reader with one flaw, as an in-process [`ReaderUnderTest`].
#[derive(Debug)]
pub struct ModelReader {
    /// Its flaw.
    pub flaw: Flaw,
    /// What it knows.
    pub setup: ModelSetup,
}

impl ReaderUnderTest for ModelReader {
    fn name(&self) -> String {
        match self.setup.framing {
            Variant::Ad => format!("model {}", self.flaw.name()),
            f => format!("model {} (framing {f})", self.flaw.name()),
        }
    }

    fn present(&mut self, card: &mut dyn VirtualCard) -> Observation {
        let ac = card.anticollision_uid().to_vec();
        read_over(self.flaw, &mut CardLink(card), &ac, &self.setup)
    }
}

/// A transport that keeps every response, so the model can see the card's challenge.
struct Tap<'a, T> {
    inner: &'a mut T,
    responses: Vec<(u8, Vec<u8>)>,
}

impl<T: Transport> Transport for Tap<'_, T> {
    type Error = T::Error;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.inner.transceive(capdu, rapdu)?;
        let ins = capdu.get(1).copied().unwrap_or(0);
        self.responses
            .push((ins, rapdu.get(..n).unwrap_or(&[]).to_vec()));
        Ok(n)
    }
}

/// The OS RNG, remembering the last 16 bytes drawn (RndA).
struct Remember {
    last: [u8; 16],
}

impl rand_core::RngCore for Remember {
    fn next_u32(&mut self) -> u32 {
        rand_core::TryRngCore::try_next_u32(&mut rand_core::OsRng).unwrap_or(0)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::TryRngCore::try_next_u64(&mut rand_core::OsRng).unwrap_or(0)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let _ = rand_core::TryRngCore::try_fill_bytes(&mut rand_core::OsRng, dst);
        if let Ok(a) = <[u8; 16]>::try_from(&*dst) {
            self.last = a;
        }
    }
}

impl rand_core::CryptoRng for Remember {}

fn deny(r: DenyReason) -> Observation {
    Observation::Deny(Some(r.name().to_owned()))
}

fn common<E>(e: Error<E>) -> DenyReason {
    match e {
        Error::Card(Status::AUTHENTICATION_ERROR)
        | Error::Protocol(ProtocolError::RndAMismatch) => {
            DenyReason::AuthFailed(AppKey::Kuid.key_no())
        }
        Error::Card(s) => DenyReason::CardError(s),
        Error::Protocol(ProtocolError::ResponseMacMismatch) => DenyReason::MacMismatch,
        _ => DenyReason::MalformedResponse,
    }
}

/// Runs the model with `flaw` once against the card behind `transport`; `anticollision_uid` as
/// the front end saw it.
pub fn read_over<T: Transport>(
    flaw: Flaw,
    transport: &mut T,
    anticollision_uid: &[u8],
    setup: &ModelSetup,
) -> Observation {
    if flaw == Flaw::UidOnly {
        return setup.uid_only.decide(anticollision_uid);
    }
    match procedure(flaw, transport, anticollision_uid, setup) {
        Ok(id) => Observation::Grant(id),
        Err(r) => deny(r),
    }
}

fn procedure<T: Transport>(
    flaw: Flaw,
    transport: &mut T,
    anticollision_uid: &[u8],
    setup: &ModelSetup,
) -> Result<u64, DenyReason> {
    // 0. A random ID (§11); fixed UIDs are not allowed in the models' installation.
    if !matches!(anticollision_uid, [0x08, _, _, _]) {
        return Err(DenyReason::UidPolicy);
    }
    let tap = Tap {
        inner: transport,
        responses: Vec::new(),
    };
    let mut d: Desfire<_> = Desfire::new(tap, FrameSize::SHORT_APDU);
    let mut rx = [0u8; 256];
    let mut masters = setup.masters.clone();
    let mut rng = Remember { last: [0; 16] };

    let framing = setup.framing.framing(&setup.df_name);
    // 1. GetVersion, 2. the application, GetFileSettings: as the reference reader frames them.
    select_gen_pacs(&mut d, &framing, setup.aid, &mut rx, common)?;
    // 3. AuthenticateEV2First with K1.
    let k1 = masters
        .card_key(CardKey::App(AppKey::Kuid), &[0; 7])
        .map_err(|_| DenyReason::MalformedResponse)?;
    d.authenticate_ev2_first(AppKey::Kuid.key_no(), &k1, &mut rng)
        .map_err(common)?;
    // 4. GetCardUID.
    let uid: RealUid = {
        let resp = d.execute(&get_card_uid(), &mut rx).map_err(common)?;
        let uid = Uid::parse(&resp).map_err(|_| DenyReason::MalformedResponse)?;
        uid.as_bytes()
            .try_into()
            .map_err(|_| DenyReason::MalformedResponse)?
    };
    if framing.inquisitive {
        d.execute(&get_key_version(AppKey::Read.key_no()), &mut rx)
            .map_err(common)?;
    }
    // 6-7. K2 and AuthenticateEV2NonFirst.
    let k2: AesKey = if flaw == Flaw::UndiversifiedKey {
        masters.read.clone().ok_or(DenyReason::MalformedResponse)?
    } else {
        masters
            .card_key(CardKey::App(AppKey::Read), &uid)
            .map_err(|_| DenyReason::MalformedResponse)?
    };
    d.authenticate_ev2_non_first(AppKey::Read.key_no(), &k2, &mut rng)
        .map_err(|e| match e {
            Error::Card(Status::AUTHENTICATION_ERROR)
            | Error::Protocol(ProtocolError::RndAMismatch) => {
                DenyReason::AuthFailed(AppKey::Read.key_no())
            }
            e => common(e),
        })?;
    // Read_Sig in the session, asked and not judged (the lab's originality policy is off);
    // an inquisitive reader asks it before its ReadData.
    if framing.inquisitive {
        let _ = d.execute(&read_sig(), &mut rx);
    }
    let session = d.session().ok_or(DenyReason::MalformedResponse)?.clone();
    let rnd_a = Random16::new(rng.last);
    let rnd_b = {
        // The card's challenge to AuthenticateEV2NonFirst: E(K2, RndB) ‖ 91 AF.
        let challenge = d
            .transport_mut()
            .responses
            .iter()
            .rev()
            .find(|(ins, _)| *ins == Ins::AUTHENTICATE_EV2_NON_FIRST.0)
            .and_then(|(_, r)| r.get(..16))
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .ok_or(DenyReason::MalformedResponse)?;
        let mut block = challenge;
        decrypt_block(&aes(&k2), &mut block);
        Random16::new(block)
    };
    let channel = SecureChannel::new(
        &SessionKeys::derive(&k2, &rnd_a, &rnd_b),
        session.ti(),
        session.cmd_ctr(),
    );

    // 9. ReadData of 160 bytes, Full, ISO chaining; the answer opened by hand.
    let length = if framing.read_whole_file {
        0
    } else {
        CCF_FILE_SIZE as u8
    };
    let read = ReadData {
        chaining: framing.read_chaining,
        ..ReadData::new(
            CCF_FILE_NO,
            U24::from_wire([0; 3]),
            U24::from_wire([length, 0, 0]),
            CommMode::Full,
        )
    };
    let cmd = read.command();
    let mut body = [0u8; 64];
    let n = session
        .seal_command(&cmd, &mut body)
        .map_err(|_| DenyReason::MalformedResponse)?;
    let body = body.get(..n).ok_or(DenyReason::MalformedResponse)?;
    let mut capdu = vec![CLA_NATIVE, cmd.ins().0, 0, 0, n as u8];
    capdu.extend_from_slice(body);
    capdu.push(0);
    let mut data = Vec::new();
    let mut frame = capdu;
    let status = loop {
        let n = d
            .transport_mut()
            .transceive(&frame, &mut rx)
            .map_err(|_| DenyReason::MalformedResponse)?;
        let r = rx.get(..n).ok_or(DenyReason::MalformedResponse)?;
        let (payload, sw) = r
            .split_at_checked(n.saturating_sub(2))
            .ok_or(DenyReason::MalformedResponse)?;
        data.extend_from_slice(payload);
        match sw {
            [0x91, 0xAF] if data.len() < 1024 => {
                frame = vec![CLA_NATIVE, Ins::ADDITIONAL_FRAME.0, 0, 0, 0]
            }
            [0x91, s] | [0x90, s] if *s == 0 => break 0,
            [_, s] => break *s,
            _ => return Err(DenyReason::MalformedResponse),
        }
    };
    if status != 0 {
        return Err(DenyReason::CardError(Status(status)));
    }
    let takes_any = matches!(flaw, Flaw::AcceptsDowngrade | Flaw::NoResponseMac);
    let file: Vec<u8> = match data.len() {
        CCF_FILE_SIZE if takes_any => data,
        168 if takes_any => data.get(..CCF_FILE_SIZE).unwrap_or(&[]).to_vec(),
        CCF_FILE_SIZE | 168 => return Err(DenyReason::Downgrade),
        184 => {
            let (ct, mac) = data.split_at(176);
            let checks_mac = !matches!(flaw, Flaw::NoResponseMac | Flaw::MacLengthOnly);
            if checks_mac && !channel.response_mac_matches(0x00, ct, mac) {
                return Err(DenyReason::MacMismatch);
            }
            let mut ct = ct.to_vec();
            let iv = channel
                .iv(Direction::Response)
                .ok_or(DenyReason::MalformedResponse)?;
            cbc_decrypt(channel.enc_cipher(), &iv, &mut ct)
                .map_err(|_| DenyReason::MalformedResponse)?;
            let len = unpad_iso9797_m2(&ct).map_err(|_| DenyReason::MalformedResponse)?;
            if len != CCF_FILE_SIZE {
                return Err(DenyReason::MalformedResponse);
            }
            ct.truncate(len);
            ct
        }
        _ => return Err(DenyReason::MalformedResponse),
    };

    // 10. §8.5.
    let ccf = ParsedCcf::parse(&file).map_err(|e| match e {
        CredentialError::UnsupportedVersion(v) => DenyReason::UnknownVersion(v),
        CredentialError::UnknownCriticalTag(t) => DenyReason::UnknownCriticalTag(t),
        e => DenyReason::MalformedCredential(e),
    })?;
    if flaw != Flaw::SkipsSignature {
        let bound_to = if flaw == Flaw::NotUidBound {
            setup.enrolled_uid
        } else {
            uid
        };
        verify_signature_at(&ccf, &bound_to, setup.aid, &setup.issuer_keys, setup.now).map_err(
            |e| match e {
                SignatureError::UnknownKeyId(k) => DenyReason::UnknownIssuerKey(k),
                SignatureError::UnsupportedAlgorithm(a) => DenyReason::UnsupportedAlgorithm(a),
                SignatureError::BadSignature => DenyReason::BadSignature,
            },
        )?;
    }
    if flaw != Flaw::SkipsExpiry {
        check_validity(&ccf.credential, setup.now)?;
    }
    if flaw != Flaw::SkipsRevocation {
        check_revocation(&setup.revocation, &ccf.credential)?;
    }
    Ok(ccf.credential.credential_id)
}
