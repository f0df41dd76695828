//! A tiny deterministic card for the PC/SC end-to-end tests, until the real card model
//! (`desfire_core::picc::Card`) lands: it answers the handful of native DESFire commands that
//! need no key, as an EV3 would, and refuses authentication.
//!
//! PICC: GetVersion (three frames, an EV3 with 8 KB), GetApplicationIDs, GetFreeMemory,
//! GetKeySettings, SelectApplication, FormatPICC, CreateApplication. In an application: one
//! standard data file (number 1, 32 bytes, Plain, every right free) with GetFileIDs,
//! GetFileSettings, ReadData and WriteData. AuthenticateEV2First answers AUTHENTICATION_ERROR;
//! anything else ILLEGAL_COMMAND_CODE.

use host_tools::virtual_card::{ATR_T1, VirtualCard};

/// The UID of the double, as GetVersion reports it.
pub const UID: [u8; 7] = [0x04, 0x5A, 0x11, 0x22, 0x33, 0x44, 0x80];
/// Its one application at delivery.
pub const AID: [u8; 3] = [0x01, 0xC5, 0x0A];
/// Free memory it reports at delivery.
pub const FREE: u32 = 6656;

const HW: [u8; 7] = [0x04, 0x01, 0x01, 0x33, 0x00, 0x1A, 0x05];
const SW: [u8; 7] = [0x04, 0x01, 0x01, 0x03, 0x00, 0x1A, 0x05];

#[derive(Debug)]
pub struct DoubleCard {
    random_uid: bool,
    activations: u8,
    anticollision: Vec<u8>,
    apps: Vec<[u8; 3]>,
    selected: Option<[u8; 3]>,
    file: [u8; 32],
    version_frame: u8,
}

impl DoubleCard {
    /// A card with a fixed 7-byte UID, or with Random ID on (a new `08 xx xx xx` per activation).
    pub fn new(random_uid: bool) -> Self {
        let mut file = [0u8; 32];
        file[..6].copy_from_slice(b"double");
        Self {
            random_uid,
            activations: 0,
            anticollision: UID.to_vec(),
            apps: vec![AID],
            selected: None,
            file,
            version_frame: 0,
        }
    }
}

fn answer(rapdu: &mut [u8], data: &[u8], status: u8) -> usize {
    rapdu[..data.len()].copy_from_slice(data);
    rapdu[data.len()] = 0x91;
    rapdu[data.len() + 1] = status;
    data.len() + 2
}

impl VirtualCard for DoubleCard {
    fn atr(&self) -> &[u8] {
        &ATR_T1
    }

    fn power_on(&mut self) {
        self.activations = self.activations.wrapping_add(1);
        self.anticollision = if self.random_uid {
            vec![0x08, 0xA0, 0x0B, self.activations]
        } else {
            UID.to_vec()
        };
        self.selected = None;
        self.version_frame = 0;
    }

    fn power_off(&mut self) {
        self.selected = None;
    }

    fn reset(&mut self) {
        self.power_off();
        self.power_on();
    }

    fn anticollision_uid(&self) -> &[u8] {
        &self.anticollision
    }

    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let [0x90, ins, 0x00, 0x00, rest @ ..] = capdu else {
            rapdu[..2].copy_from_slice(&[0x6E, 0x00]);
            return 2;
        };
        let data = match rest {
            [] | [_] => &[][..],
            [lc, body @ ..] => &body[..usize::from(*lc).min(body.len())],
        };
        let version_frame = std::mem::take(&mut self.version_frame);
        match (*ins, self.selected) {
            (0x60, _) => {
                self.version_frame = 1;
                answer(rapdu, &HW, 0xAF)
            }
            (0xAF, _) if version_frame == 1 => {
                self.version_frame = 2;
                answer(rapdu, &SW, 0xAF)
            }
            (0xAF, _) if version_frame == 2 => {
                let mut third = [0u8; 14];
                third[..7].copy_from_slice(&UID);
                third[7..12].copy_from_slice(&[0xBA, 0x5E, 0xBA, 0x11, 0x00]);
                third[12] = 0x21;
                third[13] = 0x25;
                answer(rapdu, &third, 0x00)
            }
            (0x6A, None) => {
                let ids: Vec<u8> = self.apps.iter().flatten().copied().collect();
                answer(rapdu, &ids, 0x00)
            }
            (0x6E, None) => {
                let used = u32::try_from(self.apps.len()).unwrap() * 256;
                let free = FREE + 256 - used;
                answer(rapdu, &free.to_le_bytes()[..3], 0x00)
            }
            (0x45, None) => answer(rapdu, &[0x0F, 0x81], 0x00),
            (0x45, Some(_)) => answer(rapdu, &[0x0F, 0x82], 0x00),
            (0x5A, _) => match data {
                [0, 0, 0] => {
                    self.selected = None;
                    answer(rapdu, &[], 0x00)
                }
                [a, b, c] if self.apps.contains(&[*a, *b, *c]) => {
                    self.selected = Some([*a, *b, *c]);
                    answer(rapdu, &[], 0x00)
                }
                [_, _, _] => answer(rapdu, &[], 0xA0),
                _ => answer(rapdu, &[], 0x7E),
            },
            (0xFC, None) => {
                self.apps.clear();
                answer(rapdu, &[], 0x00)
            }
            (0xCA, None) => match data {
                [a, b, c, ..] if self.apps.contains(&[*a, *b, *c]) => answer(rapdu, &[], 0xDE),
                [a, b, c, _, _, ..] => {
                    self.apps.push([*a, *b, *c]);
                    answer(rapdu, &[], 0x00)
                }
                _ => answer(rapdu, &[], 0x7E),
            },
            (0x6F, Some(_)) => answer(rapdu, &[0x01], 0x00),
            (0xF5, Some(_)) => match data {
                [1] => answer(rapdu, &[0x00, 0x00, 0xEE, 0xEE, 0x20, 0x00, 0x00], 0x00),
                _ => answer(rapdu, &[], 0xF0),
            },
            (0xBD, Some(_)) => match data {
                [1, o0, o1, o2, l0, l1, l2] => {
                    let off = usize::from(*o0) | usize::from(*o1) << 8 | usize::from(*o2) << 16;
                    let len = usize::from(*l0) | usize::from(*l1) << 8 | usize::from(*l2) << 16;
                    let len = if len == 0 {
                        32usize.saturating_sub(off)
                    } else {
                        len
                    };
                    match self.file.get(off..off + len) {
                        Some(bytes) => {
                            let bytes = bytes.to_vec();
                            answer(rapdu, &bytes, 0x00)
                        }
                        None => answer(rapdu, &[], 0xBE),
                    }
                }
                [_, ..] => answer(rapdu, &[], 0xF0),
                [] => answer(rapdu, &[], 0x7E),
            },
            (0x3D, Some(_)) => match data {
                [1, o0, o1, o2, l0, l1, l2, bytes @ ..] => {
                    let off = usize::from(*o0) | usize::from(*o1) << 8 | usize::from(*o2) << 16;
                    let len = usize::from(*l0) | usize::from(*l1) << 8 | usize::from(*l2) << 16;
                    if bytes.len() != len {
                        return answer(rapdu, &[], 0x7E);
                    }
                    match self.file.get_mut(off..off + len) {
                        Some(slot) => {
                            slot.copy_from_slice(bytes);
                            answer(rapdu, &[], 0x00)
                        }
                        None => answer(rapdu, &[], 0xBE),
                    }
                }
                _ => answer(rapdu, &[], 0x7E),
            },
            (0x71, _) => answer(rapdu, &[], 0xAE),
            (0x51, _) => answer(rapdu, &[], 0xAE),
            _ => answer(rapdu, &[], 0x1C),
        }
    }
}
