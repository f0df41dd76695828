use std::fs;

use desfire_core::wire::Status;

use super::*;
use crate::hex_text::HexError;

const EXAMPLE: &str = include_str!("../../../specs/cards/lab-example.json");

fn example() -> CardImage {
    serde_json::from_str(EXAMPLE).unwrap()
}

fn app(img: &mut CardImage) -> &mut Application {
    &mut img.applications[0]
}

/// `to_state` fails at `path` with `problem`.
fn fails(img: &CardImage, path: &str, problem: Problem) {
    let e = img.to_state().unwrap_err();
    assert_eq!((e.path.as_str(), e.problem), (path, problem));
}

#[test]
fn example_is_canonical() {
    let img = example();
    let state = img.to_state().unwrap();
    let again = CardImage::from_state(&state);
    assert_eq!(again, img);
    let text = serde_json::to_string_pretty(&again).unwrap() + "\n";
    assert_eq!(
        text, EXAMPLE,
        "the checked-in example is what from_state writes"
    );
}

#[test]
fn keys_do_not_print() {
    let img = example();
    let text = format!("{img:?}");
    assert!(!text.contains(img.picc.master_key.key.expose()));
    assert!(text.contains("[redacted]"));
}

#[test]
fn picc_level_errors_name_their_field() {
    let mut img = example();
    img.format = "desfire-card-image/2".into();
    fails(
        &img,
        "format",
        Problem::UnknownFormat("desfire-card-image/2".into()),
    );
    let mut img = example();
    img.uid = "04A1B2".into();
    let len = |expected, got| Problem::Length { expected, got };
    fails(&img, "uid", len("7", 3));
    let mut img = example();
    img.picc.master_key.key = "4C41422D504943432D4D41535445522".into();
    fails(
        &img,
        "picc.master_key.key",
        Problem::Hex(HexError::OddLength(31)),
    );
    let mut img = example();
    img.picc.key_settings = "0G".into();
    fails(
        &img,
        "picc.key_settings",
        Problem::Hex(HexError::BadDigit {
            position: 2,
            found: 'G',
        }),
    );
    let mut img = example();
    img.ats = Some("0575778102FF".into());
    fails(&img, "ats", len("TL (the first byte)", 6));
    img.ats = Some("0575778102".into());
    assert_eq!(
        img.to_state().unwrap().ats.as_slice(),
        [5, 0x75, 0x77, 0x81, 2]
    );
    let mut img = example();
    img.originality = Originality::TestKey(false);
    fails(&img, "originality.test_key", Problem::TestKeyFalse);
    img.originality = Originality::PrivateKey(SecretHex::encode(&[0; 28]));
    fails(&img, "originality.private_key", Problem::BadPrivateKey);
    img.originality = Originality::Signature("00".repeat(55));
    fails(&img, "originality.signature", len("56", 55));
}

#[test]
fn application_errors_name_their_field() {
    let len = |expected, got| Problem::Length { expected, got };
    let mut img = example();
    app(&mut img).aid = "000000".into();
    fails(
        &img,
        "applications[0].aid",
        Problem::Refused(Status::PARAMETER_ERROR),
    );
    let mut img = example();
    app(&mut img).keys.clear();
    fails(&img, "applications[0].keys", len("1 to 14 keys", 0));
    let mut img = example();
    app(&mut img).keys[2].key = "00".into();
    fails(&img, "applications[0].keys[2].key", len("16", 1));
    let mut img = example();
    app(&mut img).df_name = None;
    fails(&img, "applications[0]", Problem::IsoPair);
    let mut img = example();
    app(&mut img).iso_fid = Some("3F00".into());
    fails(
        &img,
        "applications[0]",
        Problem::Refused(Status::PARAMETER_ERROR),
    );
    let mut img = example();
    let mut second = img.applications[0].clone();
    second.files.clear();
    second.iso_fid = None;
    second.df_name = None;
    img.applications.push(second);
    fails(&img, "applications[1]", Problem::Duplicate);
    // Memory: 28 applications of 14 keys each take 28 x 384 bytes > 8192.
    let mut img = example();
    let mut big = img.applications[0].clone();
    big.files.clear();
    big.iso_fid = None;
    big.df_name = None;
    big.keys = vec![big.keys[0].clone(); 14];
    for n in 1..28u32 {
        big.aid = format!("{n:06X}");
        img.applications.push(big.clone());
    }
    fails(&img, "applications[21]", Problem::OutOfMemory);
}

fn file(img: &mut CardImage, i: usize) -> &mut FileImage {
    &mut img.applications[0].files[i]
}

#[test]
fn file_errors_name_their_field() {
    let mut img = example();
    file(&mut img, 1).no = 1;
    fails(&img, "applications[0].files[1]", Problem::Duplicate);
    let mut img = example();
    file(&mut img, 3).iso_fid = Some("E101".into());
    fails(&img, "applications[0].files[3]", Problem::Duplicate);
    let mut img = example();
    file(&mut img, 0).data = Some("00".repeat(33));
    fails(
        &img,
        "applications[0].files[0].data",
        Problem::DataTooLong { got: 33, size: 32 },
    );
    let mut img = example();
    file(&mut img, 0).value = Some(1);
    fails(&img, "applications[0].files[0].value", Problem::NotForType);
    let mut img = example();
    file(&mut img, 0).size = None;
    fails(&img, "applications[0].files[0].size", Problem::Missing);
    let mut img = example();
    file(&mut img, 2).lower_limit = Some(10_001);
    fails(
        &img,
        "applications[0].files[2].lower_limit",
        Problem::Limits,
    );
    let mut img = example();
    file(&mut img, 2).value = Some(-1);
    fails(&img, "applications[0].files[2].value", Problem::Limits);
    let mut img = example();
    file(&mut img, 2).iso_fid = Some("E103".into());
    fails(
        &img,
        "applications[0].files[2].iso_fid",
        Problem::NotForType,
    );
    let mut img = example();
    file(&mut img, 1).access_rights.write = "14".into();
    fails(
        &img,
        "applications[0].files[1].access_rights.write",
        Problem::BadAccess,
    );
    let mut img = example();
    file(&mut img, 4).records = Some(vec!["00000001".into(); 3]);
    fails(
        &img,
        "applications[0].files[4].records",
        Problem::TooManyRecords { got: 3, max: 2 },
    );
    let mut img = example();
    file(&mut img, 3).records = Some(vec!["00".into()]);
    fails(
        &img,
        "applications[0].files[3].records[0]",
        Problem::Length {
            expected: "record_size",
            got: 1,
        },
    );
    let mut img = example();
    file(&mut img, 3).max_records = Some(1000);
    fails(&img, "applications[0].files[3]", Problem::OutOfMemory);
    let mut img = example();
    file(&mut img, 0).no = 32;
    fails(
        &img,
        "applications[0].files[0]",
        Problem::Refused(Status::PARAMETER_ERROR),
    );
}

#[test]
fn unknown_fields_and_types_are_json_errors() {
    let typo = EXAMPLE.replace("\"random_uid\"", "\"random_id\"");
    assert!(serde_json::from_str::<CardImage>(&typo).is_err());
    let bad_type = EXAMPLE.replace("\"std\"", "\"standard\"");
    assert!(serde_json::from_str::<CardImage>(&bad_type).is_err());
}

#[test]
fn save_is_private_and_load_reads_it_back() {
    let dir = std::env::temp_dir().join(format!("card-image-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.json");
    save(&path, &example()).unwrap();
    save(&path, &example()).unwrap();
    assert_eq!(load(&path).unwrap(), example());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file is left behind");
    fs::write(&path, EXAMPLE.replace("\"value\": 250", "\"value\": 10001")).unwrap();
    let e = load(&path).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("applications[0].files[2].value: needs lower_limit <= value <= upper_limit"),
        "{e}"
    );
    fs::remove_dir_all(&dir).unwrap();
}
