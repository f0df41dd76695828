//! The GetVersion response: a repr the reader parses and the card emits (MF3D(H)x3 GetVersion;
//! the product codes as public tooling lists them).

use super::{Error, Reader, Writer};

/// The `StorageSize` byte of GetVersion: bits 7..1 are `n`, the size is `2^n` bytes, exactly
/// when bit 0 is clear and somewhere between `2^n` and `2^(n+1)` when it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StorageSize(pub u8);

impl StorageSize {
    /// The lower bound in bytes, `2^n`; `None` when it does not fit 32 bits.
    pub fn bytes(self) -> Option<u32> {
        1u32.checked_shl(u32::from(self.0 >> 1))
    }

    /// Whether the size is exactly [`Self::bytes`] (bit 0 clear).
    pub const fn is_exact(self) -> bool {
        self.0 & 1 == 0
    }
}

impl core::fmt::Display for StorageSize {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.bytes(), self.is_exact()) {
            (Some(b), true) => write!(f, "{b} bytes"),
            (Some(b), false) => write!(f, "{b} to {} bytes", u64::from(b) << 1),
            (None, _) => write!(f, "storage size code {:02X}", self.0),
        }
    }
}

/// One of the first two GetVersion frames (hardware or software).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VersionPart {
    /// Vendor ID (`04` for NXP).
    pub vendor_id: u8,
    /// Product type (`01` DESFire, `08` DESFire Light, `04` NTAG).
    pub product_type: u8,
    /// Product subtype.
    pub sub_type: u8,
    /// Major version (`01` EV1, `12` EV2, `33` EV3 on the hardware part).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Storage size.
    pub storage_size: StorageSize,
    /// Communication protocol type (`05`: ISO/IEC 14443-2 and -3).
    pub protocol: u8,
}

impl VersionPart {
    /// The seven bytes of the frame.
    pub const fn to_wire(&self) -> [u8; 7] {
        [
            self.vendor_id,
            self.product_type,
            self.sub_type,
            self.major,
            self.minor,
            self.storage_size.0,
            self.protocol,
        ]
    }

    /// From the seven bytes of the frame.
    pub const fn from_wire(b: [u8; 7]) -> Self {
        let [
            vendor_id,
            product_type,
            sub_type,
            major,
            minor,
            size,
            protocol,
        ] = b;
        Self {
            vendor_id,
            product_type,
            sub_type,
            major,
            minor,
            storage_size: StorageSize(size),
            protocol,
        }
    }
}

impl core::fmt::Display for VersionPart {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "vendor {:02X} type {:02X}.{:02X} version {:02X}.{:02X}, {}, protocol {:02X}",
            self.vendor_id,
            self.product_type,
            self.sub_type,
            self.major,
            self.minor,
            self.storage_size,
            self.protocol
        )
    }
}

/// What the hardware part of GetVersion says the card is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Product {
    /// MIFARE DESFire (D40), hardware major `00`.
    DesfireD40,
    /// MIFARE DESFire EV1, hardware major `01`.
    DesfireEv1,
    /// MIFARE DESFire EV2, hardware major `12`.
    DesfireEv2,
    /// MIFARE DESFire EV3, hardware major `33`.
    DesfireEv3,
    /// MIFARE DESFire Light: type `08`, hardware major `30`.
    DesfireLight,
    /// Anything else (NTAG 424 DNA, other vendors, future versions).
    Other,
}

impl core::fmt::Display for Product {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::DesfireD40 => "MIFARE DESFire D40",
            Self::DesfireEv1 => "MIFARE DESFire EV1",
            Self::DesfireEv2 => "MIFARE DESFire EV2",
            Self::DesfireEv3 => "MIFARE DESFire EV3",
            Self::DesfireLight => "MIFARE DESFire Light",
            Self::Other => "unknown product",
        })
    }
}

/// The GetVersion response: 28 bytes, or 29 on cards that append a FabKey ID.
///
/// Whether the UID is a random ID is not visible here; the bytes are exposed as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Version {
    /// Hardware part (first frame).
    pub hardware: VersionPart,
    /// Software part (second frame).
    pub software: VersionPart,
    /// UID as reported here.
    pub uid: [u8; 7],
    /// Production batch number. On EV2 and later its last nibble and the top bit of
    /// [`Self::production_week`] carry FabKey bits; kept as sent.
    pub batch_no: [u8; 5],
    /// Calendar week of production (BCD, as sent).
    pub production_week: u8,
    /// Year of production (BCD, as sent).
    pub production_year: u8,
    /// FabKey ID, on cards that send a 15-byte third frame.
    pub fab_key_id: Option<u8>,
}

impl Version {
    /// Decodes the GetVersion response data (all three frames joined).
    pub fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let hardware = VersionPart::from_wire(r.array()?);
        let software = VersionPart::from_wire(r.array()?);
        let uid = r.array()?;
        let batch_no = r.array()?;
        let production_week = r.u8()?;
        let production_year = r.u8()?;
        let fab_key_id = if r.is_empty() { None } else { Some(r.u8()?) };
        r.finish()?;
        Ok(Self {
            hardware,
            software,
            uid,
            batch_no,
            production_week,
            production_year,
            fab_key_id,
        })
    }

    /// Length of the encoding: 28 bytes, 29 with a FabKey ID.
    pub const fn buffer_len(&self) -> usize {
        if self.fab_key_id.is_some() { 29 } else { 28 }
    }

    /// Where the card ends the first two frames (hardware, software) of the response.
    pub const FRAME_ENDS: [u16; 2] = [7, 14];

    /// Emits the response data: the inverse of [`Self::decode`].
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.put(&self.hardware.to_wire())?;
        w.put(&self.software.to_wire())?;
        w.put(&self.uid)?;
        w.put(&self.batch_no)?;
        w.put(&[self.production_week, self.production_year])?;
        match self.fab_key_id {
            Some(id) => w.put_u8(id),
            None => Ok(()),
        }
    }

    /// The product, from the hardware part's vendor, type and major version.
    pub const fn product(&self) -> Product {
        let hw = &self.hardware;
        if hw.vendor_id != 0x04 {
            return Product::Other;
        }
        match (hw.product_type, hw.major) {
            (0x01, 0x00) => Product::DesfireD40,
            (0x01, 0x01) => Product::DesfireEv1,
            (0x01, 0x12) => Product::DesfireEv2,
            (0x01, 0x33) => Product::DesfireEv3,
            (0x08, 0x30) => Product::DesfireLight,
            _ => Product::Other,
        }
    }

    /// Whether this is a MIFARE DESFire EV3 (hardware major version `33`).
    pub const fn is_ev3(&self) -> bool {
        matches!(self.product(), Product::DesfireEv3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn round_trip(bytes: &[u8]) -> Version {
        let v = Version::decode(bytes).unwrap();
        let mut buf = [0u8; 29];
        let mut w = Writer::new(&mut buf);
        v.emit(&mut w).unwrap();
        assert_eq!(w.written(), bytes, "emit(decode(bytes)) == bytes");
        assert_eq!(v.buffer_len(), bytes.len());
        assert_eq!(
            Version::decode(w.written()).unwrap(),
            v,
            "decode(emit(x)) == x"
        );
        v
    }

    #[test]
    fn round_trips() {
        // An EV3 8K as the virtual card answers (decision record 0003), our own UID and batch.
        let v = round_trip(&hex!(
            "04 01 01 33 00 1A 05  04 01 01 03 00 1A 05  04448BD2DB6B80 BA5E000001 10 24"
        ));
        assert!(v.is_ev3() && v.fab_key_id.is_none());
        // With a FabKey ID (a 15-byte third frame).
        let v = round_trip(&hex!(
            "04 01 01 12 00 18 05  04 01 01 02 01 18 05  04112233445566 0102030405 21 22 1F"
        ));
        assert_eq!(
            (v.product(), v.fab_key_id),
            (Product::DesfireEv2, Some(0x1F))
        );
        assert_eq!(Version::decode(&[0; 27]), Err(Error::Truncated));
        assert_eq!(Version::decode(&[0; 30]), Err(Error::TrailingData));
    }
}
