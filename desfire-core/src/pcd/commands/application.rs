//! Application commands: SelectApplication, ISOSelectFile by DF name, GetApplicationIDs,
//! GetDFNames, CreateApplication, DeleteApplication (MF3D(H)x3 "PICC level commands").

use super::{Hex, InvalidParameter, fixed, with_header};
use crate::pcd::command::{Command, MAX_HEADER, Response};
use crate::pcd::{Desfire, Error, ProtocolError, Transport};
use crate::wire::KeySettings;
use crate::wire::{self, Aid, Ins, RApdu, Reader, Status, Writer};

/// Longest DF name (ISO/IEC 7816-4 application identifier as DESFire stores it).
pub const MAX_DF_NAME: usize = 16;

/// A DF name: 1 to [`MAX_DF_NAME`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DfName<'a>(&'a [u8]);

impl<'a> DfName<'a> {
    /// `None` unless 1 to 16 bytes long.
    pub fn new(name: &'a [u8]) -> Option<Self> {
        (1..=MAX_DF_NAME)
            .contains(&name.len())
            .then_some(Self(name))
    }

    /// The name bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl core::fmt::Display for DfName<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        Hex(self.0).fmt(f)
    }
}

/// `SelectApplication` (`5A`): selects an application, or the PICC level with [`Aid::PICC`].
///
/// Selecting ends any authentication: the card answers a bare `9100` without MAC, so the
/// command is Plain and ends the session.
pub fn select_application(aid: Aid) -> Command<'static> {
    fixed(Ins::SELECT_APPLICATION, aid.to_wire())
}

/// CLA, INS, P1 and P2 of ISOSelectFile by DF name without response data (ISO/IEC 7816-4
/// SELECT: P1 `04` select by DF name, P2 `0C` first or only occurrence, no FCI returned).
const ISO_SELECT_BY_NAME: [u8; 4] = [0x00, Ins::ISO_SELECT_FILE.0, 0x04, 0x0C];

/// Emits ISOSelectFile by DF name, `00 A4 04 0C Lc DFName 00` (as AN12196 sends it).
pub fn emit_iso_select_df_name(name: DfName<'_>, out: &mut [u8]) -> Result<usize, wire::Error> {
    let lc = u8::try_from(name.0.len()).map_err(|_| wire::Error::BadLength)?;
    let mut w = Writer::new(out);
    w.put(&ISO_SELECT_BY_NAME)?;
    w.put_u8(lc)?;
    w.put(name.0)?;
    w.put_u8(0x00)?;
    Ok(w.len())
}

/// Checks the answer to ISOSelectFile: `9000` and no data.
///
/// Any other ISO status word (`6A82` file not found, `6700` wrong length, …) is
/// [`wire::Error::NotDesfireStatus`] carrying it; a native `91xx` status is [`Error::Card`].
pub fn check_iso_select_response(rapdu: &[u8]) -> Result<(), Error> {
    let r = RApdu::parse(rapdu)?;
    match (r.sw1, r.sw2) {
        (0x90, 0x00) if r.data.is_empty() => Ok(()),
        (0x90, 0x00) => Err(wire::Error::TrailingData.into()),
        (0x91, sw2) => Err(Error::Card(Status(sw2))),
        (sw1, sw2) => Err(wire::Error::NotDesfireStatus { sw1, sw2 }.into()),
    }
}

/// Selects an application by its DF name with ISOSelectFile, over `d`'s transport.
///
/// Selecting ends any authentication on the card, so the reader's session is dropped first,
/// whatever the outcome: a failed select leaves the card's authentication state unknown.
pub fn iso_select_df_name<T: Transport, const N: usize>(
    d: &mut Desfire<T, N>,
    name: &[u8],
) -> Result<(), Error<T::Error>> {
    let name = DfName::new(name).ok_or(InvalidParameter::DfNameLength)?;
    d.end_session();
    let mut capdu = [0u8; 5 + MAX_DF_NAME + 1];
    let n = emit_iso_select_df_name(name, &mut capdu)?;
    let capdu = capdu.get(..n).ok_or(wire::Error::BufferTooSmall)?;
    let mut rapdu = [0u8; 256 + 2];
    let len = d
        .transport_mut()
        .transceive(capdu, &mut rapdu)
        .map_err(Error::Transport)?;
    let rapdu = rapdu.get(..len).ok_or(ProtocolError::ResponseTooLong)?;
    check_iso_select_response(rapdu).map_err(Error::lift)
}

/// `GetApplicationIDs` (`6A`): the AIDs on the card. MACed when authenticated.
pub fn get_application_ids() -> Command<'static> {
    fixed(Ins::GET_APPLICATION_IDS, [])
}

/// The GetApplicationIDs response: 3 bytes per AID, LSB first, over as many frames as needed.
///
/// Kept as the verified bytes rather than a fixed-capacity list: EV1 holds at most 28
/// applications (status `COUNT_ERROR`), but EV2 and EV3 are limited only by memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApplicationIds<'a>(&'a [u8]);

impl<'a> ApplicationIds<'a> {
    /// Parses the response. `000000` in the list is refused: it is the PICC, not an application.
    pub fn parse(resp: &Response<'a>) -> Result<Self, wire::Error> {
        let data = resp.data();
        let (chunks, rest) = data.as_chunks::<3>();
        if !rest.is_empty() {
            return Err(wire::Error::BadLength);
        }
        if chunks.iter().any(|c| Aid::from_wire(*c) == Aid::PICC) {
            return Err(wire::Error::BadValue);
        }
        Ok(Self(data))
    }

    /// The AIDs, in card order.
    pub fn iter(&self) -> impl Iterator<Item = Aid> + 'a {
        self.0.as_chunks::<3>().0.iter().map(|c| Aid::from_wire(*c))
    }

    /// How many applications.
    pub const fn len(&self) -> usize {
        self.0.len() / 3
    }

    /// Whether the card has no application.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `aid` is on the card.
    pub fn contains(&self, aid: Aid) -> bool {
        self.iter().any(|a| a == aid)
    }
}

impl core::fmt::Display for ApplicationIds<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_empty() {
            return f.write_str("no applications");
        }
        for (i, aid) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{aid}")?;
        }
        Ok(())
    }
}

/// `GetDFNames` (`6D`): AID, ISO file identifier and DF name of every application that has
/// them. MACed when authenticated.
pub fn get_df_names() -> Command<'static> {
    fixed(Ins::GET_DF_NAMES, [])
}

/// One application of GetDFNames: one response frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DfNameEntry<'a> {
    /// The application.
    pub aid: Aid,
    /// Its ISO/IEC 7816-4 file identifier (LSB first on the wire).
    pub file_id: u16,
    /// Its DF name.
    pub name: DfName<'a>,
}

impl<'a> DfNameEntry<'a> {
    /// `AID(3) ISOFileID(2) DFName(1..16)`.
    fn decode(frame: &'a [u8]) -> Result<Self, wire::Error> {
        let mut r = Reader::new(frame);
        let aid = Aid::from_wire(r.array()?);
        let file_id = r.u16_le()?;
        let name = r.rest();
        let name = match DfName::new(name) {
            Some(n) => n,
            None if name.is_empty() => return Err(wire::Error::Truncated),
            None => return Err(wire::Error::BadLength),
        };
        Ok(Self { aid, file_id, name })
    }
}

impl core::fmt::Display for DfNameEntry<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} FID {:04X} DF name {}",
            self.aid, self.file_id, self.name
        )
    }
}

/// The GetDFNames response, checked frame by frame (each application is one frame, and
/// the DF name has no length field, so the frame boundaries are its only delimiter).
#[derive(Debug, Clone, Copy)]
pub struct DfNames<'r, 'a> {
    resp: &'r Response<'a>,
}

impl<'r, 'a> DfNames<'r, 'a> {
    /// Parses the response: every frame must be one well-formed entry.
    pub fn parse(resp: &'r Response<'a>) -> Result<Self, wire::Error> {
        for frame in resp.frames() {
            DfNameEntry::decode(frame)?;
        }
        Ok(Self { resp })
    }

    /// The entries, in card order.
    pub fn iter(&self) -> impl Iterator<Item = DfNameEntry<'a>> + 'r {
        // Every frame decoded in `parse`, so nothing is dropped here.
        self.resp
            .frames()
            .filter_map(|frame| DfNameEntry::decode(frame).ok())
    }
}

impl core::fmt::Display for DfNames<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut any = false;
        for (i, entry) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{entry}")?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            f.write_str("no DF names")
        }
    }
}

/// The ISO identity of a new application: file identifier and DF name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IsoApplication<'a> {
    /// ISO/IEC 7816-4 file identifier of the DF.
    pub file_id: u16,
    /// DF name, for ISOSelectFile by name.
    pub df_name: DfName<'a>,
}

/// Application key set parameters of CreateApplication, present when KeySett3 bit 0 is set
/// (EV2 and later). Sent as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeySets {
    /// AKS version: the version of the active key set.
    pub version: u8,
    /// Number of key sets.
    pub count: u8,
    /// Largest key size of any key set (16 for AES).
    pub max_key_size: u8,
    /// Application key set settings.
    pub settings: u8,
}

/// `CreateApplication` (`CA`) of an AES application. MACed when authenticated.
///
/// Header: `AID(3) KeySett1 KeySett2 [KeySett3] [AKSVersion NoKeySets MaxKeySize
/// AppKeySetSett] [ISOFileID(2) DFName(1..16)]`. KeySett2 is built here: bits 7..6 `10` (AES),
/// bit 5 ISO identity present, bit 4 KeySett3 present, bits 3..0 the number of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreateApplication<'a> {
    /// The new application's AID (not `000000`).
    pub aid: Aid,
    /// KeySett1: the application master key settings.
    pub settings: KeySettings,
    /// Number of keys, 1 to 14.
    pub key_count: u8,
    /// ISO file identifier and DF name, for ISO/IEC 7816-4 access.
    pub iso: Option<IsoApplication<'a>>,
    /// KeySett3, sent as given (EV2 and later). Bit 0 means [`Self::key_sets`] follows.
    pub key_sett3: Option<u8>,
    /// Key set parameters; given exactly when KeySett3 bit 0 is set.
    pub key_sets: Option<KeySets>,
}

/// KeySett2 bits 7..6 for AES keys.
const KEY_SETT2_AES: u8 = 0x80;
/// KeySett2 bit 5: ISO file identifier and DF name follow.
const KEY_SETT2_ISO: u8 = 0x20;
/// KeySett2 bit 4: KeySett3 follows.
const KEY_SETT2_SETT3: u8 = 0x10;

impl<'a> CreateApplication<'a> {
    /// An AES application with `key_count` keys, no ISO identity and no key sets.
    pub const fn new(aid: Aid, settings: KeySettings, key_count: u8) -> Self {
        Self {
            aid,
            settings,
            key_count,
            iso: None,
            key_sett3: None,
            key_sets: None,
        }
    }

    /// With an ISO file identifier and DF name.
    pub const fn with_iso(mut self, file_id: u16, df_name: DfName<'a>) -> Self {
        self.iso = Some(IsoApplication { file_id, df_name });
        self
    }

    /// The command.
    pub fn command(&self) -> Result<Command<'static>, InvalidParameter> {
        if self.aid == Aid::PICC {
            return Err(InvalidParameter::PiccAid);
        }
        if !(1..=crate::wire::KeyNo::MAX_KEYS).contains(&self.key_count) {
            return Err(InvalidParameter::KeyCount);
        }
        let sets_flag = self.key_sett3.is_some_and(|s| s & 0x01 != 0);
        if sets_flag != self.key_sets.is_some() {
            return Err(InvalidParameter::KeySets);
        }
        if let Some(iso) = &self.iso {
            reject_reserved_fid(iso.file_id)?;
        }
        let mut sett2 = KEY_SETT2_AES | self.key_count;
        if self.iso.is_some() {
            sett2 |= KEY_SETT2_ISO;
        }
        if self.key_sett3.is_some() {
            sett2 |= KEY_SETT2_SETT3;
        }
        let mut header = [0u8; MAX_HEADER];
        let mut w = Writer::new(&mut header);
        let too_long = |_| InvalidParameter::TooLong;
        w.put(&self.aid.to_wire()).map_err(too_long)?;
        w.put(&[self.settings.byte(), sett2]).map_err(too_long)?;
        if let Some(sett3) = self.key_sett3 {
            w.put_u8(sett3).map_err(too_long)?;
        }
        if let Some(k) = self.key_sets {
            w.put(&[k.version, k.count, k.max_key_size, k.settings])
                .map_err(too_long)?;
        }
        if let Some(iso) = &self.iso {
            w.put(&iso.file_id.to_le_bytes()).map_err(too_long)?;
            w.put(iso.df_name.as_bytes()).map_err(too_long)?;
        }
        with_header(Ins::CREATE_APPLICATION, w.written())
    }
}

/// ISO/IEC 7816-4 reserves `3F00` (the MF, the PICC level on DESFire), `3FFF` (current
/// DF in paths) and `FFFF`.
pub(super) fn reject_reserved_fid(fid: u16) -> Result<(), InvalidParameter> {
    match fid {
        0x3F00 | 0x3FFF | 0xFFFF => Err(InvalidParameter::ReservedFileId),
        _ => Ok(()),
    }
}

/// `DeleteApplication` (`DA`). MACed when authenticated.
pub fn delete_application(aid: Aid) -> Result<Command<'static>, InvalidParameter> {
    if aid == Aid::PICC {
        return Err(InvalidParameter::PiccAid);
    }
    Ok(fixed(Ins::DELETE_APPLICATION, aid.to_wire()))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{framed, response, show};
    use super::*;
    use crate::crypto::AesKey;
    use crate::pcd::CommandMode;
    use crate::pcd::FrameSize;
    use crate::wire::ChangeKeyAccess;
    use crate::wire::{KeyNo, emit_capdu};
    use hex_literal::hex;

    fn aid(v: u32) -> Aid {
        Aid::new(v).unwrap()
    }

    #[test]
    fn select_application_ends_the_session() {
        let cmd = select_application(aid(0x0AC501));
        assert_eq!(cmd.ins, Ins::SELECT_APPLICATION);
        assert_eq!(&cmd.header[..], hex!("01C50A"));
        assert_eq!(cmd.mode, CommandMode::Plain);
        assert!(cmd.ends_session && !cmd.needs_session);
        let mut apdu = [0u8; 16];
        let n = emit_capdu(cmd.ins, &cmd.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("905A00000301C50A00"));
        assert_eq!(&select_application(Aid::PICC).header[..], hex!("000000"));
    }

    #[test]
    fn iso_select_frames() {
        // AN12196: ISOSelectFile of the NTAG 424 DNA application by its DF name.
        let name = DfName::new(&hex!("D2760000850101")).unwrap();
        let mut out = [0u8; 32];
        let n = emit_iso_select_df_name(name, &mut out).unwrap();
        assert_eq!(&out[..n], hex!("00A4040C07D276000085010100"));
        assert_eq!(
            emit_iso_select_df_name(name, &mut out[..12]),
            Err(wire::Error::BufferTooSmall)
        );
        assert!(DfName::new(&[]).is_none());
        assert!(DfName::new(&[0; 17]).is_none());
        assert!(DfName::new(&[0; 16]).is_some());

        assert_eq!(check_iso_select_response(&hex!("9000")), Ok(()));
        assert_eq!(
            check_iso_select_response(&hex!("6A82")),
            Err(wire::Error::NotDesfireStatus {
                sw1: 0x6A,
                sw2: 0x82
            }
            .into())
        );
        assert_eq!(
            check_iso_select_response(&hex!("91AE")),
            Err(Error::Card(Status::AUTHENTICATION_ERROR))
        );
        assert_eq!(
            check_iso_select_response(&hex!("6F009000")),
            Err(wire::Error::TrailingData.into())
        );
        assert_eq!(
            check_iso_select_response(&hex!("90")),
            Err(wire::Error::Truncated.into())
        );
    }

    /// Replays canned R-APDUs and records the last C-APDU.
    struct Replay<'a> {
        answers: &'a [&'a [u8]],
        last: heapless::Vec<u8, 64>,
    }

    impl Transport for Replay<'_> {
        type Error = ();

        fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, ()> {
            self.last = heapless::Vec::from_slice(capdu).map_err(|_| ())?;
            let (first, rest) = self.answers.split_first().ok_or(())?;
            self.answers = rest;
            rapdu[..first.len()].copy_from_slice(first);
            Ok(first.len())
        }
    }

    /// Hands out the AN12196 Table 14 RndA.
    struct FixedRng;

    impl rand_core::RngCore for FixedRng {
        fn next_u32(&mut self) -> u32 {
            0
        }
        fn next_u64(&mut self) -> u64 {
            0
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            dst.copy_from_slice(&hex!("13C5DB8A5930439FC3DEF9A4C675360F"));
        }
    }

    impl rand_core::CryptoRng for FixedRng {}

    #[test]
    fn iso_select_drops_the_session() {
        // AN12196 Table 14 authentication, then a select that fails: no session either way.
        let answers: [&[u8]; 4] = [
            &hex!("A04C124213C186F22399D33AC2A3021591AF"),
            &hex!("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100"),
            &hex!("6A82"),
            &hex!("9000"),
        ];
        let replay = Replay {
            answers: &answers,
            last: heapless::Vec::new(),
        };
        let mut d: Desfire<_, 64> = Desfire::new(replay, FrameSize::SHORT_APDU);
        d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut FixedRng)
            .unwrap();
        assert!(d.session().is_some());
        let name = hex!("D2760000850101");
        assert_eq!(
            iso_select_df_name(&mut d, &name),
            Err(Error::Wire(wire::Error::NotDesfireStatus {
                sw1: 0x6A,
                sw2: 0x82
            }))
        );
        assert!(d.session().is_none());
        assert_eq!(iso_select_df_name(&mut d, &name), Ok(()));
        assert_eq!(
            &d.transport_mut().last[..],
            hex!("00A4040C07D276000085010100")
        );
        // A name the card would refuse never leaves the reader.
        assert_eq!(
            iso_select_df_name(&mut d, &[0; 17]),
            Err(Error::Wire(wire::Error::BadLength))
        );
        assert_eq!(iso_select_df_name(&mut d, &name), Err(Error::Transport(())));
    }

    #[test]
    fn application_ids() {
        let cmd = get_application_ids();
        assert_eq!(
            (cmd.ins, cmd.mode),
            (Ins::GET_APPLICATION_IDS, CommandMode::Mac)
        );
        assert!(cmd.header.is_empty());
        let data = hex!("01C50A 563412 FFFFFF");
        let resp = response(&data);
        let ids = ApplicationIds::parse(&resp).unwrap();
        assert_eq!(ids.len(), 3);
        let mut it = ids.iter();
        assert_eq!(it.next(), Some(aid(0x0AC501)));
        assert_eq!(it.next(), Some(aid(0x123456)));
        assert_eq!(it.next(), Some(aid(0xFFFFFF)));
        assert_eq!(it.next(), None);
        assert!(ids.contains(aid(0x123456)) && !ids.contains(aid(0x123457)));
        assert_eq!(show(&ids), "0AC501 123456 FFFFFF");

        let empty = ApplicationIds::parse(&response(&[])).unwrap();
        assert!(empty.is_empty());
        assert_eq!(show(&empty), "no applications");
        assert_eq!(
            ApplicationIds::parse(&response(&data[..8])),
            Err(wire::Error::BadLength)
        );
        assert_eq!(
            ApplicationIds::parse(&response(&hex!("01C50A 000000"))),
            Err(wire::Error::BadValue)
        );
        // More than EV1's 28 applications: fine on EV2 and EV3.
        let many: [u8; 90] = core::array::from_fn(|i| (i % 3 + 1) as u8);
        assert_eq!(ApplicationIds::parse(&response(&many)).unwrap().len(), 30);
    }

    #[test]
    fn df_names_one_frame_per_application() {
        let cmd = get_df_names();
        assert_eq!((cmd.ins, cmd.mode), (Ins::GET_DF_NAMES, CommandMode::Mac));
        let data = hex!(
            "01C50A 1000 D2760000850101"
            "563412 05E1 A00000000102"
        );
        let resp = framed(&data, &[12]);
        let names = DfNames::parse(&resp).unwrap();
        let mut it = names.iter();
        let first = it.next().unwrap();
        assert_eq!(first.aid, aid(0x0AC501));
        assert_eq!(first.file_id, 0x0010);
        assert_eq!(first.name.as_bytes(), hex!("D2760000850101"));
        let second = it.next().unwrap();
        assert_eq!((second.aid, second.file_id), (aid(0x123456), 0xE105));
        assert_eq!(second.name.as_bytes(), hex!("A00000000102"));
        assert!(it.next().is_none());
        assert_eq!(
            show(&names),
            "0AC501 FID 0010 DF name D2760000850101; 123456 FID E105 DF name A00000000102"
        );
        assert_eq!(
            show(&DfNames::parse(&response(&[])).unwrap()),
            "no DF names"
        );

        // Merged frames make an 18-byte "name": refused, not misread.
        assert_eq!(
            DfNames::parse(&response(&data)).unwrap_err(),
            wire::Error::BadLength
        );
        // A frame without a name, or cut inside the FID.
        assert_eq!(
            DfNames::parse(&framed(&data[..17], &[12])).unwrap_err(),
            wire::Error::Truncated
        );
        assert_eq!(
            DfNames::parse(&framed(&data[..16], &[12])).unwrap_err(),
            wire::Error::Truncated
        );
        let mut long = [0xAAu8; 22];
        long[..5].copy_from_slice(&hex!("01C50A1000"));
        assert_eq!(
            DfNames::parse(&response(&long)).unwrap_err(),
            wire::Error::BadLength
        );
        assert!(DfNames::parse(&response(&long[..21])).is_ok());
    }

    /// Each application is one frame, and the DF name has no length: the engine must keep the
    /// frame boundaries for GetDFNames to work on a card with more than one application.
    #[test]
    fn df_names_through_the_engine() {
        let answers: [&[u8]; 2] = [
            &hex!("01C50A 1000 D2760000850101 91AF"),
            &hex!("563412 05E1 A00000000102 9100"),
        ];
        let replay = Replay {
            answers: &answers,
            last: heapless::Vec::new(),
        };
        let mut d: Desfire<_, 64> = Desfire::new(replay, FrameSize::SHORT_APDU);
        let mut rx = [0u8; 64];
        let resp = d.execute(&get_df_names(), &mut rx).unwrap();
        let names = DfNames::parse(&resp).unwrap();
        assert_eq!(names.iter().count(), 2);
    }

    fn settings() -> KeySettings {
        KeySettings {
            change_key: ChangeKeyAccess::MasterKey,
            config_changeable: true,
            free_create_delete: false,
            free_directory_list: true,
            master_key_changeable: true,
        }
    }

    #[test]
    fn create_application_headers() {
        let plain = CreateApplication::new(aid(0x0AC501), settings(), 3)
            .command()
            .unwrap();
        assert_eq!(plain.ins, Ins::CREATE_APPLICATION);
        assert_eq!(&plain.header[..], hex!("01C50A 0B 83"));
        assert!(plain.data.as_bytes().is_empty());
        assert_eq!(plain.mode, CommandMode::Mac);
        assert!(!plain.needs_session);
        let mut apdu = [0u8; 16];
        let n = emit_capdu(plain.ins, &plain.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90CA00000501C50A0B8300"));

        let iso = CreateApplication::new(aid(0x0AC501), settings(), 14)
            .with_iso(0xE110, DfName::new(&hex!("D2760000850101")).unwrap())
            .command()
            .unwrap();
        assert_eq!(&iso.header[..], hex!("01C50A 0B AE 10E1 D2760000850101"));

        // Everything: 3 + 1 + 1 + 1 + 4 + 2 + 16 = 28 bytes.
        let full = CreateApplication {
            key_sett3: Some(0x01),
            key_sets: Some(KeySets {
                version: 0x00,
                count: 0x03,
                max_key_size: 0x10,
                settings: 0x00,
            }),
            ..CreateApplication::new(aid(0xF48EE0), settings(), 2)
                .with_iso(0x1000, DfName::new(&[0x42; 16]).unwrap())
        };
        let cmd = full.command().unwrap();
        assert_eq!(
            &cmd.header[..],
            hex!("E08EF4 0B B2 01 00031000 0010 42424242424242424242424242424242")
        );
        let sett3_only = CreateApplication {
            key_sett3: Some(0x02),
            ..CreateApplication::new(aid(0x000001), settings(), 1)
        };
        assert_eq!(
            &sett3_only.command().unwrap().header[..],
            hex!("010000 0B 91 02")
        );
    }

    #[test]
    fn create_application_refusals() {
        let base = CreateApplication::new(aid(0x0AC501), settings(), 3);
        assert_eq!(
            CreateApplication::new(Aid::PICC, settings(), 3)
                .command()
                .err(),
            Some(InvalidParameter::PiccAid)
        );
        for n in [0, 15] {
            assert_eq!(
                CreateApplication {
                    key_count: n,
                    ..base
                }
                .command()
                .err(),
                Some(InvalidParameter::KeyCount)
            );
        }
        assert_eq!(
            CreateApplication {
                key_sett3: Some(0x01),
                ..base
            }
            .command()
            .err(),
            Some(InvalidParameter::KeySets)
        );
        assert_eq!(
            CreateApplication {
                key_sets: Some(KeySets {
                    version: 0,
                    count: 2,
                    max_key_size: 16,
                    settings: 0
                }),
                ..base
            }
            .command()
            .err(),
            Some(InvalidParameter::KeySets)
        );
        for fid in [0x3F00, 0x3FFF, 0xFFFF] {
            assert_eq!(
                base.with_iso(fid, DfName::new(b"x").unwrap())
                    .command()
                    .err(),
                Some(InvalidParameter::ReservedFileId)
            );
        }
    }

    #[test]
    fn delete_application_header() {
        let cmd = delete_application(aid(0x0AC501)).unwrap();
        assert_eq!(cmd.ins, Ins::DELETE_APPLICATION);
        assert_eq!(&cmd.header[..], hex!("01C50A"));
        assert_eq!(cmd.mode, CommandMode::Mac);
        assert_eq!(
            delete_application(Aid::PICC).unwrap_err(),
            InvalidParameter::PiccAid
        );
    }
}
