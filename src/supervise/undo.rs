//! What the supervisor undoes of the tree's changes around protected paths: a protected
//! path it created is removed, a symbolic link on the way to one that it removed or
//! replaced is put back. Both walk from `/` by descriptors and follow no symbolic link, so
//! whatever the tree put on the way, nothing but the one entry changes.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{Mode, SFlag, fstat};

/// Removes `path`, reached through the directory `below` (which has no symbolic link in
/// it, being canonical): the first entry on the way that is not a directory (a link the
/// tree made) or else the path itself. Returns what was removed, if anything was there.
pub fn remove_below(path: &Path, below: &Path) -> std::io::Result<Option<PathBuf>> {
    let Ok(rest) = path.strip_prefix(below) else {
        return Err(std::io::Error::other(
            "not below the directory it was to be in",
        ));
    };
    let mut dir = directory(below)?;
    let mut at = below.to_owned();
    let rest = names(rest);
    let Some((last, between)) = rest.split_last() else {
        return Ok(None);
    };
    for name in between {
        match entry(&dir, name) {
            Ok((fd, true)) => dir = fd,
            // A link (or a file) the tree put on the way made the path exist: it goes.
            Ok((_, false)) => {
                remove(&dir, name, false)?;
                return Ok(Some(at.join(name)));
            }
            Err(Errno::ENOENT) => return Ok(None),
            Err(errno) => return Err(errno.into()),
        }
        at.push(name);
    }
    match entry(&dir, last) {
        Ok((_, is_dir)) => {
            remove(&dir, last, is_dir)?;
            Ok(Some(at.join(last)))
        }
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(errno.into()),
    }
}

/// Makes `link` (whose directory has no symbolic link in it) the symbolic link to `target`
/// again. Whatever the tree put in its place is moved aside in the same directory, under
/// the name returned.
pub fn put_back(link: &Path, target: &Path) -> std::io::Result<Option<PathBuf>> {
    let (Some(parent), Some(name)) = (link.parent(), link.file_name()) else {
        return Err(std::io::Error::other("not a link in a directory"));
    };
    let dir = directory(parent)?;
    let mut aside = None;
    if entry(&dir, name).is_ok() {
        let mut moved = name.to_owned();
        moved.push(format!(".gatekeep-moved-{}", uuid::Uuid::new_v4().simple()));
        nix::fcntl::renameat(&dir, name, &dir, moved.as_os_str())?;
        aside = Some(parent.join(moved));
    }
    nix::unistd::symlinkat(target, &dir, name)?;
    Ok(aside)
}

/// The directory at `path`, opened by walking from `/` without following a link.
fn directory(path: &Path) -> std::io::Result<OwnedFd> {
    if !path.is_absolute() {
        return Err(std::io::Error::other("not an absolute path"));
    }
    let mut dir = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    for name in names(path) {
        match entry(&dir, &name)? {
            (fd, true) => dir = fd,
            _ => {
                return Err(std::io::Error::other(format!(
                    "{} is no longer a directory",
                    path.display()
                )));
            }
        }
    }
    Ok(dir)
}

/// The entry `name` of `dir`, not followed if it is a link, and whether it is a directory.
fn entry(dir: &OwnedFd, name: &OsStr) -> Result<(OwnedFd, bool), Errno> {
    let fd = openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let kind = SFlag::from_bits_truncate(fstat(&fd)?.st_mode) & SFlag::S_IFMT;
    Ok((fd, kind == SFlag::S_IFDIR))
}

/// Removes the entry `name` of `dir`, a directory with all it holds.
fn remove(dir: &OwnedFd, name: &OsStr, is_dir: bool) -> std::io::Result<()> {
    // Through the descriptor: the directory checked here, whatever its path says now.
    let entry = Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
    if is_dir {
        std::fs::remove_dir_all(entry)
    } else {
        std::fs::remove_file(entry)
    }
}

fn names(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            _ => None,
        })
        .collect()
}
