//! Reading the files gatekeep is configured with (policies, configuration, logins, the
//! development server's note) so that nothing put in their place can stall or flood it: a
//! FIFO there would block a plain read for ever, and a hook that hangs is a hook an agent
//! goes ahead without.

use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// The largest configuration or policy file read.
pub const CONFIG_FILE_LIMIT: u64 = 16 << 20;

/// The file's bytes: symbolic links are followed (dotfile managers link these files), but
/// only a regular file is read, it is opened without blocking, and at most `limit` bytes.
/// A missing file is `NotFound`, as from `std::fs::read`.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is larger than {} MiB", limit >> 20),
        ));
    }
    Ok(bytes)
}

/// `read_regular`, as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_regular(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_or_a_directory_is_refused_at_once_and_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.yaml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let error = read_regular(&fifo, CONFIG_FILE_LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "it is not a regular file");
        assert!(read_regular(dir.path(), CONFIG_FILE_LIMIT).is_err());
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, "version: 1\n").unwrap();
        assert_eq!(read_regular_text(&file, 64).unwrap(), "version: 1\n");
        assert!(read_regular(&file, 4).is_err());
        let missing = read_regular(&dir.path().join("none"), 64).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
