//! The engine's credential transaction with reader AND card in process: AuthenticateEV2First
//! (key 1), GetCardUID (Full), AuthenticateEV2NonFirst (key 2), ReadData 160 bytes (Full), every
//! MAC verified on both sides. Prints transactions per second on one core (goal >= 20,000).
//!
//! ```text
//! cargo bench -p desfire-core --bench loopback
//! ```

use criterion::Criterion;
use desfire_core::crypto::AesKey;
use desfire_core::pcd::commands::*;
use desfire_core::pcd::{Desfire, FrameSize, Transport};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};
use desfire_core::wire::{Access, AccessRights, Aid, CommMode, FileNo, KeyNo, U24};
use std::hint::black_box;
use std::time::Instant;

struct Rng(u64);
impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for c in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}
impl rand_core::CryptoRng for Rng {}

struct Loop(Box<Card<RamNvm<NVM_LEN>, Rng>>);
impl Transport for Loop {
    type Error = core::convert::Infallible;
    fn transceive(&mut self, c: &[u8], r: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.0.process(c, r))
    }
}

const UID: [u8; 7] = [4, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60];

fn key(n: u8) -> AesKey {
    AesKey::new(core::array::from_fn(|i| {
        (i as u8).wrapping_mul(31) ^ n.wrapping_mul(0x5B)
    }))
}

fn setup() -> (Desfire<Loop>, Rng) {
    let card = Card::create(
        RamNvm::new(),
        Rng(7),
        CardConfig::default(),
        State::factory(UID),
    )
    .expect("card");
    let mut d = Desfire::new(Loop(Box::new(card)), FrameSize::SHORT_APDU);
    let mut rng = Rng(99);
    let mut rx = [0u8; 256];
    let aid = Aid::new(0xF0_0001).expect("aid");
    d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
        .expect("auth");
    d.execute(
        &CreateApplication::new(aid, KeySettings::DEFAULT, 3)
            .command()
            .expect("cmd"),
        &mut rx,
    )
    .expect("create app");
    d.execute(&select_application(aid), &mut rx)
        .expect("select");
    d.authenticate_ev2_first(KeyNo::MASTER, &AesKey::zero(), &mut rng)
        .expect("auth");
    for n in 1..3u8 {
        let ck = ChangeKey {
            target: ChangeKeyTarget::Application(KeyNo::new(n).expect("k")),
            old_key: &AesKey::zero(),
            new_key: &key(n),
            new_version: 1,
        };
        d.execute(&ck.command(KeyNo::MASTER), &mut rx)
            .expect("change key");
    }
    let rights = AccessRights {
        read: Access::Key(KeyNo::new(2).expect("k")),
        write: Access::Key(KeyNo::MASTER),
        read_write: Access::Never,
        change: Access::Never,
    };
    let file = FileNo::new(1).expect("file");
    let create = CreateDataFile {
        file,
        iso_file_id: None,
        comm_mode: CommMode::Full,
        access_rights: rights,
        size: U24::new(160).expect("size"),
    };
    d.execute(&create.standard().expect("cmd"), &mut rx)
        .expect("create file");
    let data: Vec<u8> = (0..160u8).collect();
    d.execute(
        &WriteData::new(file, U24::new(0).expect("o"), &data, CommMode::Full)
            .command()
            .expect("cmd"),
        &mut rx,
    )
    .expect("write");
    (d, rng)
}

fn transaction(d: &mut Desfire<Loop>, rng: &mut Rng) -> bool {
    let mut rx = [0u8; 256];
    let file = FileNo::new(1).expect("file");
    d.authenticate_ev2_first(KeyNo::new(1).expect("k"), &key(1), rng)
        .expect("first");
    let uid_ok = d.execute(&get_card_uid(), &mut rx).expect("uid").data() == UID;
    d.authenticate_ev2_non_first(KeyNo::new(2).expect("k"), &key(2), rng)
        .expect("non-first");
    let read = ReadData::new(
        file,
        U24::new(0).expect("o"),
        U24::new(160).expect("l"),
        CommMode::Full,
    );
    let resp = d.execute(&read.command(), &mut rx).expect("read");
    uid_ok && resp.data().len() == 160 && resp.data()[159] == 159
}

fn main() {
    let (mut d, mut rng) = setup();
    assert!(transaction(&mut d, &mut rng));
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("loopback/credential_transaction", |b| {
        b.iter(|| black_box(transaction(&mut d, &mut rng)))
    });
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        let n = 20_000;
        let start = Instant::now();
        for _ in 0..n {
            black_box(transaction(&mut d, &mut rng));
        }
        let per_s = f64::from(n) / start.elapsed().as_secs_f64();
        println!(
            "BENCH-SUMMARY loopback_transactions_per_second={per_s:.0} (goal >= 20000, one core)"
        );
    }
}
