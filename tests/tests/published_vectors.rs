//! Every published vector of the catalogue (`shared/vectors/nxp-public.md`) that the engine
//! covers, byte-exact through the public API of desfire-core: `crypto::*`, `pcd::auth`, and
//! `pcd::Desfire` over a scripted transport.
//!
//! Each block cites the catalogue entry and its `source` line. Not covered here, because the
//! engine does not implement them: LRP-PLAINTEXTS-UPDKEYS-AN12304 (LRP), EV1-AES-AUTH-1 (EV1
//! legacy authentication), the EV1 CRC32 usage beyond the CRC itself, and D40 (see
//! `specs/vectors/README.md`).

use desfire_core::crypto::ev2::{
    CmdCtr, Direction, SV1_LABEL, SV2_LABEL, SecureChannel, SessionKeys, Ti, session_vector,
};
use desfire_core::crypto::{
    AesKey, DiversificationInput, Random16, aes, an10922_aes128, cbc_decrypt, cbc_encrypt, cmac,
    crc32, mac_t, originality, pad_iso9797_m2, padded_len,
};
use desfire_core::pcd::auth::Ev2First;
use desfire_core::pcd::{Command, CommandData, CommandMode, Desfire, FrameSize};
use desfire_core::wire::{Ins, KeyNo, emit_capdu};
use desfire_tests::{Frame, ScriptedRng, ScriptedTransport, hex};
use hex_literal::hex;

// ---------------------------------------------------------------------------------------------
// CMAC-AES-RFC4493
// source: IETF RFC 4493 section 4 (also quoted in SRC_ELMUE 'CMAC Calculation for AES 128' and in
// github.com/Amperstrand/ntag424-vectors vectors.json)
// ---------------------------------------------------------------------------------------------

const RFC4493_KEY: [u8; 16] = hex!("2B7E151628AED2A6ABF7158809CF4F3C");
const RFC4493_MSG4: [u8; 64] = hex!(
    "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51"
    "30C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710"
);

#[test]
fn cmac_rfc4493() {
    let c = aes(&AesKey::new(RFC4493_KEY));
    // tag1..tag4: empty, 16, 40 and 64 bytes of msg4.
    assert_eq!(cmac(&c, &[]), hex!("BB1D6929E95937287FA37D129B756746"));
    assert_eq!(
        cmac(&c, &[&RFC4493_MSG4[..16]]),
        hex!("070A16B46B4D4144F79BDD9DD04A287C")
    );
    assert_eq!(
        cmac(&c, &[&RFC4493_MSG4[..40]]),
        hex!("DFA66747DE9AE63030CA32611497C827")
    );
    assert_eq!(
        cmac(&c, &[&RFC4493_MSG4]),
        hex!("51F0BEBF7E3B9D92FC49741779363CFE")
    );
    // L = AES(K, 0^128), the root of the subkeys K1/K2 (the engine keeps K1/K2 internal; the
    // AN10922 test below checks them through its K2 step).
    let mut l = [0u8; 16];
    desfire_core::crypto::encrypt_block(&c, &mut l);
    assert_eq!(l, hex!("7DF76B0C1AB899B33E42F047B91B546F"));
}

// ---------------------------------------------------------------------------------------------
// CRC32-DESFIRE
// source: check value: reveng CRC catalogue CRC-32/JAMCRC check=0x340BC6D9 for ASCII '123456789';
// data2: NXP AN12196 Rev. 1.8 Table 26 step 7 CRC32(NewKey); data3: proxmark3
// client/src/mifare/desfiretest.c (snapshot commit 1c8c3b78) TestCRC32; data4: ElmueSoft 'DESFire
// EV1 Communication Examples' ChangeKey 'CRC Crypto: 0x6BE6C6D2'
// ---------------------------------------------------------------------------------------------

#[test]
fn crc32_desfire() {
    assert_eq!(crc32(&[b"123456789"]), hex!("D9C60B34"));
    assert_eq!(
        crc32(&[&hex!("F3847D627727ED3BC9C4CC050489B966")]),
        hex!("789DFADC")
    );
    assert_eq!(crc32(&[&hex!("04440F3276318000")]), hex!("99CE1AD4"));
    assert_eq!(
        crc32(&[&hex!("C40000102030405060708090A0B0B0A0908010")]),
        hex!("D2C6E66B")
    );
    // The parts are concatenated: any split gives the same CRC.
    assert_eq!(
        crc32(&[&hex!("C400"), &hex!("00102030405060708090A0B0B0A0908010")]),
        hex!("D2C6E66B")
    );
}

// ---------------------------------------------------------------------------------------------
// AN10922-AES128
// source: NXP AN10922 'Symmetric key diversifications' Rev 2.2, section 2.2.1, Table 2; result
// also in proxmark3 client/src/mifare/desfiretest.c (snapshot commit 1c8c3b78)
// TestAn10922KDFAES
// ---------------------------------------------------------------------------------------------

#[test]
fn an10922_aes128_table2() {
    let master = AesKey::new(hex!("00112233445566778899AABBCCDDEEFF"));
    // uid || aid || system_identifier
    let m = DiversificationInput::from_bytes(&hex!("04782E21801D80 3042F5 4E585020416275"))
        .expect("17 bytes");
    assert_eq!(m.as_bytes(), hex!("04782E21801D803042F54E585020416275"));
    assert_eq!(
        an10922_aes128(&master, &m).expose(),
        &hex!("A8DD63A3B89D54B37CA802473FDA9175")
    );
    // K0 = AES(K, 0^128) of the listing.
    let mut k0 = [0u8; 16];
    desfire_core::crypto::encrypt_block(&aes(&master), &mut k0);
    assert_eq!(k0, hex!("FDE4FBAE4A09E020EFF722969F83832B"));
    // The listing's last step: CBC-MAC (IV 0) over the padded input with K2 XORed into the
    // last block.
    let mut blocks = hex!("0104782E21801D803042F54E5850204195E66EB928278083BFDC8A5A7E0E0D25");
    cbc_encrypt(&aes(&master), &[0; 16], &mut blocks).unwrap();
    assert_eq!(blocks[16..], hex!("A8DD63A3B89D54B37CA802473FDA9175"));
    // |D| = 18 > 16: AN10922 equals plain CMAC(K, 01 || M).
    assert_eq!(
        cmac(&aes(&master), &[&[0x01], m.as_bytes()]),
        hex!("A8DD63A3B89D54B37CA802473FDA9175")
    );
}

// ---------------------------------------------------------------------------------------------
// EV2-AUTHFIRST-AN12196-T14
// source: NXP AN12196 'NTAG 424 DNA and NTAG 424 DNA TagTamper features and hints' Rev. 1.8
// (17 Nov 2020), read from the public copy github.com/boltcard/boltcard docs/AN12196.pdf (commit
// d56685d4), section 6.6, Table 14 (p. 29-30)
// ---------------------------------------------------------------------------------------------

const T14_RNDA: [u8; 16] = hex!("13C5DB8A5930439FC3DEF9A4C675360F");
const T14_RNDB: [u8; 16] = hex!("B9E2FC789B64BF237CCCAA20EC7E6E48");
const T14_CAPDU1: [u8; 8] = hex!("9071000002000000");
const T14_RAPDU1: [u8; 18] = hex!("A04C124213C186F22399D33AC2A3021591AF");
const T14_CAPDU2: [u8; 38] =
    hex!("90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00");
const T14_RAPDU2: [u8; 34] =
    hex!("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100");
const T14_TI: [u8; 4] = hex!("9D00C4DF");
const T14_SES_ENC: [u8; 16] = hex!("1309C877509E5A215007FF0ED19CA564");
const T14_SES_MAC: [u8; 16] = hex!("4C6626F5E72EA694202139295C7A7FC7");

fn t14_frames() -> Vec<Frame> {
    vec![
        Frame {
            capdu: T14_CAPDU1.to_vec(),
            rapdu: T14_RAPDU1.to_vec(),
        },
        Frame {
            capdu: T14_CAPDU2.to_vec(),
            rapdu: T14_RAPDU2.to_vec(),
        },
    ]
}

#[test]
fn an12196_t14_through_pcd_auth() {
    let mut buf = [0u8; 64];
    let auth = Ev2First::new(KeyNo::MASTER, AesKey::zero());
    let n = auth.command(&mut buf).unwrap();
    assert_eq!(buf[..n], T14_CAPDU1);
    let next = auth
        .on_challenge(&T14_RAPDU1, Random16::new(T14_RNDA))
        .unwrap();
    let n = next.command(&mut buf).unwrap();
    assert_eq!(buf[..n], T14_CAPDU2);
    let session = next.on_confirmation(&T14_RAPDU2).unwrap();
    assert_eq!(session.ti(), Ti(T14_TI));
    assert_eq!(session.cmd_ctr(), CmdCtr(0));
    assert_eq!(session.key_no(), KeyNo::MASTER);
    // pdcap2 and pcdcap2: 000000000000.
    assert_eq!(session.capabilities().pd_cap2, [0; 6]);
    assert_eq!(session.capabilities().pcd_cap2, [0; 6]);
}

#[test]
fn an12196_t14_intermediates() {
    let key = aes(&AesKey::zero());
    // rndb = D(K, E(K, RndB)) with IV 0.
    let mut rnd_b = [0u8; 16];
    rnd_b.copy_from_slice(&T14_RAPDU1[..16]);
    cbc_decrypt(&key, &[0; 16], &mut rnd_b).unwrap();
    assert_eq!(rnd_b, T14_RNDB);
    let rnd_b = Random16::new(rnd_b);
    assert_eq!(
        rnd_b.rotated_left(),
        hex!("E2FC789B64BF237CCCAA20EC7E6E48B9")
    );
    // rapdu2_dec = TI || RndA' || PDcap2 || PCDcap2.
    let mut dec = [0u8; 32];
    dec.copy_from_slice(&T14_RAPDU2[..32]);
    cbc_decrypt(&key, &[0; 16], &mut dec).unwrap();
    assert_eq!(
        dec,
        hex!("9D00C4DFC5DB8A5930439FC3DEF9A4C675360F13000000000000000000000000")
    );
    let rnd_a = Random16::new(T14_RNDA);
    assert_eq!(
        rnd_a.rotated_left(),
        hex!("C5DB8A5930439FC3DEF9A4C675360F13")
    );
    assert_eq!(
        session_vector(SV1_LABEL, &rnd_a, &rnd_b),
        hex!("A55A0001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F")
    );
    assert_eq!(
        session_vector(SV2_LABEL, &rnd_a, &rnd_b),
        hex!("5AA50001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F")
    );
    let keys = SessionKeys::derive(&AesKey::zero(), &rnd_a, &rnd_b);
    assert_eq!(keys.enc.expose(), &T14_SES_ENC);
    assert_eq!(keys.mac.expose(), &T14_SES_MAC);
}

#[test]
fn an12196_t14_through_desfire_driver() {
    let mut card = Desfire::<_>::new(
        ScriptedTransport::strict(t14_frames()),
        FrameSize::SHORT_APDU,
    );
    let mut rng = ScriptedRng::new([T14_RNDA]);
    card.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
        .unwrap();
    let s = card.session().expect("authenticated");
    assert_eq!(s.ti(), Ti(T14_TI));
    assert_eq!(s.cmd_ctr(), CmdCtr(0));
    assert!(card.transport_mut().is_finished());
}

// ---------------------------------------------------------------------------------------------
// EV2-SESSIONKEYS-PM3-NONZERO
// source: github.com/RfidResearchGroup/proxmark3 client/src/mifare/desfiretest.c (snapshot commit
// 1c8c3b78) TestEV2SessionKeys second vector
// ---------------------------------------------------------------------------------------------

#[test]
fn pm3_nonzero_session_keys() {
    let key = AesKey::new(hex!("00112233445566778899AABBCCDDEEFF"));
    let rnd_a = Random16::new(hex!("0123456789ABCDEF0123456789ABCDEF"));
    let rnd_b = Random16::new(hex!("FEDCBA9876543210FEDCBA9876543210"));
    let keys = SessionKeys::derive(&key, &rnd_a, &rnd_b);
    assert_eq!(keys.enc.expose(), &hex!("195428119C8528D59580A73C7C96C6A3"));
    assert_eq!(keys.mac.expose(), &hex!("0AF00F6E39F904C4A6388C812D53DC94"));
    // ENC and MAC keys are not swapped, and not those of the zero key.
    assert_ne!(keys.enc, keys.mac);
    let zero = SessionKeys::derive(&AesKey::zero(), &rnd_a, &rnd_b);
    assert_ne!(zero.enc, keys.enc);
    assert_ne!(zero.mac, keys.mac);
}

// ---------------------------------------------------------------------------------------------
// EV2-MAC-GETFILESETTINGS-AN12196-T8
// source: NXP AN12196 Rev. 1.8 (17 Nov 2020), read from the public copy github.com/boltcard/boltcard
// docs/AN12196.pdf (commit d56685d4), section 5.3, Table 8 (p. 21)
//
// T8's session comes from an authentication that is not published, and the public API has no
// way to build a `pcd::Session` from known session keys, so T8 goes through `SecureChannel` (the
// keyed state `Session` uses) and `emit_capdu`, not through `Desfire`.
// ---------------------------------------------------------------------------------------------

#[test]
fn an12196_t8_mac_mode() {
    let keys = SessionKeys {
        // T8 gives no SesAuthENCKey; MAC mode does not use it.
        enc: AesKey::new([0x5A; 16]),
        mac: AesKey::new(hex!("8248134A386E86EB7FAF54A52E536CB6")),
    };
    let ch = SecureChannel::new(&keys, Ti(hex!("7A21085E")), CmdCtr(0));
    // mac_input F500007A21085E02 -> cmac -> mact.
    let full = cmac(&aes(&keys.mac), &[&hex!("F500007A21085E02")]);
    assert_eq!(full, hex!("B565AC978FA46D5784C845CD1444102C"));
    assert_eq!(mac_t(&full), hex!("6597A457C8CD442C"));
    let mact = ch.command_mac(0xF5, &hex!("02"), &[]);
    assert_eq!(mact, hex!("6597A457C8CD442C"));
    let mut body = vec![0x02];
    body.extend_from_slice(&mact);
    let mut capdu = [0u8; 32];
    let n = emit_capdu(Ins::GET_FILE_SETTINGS, &body, &mut capdu).unwrap();
    assert_eq!(capdu[..n], hex!("90F5000009026597A457C8CD442C00"));

    // rapdu = data || MACt || 91 00; resp_mac_input = 00 || 0100 || TI || data.
    let rapdu = hex!("0040EEEE000100D1FE001F00004400004400002000006A00002A474282E7A479869100");
    let (data, rest) = rapdu.split_at(rapdu.len() - 10);
    let resp_mact = &rest[..8];
    assert_eq!(
        cmac(
            &aes(&keys.mac),
            &[&hex!(
                "0001007A21085E0040EEEE000100D1FE001F00004400004400002000006A0000"
            )]
        ),
        hex!("DC2A9C473642F3826AE79DA496792086")
    );
    assert_eq!(ch.response_mac(0x00, data), Some(hex!("2A474282E7A47986")));
    assert!(ch.response_mac_matches(0x00, data, resp_mact));
    let mut flipped = hex!("2A474282E7A47986");
    flipped[7] ^= 0x01;
    assert!(!ch.response_mac_matches(0x00, data, &flipped));
}

// ---------------------------------------------------------------------------------------------
// EV2-FULL-WRITEDATA-NDEF-AN12196-T18
// source: NXP AN12196 Rev. 1.8 (17 Nov 2020), read from the public copy github.com/boltcard/boltcard
// docs/AN12196.pdf (commit d56685d4), section 6.8.2, Table 18 (p. 32-33)
//
// T18 runs in the session of T14 (same SesAuthENCKey/MACKey, TI 9D00C4DF, CmdCtr 0), so the
// whole of it goes through `pcd::Desfire`: T14's frames, then T18's.
// ---------------------------------------------------------------------------------------------

const T18_HEADER: [u8; 7] = hex!("02000000800000");
const T18_CAPDU: [u8; 165] = hex!(
    "908D00009F02000000800000421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C7"
    "06BC00F2176781D4B0242642A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F90"
    "64BCBE20E96CAE545B407C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBE"
    "F0FD971FF532C3A802AF745660F2B4D1D9A8499661EBF300"
);
const T18_RAPDU: [u8; 10] = hex!("FC222E5F7A5424529100");
const T18_CMD_DATA_ENC: [u8; 144] = hex!(
    "421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C706BC00F2176781D4B0242642"
    "A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BCBE20E96CAE545B407C9D"
    "651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBEF0FD971FF532C3A802AF7456"
    "60F2B4"
);

/// cmd_data: the 83-byte NDEF message and 45 zero bytes.
fn t18_cmd_data() -> [u8; 128] {
    let mut data = [0u8; 128];
    let mut ndef = hex!("0051D1014D5504").to_vec();
    ndef.extend_from_slice(b"choose.url.com/ntag424?e=");
    ndef.extend_from_slice(&[b'0'; 32]);
    ndef.extend_from_slice(b"&c=");
    ndef.extend_from_slice(&[b'0'; 16]);
    assert_eq!(ndef.len(), 83);
    data[..83].copy_from_slice(&ndef);
    data
}

#[test]
fn an12196_t18_intermediates() {
    let keys = SessionKeys {
        enc: AesKey::new(T14_SES_ENC),
        mac: AesKey::new(T14_SES_MAC),
    };
    let ch = SecureChannel::new(&keys, Ti(T14_TI), CmdCtr(0));
    let ivc = ch.iv(Direction::Command).unwrap();
    assert_eq!(ivc, hex!("D2CB7277A17841A06654A48188C1F8F5"));
    // ivc_input A55A9D00C4DF00000000000000000000 encrypted with SesAuthENCKey.
    let mut block = hex!("A55A9D00C4DF00000000000000000000");
    desfire_core::crypto::encrypt_block(&aes(&keys.enc), &mut block);
    assert_eq!(block, ivc);
    // 128 plain bytes become 144 with padding.
    assert_eq!(padded_len(128), Some(144));
    let mut buf = [0u8; 144];
    buf[..128].copy_from_slice(&t18_cmd_data());
    assert_eq!(pad_iso9797_m2(&mut buf, 128), Ok(144));
    cbc_encrypt(ch.enc_cipher(), &ivc, &mut buf).unwrap();
    assert_eq!(buf, T18_CMD_DATA_ENC);
    let full = cmac(
        &aes(&keys.mac),
        &[&hex!("8D00009D00C4DF"), &T18_HEADER, &T18_CMD_DATA_ENC],
    );
    assert_eq!(full, hex!("A8D185D964A8E04998965461E7EB3EF3"));
    assert_eq!(
        ch.command_mac(0x8D, &T18_HEADER, &T18_CMD_DATA_ENC),
        hex!("D1D9A8499661EBF3")
    );
    // resp_mac_input 0001009D00C4DF.
    assert_eq!(
        cmac(&aes(&keys.mac), &[&hex!("0001009D00C4DF")]),
        hex!("96FC5A22A22EC05F377A635407242252")
    );
    assert_eq!(ch.response_mac(0x00, &[]), Some(hex!("FC222E5F7A542452")));
}

#[test]
fn an12196_t14_then_t18_through_desfire_driver() {
    let mut frames = t14_frames();
    frames.push(Frame {
        capdu: T18_CAPDU.to_vec(),
        rapdu: T18_RAPDU.to_vec(),
    });
    let mut card = Desfire::<_>::new(ScriptedTransport::strict(frames), FrameSize::SHORT_APDU);
    let mut rng = ScriptedRng::new([T14_RNDA]);
    card.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
        .unwrap();
    let data = t18_cmd_data();
    let cmd = Command::new(Ins::WRITE_DATA_ISO, &T18_HEADER, CommandMode::Full)
        .unwrap()
        .with_data(CommandData::Borrowed(&data))
        .requiring_session();
    let mut rx = [0u8; 64];
    let resp = card.execute(&cmd, &mut rx).unwrap();
    assert!(resp.data().is_empty());
    assert_eq!(card.session().unwrap().cmd_ctr(), CmdCtr(1));
    assert_eq!(card.session().unwrap().ti(), Ti(T14_TI));
    assert!(card.transport_mut().is_finished());
    assert_eq!(hex(&card.transport_mut().sent()[2]), hex(&T18_CAPDU));
}

// ---------------------------------------------------------------------------------------------
// ORIGSIG-DESFIRE-EV3
// source: github.com/RfidResearchGroup/proxmark3 tools/recover_pk.py (selftest samples, real
// cards) and client/src/crypto/originality.c (public key table), commit 1c8c3b78
// ---------------------------------------------------------------------------------------------

const EV3_PUBLIC_KEY: [u8; 57] = hex!(
    "041DB46C145D0A36539C6544BD6D9B0AA62FF91EC48CBC6ABAE36E0089A46F0D08"
    "C8A715EA40A63313B92E90DDC1730230E0458A33276FB743"
);
const EV3_UID1: [u8; 7] = hex!("04448BD2DB6B80");
const EV3_SIG1: [u8; 56] = hex!(
    "5CBB5632795C8F15263FEFB095B51C7B541AFD914A1AE44EF6FB8AF6"
    "05EDF13DBFEE6C3A2DB372245E671DFE0D42CB1F0D0B8FE67A89D2F6"
);
const EV3_UID2: [u8; 7] = hex!("04445DD2DB6B80");
const EV3_SIG2: [u8; 56] = hex!(
    "166BFD9F9BFAA451172566101580DF9894F582C4A4E258C15037AD2F"
    "35A475CF1D7FB817618623A6569F991931AFB2766984E21A18512A6D"
);

#[test]
fn originality_desfire_ev3() {
    let key = originality::NXP_KEYS
        .iter()
        .find(|k| k.sec1 == EV3_PUBLIC_KEY)
        .expect("the catalogue's EV3 public key is in the engine's table");
    assert_eq!(originality::verify(key, &EV3_UID1, &EV3_SIG1), Ok(true));
    assert_eq!(originality::verify(key, &EV3_UID2, &EV3_SIG2), Ok(true));
    assert_eq!(
        originality::identify(&EV3_UID1, &EV3_SIG1)
            .unwrap()
            .map(|k| k.sec1),
        Some(EV3_PUBLIC_KEY)
    );
    // Swapped signatures do not verify.
    assert_eq!(originality::verify(key, &EV3_UID1, &EV3_SIG2), Ok(false));
    assert_eq!(originality::verify(key, &EV3_UID2, &EV3_SIG1), Ok(false));
}
