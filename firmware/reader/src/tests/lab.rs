//! The lab build holds the lab profile of spec §16 (`specs/profiles/lab.toml`), the file the
//! audit's cards (§17) are built from: a key or revocation entry that drifted apart would turn
//! an audit of the reference firmware into a false failure (or hide a real one).

use crate::lab;
use crate::lab_values::{TEST_ISSUER_PUBLIC, TEST_K1, TEST_K2_MASTER};
use desfire_core::encoding::{IssuerId, LAB_AID, Revocation};
use std::string::String;
use std::vec::Vec;

fn lab_profile() -> toml::Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../specs/profiles/lab.toml");
    let text = std::fs::read_to_string(path).unwrap();
    text.parse().unwrap()
}

fn get<'a>(t: &'a toml::Table, path: &[&str]) -> &'a toml::Value {
    let (last, tables) = path.split_last().unwrap();
    let mut at = t;
    for k in tables {
        at = at[*k].as_table().unwrap();
    }
    &at[*last]
}

fn hex_str(t: &toml::Table, path: &[&str]) -> String {
    get(t, path).as_str().unwrap().to_uppercase()
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| std::format!("{b:02X}")).collect()
}

#[test]
fn lab_keys_and_aid_are_the_lab_profiles() {
    let p = lab_profile();
    assert_eq!(hex_str(&p, &["keys", "k1"]), upper_hex(&TEST_K1));
    assert_eq!(hex_str(&p, &["keys", "k2"]), upper_hex(&TEST_K2_MASTER));
    assert_eq!(
        hex_str(&p, &["issuer", "id"]),
        String::from_utf8(lab::TEST_ISSUER_ID.to_vec()).unwrap()
    );
    let keys = get(&p, &["issuer", "public_keys"]).as_array().unwrap();
    assert_eq!(
        keys[0]["public_key"].as_str().unwrap().to_uppercase(),
        upper_hex(&TEST_ISSUER_PUBLIC)
    );
    assert_eq!(
        hex_str(&p, &["aid"]),
        std::format!("{:06X}", LAB_AID.value())
    );
}

#[test]
fn lab_revocation_list_is_the_lab_profiles() {
    let p = lab_profile();
    let issuer = IssuerId::new(lab::TEST_ISSUER_ID).unwrap();
    let mut expected: Vec<Revocation> = Vec::new();
    for id in get(&p, &["revocation", "deny_list"]).as_array().unwrap() {
        expected.push(Revocation::DenyListed {
            issuer: issuer.clone(),
            credential_id: u64::from_str_radix(id.as_str().unwrap(), 16).unwrap(),
        });
    }
    for (id, issue) in get(&p, &["revocation", "current_issue"])
        .as_table()
        .unwrap()
    {
        expected.push(Revocation::CurrentIssue {
            issuer: issuer.clone(),
            credential_id: u64::from_str_radix(id, 16).unwrap(),
            issue_number: u8::try_from(issue.as_integer().unwrap()).unwrap(),
        });
    }
    assert!(!expected.is_empty(), "lab.toml has no [revocation]");
    assert_eq!(lab::revocation().unwrap().to_vec(), expected);
    // And the reader configuration carries it.
    let keys = lab::issuer_keys().unwrap();
    let list = lab::revocation().unwrap();
    assert_eq!(lab::reader_config(&keys, &list).revocation, &list[..]);
}
