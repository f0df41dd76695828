//! Decoder tests over the bundled traces (AN12196 vectors and the independently generated
//! non-zero-key trace) and over damaged copies of them.

use desfire_core::crypto::ev2::{CmdCtr, Ti};
use desfire_core::wire::CommMode;
use hex_literal::hex;

use super::*;
use crate::args::{KeySpec, SessionSpec};

const AN12196_SAMPLE: &str = include_str!("../../../specs/traces/an12196-sample.trace");
const AN12196_T8: &str = include_str!("../../../specs/traces/an12196-t8-mac.trace");
const NONZERO: &str = include_str!("../../../specs/traces/ev2-nonzero-key.trace");

/// AN12196 Rev. 1.8 Table 18 cmd_data: 83 bytes of NDEF and 45 zero bytes (nxp-public.md
/// EV2-FULL-WRITEDATA-NDEF-AN12196-T18).
const T18_CMD_DATA: [u8; 128] = hex!(
    "0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D"
    "3030303030303030303030303030303030303030303030303030303030303030"
    "26633D30303030303030303030303030303030000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "00"
);

fn key(spec: &str) -> KeySpec {
    KeySpec::parse("--key", spec).unwrap()
}

fn zero_key_0() -> DecodeConfig {
    DecodeConfig {
        keys: vec![key("0=00000000000000000000000000000000")],
        start: None,
    }
}

fn t8_session() -> DecodeConfig {
    DecodeConfig {
        keys: vec![],
        start: Some(
            SessionSpec::parse(
                "--session",
                "0:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:0",
            )
            .unwrap(),
        ),
    }
}

fn nonzero_keys() -> DecodeConfig {
    DecodeConfig {
        keys: vec![
            key("2=00112233445566778899AABBCCDDEEFF"),
            key("0=F0E1D2C3B4A5968778695A4B3C2D1E0F"),
        ],
        start: None,
    }
}

fn modes(d: &Decoded) -> Vec<String> {
    d.exchanges
        .iter()
        .map(|e| {
            format!(
                "{:02X} {} {} {}",
                e.ins,
                e.comm_mode,
                e.mac.as_str(),
                e.cmd_ctr.map_or("-".to_owned(), |c| c.0.to_string())
            )
        })
        .collect()
}

// Source: AN12196 Rev. 1.8 Tables 14 and 18 (nxp-public.md EV2-AUTHFIRST-AN12196-T14,
// EV2-FULL-WRITEDATA-NDEF-AN12196-T18).
#[test]
fn an12196_t14_then_t18() {
    let d = decode(AN12196_SAMPLE, &zero_key_0());
    assert!(d.fully_followed(), "{:?}", d.line_errors);
    assert_eq!(d.sessions.len(), 1);
    let s = &d.sessions[0];
    assert_eq!(s.key_no, 0);
    assert_eq!(s.ti, Ti(hex!("9D00C4DF")));
    assert_eq!(
        s.keys.enc.expose(),
        &hex!("1309C877509E5A215007FF0ED19CA564")
    );
    assert_eq!(
        s.keys.mac.expose(),
        &hex!("4C6626F5E72EA694202139295C7A7FC7")
    );
    assert_eq!(s.cmd_ctr, CmdCtr(0));
    assert_eq!(s.exchange, Some(1));

    assert_eq!(d.exchanges.len(), 3);
    assert_eq!(d.exchanges[0].name, "AuthenticateEV2First");
    assert_eq!(d.exchanges[1].name, "AuthenticateEV2First (part 2)");
    let w = &d.exchanges[2];
    assert_eq!(w.ins, 0x8D);
    assert_eq!(w.sw, Some([0x91, 0x00]));
    assert_eq!(w.comm_mode, CommMode::Full);
    assert_eq!(w.mac, MacVerdict::Ok);
    assert_eq!(w.cmd_ctr, Some(CmdCtr(0)));
    assert_eq!(w.header.as_deref(), Some(&hex!("02000000800000")[..]));
    assert_eq!(w.plain.as_deref(), Some(&T18_CMD_DATA[..]));
    assert_eq!(w.resp_plain.as_deref(), Some(&[][..]));
    assert_eq!(w.error, None);
}

// Source: AN12196 Rev. 1.8 Table 8 (nxp-public.md EV2-MAC-GETFILESETTINGS-AN12196-T8).
#[test]
fn an12196_t8_from_a_given_session() {
    let d = decode(AN12196_T8, &t8_session());
    assert!(d.fully_followed());
    assert_eq!(d.sessions[0].origin, SessionOrigin::Given);
    let e = &d.exchanges[0];
    assert_eq!(e.comm_mode, CommMode::Mac);
    assert_eq!(e.mac, MacVerdict::Ok);
    assert_eq!(e.header.as_deref(), Some(&[0x02][..]));
    assert_eq!(e.plain.as_deref(), Some(&[][..]));
    assert_eq!(
        e.resp_plain.as_deref(),
        Some(&hex!("0040EEEE000100D1FE001F00004400004400002000006A0000")[..])
    );
    // Without the session the same exchange is plain and unverified: the MAC stays in the data.
    let d = decode(AN12196_T8, &DecodeConfig::default());
    assert_eq!(d.exchanges[0].comm_mode, CommMode::Plain);
    assert_eq!(d.exchanges[0].mac, MacVerdict::None);
}

/// The non-zero-key trace made by specs/traces/make-ev2-nonzero-trace.py with Python
/// `cryptography`, independently of desfire-core. The expected session keys are the script's.
#[test]
fn nonzero_key_trace() {
    let d = decode(NONZERO, &nonzero_keys());
    assert!(
        d.fully_followed(),
        "{:?}",
        d.exchanges.iter().map(|e| e.error).collect::<Vec<_>>()
    );
    assert_eq!(d.sessions.len(), 2);
    let (s0, s1) = (&d.sessions[0], &d.sessions[1]);
    assert_eq!((s0.key_no, s0.origin), (2, SessionOrigin::Ev2First));
    assert_eq!(s0.ti, Ti(hex!("3B7C10E5")));
    assert_eq!(
        s0.keys.enc.expose(),
        &hex!("E9502CAABB3B42072B5ACB890258EA85")
    );
    assert_eq!(
        s0.keys.mac.expose(),
        &hex!("5AC9EEDBB90CB701A0B82313B0CE6B74")
    );
    assert_eq!((s1.key_no, s1.origin), (0, SessionOrigin::Ev2NonFirst));
    // NonFirst keeps TI and CmdCtr.
    assert_eq!(s1.ti, Ti(hex!("3B7C10E5")));
    assert_eq!(s1.cmd_ctr, CmdCtr(5));
    assert_eq!(
        s1.keys.enc.expose(),
        &hex!("0C61EC159A7B554E9D752600A6E31D96")
    );
    assert_eq!(
        s1.keys.mac.expose(),
        &hex!("9569F26DAC9592A6037F5775E356DDAC")
    );

    assert_eq!(
        modes(&d),
        [
            "5A plain none -",
            "71 plain none -",
            "AF plain none -",
            "BD full ok 0",
            "F5 mac ok 1",
            "A4 plain none -",
            "60 mac ok 2",
            "3D full ok 3",
            "3D plain none 4",
            "77 plain none -",
            "AF plain none -",
            "C4 full ok 5",
            "C4 full none 6",
            "45 plain none -",
        ]
    );
    let e = &d.exchanges;
    assert_eq!(
        e[3].resp_plain.as_deref(),
        Some(&b"DESFire EV3 non-zero-key sample!"[..])
    );
    assert_eq!(
        e[4].resp_plain.as_deref(),
        Some(&hex!("00030022200000")[..])
    );
    assert_eq!(
        e[6].resp_plain.as_deref(),
        Some(&hex!("04010133001A05 04010103001A05 045A2C729B4F80BA34517E202823")[..])
    );
    assert_eq!(e[7].plain.as_deref(), Some(&hex!("CAFEF00D12345678")[..]));
    assert_eq!(e[8].plain.as_deref(), Some(&hex!("DEADBEEF")[..]));
    // ChangeKey of key 2: (New XOR Old) || KeyVer || CRC32(New).
    assert_eq!(
        e[11].plain.as_deref(),
        Some(&hex!("A1B38197E1F3C1DF213301176173414F01E9B9588A")[..])
    );
    assert!(e[11].plain_is_key_data);
    // ChangeKey of the authenticated key 0: NewKey || KeyVer, then the session ends.
    assert_eq!(
        e[12].plain.as_deref(),
        Some(&hex!("0F1E2D3C4B5A69788796A5B4C3D2E1F002")[..])
    );
    assert!(e[12].events.iter().any(|ev| ev.contains("session ends")));
    // Its bare 9100 carries no MAC: the command MAC verified, but the exchange is not reported
    // as MAC-verified (AN12196 Table 27).
    assert_eq!(e[12].mac, MacVerdict::None);
    assert_eq!(e[12].error, None);
    assert_eq!(e[13].session, None);
    assert_eq!(e[13].resp_plain.as_deref(), Some(&hex!("0B8E")[..]));
}

#[test]
fn a_key_for_any_key_number_is_tried() {
    let config = DecodeConfig {
        keys: vec![
            key("11111111111111111111111111111111"),
            key("00112233445566778899AABBCCDDEEFF"),
            key("F0E1D2C3B4A5968778695A4B3C2D1E0F"),
        ],
        start: None,
    };
    let d = decode(NONZERO, &config);
    assert!(d.fully_followed());
    assert_eq!(d.sessions.len(), 2);
}

#[test]
fn wrong_key_is_reported_and_decoding_goes_on() {
    let config = DecodeConfig {
        keys: vec![key("0=000102030405060708090A0B0C0D0E0F")],
        start: None,
    };
    let d = decode(AN12196_SAMPLE, &config);
    assert!(d.sessions.is_empty());
    assert_eq!(d.exchanges.len(), 3);
    assert_eq!(
        d.exchanges[1].error,
        Some(ExchangeError::RndBMismatch {
            key_no: 0,
            candidates: 1
        })
    );
    // WriteData is still listed, outside any session, and its ciphertext is not mistaken for
    // verified data.
    let w = &d.exchanges[2];
    assert_eq!(
        (w.comm_mode, w.mac, w.session),
        (CommMode::Plain, MacVerdict::None, None)
    );
    assert_eq!(w.error, None);
    assert!(!d.fully_followed());
    assert_eq!(d.failed_exchanges(), 1);

    // No key at all for the key number.
    let d = decode(AN12196_SAMPLE, &DecodeConfig::default());
    assert_eq!(d.exchanges[1].error, Some(ExchangeError::NoKey(0)));
    // Only a key for another key number.
    let d = decode(
        AN12196_SAMPLE,
        &DecodeConfig {
            keys: vec![key("1=00000000000000000000000000000000")],
            start: None,
        },
    );
    assert_eq!(d.exchanges[1].error, Some(ExchangeError::NoKey(0)));
}

#[test]
fn wrong_key_for_the_second_authentication() {
    let config = DecodeConfig {
        keys: vec![
            key("2=00112233445566778899AABBCCDDEEFF"),
            key("0=00000000000000000000000000000000"),
        ],
        start: None,
    };
    let d = decode(NONZERO, &config);
    assert_eq!(d.sessions.len(), 1);
    assert!(matches!(
        d.exchanges[10].error,
        Some(ExchangeError::RndBMismatch { key_no: 0, .. })
    ));
    // After the failed NonFirst the card is authenticated with a key the decoder lacks.
    assert!(
        d.exchanges[11]
            .events
            .iter()
            .any(|e| e.contains("does not follow"))
    );
    assert_eq!(d.exchanges[11].comm_mode, CommMode::Plain);
}

#[test]
fn corrupted_response_mac() {
    let text = AN12196_T8.replace("2A474282E7A47986", "2A474282E7A47987");
    let d = decode(&text, &t8_session());
    let e = &d.exchanges[0];
    assert_eq!(e.comm_mode, CommMode::Mac);
    assert_eq!(e.mac, MacVerdict::Bad);
    assert_eq!(e.resp_plain, None);
    assert_eq!(e.error, Some(ExchangeError::ResponseMac));
    // The card answered 9100, so it counted the command and the session goes on.
    assert_eq!(d.exchanges.len(), 1);
}

#[test]
fn corrupted_command_ciphertext() {
    // One ciphertext byte of T18 flipped: the command MAC fails, nothing is decrypted.
    let text = AN12196_SAMPLE.replace("421C73A27D82", "421C73A27D83");
    let d = decode(&text, &zero_key_0());
    let w = &d.exchanges[2];
    // Only the response MAC verifies. The file's mode is unknown and unverified data is never
    // decrypted, not even to classify it, so the decoder can say "secured" but not "Full".
    assert_eq!(w.comm_mode, CommMode::Mac);
    assert_eq!(w.mac, MacVerdict::Bad);
    assert_eq!(w.plain, None);
    assert_eq!(w.error, Some(ExchangeError::CommandMac));
}

#[test]
fn known_full_command_without_any_valid_mac() {
    // ChangeKey is always Full: with both MACs broken it is "bad", never "plain".
    let text = NONZERO
        .replace("C90B62C00EE2FB3D", "C90B62C00EE2FB3E")
        .replace("B9941534E53582A6", "B9941534E53582A7");
    let d = decode(&text, &nonzero_keys());
    let e = &d.exchanges[11];
    assert_eq!((e.comm_mode, e.mac), (CommMode::Full, MacVerdict::Bad));
    assert_eq!(e.error, Some(ExchangeError::NoMac(CommMode::Full)));
    assert_eq!((e.plain.as_ref(), e.resp_plain.as_ref()), (None, None));
}

#[test]
fn file_mode_learnt_from_get_file_settings() {
    // WriteData to file 01 comes after GetFileSettings said Full: with its response MAC broken
    // it stays Full (and bad) rather than being guessed.
    let text = NONZERO.replace("1B8A7A9C2A168BF8", "1B8A7A9C2A168BF9");
    let d = decode(&text, &nonzero_keys());
    let e = &d.exchanges[7];
    assert_eq!((e.comm_mode, e.mac), (CommMode::Full, MacVerdict::Bad));
    assert_eq!(e.error, Some(ExchangeError::ResponseMac));
    // The command side verified, so its data is shown.
    assert_eq!(e.plain.as_deref(), Some(&hex!("CAFEF00D12345678")[..]));
    assert_eq!(e.resp_plain, None);
}

#[test]
fn missing_exchanges_resynchronise_the_counter() {
    // Drop GetFileSettings (CmdCtr 1): GetVersion then verifies only at CmdCtr 2.
    let start = NONZERO.find("> 90F50000").unwrap();
    let end = start + NONZERO[start..].find("9100\n").unwrap() + 5;
    let text = format!("{}{}", &NONZERO[..start], &NONZERO[end..]);
    let d = decode(&text, &nonzero_keys());
    let v = d.exchanges.iter().find(|e| e.ins == 0x60).unwrap();
    assert_eq!(
        v.error,
        Some(ExchangeError::CounterSkipped {
            expected: 1,
            found: 2
        })
    );
    assert_eq!(
        (v.comm_mode, v.mac, v.cmd_ctr),
        (CommMode::Mac, MacVerdict::Ok, Some(CmdCtr(2)))
    );
    // Without GetFileSettings the Full WriteData is recognised by its padding.
    let w = d.exchanges.iter().find(|e| e.ins == 0x3D).unwrap();
    assert_eq!((w.comm_mode, w.mac), (CommMode::Full, MacVerdict::Ok));
    assert_eq!(d.sessions.len(), 2);
}

#[test]
fn error_status_and_select_application_end_the_session() {
    let text = format!(
        "{AN12196_SAMPLE}\n> 90F5000009026597A457C8CD442C00\n< 91AE\n> 9060000000\n< 04010133001A05 91AF\n> 90AF000000\n< 04010103001A05 9100\n"
    );
    let d = decode(&text, &zero_key_0());
    assert_eq!(
        d.exchanges[3].status_name.as_deref(),
        Some("AUTHENTICATION_ERROR")
    );
    assert!(
        d.exchanges[3]
            .events
            .iter()
            .any(|e| e.contains("session ends"))
    );
    assert_eq!(d.exchanges[4].session, None);
    assert_eq!(
        d.exchanges[4].resp_plain.as_deref().map(<[u8]>::len),
        Some(14)
    );

    let text =
        format!("{AN12196_SAMPLE}\n> 905A000003000000 00\n< 9100\n> 9060000000\n< 00 9100\n");
    let d = decode(&text, &zero_key_0());
    assert!(
        d.exchanges[3]
            .events
            .iter()
            .any(|e| e.contains("SelectApplication"))
    );
    assert_eq!(d.exchanges[4].session, None);
}

#[test]
fn unfollowable_authentications() {
    // LRP: LenCap 01, PCDcap2.1 = 02; the card answers 01 || RndB.
    let d = decode(
        "> 9071000003000102 00\n< 01A04C124213C186F22399D33AC2A30215 91AF\n> 90AF0000 20 0000000000000000000000000000000000000000000000000000000000000000 00\n< 9100\n",
        &zero_key_0(),
    );
    assert_eq!(d.exchanges[0].error, Some(ExchangeError::Lrp));
    assert_eq!(d.exchanges[1].name, "AuthenticateEV2First (part 2)");
    assert!(d.sessions.is_empty());
    // EV1 AuthenticateAES.
    let d = decode(
        "> 90AA0000 01 00 00\n< B969FDFE56FD91FC9DE6F6F213B8FD1E 91AF\n> 90AF0000 20 36AAD7DF6E436BA08D18613830A70D5AD43E3D3F4A8D47541EEE623A934E4774 00\n< 800DB680BC146BD121D6578F2D2E2059 9100\n> 9060000000\n< 04 9100\n",
        &zero_key_0(),
    );
    assert_eq!(
        d.exchanges[0].error,
        Some(ExchangeError::LegacyAuthentication("AuthenticateAES"))
    );
    assert_eq!(d.exchanges[1].name, "AuthenticateAES (part 2)");
    assert_eq!(d.exchanges[1].error, None);
    assert!(
        d.exchanges[2]
            .events
            .iter()
            .any(|e| e.contains("does not follow"))
    );
    // NonFirst without a session.
    let d = decode(
        "> 90770000 01 00 00\n< A04C124213C186F22399D33AC2A30215 91AF\n",
        &zero_key_0(),
    );
    assert_eq!(
        d.exchanges[0].error,
        Some(ExchangeError::NonFirstWithoutSession)
    );
    // The card refuses: not a decoder failure.
    let d = decode("> 9071000002000000\n< 91AE\n", &zero_key_0());
    assert_eq!(d.exchanges[0].error, None);
    assert!(d.exchanges[0].events.iter().any(|e| e.contains("refused")));
}

#[test]
fn truncated_and_garbage_lines() {
    let text = "\
> 9071000002000000
< A04C124213C186F22399D33AC2 91AF
hello
> 90AF0000 20 35C3 00
< zz
> 90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00
";
    let d = decode(text, &zero_key_0());
    let kinds: Vec<_> = d.line_errors.iter().map(|e| (e.line, e.kind)).collect();
    assert_eq!(kinds.len(), 3);
    assert_eq!(kinds[0], (3, LineErrorKind::NoDirection));
    assert_eq!(
        kinds[1],
        (4, LineErrorKind::LcMismatch { lc: 32, present: 3 })
    );
    assert!(matches!(kinds[2], (5, LineErrorKind::Hex(_))));
    // The truncated challenge, and the part 2 that lost its response.
    assert_eq!(
        d.exchanges[0].error,
        Some(ExchangeError::ChallengeLength(13))
    );
    assert_eq!(
        d.exchanges[1].error,
        Some(ExchangeError::StrayAdditionalFrame)
    );
    assert_eq!(d.exchanges[1].sw, None);
    assert!(d.sessions.is_empty());
}

#[test]
fn incomplete_exchanges_inside_a_session() {
    let text = format!("{AN12196_SAMPLE}\n> 9060000000\n< 04010133001A05 91AF\n");
    let d = decode(&text, &zero_key_0());
    assert_eq!(d.exchanges[3].error, Some(ExchangeError::ChainNotFinished));
    let text = format!("{AN12196_SAMPLE}\n> 9060000000\n");
    let d = decode(&text, &zero_key_0());
    assert_eq!(d.exchanges[3].error, Some(ExchangeError::NoResponse));
    assert!(
        d.exchanges[3]
            .events
            .iter()
            .any(|e| e.contains("no longer followed"))
    );
}

#[test]
fn human_output_never_shows_session_or_change_key_secrets() {
    let d = decode(NONZERO, &nonzero_keys());
    let mut out = Vec::new();
    d.write_human(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for secret in [
        "E9502CAABB3B42072B5ACB890258EA85",
        "5AC9EEDBB90CB701A0B82313B0CE6B74",
        "0C61EC159A7B554E9D752600A6E31D96",
        "9569F26DAC9592A6037F5775E356DDAC",
        "A1B38197E1F3C1DF",
        "0F1E2D3C4B5A6978",
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert!(text.contains("withheld"));
    assert!(text.contains("DESFire EV3 non-"));
    // The JSON carries them.
    let json = d.to_json().to_string();
    assert!(json.contains("E9502CAABB3B42072B5ACB890258EA85"));
    assert!(json.contains("A1B38197E1F3C1DF213301176173414F01E9B9588A"));
}

#[test]
fn json_shape() {
    let d = decode(AN12196_SAMPLE, &zero_key_0());
    let v = d.to_json();
    let s = &v["sessions"][0];
    assert_eq!(s["key_no"], 0);
    assert_eq!(s["ti"], "9D00C4DF");
    assert_eq!(s["ses_enc"], "1309C877509E5A215007FF0ED19CA564");
    assert_eq!(s["ses_mac"], "4C6626F5E72EA694202139295C7A7FC7");
    let w = &v["exchanges"][2];
    assert_eq!(w["ins"], "8D");
    assert_eq!(w["status"], "9100");
    assert_eq!(w["comm_mode"], "full");
    assert_eq!(w["mac"], "ok");
    assert_eq!(w["plain"], crate::hex_text::upper(&T18_CMD_DATA));
    assert_eq!(w["resp_plain"], "");
    assert!(w.get("error").is_none());
    for e in v["exchanges"].as_array().unwrap() {
        for field in [
            "ins",
            "name",
            "status",
            "comm_mode",
            "mac",
            "plain",
            "resp_plain",
        ] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
    // Field order of the pretty output: sessions first.
    let pretty = d.to_json_pretty().unwrap();
    assert!(pretty.find("\"sessions\"").unwrap() < pretty.find("\"exchanges\"").unwrap());
}

/// Every prefix and many one-byte corruptions of the bundled traces decode without panicking.
#[test]
fn damaged_traces_never_panic() {
    for (text, config) in [
        (AN12196_SAMPLE, zero_key_0()),
        (AN12196_T8, t8_session()),
        (NONZERO, nonzero_keys()),
    ] {
        for end in (0..text.len())
            .filter(|i| text.is_char_boundary(*i))
            .step_by(3)
        {
            let _ = decode(&text[..end], &config);
        }
        let bytes = text.as_bytes();
        for i in (0..bytes.len()).step_by(5) {
            let mut damaged = bytes.to_vec();
            damaged[i] = damaged[i].wrapping_add(1);
            let _ = decode(&String::from_utf8_lossy(&damaged), &config);
        }
    }
}
