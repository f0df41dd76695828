//! Runs the built `desfire` binary on the bundled traces and checks its output and exit codes.

#[path = "support/cli.rs"]
mod cli;

use cli::{desfire, stderr, stdout};

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn desfire_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run desfire");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn trace(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/traces")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

/// A file of the test, readable by its owner only (key files must be, as `chmod 600`).
fn temp_file(name: &str, content: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

const ZERO_KEY_0: &str = "0=00000000000000000000000000000000";
const T8_SESSION: &str =
    "0:7A21085E:00000000000000000000000000000000:8248134A386E86EB7FAF54A52E536CB6:0";

// ---- keys diversify ------------------------------------------------------------------------

// Source: NXP AN10922 Rev. 2.2 §2.2.1 Table 2 (nxp-public.md AN10922-AES128).
#[test]
fn diversify_published_vector() {
    let o = desfire(&[
        "keys",
        "diversify",
        "--master",
        "00112233445566778899AABBCCDDEEFF",
        "--input",
        "04782E21801D803042F54E585020416275",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "A8DD63A3B89D54B37CA802473FDA9175\n");
}

#[test]
fn diversify_uid_aid_key_no_equals_the_explicit_input() {
    let master = "00112233445566778899AABBCCDDEEFF";
    // AID F54230 is sent as 30 42 F5; key number 1 follows it.
    let built = desfire(&[
        "keys",
        "diversify",
        "--master",
        master,
        "--uid",
        "04782E21801D80",
        "--aid",
        "F54230",
        "--key-no",
        "1",
        "--system-id",
        "4E585020416275",
    ]);
    let explicit = desfire(&[
        "keys",
        "diversify",
        "--master",
        master,
        "--input",
        "04782E21801D803042F5014E585020416275",
    ]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    assert_eq!(stdout(&built), stdout(&explicit));
    // Computed independently: AES-CMAC(master, 01 || M) with Python `cryptography` (|D| > 16, so
    // AN10922 equals plain CMAC).
    assert_eq!(stdout(&built), "1C194A65179CC117AC8AE4D9306BD412\n");
}

/// A key file that group or others can read, or a symbolic link to one, is refused before
/// it is read, as the profile's key files are.
#[test]
fn key_files_readable_by_others_or_linked_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let path = temp_file("open.key", "00112233445566778899AABBCCDDEEFF\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = desfire(&[
        "keys",
        "diversify",
        "--master-file",
        path.to_str().unwrap(),
        "--input",
        "04782E21801D803042F54E585020416275",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let target = temp_file("target.key", "00112233445566778899AABBCCDDEEFF\n");
    let link = target.with_extension("link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = desfire(&["trace", "decode", "--key-file", link.to_str().unwrap(), "-"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
}

#[test]
fn diversify_master_from_a_file() {
    let path = temp_file("master.key", "00112233445566778899AABBCCDDEEFF\n");
    let o = desfire(&[
        "keys",
        "diversify",
        "--master-file",
        path.to_str().unwrap(),
        "--input",
        "04782E21801D803042F54E585020416275",
    ]);
    assert_eq!(stdout(&o), "A8DD63A3B89D54B37CA802473FDA9175\n");
}

#[test]
fn diversify_bad_arguments_exit_2_without_panicking() {
    let master = "00112233445566778899AABBCCDDEEFF";
    let long_input = "00".repeat(32);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--master", "0011", "--input", "00"],
            "--master: expected an AES-128 key",
        ),
        (
            &[
                "--master",
                "0011223344556677889XAABBCCDDEEFF",
                "--input",
                "00",
            ],
            "invalid hex digit",
        ),
        (
            &["--master", master, "--input", "0"],
            "odd number of hex digits",
        ),
        (
            &["--master", master, "--input", &long_input],
            "1 to 31 bytes",
        ),
        (
            &[
                "--master", master, "--uid", "0478", "--aid", "F54230", "--key-no", "1",
            ],
            "--uid",
        ),
        (
            &[
                "--master",
                master,
                "--uid",
                "04782E21801D80",
                "--aid",
                "F542",
                "--key-no",
                "1",
            ],
            "--aid",
        ),
        (
            &[
                "--master",
                master,
                "--uid",
                "04782E21801D80",
                "--aid",
                "F54230",
                "--key-no",
                "14",
            ],
            "0 to 13",
        ),
        // clap: missing or conflicting arguments.
        (&["--master", master], "required"),
        (
            &[
                "--master",
                master,
                "--input",
                "00",
                "--uid",
                "04782E21801D80",
            ],
            "cannot be used with",
        ),
        (&["--input", "00"], "required"),
    ];
    for (args, message) in cases {
        let mut all = vec!["keys", "diversify"];
        all.extend_from_slice(args);
        let o = desfire(&all);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(stdout(&o).is_empty());
        // The key is never echoed.
        assert!(!err.contains(master), "{args:?}: {err}");
    }
}

#[test]
fn diversify_help_warns_about_lab_keys() {
    let o = desfire(&["keys", "diversify", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("LAB KEYS ONLY"));
}

// ---- trace decode --------------------------------------------------------------------------

/// The README's trace decode example.
#[test]
fn decode_an12196_sample_human() {
    let o = desfire(&[
        "trace",
        "decode",
        &trace("an12196-sample.trace"),
        "--key",
        ZERO_KEY_0,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for expected in [
        "[0] AuthenticateEV2First  (CLA 90 INS 71",
        "[1] AuthenticateEV2First (part 2)",
        "authenticated with key 0 (AuthenticateEV2First): session 0, TI 9D00C4DF, CmdCtr 0",
        "[2] WriteData (ISO-chaining code)",
        "9100 OPERATION_OK",
        "full, MAC ok, CmdCtr 0 (session 0, key 0, TI 9D00C4DF)",
        "header   02000000800000",
        "choose.ur",
        "3 exchange(s), 1 session(s) followed; 0 exchange(s) and 0 line(s) could not be followed",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Session keys only in JSON.
    assert!(!text.contains("1309C877509E5A215007FF0ED19CA564"));
    assert!(!text.contains("4C6626F5E72EA694202139295C7A7FC7"));
}

// Source: AN12196 Rev. 1.8 Tables 14 and 18 (nxp-public.md).
#[test]
fn decode_an12196_sample_json() {
    let o = desfire(&[
        "trace",
        "decode",
        "--json",
        "--key",
        ZERO_KEY_0,
        &trace("an12196-sample.trace"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    let s = &v["sessions"][0];
    assert_eq!(s["key_no"], 0);
    assert_eq!(s["ti"], "9D00C4DF");
    assert_eq!(s["ses_enc"], "1309C877509E5A215007FF0ED19CA564");
    assert_eq!(s["ses_mac"], "4C6626F5E72EA694202139295C7A7FC7");
    let ex = v["exchanges"].as_array().unwrap();
    assert_eq!(ex.len(), 3);
    assert_eq!(ex[0]["ins"], "71");
    assert_eq!(ex[0]["status"], "91AF");
    assert_eq!(ex[1]["ins"], "AF");
    assert_eq!(ex[1]["status"], "9100");
    let w = &ex[2];
    assert_eq!(w["ins"], "8D");
    assert_eq!(w["name"], "WriteData (ISO-chaining code)");
    assert_eq!(w["status"], "9100");
    assert_eq!(w["comm_mode"], "full");
    assert_eq!(w["mac"], "ok");
    assert_eq!(
        w["plain"],
        "0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D303030303030303030303030303030303030303030303030303030303030303026633D30303030303030303030303030303030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    );
    assert_eq!(w["resp_plain"], "");
    assert!(ex.iter().all(|e| e.get("error").is_none()));
}

// Source: AN12196 Rev. 1.8 Table 8 (nxp-public.md EV2-MAC-GETFILESETTINGS-AN12196-T8).
#[test]
fn decode_t8_with_a_given_session() {
    let o = desfire(&[
        "trace",
        "decode",
        "--json",
        "--session",
        T8_SESSION,
        &trace("an12196-t8-mac.trace"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["sessions"][0]["via"], "--session");
    assert_eq!(
        v["sessions"][0]["ses_mac"],
        "8248134A386E86EB7FAF54A52E536CB6"
    );
    let e = &v["exchanges"][0];
    assert_eq!(e["ins"], "F5");
    assert_eq!(e["comm_mode"], "mac");
    assert_eq!(e["mac"], "ok");
    assert_eq!(e["plain"], "");
    assert_eq!(
        e["resp_plain"],
        "0040EEEE000100D1FE001F00004400004400002000006A0000"
    );
}

#[test]
fn session_option_is_documented() {
    let o = desfire(&["trace", "decode", "--help"]);
    let help = stdout(&o);
    assert!(help.contains("for excerpts that begin after the"), "{help}");
    assert!(help.contains("LAB KEYS ONLY"));
    assert!(help.contains("Exit status"));
}

#[test]
fn decode_nonzero_key_trace_with_a_key_file() {
    let keys = temp_file(
        "keys.txt",
        "# lab keys of ev2-nonzero-key.trace\n2=00112233445566778899AABBCCDDEEFF\n0=F0E1D2C3B4A5968778695A4B3C2D1E0F\n",
    );
    let o = desfire(&[
        "trace",
        "decode",
        "--json",
        "--strict",
        "--key-file",
        keys.to_str().unwrap(),
        &trace("ev2-nonzero-key.trace"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["key_no"], 2);
    assert_eq!(sessions[0]["ti"], "3B7C10E5");
    assert_eq!(sessions[0]["ses_enc"], "E9502CAABB3B42072B5ACB890258EA85");
    assert_eq!(sessions[0]["ses_mac"], "5AC9EEDBB90CB701A0B82313B0CE6B74");
    assert_eq!(sessions[1]["key_no"], 0);
    assert_eq!(sessions[1]["via"], "AuthenticateEV2NonFirst");
    assert_eq!(sessions[1]["cmd_ctr"], 5);
    let ex = v["exchanges"].as_array().unwrap();
    let read = &ex[3];
    assert_eq!(read["ins"], "BD");
    assert_eq!(
        (read["comm_mode"].as_str(), read["mac"].as_str()),
        (Some("full"), Some("ok"))
    );
    assert_eq!(
        read["resp_plain"],
        "4445534669726520455633206E6F6E2D7A65726F2D6B65792073616D706C6521"
    );
    let settings = &ex[4];
    assert_eq!(settings["ins"], "F5");
    assert_eq!(settings["comm_mode"], "mac");
    assert_eq!(settings["mac"], "ok");
    assert_eq!(settings["resp_plain"], "00030022200000");
}

#[test]
fn wrong_key_reports_per_exchange_errors_and_exits_0() {
    let args = [
        "trace",
        "decode",
        "--json",
        "--key",
        "0=000102030405060708090A0B0C0D0E0F",
    ];
    let mut all = args.to_vec();
    let path = trace("an12196-sample.trace");
    all.push(&path);
    let o = desfire(&all);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert!(v["sessions"].as_array().unwrap().is_empty());
    let ex = v["exchanges"].as_array().unwrap();
    assert_eq!(ex.len(), 3);
    assert!(
        ex[1]["error"]
            .as_str()
            .unwrap()
            .contains("verifies RndB' (wrong key?)")
    );
    assert!(ex[2].get("error").is_none());
    assert_eq!(ex[2]["comm_mode"], "plain");

    // --strict turns "could not follow" into exit 1.
    all.insert(2, "--strict");
    let o = desfire(&all);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["exchanges"].as_array().unwrap().len(), 3);
}

#[test]
fn corrupted_response_mac() {
    let text = std::fs::read_to_string(trace("an12196-t8-mac.trace"))
        .unwrap()
        .replace("2A474282E7A47986", "2A474282E7A47900");
    let o = desfire_stdin(
        &["trace", "decode", "--json", "--session", T8_SESSION, "-"],
        &text,
    );
    assert_eq!(o.status.code(), Some(0));
    let e = &json(&o)["exchanges"][0];
    assert_eq!(e["mac"], "bad");
    assert!(e["resp_plain"].is_null());
    assert_eq!(e["error"], "response MAC does not verify");
    // Human output says so too, without showing the data.
    let o = desfire_stdin(&["trace", "decode", "--session", T8_SESSION, "-"], &text);
    let text = stdout(&o);
    assert!(text.contains("MAC bad"));
    assert!(text.contains("ERROR    response MAC does not verify"));
    // The raw frame is shown as sniffed; the decoded response is withheld.
    assert!(text.contains("response (withheld: not verified)"), "{text}");
    assert!(!text.contains("25 bytes"), "{text}");
}

#[test]
fn garbage_and_truncated_lines() {
    let input = "\
# a trace with damage
> 9071000002000000
< A04C124213C186F22399D33AC2 91AF
this is not a frame
> 90AF0000 20 35C3 00
< 9G00
< 91
";
    let o = desfire_stdin(
        &["trace", "decode", "--json", "--key", ZERO_KEY_0, "-"],
        input,
    );
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    let lines: Vec<(u64, String)> = v["line_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0].0, 4);
    assert!(lines[0].1.contains("starts with '>'"));
    assert_eq!(lines[1].0, 5);
    assert!(lines[1].1.contains("Lc announces 32"));
    assert_eq!(lines[2].0, 6);
    assert!(lines[2].1.contains("invalid hex digit 'G'"));
    assert_eq!(lines[3].0, 7);
    assert!(lines[3].1.contains("no status word"));
    assert_eq!(
        v["exchanges"][0]["error"],
        "challenge E(K, RndB) has 13 byte(s), expected 16"
    );
    let o = desfire_stdin(&["trace", "decode", "--strict", "-"], input);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("line 6: not a usable frame: invalid hex digit"));

    // Binary garbage is decoded line by line, never a crash.
    let mut child = Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(["trace", "decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0xFF, 0xFE, b'>', b' ', 0x80, b'\n', b'<', b'9', b'1', b'\n'])
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = trace("no-such.trace");
    let cases: &[(&[&str], &str)] = &[
        (&["trace", "decode", &missing], "cannot read"),
        (
            &["trace", "decode", "--key", "0=00", "-"],
            "--key: expected an AES-128 key",
        ),
        (
            &[
                "trace",
                "decode",
                "--key",
                "14=00000000000000000000000000000000",
                "-",
            ],
            "0 to 13",
        ),
        (
            &["trace", "decode", "--session", "0:00", "-"],
            "KEYNO:TI:SESENC:SESMAC:CMDCTR",
        ),
        (
            &["trace", "decode", "--key-file", &missing, "-"],
            "cannot read",
        ),
        (&["trace", "decode"], "required"),
        (&["trace", "frobnicate"], "unrecognized subcommand"),
    ];
    for (args, message) in cases {
        let o = desfire_stdin(args, "");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

// ---- emulate and card ------------------------------------------------------------------------

#[test]
fn emulate_refuses_a_bad_image_before_connecting() {
    // Not an image: typed error naming the file, exit 2, and no connection attempt.
    let image = temp_file("card.json", "{}");
    let o = desfire(&[
        "emulate",
        "--card",
        image.to_str().unwrap(),
        "--vpcd",
        "127.0.0.1:9",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("card.json"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    // A missing file is refused the same way.
    let missing = temp_file("missing-dir-marker", "");
    let o = desfire(&[
        "emulate",
        "--card",
        &format!("{}.absent", missing.display()),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn card_help_lists_the_commands() {
    let o = desfire(&["card", "--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for cmd in [
        "info",
        "format",
        "app",
        "file",
        "write",
        "read",
        "change-key",
    ] {
        assert!(stdout(&o).contains(cmd), "{cmd}: {}", stdout(&o));
    }
}

#[cfg(not(feature = "pcsc"))]
#[test]
fn card_commands_need_the_pcsc_feature() {
    let o = desfire(&["card", "info"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--features pcsc"), "{}", stderr(&o));
}

#[cfg(feature = "pcsc")]
#[test]
fn destructive_card_commands_check_arguments_before_the_reader() {
    // Bad arguments fail with status 2 before any PC/SC call, so these pass without pcscd.
    let o = desfire(&[
        "card", "write", "--app", "000000", "--file", "1", "--data", "00",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("PICC level"), "{}", stderr(&o));
    let key = temp_file("new.key", "00112233445566778899AABBCCDDEEFF\n");
    let o = desfire(&[
        "card",
        "change-key",
        "--app",
        "0AC501",
        "--key-no",
        "1",
        "--auth-key",
        "0",
        "--key",
        "0=00000000000000000000000000000000",
        "--new-key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no key for key number 1"),
        "{}",
        stderr(&o)
    );
    let o = desfire(&["card", "format"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass --yes"), "{}", stderr(&o));
}
