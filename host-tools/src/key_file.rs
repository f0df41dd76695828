//! Key files: files that hold keys or PINs (the profile's `*_file` keys, `--key-file`,
//! `--master-file`, `--new-key-file`, an SCBK file, a token PIN file), read only when the
//! file itself, checked on the open descriptor, keeps them from other users.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Why a key file was not read. Messages name the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Group or others may access the file.
    #[error(
        "{path}: key file is accessible by group or others (mode {mode:03o}); \
         `chmod 600` it"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A symbolic link, not a regular file, owned by another user, or a file whose owner and
    /// mode cannot be checked on this platform.
    #[error("{path}: {problem}")]
    Unsafe {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

/// Reads a key file after checking, on the open descriptor (so the file checked is the file
/// read), that it is a regular file owned by the user running the tool and that group and
/// others have no access. The last path component must not be a symbolic link
/// (`O_NOFOLLOW`); directories above it are the administrator's to protect.
#[cfg(unix)]
pub fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let unsafe_file = |problem: String| KeyFileError::Unsafe {
        path: path.to_owned(),
        problem,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                unsafe_file(
                    "key file is a symbolic link; name the file itself (links are not followed)"
                        .into(),
                )
            } else {
                io(e)
            }
        })?;
    let meta = file.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(unsafe_file("key file is not a regular file".into()));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(unsafe_file(format!(
            "key file is owned by user {}, not by the user running desfire ({me}); `chown` it",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(io)?;
    Ok(text)
}

/// Key files cannot be checked here (owner and mode of an open file): refused.
#[cfg(not(unix))]
pub fn read_key_file(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    Err(KeyFileError::Unsafe {
        path: path.to_owned(),
        problem: "this platform gives no owner and mode to check a key file by; keep the keys \
                  in a PKCS#11 token (`*_label`) instead"
            .into(),
    })
}
