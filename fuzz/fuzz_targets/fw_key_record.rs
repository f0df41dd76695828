//! Arbitrary flash contents as the firmware's key record (`firmware/reader/src/provisioned.rs`):
//! a typed error or a record, never a panic. A record that parses is written again by `emit`
//! (what the provisioning tool writes) from its fields, and that parses to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reader::provisioned::{Provisioned, RECORD_LEN, emit};

fuzz_target!(|data: &[u8]| {
    let _ = Provisioned::parse(data, false);
    let Ok(p) = Provisioned::parse(data, true) else {
        return;
    };
    let pd = p.pd_config(0x0102_0304);
    assert_eq!(pd.address, p.address);
    let rec = &data[..RECORD_LEN];
    let field = |at: usize, n: usize| &rec[at..at + n];
    let issuer = field(48, usize::from(rec[47]));
    let key_id = field(65, usize::from(rec[64]));
    let k2: [u8; 16] = field(31, 16).try_into().unwrap();
    let again = emit(
        p.aid,
        &p.masters.system,
        field(15, 16).try_into().unwrap(),
        (k2 != [0; 16]).then_some(&k2),
        issuer,
        key_id,
        field(67, 65).try_into().unwrap(),
        field(132, 16).try_into().unwrap(),
        p.address,
        p.allow_fixed_uid,
    )
    .expect("the fields of a record that parsed fit a record");
    let q = Provisioned::parse(&again, true).expect("an emitted record parses");
    assert_eq!(
        (q.aid, q.address, q.allow_fixed_uid, &q.issuer_key),
        (p.aid, p.address, p.allow_fixed_uid, &p.issuer_key)
    );
    assert_eq!(q.scbk.expose(), p.scbk.expose());
});
