//! Image files: read and checked, or written readable by the owner alone and replaced
//! atomically.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::error::FileError;
use super::schema::CardImage;

/// Reads and checks an image file: it parses and describes a valid card.
pub fn load(path: &Path) -> Result<CardImage, FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    let image: CardImage = serde_json::from_str(&text).map_err(|source| FileError::Json {
        path: path.to_owned(),
        source,
    })?;
    image.to_state().map_err(|source| FileError::Image {
        path: path.to_owned(),
        source,
    })?;
    Ok(image)
}

/// Writes an image file atomically: a temporary file in the same directory, created readable
/// by the owner only (it holds keys), written, synced, then renamed over `path`, and the
/// directory synced. A crash leaves the old file or the new one, never half of one.
pub fn save(path: &Path, image: &CardImage) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text =
        Zeroizing::new(
            serde_json::to_string_pretty(image).map_err(|source| FileError::Json {
                path: path.to_owned(),
                source,
            })?,
        );
    text.push('\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        // A leftover of an earlier crash of a process with the same id.
        let _ = fs::remove_file(&tmp);
        let mut f = create_private(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    if written.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(io)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Makes a rename in `dir` durable (the audit report writer uses it too).
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}
