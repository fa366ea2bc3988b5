//! The guard on gatekeep's own files and on the agent settings that load gatekeep: inside a
//! supervised tree they are read-only. The tree gets a mount namespace of its own (with a
//! user namespace of its own when gatekeep does not run as root), in which each protected
//! file or directory is bind-mounted read-only onto itself; the seccomp filter refuses every
//! call that could mount or unmount, so the tree cannot undo it.
//!
//! What that means for a process of the tree, whichever way it names the file (a symbolic
//! link, `..`, `/proc/self/root`): writing, truncating, deleting it, renaming something over
//! it or linking it elsewhere fails. The kernel answers `EROFS`, `EBUSY` or `EXDEV`; the
//! watch ([`super::watch`]) turns that into `EACCES` and a record, and keeps protected paths
//! that do not exist yet from being created. A hard link that already existed before the
//! run is another name the guard cannot see: the caller warns about protected files with
//! more than one link. In a user namespace, files of other users show as owned by `nobody`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// The protected paths of one supervised run, prepared for the child.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    /// (path, flags of the mount it is on, to keep when remounting it read-only).
    paths: Vec<(CString, libc::c_ulong)>,
    /// The directories above protected paths (and above where an absent one would be),
    /// outermost first, each bind-mounted onto itself: see [`Guard::apply`].
    pins: Vec<(CString, PathBuf)>,
    /// `/proc/self/uid_map` and `gid_map` contents, when a user namespace is needed.
    maps: Option<(Vec<u8>, Vec<u8>)>,
    /// Display names of what is protected, and of protected files with other hard links.
    pub protected: Vec<PathBuf>,
    pub linked: Vec<PathBuf>,
    /// Protected paths that do not exist yet: a mount cannot keep them from being created,
    /// the watch does (see [`super::watch`]).
    pub absent: Vec<super::watch::Absent>,
    /// Symbolic links on the way to protected paths: a mount cannot keep them either, the
    /// watch puts them back.
    pub links: Vec<super::watch::Link>,
}

impl Guard {
    /// Protects those of `paths` that exist (a directory with everything in it).
    pub fn new(paths: &[PathBuf]) -> Guard {
        let mut guard = Guard {
            paths: Vec::new(),
            pins: Vec::new(),
            maps: None,
            protected: Vec::new(),
            linked: Vec::new(),
            absent: Vec::new(),
            links: Vec::new(),
        };
        for path in paths {
            for link in super::watch::Link::on_the_way(path) {
                if !guard.links.iter().any(|l| l.path == link.path) {
                    guard.links.push(link);
                }
            }
            let Ok(real) = path.canonicalize() else {
                if path.symlink_metadata().is_err() {
                    guard.absent.push(super::watch::Absent::new(path));
                }
                continue;
            };
            if guard.protected.contains(&real) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&real) else {
                continue;
            };
            if meta.is_file() && meta.nlink() > 1 {
                guard.linked.push(real.clone());
            }
            let Ok(stat) = nix::sys::statvfs::statvfs(&real) else {
                continue;
            };
            let Ok(c_path) = CString::new(real.as_os_str().as_bytes()) else {
                continue;
            };
            guard.paths.push((c_path, kept_flags(stat.flags())));
            guard.protected.push(real);
        }
        let mut above: Vec<PathBuf> = Vec::new();
        let absent = guard.absent.iter().map(|a| &a.path);
        let links = guard.links.iter().map(|l| &l.path);
        for path in guard.protected.iter().chain(absent).chain(links) {
            for dir in path.ancestors().skip(1) {
                // `/` cannot be renamed; a protected directory is a mount point already.
                if dir.parent().is_none()
                    || above.iter().any(|d| d == dir)
                    || guard.protected.iter().any(|p| p == dir)
                    || !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
                {
                    continue;
                }
                above.push(dir.to_owned());
            }
        }
        above.sort_by_key(|dir| dir.components().count());
        guard.pins = above
            .into_iter()
            .filter_map(|dir| Some((CString::new(dir.as_os_str().as_bytes()).ok()?, dir)))
            .collect();
        let uid = nix::unistd::geteuid().as_raw();
        if uid != 0 {
            let gid = nix::unistd::getegid().as_raw();
            guard.maps = Some((
                format!("{uid} {uid} 1").into_bytes(),
                format!("{gid} {gid} 1").into_bytes(),
            ));
        }
        guard
    }

    /// Applies the guard to the calling process: called in the child after `fork`, system
    /// calls only. Returns whether it could; the caller finds out by comparing mount
    /// namespaces, and goes on without the guard (it warns and records that).
    ///
    /// A read-only mount keeps what it covers from being changed, but not the path to it
    /// from being moved: renaming a directory above it (`~/.config`, the project) and
    /// putting another in its place would change what the path names. So every directory
    /// above a protected path, and the nearest existing one above a protected path that does
    /// not exist yet, is bind-mounted onto itself first: a mount point cannot be renamed
    /// or removed (`EBUSY`), and what it holds stays writable. (Renaming across one of them
    /// is then renaming across mounts, `EXDEV`, which `mv` turns into a copy.) Last, the
    /// working directory is entered again by its path: the one inherited is the directory
    /// under the new mounts, through which relative paths would reach the protected files
    /// as they were.
    pub fn apply(&self) -> bool {
        if self.paths.is_empty() && self.pins.is_empty() {
            return true;
        }
        let flags = match self.maps {
            Some(_) => libc::CLONE_NEWUSER | libc::CLONE_NEWNS,
            None => libc::CLONE_NEWNS,
        };
        // SAFETY: system calls on memory prepared before the fork; no allocation.
        unsafe {
            if libc::unshare(flags) != 0 {
                return false;
            }
            // gatekeep made itself non-dumpable, which leaves /proc/self owned by root; the
            // child writes its own maps, so it must own them again (exec resets this anyway).
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
            if let Some((uid_map, gid_map)) = &self.maps
                && !(write(c"/proc/self/setgroups", b"deny")
                    && write(c"/proc/self/uid_map", uid_map)
                    && write(c"/proc/self/gid_map", gid_map))
            {
                return false;
            }
            // Nothing done here reaches the rest of the system.
            let root = c"/";
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return false;
            }
            for (dir, _) in &self.pins {
                let pinned = libc::mount(
                    dir.as_ptr(),
                    dir.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                );
                if pinned != 0 {
                    return false;
                }
            }
            for (path, kept) in &self.paths {
                let bound = libc::mount(
                    path.as_ptr(),
                    path.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                );
                let read_only = bound == 0
                    && libc::mount(
                        std::ptr::null(),
                        path.as_ptr(),
                        std::ptr::null(),
                        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | kept,
                        std::ptr::null(),
                    ) == 0;
                if !read_only {
                    return false;
                }
            }
            // A directory that cannot be named again (deleted, or a path longer than the
            // buffer) is left as it is: nothing can be created in a deleted directory.
            let mut cwd = [0u8; 4096];
            if !libc::getcwd(cwd.as_mut_ptr().cast(), cwd.len()).is_null() {
                libc::chdir(cwd.as_ptr().cast());
            }
        }
        true
    }
}

/// The flags of a mount that a user namespace may not drop when remounting it.
fn kept_flags(flags: nix::sys::statvfs::FsFlags) -> libc::c_ulong {
    use nix::sys::statvfs::FsFlags;
    let mut kept = 0;
    for (flag, mount) in [
        (FsFlags::ST_NOSUID, libc::MS_NOSUID),
        (FsFlags::ST_NODEV, libc::MS_NODEV),
        (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
        (FsFlags::ST_NOATIME, libc::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, libc::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if flags.contains(flag) {
            kept |= mount;
        }
    }
    kept
}

/// Writes `data` to the file at `path` (async-signal-safe).
unsafe fn write(path: &std::ffi::CStr, data: &[u8]) -> bool {
    // SAFETY: plain system calls on valid pointers.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let written = libc::write(fd, data.as_ptr().cast(), data.len());
        libc::close(fd);
        written == data.len() as isize
    }
}

impl Guard {
    /// What the watch of the tree's file changes looks for.
    pub fn watch(&self) -> super::watch::Watch {
        super::watch::Watch {
            protected: self.protected.clone(),
            absent: self.absent.clone(),
            links: self.links.clone(),
        }
    }

    /// Whether every protected path is a read-only mount as process `pid` sees it (the guard
    /// took effect for it).
    pub fn applied_to(&self, pid: i32) -> bool {
        let Ok(mounts) = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")) else {
            return false;
        };
        // Fields: id, parent, major:minor, root, mount point, options, …
        let read_only: Vec<&str> = mounts
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let options = fields.get(5)?;
                options
                    .split(',')
                    .any(|o| o == "ro")
                    .then_some(*fields.get(4)?)
            })
            .collect();
        let points: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .collect();
        let shown = |path: &Path| path.to_string_lossy().replace(' ', "\\040");
        self.protected
            .iter()
            .all(|path| read_only.contains(&shown(path).as_str()))
            && self
                .pins
                .iter()
                .all(|(_, dir)| points.contains(&shown(dir).as_str()))
    }
}

/// The files a supervised tree may not change: gatekeep's own (configuration, policies,
/// cache, local secrets, the audit log) and the settings that make agents call gatekeep.
/// Directories that are gatekeep's alone are protected whole; the audit log by its file
/// and lock when it lives in a directory shared with other things.
pub fn protected_paths(
    paths: &crate::paths::Paths,
    log: &Path,
    home: Option<&Path>,
    cwd: &Path,
    extra: &[PathBuf],
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let ours = |p: &Path| p.to_string_lossy().contains("gatekeep");
    if let Some(dir) = paths.config_file.parent() {
        out.push(if ours(dir) {
            dir.to_owned()
        } else {
            paths.config_file.clone()
        });
    }
    out.push(paths.user_policies.clone());
    out.push(paths.data_dir.clone());
    out.push(paths.cache_dir.clone());
    match log.parent() {
        Some(dir) if ours(dir) => out.push(dir.to_owned()),
        _ => {
            out.push(log.to_owned());
            let mut lock = log.as_os_str().to_owned();
            lock.push(".lock");
            out.push(PathBuf::from(lock));
        }
    }
    let mut settings = Vec::new();
    if let Some(home) = home {
        settings.extend([
            home.join(".claude/settings.json"),
            home.join(".claude/settings.local.json"),
            home.join(".codex/config.toml"),
            home.join(".codex/hooks.json"),
            home.join(".gemini/settings.json"),
            home.join(".cursor/hooks.json"),
        ]);
    }
    for dir in cwd.ancestors() {
        settings.push(dir.join(".claude/settings.json"));
        settings.push(dir.join(".claude/settings.local.json"));
        settings.push(dir.join(".gemini/settings.json"));
        settings.push(dir.join(".cursor/hooks.json"));
        if dir.join(".git").exists() {
            break;
        }
    }
    for file in settings {
        // A settings file that does not exist yet could be created: its directory is
        // protected instead, when there is one; otherwise the directory, absent, is
        // watched so that it is not created.
        match file.parent() {
            _ if file.exists() => out.push(file),
            Some(dir) => out.push(dir.to_owned()),
            None => {}
        }
    }
    out.extend(extra.iter().cloned());
    out
}
