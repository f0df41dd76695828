//! The ECDSA P-256 differential vectors on the host: RustCrypto (the only backend that builds
//! here) and the engine's [`P256`] give OpenSSL's verdict on every case. The Cortex-M4 backend
//! runs the same table in QEMU (`firmware/scripts/measure.sh`).

use crate::ecdsa_vectors::{VECTORS, differential, verdict};
use desfire_core::crypto::ecdsa_p256::{P256, RustCryptoP256};

#[test]
fn rustcrypto_and_the_engine_backend_agree_with_openssl() {
    assert_eq!(differential::<RustCryptoP256, P256>(), Ok(VECTORS.len()));
}

#[test]
fn the_table_holds_valid_and_invalid_cases() {
    let valid = VECTORS.iter().filter(|v| v.valid).count();
    assert!(
        valid >= 4 && VECTORS.len() - valid >= 12,
        "{valid} of {}",
        VECTORS.len()
    );
    for v in VECTORS {
        assert_eq!(verdict::<RustCryptoP256>(v), v.valid, "{}", v.name);
    }
}
