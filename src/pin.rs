//! Files an approval binds and gatekeep then hands to the kernel: opened once, hashed from
//! that descriptor, and copied into a sealed memory file whenever the requester could still
//! change them, so that what runs is exactly what was hashed.
//!
//! "The requester" is this process's effective user: gatekeep runs as the person or agent
//! asking. A file counts as writable by them when they own it (an owner can always make it
//! writable again), when its mode lets their uid, gid or supplementary groups write, or when
//! it carries an access control list (not evaluated: assumed to allow it). Root counts as
//! able to write every file and every directory: it can remount, change attributes and
//! trace gatekeep itself, so for root every pinned file runs from a sealed copy (this closes
//! the race; it is not a boundary against root).

use std::ffi::CString;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use sha2::{Digest as _, Sha256};

/// The kernel reads at most this much of a `#!` line.
const SHEBANG_MAX: usize = 256;
/// `memfd_create` flags newer than the `nix` constants (linux/memfd.h).
const MFD_NOEXEC_SEAL: u32 = 0x0008;
const MFD_EXEC: u32 = 0x0010;

/// Why a file could not be pinned.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a regular file", .0.display())]
    NotFile(PathBuf),
    #[error(
        "{} could be rewritten before it runs, and it cannot run from a sealed copy: it finds its libraries through its own location ($ORIGIN)",
        .0.display()
    )]
    NeedsItsPath(PathBuf),
    #[error("cannot make a sealed copy of {}: {source}", path.display())]
    Seal {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Who asks: the identity whose write access decides whether a file can change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requester {
    pub uid: u32,
    pub gids: Vec<u32>,
}

impl Requester {
    /// This process's effective user and groups.
    pub fn current() -> Requester {
        use nix::libc;
        let mut gids = vec![0 as libc::gid_t; 1024];
        // SAFETY: the buffer holds as many entries as its length says.
        let count = unsafe { libc::getgroups(gids.len() as libc::c_int, gids.as_mut_ptr()) };
        gids.truncate(usize::try_from(count).unwrap_or(0));
        // SAFETY: these calls cannot fail and touch no memory of ours.
        let (uid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        gids.push(egid);
        Requester { uid, gids }
    }

    /// Whether this requester can change the content of the inode `meta` describes (or,
    /// for a directory, its entries).
    fn may_write(&self, meta: &std::fs::Metadata, has_acl: bool) -> bool {
        let mode = meta.mode();
        self.uid == 0
            || meta.uid() == self.uid
            || mode & 0o002 != 0
            || (mode & 0o020 != 0 && self.gids.contains(&meta.gid()))
            || has_acl
    }

    /// Whether this requester can put another file at `path` (rename or replace it in its
    /// directory, or do so with any directory on the way to it).
    pub fn may_replace(&self, path: &Path) -> bool {
        if self.uid == 0 || !path.is_absolute() {
            return true;
        }
        let mut targets = vec![path.to_owned()];
        if let Ok(real) = path.canonicalize()
            && real != path
        {
            targets.push(real);
        }
        targets.iter().any(|target| {
            let mut prefix = PathBuf::from("/");
            for component in target.components() {
                let Component::Normal(name) = component else {
                    continue;
                };
                let parent = prefix.clone();
                prefix.push(name);
                let (Ok(dir), Ok(entry)) = (parent.metadata(), prefix.symlink_metadata()) else {
                    // What cannot be examined is assumed to be changeable.
                    return true;
                };
                // In a sticky directory (/tmp) only the owners of an entry or of the
                // directory may rename it.
                let sticky = dir.mode() & 0o1000 != 0;
                if self.may_write(&dir, has_acl(&parent))
                    && (!sticky || entry.uid() == self.uid || dir.uid() == self.uid)
                {
                    return true;
                }
            }
            false
        })
    }
}

/// Whether the file at `path` carries a POSIX access control list.
fn has_acl(path: &Path) -> bool {
    let Ok(name) = CString::new(path.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: both strings are NUL-terminated; a zero-length buffer only asks for the size.
    let size = unsafe {
        nix::libc::lgetxattr(
            name.as_ptr(),
            c"system.posix_acl_access".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    size > 0
}

/// Whether the open file carries a POSIX access control list.
fn fd_has_acl(file: &File) -> bool {
    // SAFETY: a valid descriptor and a NUL-terminated name; no buffer is written.
    let size = unsafe {
        nix::libc::fgetxattr(
            file.as_raw_fd(),
            c"system.posix_acl_access".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    size > 0
}

/// A file read once through one descriptor, not yet decided how it will be used.
pub struct Opened {
    pub path: PathBuf,
    /// SHA-256 of the bytes read, lowercase hex.
    pub sha256: String,
    file: File,
    bytes: Vec<u8>,
    /// The requester could change its content.
    writable: bool,
    /// The requester could put another file at its path.
    replaceable: bool,
}

/// How a pinned file is handed on.
#[derive(Debug)]
pub enum Handle {
    /// The file's own descriptor: it is run through it, never reopened by path.
    File(OwnedFd),
    /// Nobody the requester can be may change the file or its path: it may be reopened
    /// by path (the descriptor is kept only to hold it open).
    Fixed(OwnedFd),
    /// A sealed in-memory copy of the bytes hashed (no write, grow or shrink, seals sealed).
    Sealed(OwnedFd),
}

/// A file whose hashed bytes are exactly what will be run or read.
#[derive(Debug)]
pub struct Pinned {
    pub path: PathBuf,
    pub sha256: String,
    pub handle: Handle,
}

impl Pinned {
    /// The descriptor that holds the pinned bytes.
    pub fn fd(&self) -> &OwnedFd {
        match &self.handle {
            Handle::File(fd) | Handle::Fixed(fd) | Handle::Sealed(fd) => fd,
        }
    }

    /// Whether the bytes come from a sealed copy.
    pub fn sealed(&self) -> bool {
        matches!(self.handle, Handle::Sealed(_))
    }
}

impl Opened {
    /// Opens `path`, reads it to the end and hashes what was read.
    pub fn open(path: &Path, requester: &Requester) -> Result<Opened, PinError> {
        let read_error = |source| PinError::Read {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        if !meta.is_file() {
            return Err(PinError::NotFile(path.to_owned()));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(read_error)?;
        let writable = requester.may_write(&meta, fd_has_acl(&file));
        Ok(Opened {
            path: path.to_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            replaceable: writable || requester.may_replace(path),
            writable,
            file,
            bytes,
        })
    }

    /// The interpreter and its optional argument when the file starts with `#!`, as the
    /// kernel reads them (one argument: the rest of the line, trimmed).
    pub fn shebang(&self) -> Option<(String, Option<String>)> {
        let head = &self.bytes[..self.bytes.len().min(SHEBANG_MAX)];
        let line = head.strip_prefix(b"#!")?;
        let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
        let line = String::from_utf8_lossy(line);
        let line = line.trim_matches([' ', '\t', '\r']);
        let (interpreter, argument) = match line.find([' ', '\t']) {
            Some(at) => (&line[..at], Some(line[at..].trim_matches([' ', '\t']))),
            None => (line, None),
        };
        (!interpreter.is_empty()).then(|| {
            (
                interpreter.to_owned(),
                argument.filter(|a| !a.is_empty()).map(str::to_owned),
            )
        })
    }

    /// Pins the file to be run through its descriptor: the descriptor itself, or a sealed
    /// copy when the requester could write the file between now and the exec.
    pub fn for_descriptor(self) -> Result<Pinned, PinError> {
        let seal = self.writable;
        // The dynamic loader finds `$ORIGIN` through /proc/self/exe, which for a copy in
        // memory names no directory: refused rather than run unsealed.
        if seal && origin_relative(&self.bytes) {
            return Err(PinError::NeedsItsPath(self.path));
        }
        self.pin(seal, true)
    }

    /// Pins the file to be opened again by path by someone else (an interpreter): as it
    /// is when neither the file nor its path can change, else a sealed copy.
    pub fn for_path(self) -> Result<Pinned, PinError> {
        let seal = self.replaceable;
        self.pin(seal, false)
    }

    fn pin(self, seal: bool, exec: bool) -> Result<Pinned, PinError> {
        let handle = if seal {
            let copy = sealed_copy(&self.bytes, exec).map_err(|source| PinError::Seal {
                path: self.path.clone(),
                source,
            })?;
            Handle::Sealed(copy)
        } else if exec {
            Handle::File(self.file.into())
        } else {
            Handle::Fixed(self.file.into())
        };
        Ok(Pinned {
            path: self.path,
            sha256: self.sha256,
            handle,
        })
    }
}

/// Whether an ELF executable's library search path (`DT_RPATH`, `DT_RUNPATH`) is relative
/// to its own location (`$ORIGIN`). Anything that does not parse as ELF: no.
fn origin_relative(elf: &[u8]) -> bool {
    let Some(ident) = elf.get(..6).filter(|i| i.starts_with(b"\x7fELF")) else {
        return false;
    };
    let (wide, little) = (ident[4] == 2, ident[5] == 1);
    let int = |at: usize, size: usize| -> Option<u64> {
        let bytes = elf.get(at..at.checked_add(size)?)?;
        let mut value = 0u64;
        for i in 0..size {
            let byte = if little {
                bytes[size - 1 - i]
            } else {
                bytes[i]
            };
            value = value << 8 | u64::from(byte);
        }
        Some(value)
    };
    let word = if wide { 8 } else { 4 };
    let parse = || -> Option<bool> {
        let (phoff, phentsize, phnum) = if wide {
            (int(0x20, 8)?, int(0x36, 2)?, int(0x38, 2)?)
        } else {
            (int(0x1c, 4)?, int(0x2a, 2)?, int(0x2c, 2)?)
        };
        // (type, offset, vaddr, filesz) of each program header.
        let headers: Vec<(u64, u64, u64, u64)> = (0..phnum)
            .map(|i| {
                let at = usize::try_from(phoff.checked_add(i.checked_mul(phentsize)?)?).ok()?;
                Some(if wide {
                    (
                        int(at, 4)?,
                        int(at + 8, 8)?,
                        int(at + 16, 8)?,
                        int(at + 32, 8)?,
                    )
                } else {
                    (
                        int(at, 4)?,
                        int(at + 4, 4)?,
                        int(at + 8, 4)?,
                        int(at + 16, 4)?,
                    )
                })
            })
            .collect::<Option<_>>()?;
        let file_offset = |vaddr: u64| {
            headers
                .iter()
                .find(|h| h.0 == 1 && h.2 <= vaddr && vaddr - h.2 < h.3)
                .map(|h| vaddr - h.2 + h.1)
        };
        let Some(dynamic) = headers.iter().find(|h| h.0 == 2) else {
            return Some(false);
        };
        let mut strtab = None;
        let mut paths = Vec::new();
        for i in 0..dynamic.3 / (2 * word as u64) {
            let at = usize::try_from(dynamic.1 + i * 2 * word as u64).ok()?;
            let (tag, value) = (int(at, word)?, int(at + word, word)?);
            match tag {
                0 => break,
                5 => strtab = file_offset(value),
                15 | 29 => paths.push(value),
                _ => {}
            }
        }
        let strtab = strtab?;
        Some(paths.iter().any(|&offset| {
            let Some(start) = usize::try_from(strtab + offset).ok() else {
                return false;
            };
            let text = elf.get(start..).unwrap_or_default();
            let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
            text.windows(6).any(|w| w == b"ORIGIN")
        }))
    };
    parse().unwrap_or(false)
}

/// A sealed in-memory copy of `bytes` (close-on-exec).
fn sealed_copy(bytes: &[u8], exec: bool) -> std::io::Result<OwnedFd> {
    let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let wanted = if exec { MFD_EXEC } else { MFD_NOEXEC_SEAL };
    let wanted = MFdFlags::from_bits_retain(wanted as _);
    // Kernels before 6.3 know neither flag; they make every copy executable.
    let fd = match memfd_create(c"gatekeep-pinned", base | wanted) {
        Err(nix::errno::Errno::EINVAL) => memfd_create(c"gatekeep-pinned", base)?,
        other => other?,
    };
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    let seals = SealFlag::F_SEAL_WRITE
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_SEAL;
    fcntl(file.as_fd(), FcntlArg::F_ADD_SEALS(seals))?;
    Ok(file.into())
}

/// SHA-256 of the file at `path` (following symbolic links), for files that are bound
/// but not run by gatekeep itself. Not a regular file: `None`.
pub fn hash_path(path: &Path) -> Option<Result<String, std::io::Error>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => return Some(Err(error)),
    };
    match file.metadata() {
        Ok(meta) if !meta.is_file() => return None,
        Err(error) => return Some(Err(error)),
        Ok(_) => {}
    }
    Some(sha256_file(&file))
}

/// SHA-256 of a file's whole content, lowercase hex. It reads by offset: the descriptor's
/// own position neither matters nor moves, so one open file can be hashed more than once.
pub fn sha256_file(file: &File) -> std::io::Result<String> {
    use std::os::unix::fs::FileExt as _;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut offset = 0;
    loop {
        match file.read_at(&mut buffer, offset) {
            Ok(0) => return Ok(hex::encode(hasher.finalize())),
            Ok(n) => {
                hasher.update(&buffer[..n]);
                offset += n as u64;
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn nobody() -> Requester {
        Requester {
            uid: 65534,
            gids: vec![65534],
        }
    }

    #[test]
    fn a_sealed_copy_holds_the_bytes_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool");
        std::fs::write(&path, b"#!/bin/sh\necho approved\n").unwrap();
        let opened = Opened::open(
            &path,
            &Requester {
                uid: 0,
                gids: vec![0],
            },
        )
        .unwrap();
        assert_eq!(
            opened.shebang(),
            Some(("/bin/sh".to_owned(), None)),
            "no argument"
        );
        let pinned = opened.for_descriptor().unwrap();
        assert!(pinned.sealed(), "root may write anything: sealed");
        std::fs::write(&path, b"#!/bin/sh\necho evil\n").unwrap();
        let mut copy = std::fs::File::from(pinned.fd().try_clone().unwrap());
        let mut read = String::new();
        std::io::Seek::rewind(&mut copy).unwrap();
        copy.read_to_string(&mut read).unwrap();
        assert_eq!(read, "#!/bin/sh\necho approved\n");
        assert!(copy.write_all(b"x").is_err(), "the copy is sealed");
        assert!(copy.set_len(1).is_err(), "the copy cannot shrink");
    }

    #[test]
    fn writability_follows_owner_mode_groups_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool");
        std::fs::write(&path, b"\x7fELF").unwrap();
        let meta = |p: &Path| std::fs::metadata(p).unwrap();
        let someone = Requester {
            uid: meta(&path).uid(),
            gids: vec![],
        };
        assert!(someone.may_write(&meta(&path), false), "the owner");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!nobody().may_write(&meta(&path), false));
        assert!(nobody().may_write(&meta(&path), true), "an ACL counts");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert!(nobody().may_write(&meta(&path), false), "others may write");
        let group = Requester {
            uid: 65534,
            gids: vec![meta(&path).gid()],
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(group.may_write(&meta(&path), false), "a group it is in");
        // The temporary directory is the test user's: nobody cannot rename in it, but can
        // in a world-writable one without the sticky bit, and not in a sticky one.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let owner_of_tmp = meta(&std::env::temp_dir()).uid() == 65534;
        assert_eq!(nobody().may_replace(&path), owner_of_tmp);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(nobody().may_replace(&path));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(nobody().may_replace(&path), owner_of_tmp);
        assert!(nobody().may_replace(Path::new("relative/tool")));
        assert!(
            Requester {
                uid: 0,
                gids: vec![]
            }
            .may_replace(&path)
        );
    }

    /// A minimal 64-bit little-endian ELF file with one PT_LOAD, a PT_DYNAMIC and a
    /// DT_RUNPATH of `runpath`.
    fn elf_with_runpath(runpath: &str) -> Vec<u8> {
        let mut elf = vec![0u8; 0x200];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let put = |elf: &mut Vec<u8>, at: usize, value: u64, size: usize| {
            elf[at..at + size].copy_from_slice(&value.to_le_bytes()[..size]);
        };
        put(&mut elf, 0x20, 0x40, 8); // e_phoff
        put(&mut elf, 0x36, 56, 2); // e_phentsize
        put(&mut elf, 0x38, 2, 2); // e_phnum
        // PT_LOAD: offset 0 at vaddr 0x1000, 0x200 bytes.
        put(&mut elf, 0x40, 1, 4);
        put(&mut elf, 0x48, 0, 8);
        put(&mut elf, 0x50, 0x1000, 8);
        put(&mut elf, 0x60, 0x200, 8);
        // PT_DYNAMIC at 0x100, three entries.
        put(&mut elf, 0x78, 2, 4);
        put(&mut elf, 0x80, 0x100, 8);
        put(&mut elf, 0x98, 48, 8);
        put(&mut elf, 0x100, 5, 8); // DT_STRTAB
        put(&mut elf, 0x108, 0x1180, 8);
        put(&mut elf, 0x110, 29, 8); // DT_RUNPATH
        put(&mut elf, 0x118, 1, 8);
        elf[0x181..0x181 + runpath.len()].copy_from_slice(runpath.as_bytes());
        elf
    }

    #[test]
    fn origin_relative_reads_the_dynamic_section() {
        assert!(origin_relative(&elf_with_runpath("$ORIGIN/../lib")));
        assert!(origin_relative(&elf_with_runpath("/opt/x/lib:${ORIGIN}")));
        assert!(!origin_relative(&elf_with_runpath("/opt/x/lib")));
        assert!(!origin_relative(b"#!/bin/sh\n$ORIGIN"));
        // The strings of a program that merely mention it do not count.
        if let Ok(bytes) = std::fs::read("/bin/sh") {
            assert!(!origin_relative(&bytes));
        }
    }

    #[test]
    fn a_writable_program_that_needs_its_own_location_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool");
        std::fs::write(&path, elf_with_runpath("$ORIGIN/../lib")).unwrap();
        let root = Requester {
            uid: 0,
            gids: vec![0],
        };
        let error = Opened::open(&path, &root)
            .unwrap()
            .for_descriptor()
            .unwrap_err();
        assert!(matches!(error, PinError::NeedsItsPath(_)), "{error}");
        // Through its own descriptor (nobody cannot write it) it keeps its path.
        let pinned = Opened::open(&path, &nobody())
            .unwrap()
            .for_descriptor()
            .unwrap();
        assert!(!pinned.sealed());
    }

    #[test]
    fn shebang_lines_as_the_kernel_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let read = |text: &[u8]| {
            let path = dir.path().join("s");
            std::fs::write(&path, text).unwrap();
            Opened::open(&path, &nobody()).unwrap().shebang()
        };
        assert_eq!(
            read(b"#! /usr/bin/env  python3 -u \nx"),
            Some(("/usr/bin/env".into(), Some("python3 -u".into())))
        );
        assert_eq!(read(b"#!/bin/bash\r\n"), Some(("/bin/bash".into(), None)));
        assert_eq!(read(b"\x7fELF\x02"), None);
        assert_eq!(read(b"#!\n"), None);
    }
}
