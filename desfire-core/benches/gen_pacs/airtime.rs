//! Air-time model of an ISO/IEC 14443 Type A exchange: what the frames of one procedure cost on
//! the air, the card's processing time taken as ZERO (we model the air only, not the card).
//!
//! Constants and where they come from (fc = 13.56 MHz carrier):
//! - bit duration: 128/fc (~9.44 us) at 106 kbit/s, 32/fc (~2.36 us) at 424 kbit/s
//!   (ISO/IEC 14443-2, bit rates fc/128 and fc/32).
//! - every byte is 9 bit-times: 8 data bits + 1 odd parity bit (ISO/IEC 14443-3, 6.2.3.1,
//!   standard frame).
//! - frame delimiters: PCD -> PICC SOF 1 bit-time, EOF 2 bit-times (logic "0" then sequence Y);
//!   PICC -> PCD SOF 1 bit-time (sequence D), EOF 1 bit-time (sequence F) (ISO/IEC 14443-3,
//!   6.1.3 / 6.1.5 frame delimiters; the same bit counts are used at 424 kbit/s).
//! - FDT PCD -> PICC (command end to response start): FDT_PICC,min = 1172/fc (~86.4 us),
//!   the n = 9, last-bit-"0" value of ISO/IEC 14443-3, 6.2.1.1 (FDT = (n*128 + 20)/fc), used
//!   at both bit rates.
//! - FDT PICC -> PCD (response end to next command start): FDT_PCD,min = 1172/fc
//!   (ISO/IEC 14443-3, 6.2.1.2), used at both bit rates; none after the last response.
//! - every APDU travels in ISO/IEC 14443-4 I-blocks: PCB (1 byte) + INF + CRC_A (2 bytes), no
//!   CID, no NAD (ISO/IEC 14443-4, 7.1). INF is at most FSC - 3 bytes (PCD -> PICC) or
//!   FSD - 3 (PICC -> PCD); a longer APDU is chained (each chained I-block but the last is
//!   acknowledged by an R(ACK), 3 bytes with CRC, 7.5.4). FSC = FSD = 256 (FSCI/FSDI 8, what
//!   a DESFire EV3 announces in its ATS and a PC/SC reader uses).
//! - no S(WTX) (the card answers at once in this model), no retransmissions.

/// Carrier frequency, Hz.
pub const FC_HZ: f64 = 13_560_000.0;
/// FDT_PICC,min and FDT_PCD,min, in carrier cycles.
pub const FDT_MIN_CYCLES: f64 = 1172.0;
/// I-block overhead: PCB + CRC_A.
pub const I_BLOCK_OVERHEAD: usize = 3;
/// Frame size of card and reader (FSC = FSD), bytes incl. PCB and CRC.
pub const FRAME_SIZE: usize = 256;
/// R(ACK) block: PCB + CRC_A.
pub const R_BLOCK: usize = 3;

/// A bit rate, as carrier cycles per bit.
#[derive(Debug, Clone, Copy)]
pub struct BitRate {
    /// Label, e.g. "106 kbit/s".
    pub name: &'static str,
    /// fc / bit rate.
    pub cycles_per_bit: f64,
}

/// 106 kbit/s (fc/128).
pub const KBPS_106: BitRate = BitRate {
    name: "106 kbit/s",
    cycles_per_bit: 128.0,
};
/// 424 kbit/s (fc/32).
pub const KBPS_424: BitRate = BitRate {
    name: "424 kbit/s",
    cycles_per_bit: 32.0,
};

/// One APDU pair at the APDU level: C-APDU and R-APDU lengths (status word included).
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    /// C-APDU bytes.
    pub command: usize,
    /// R-APDU bytes.
    pub response: usize,
}

/// One frame on the air.
#[derive(Debug, Clone, Copy)]
struct Frame {
    to_card: bool,
    bytes: usize,
}

/// What the model counts for a list of APDU pairs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Air {
    /// Air frames (I-blocks and R(ACK)s), both directions.
    pub frames: usize,
    /// Air bytes PCD -> PICC (PCB and CRC included).
    pub to_card: usize,
    /// Air bytes PICC -> PCD (PCB and CRC included).
    pub from_card: usize,
    /// Modelled air time, microseconds.
    pub micros: f64,
}

/// The air frames of one APDU sent in direction `to_card`, chained when needed; the R(ACK)s
/// go the other way.
fn blocks(to_card: bool, apdu: usize, out: &mut Vec<Frame>) {
    let max_inf = FRAME_SIZE - I_BLOCK_OVERHEAD;
    let mut left = apdu;
    loop {
        let inf = left.min(max_inf);
        left -= inf;
        out.push(Frame {
            to_card,
            bytes: inf + I_BLOCK_OVERHEAD,
        });
        if left == 0 {
            break;
        }
        out.push(Frame {
            to_card: !to_card,
            bytes: R_BLOCK,
        });
    }
}

/// Air frames, bytes and time of `pairs` at `rate`.
pub fn model(pairs: &[Pair], rate: BitRate) -> Air {
    let mut frames = Vec::new();
    for p in pairs {
        blocks(true, p.command, &mut frames);
        blocks(false, p.response, &mut frames);
    }
    let bit_us = rate.cycles_per_bit / FC_HZ * 1e6;
    let fdt_us = FDT_MIN_CYCLES / FC_HZ * 1e6;
    let mut air = Air::default();
    for (i, f) in frames.iter().enumerate() {
        // SOF + 9 bit-times per byte + EOF.
        let (sof, eof) = if f.to_card { (1, 2) } else { (1, 1) };
        air.micros += (sof + 9 * f.bytes + eof) as f64 * bit_us;
        // The delay before the next frame: FDT_PICC,min after a command, FDT_PCD,min after a
        // response (both 1172/fc); nothing after the last frame.
        if i + 1 < frames.len() {
            air.micros += fdt_us;
        }
        if f.to_card {
            air.to_card += f.bytes;
        } else {
            air.from_card += f.bytes;
        }
    }
    air.frames = frames.len();
    air
}

/// The model's arithmetic on one hand-counted pair (5-byte C-APDU, 2-byte R-APDU at 106 kbit/s:
/// 8 + 5 air bytes, 75 + 47 bit-times, one FDT); panics when it drifts.
pub fn self_check() {
    let a = model(
        &[Pair {
            command: 5,
            response: 2,
        }],
        KBPS_106,
    );
    let want = (75.0 + 47.0) * 128.0 / FC_HZ * 1e6 + FDT_MIN_CYCLES / FC_HZ * 1e6;
    assert_eq!((a.frames, a.to_card, a.from_card), (2, 8, 5));
    assert!((a.micros - want).abs() < 1e-9);
}
