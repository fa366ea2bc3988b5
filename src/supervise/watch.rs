//! What the tree tries against the guard. The read-only mounts of [`super::guard`] are what
//! refuse; this module sees the refusals, so each is recorded and reported the way a
//! permission error is (`EACCES`), and it sees the one thing mounts cannot refuse: creating
//! a protected path that did not exist when the run started (an agent's settings directory
//! that is not there yet).
//!
//! A seccomp filter stops every system call that can change a file (opening for writing,
//! creating, renaming, linking, deleting, changing modes, owners, times or attributes) at
//! the tracer, which lets it run and looks at its result: a failure on a protected path
//! becomes `EACCES` and a record; a protected path that now exists is removed, with the
//! whole tree killed first so nothing else can write into it meanwhile. Reading the paths
//! after the call is only for the record: what was refused was refused by the kernel.

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Where a system call names the files it changes.
#[derive(Clone, Copy, Debug)]
enum Names {
    /// A path argument (relative to the working directory).
    Path(usize),
    /// A directory descriptor argument and a path argument relative to it.
    At(usize, usize),
    /// A file descriptor argument.
    Fd(usize),
}

/// A watched system call: its number, name, the files it names, and whether it can create
/// a path.
struct Call {
    number: i64,
    name: &'static str,
    names: &'static [Names],
    creates: bool,
}

use Names::{At, Fd, Path as P};

const CALLS: &[Call] = &[
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_open,
        name: "open",
        names: &[P(0)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_creat,
        name: "creat",
        names: &[P(0)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_rename,
        name: "rename",
        names: &[P(0), P(1)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_unlink,
        name: "unlink",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_link,
        name: "link",
        names: &[P(0), P(1)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_symlink,
        name: "symlink",
        names: &[P(1)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_mkdir,
        name: "mkdir",
        names: &[P(0)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_mknod,
        name: "mknod",
        names: &[P(0)],
        creates: true,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_rmdir,
        name: "rmdir",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_chmod,
        name: "chmod",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_chown,
        name: "chown",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_lchown,
        name: "lchown",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_utime,
        name: "utime",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_utimes,
        name: "utimes",
        names: &[P(0)],
        creates: false,
    },
    #[cfg(target_arch = "x86_64")]
    Call {
        number: libc::SYS_futimesat,
        name: "futimesat",
        names: &[At(0, 1)],
        creates: false,
    },
    Call {
        number: libc::SYS_openat,
        name: "openat",
        names: &[At(0, 1)],
        creates: true,
    },
    Call {
        number: libc::SYS_openat2,
        name: "openat2",
        names: &[At(0, 1)],
        creates: true,
    },
    Call {
        number: libc::SYS_truncate,
        name: "truncate",
        names: &[P(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_ftruncate,
        name: "ftruncate",
        names: &[Fd(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_fallocate,
        name: "fallocate",
        names: &[Fd(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_renameat,
        name: "renameat",
        names: &[At(0, 1), At(2, 3)],
        creates: true,
    },
    Call {
        number: libc::SYS_renameat2,
        name: "renameat2",
        names: &[At(0, 1), At(2, 3)],
        creates: true,
    },
    Call {
        number: libc::SYS_unlinkat,
        name: "unlinkat",
        names: &[At(0, 1)],
        creates: false,
    },
    Call {
        number: libc::SYS_linkat,
        name: "linkat",
        names: &[At(0, 1), At(2, 3)],
        creates: true,
    },
    Call {
        number: libc::SYS_symlinkat,
        name: "symlinkat",
        names: &[At(1, 2)],
        creates: true,
    },
    Call {
        number: libc::SYS_mkdirat,
        name: "mkdirat",
        names: &[At(0, 1)],
        creates: true,
    },
    Call {
        number: libc::SYS_mknodat,
        name: "mknodat",
        names: &[At(0, 1)],
        creates: true,
    },
    Call {
        number: libc::SYS_fchmod,
        name: "fchmod",
        names: &[Fd(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_fchmodat,
        name: "fchmodat",
        names: &[At(0, 1)],
        creates: false,
    },
    Call {
        number: libc::SYS_fchown,
        name: "fchown",
        names: &[Fd(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_fchownat,
        name: "fchownat",
        names: &[At(0, 1)],
        creates: false,
    },
    Call {
        number: libc::SYS_utimensat,
        name: "utimensat",
        names: &[At(0, 1)],
        creates: false,
    },
    Call {
        number: libc::SYS_setxattr,
        name: "setxattr",
        names: &[P(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_lsetxattr,
        name: "lsetxattr",
        names: &[P(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_fsetxattr,
        name: "fsetxattr",
        names: &[Fd(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_removexattr,
        name: "removexattr",
        names: &[P(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_lremovexattr,
        name: "lremovexattr",
        names: &[P(0)],
        creates: false,
    },
    Call {
        number: libc::SYS_fremovexattr,
        name: "fremovexattr",
        names: &[Fd(0)],
        creates: false,
    },
    // Binding a socket to a path creates it.
    Call {
        number: libc::SYS_bind,
        name: "bind",
        names: &[],
        creates: true,
    },
];

/// The errors a read-only mount answers (writing, replacing a mount point, linking across
/// mounts) and the permission errors, as a negated return value.
const REFUSALS: [i64; 5] = [
    -(libc::EROFS as i64),
    -(libc::EBUSY as i64),
    -(libc::EXDEV as i64),
    -(libc::EACCES as i64),
    -(libc::EPERM as i64),
];

/// The seccomp filter that stops the watched calls at the tracer: opening only with a
/// flag that writes or creates, every other call always.
pub fn filter(arch: TargetArch) -> Result<BpfProgram, String> {
    let error = |e: &dyn std::fmt::Display| e.to_string();
    let writing = |arg: u8| -> Result<Vec<SeccompRule>, String> {
        [libc::O_WRONLY, libc::O_RDWR, libc::O_CREAT, libc::O_TRUNC]
            .iter()
            .map(|flag| {
                let flag = *flag as u64;
                SeccompCondition::new(
                    arg,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(flag),
                    flag,
                )
                .and_then(|c| SeccompRule::new(vec![c]))
                .map_err(|e| error(&e))
            })
            .collect()
    };
    let mut rules = std::collections::BTreeMap::new();
    for call in CALLS {
        let conditions = match call.name {
            "open" => writing(1)?,
            "openat" => writing(2)?,
            _ => Vec::new(),
        };
        rules.insert(call.number, conditions);
    }
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), arch)
        .map_err(|e| error(&e))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| error(&e))
}

/// A watched call a tracee made, as it stood at the seccomp stop.
#[derive(Clone, Copy, Debug)]
pub struct Made {
    pub number: i64,
    pub args: [u64; 6],
}

/// What the tracer does about a watched call once it returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do.
    Fine,
    /// Refused on a protected path: report `EACCES`, and record it.
    Refused { call: &'static str, path: PathBuf },
    /// A protected path that did not exist now does: kill the tree, remove it, record it.
    Created {
        call: &'static str,
        path: PathBuf,
        /// Whether it could be removed (or was gone already).
        removed: bool,
    },
    /// A symbolic link on the way to a protected path is gone or replaced: kill the tree,
    /// put the link back, record it.
    Unlinked {
        call: &'static str,
        path: PathBuf,
        /// Whether it could be put back.
        restored: bool,
    },
}

/// The protected paths of one run, as the watch sees them.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// Canonical protected paths that exist (files, or directories with all they hold).
    pub protected: Vec<PathBuf>,
    /// Protected paths that did not exist when the run started.
    pub absent: Vec<Absent>,
    /// The symbolic links on the way to protected paths.
    pub links: Vec<Link>,
}

/// A symbolic link on the way to a protected path (a settings directory that is a link
/// into a dotfiles repository): what it points to is protected, the link itself is an
/// entry of a writable directory, which the tree could remove and replace with a
/// directory of its own.
#[derive(Clone, Debug)]
pub struct Link {
    /// Where it is (its directory canonical).
    pub path: PathBuf,
    pub target: PathBuf,
    /// Its own device and inode.
    id: (u64, u64),
}

impl Link {
    /// The links met on the way to `path`, outermost first.
    pub fn on_the_way(path: &Path) -> Vec<Link> {
        use std::os::unix::fs::MetadataExt as _;
        let mut links = Vec::new();
        let mut ancestors: Vec<&Path> = path.ancestors().collect();
        ancestors.reverse();
        for step in ancestors {
            let (Some(parent), Some(name)) = (step.parent(), step.file_name()) else {
                continue;
            };
            let Ok(meta) = step.symlink_metadata() else {
                break;
            };
            if !meta.file_type().is_symlink() {
                continue;
            }
            let (Ok(parent), Ok(target)) = (parent.canonicalize(), std::fs::read_link(step)) else {
                break;
            };
            links.push(Link {
                path: parent.join(name),
                target,
                id: (meta.dev(), meta.ino()),
            });
        }
        links
    }

    /// Whether the link is still the one it was.
    fn intact(&self) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        self.path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink() && (m.dev(), m.ino()) == self.id)
    }
}

/// A protected path that did not exist when the run started.
#[derive(Clone, Debug)]
pub struct Absent {
    /// The path, canonical as far as it existed.
    pub path: PathBuf,
    /// The nearest directory above it that existed: for the tree, a mount point that
    /// cannot be moved (see `Guard::apply`); what is below it, the tree made.
    pub below: PathBuf,
}

impl Absent {
    pub fn new(path: &Path) -> Absent {
        let path = canonical(path);
        let below = path
            .ancestors()
            .skip(1)
            .find(|dir| dir.symlink_metadata().is_ok())
            .unwrap_or(Path::new("/"))
            .to_owned();
        Absent { path, below }
    }
}

impl Watch {
    /// Judges the result `ret` of the watched call `made` by process `pid`.
    pub fn after(&self, pid: i32, made: &Made, ret: i64) -> Outcome {
        let Some(call) = CALLS.iter().find(|c| c.number == made.number) else {
            return Outcome::Fine;
        };
        // Whatever the result: a call may create its file and fail after (an open whose
        // flags the file system refuses once the file is made).
        if call.creates
            && let Some(outcome) = self.created(call.name)
        {
            return outcome;
        }
        if let Some(outcome) = self.unlinked(call.name) {
            return outcome;
        }
        if ret >= 0 || !REFUSALS.contains(&ret) {
            return Outcome::Fine;
        }
        for names in call.names {
            let Some(path) = resolve(pid, *names, &made.args) else {
                continue;
            };
            // A directory above a protected path is a mount point, which cannot be moved
            // away (see `Guard::apply`).
            let above = |p: &PathBuf| ret == -(libc::EBUSY as i64) && p.starts_with(&path);
            if self
                .protected
                .iter()
                .chain(self.absent.iter().map(|a| &a.path))
                .any(|p| path.starts_with(p) || above(p))
            {
                return Outcome::Refused {
                    call: call.name,
                    path,
                };
            }
        }
        Outcome::Fine
    }
}

impl Watch {
    /// The first protected path that did not exist and now does, as made by `call`.
    pub fn created(&self, call: &'static str) -> Option<Outcome> {
        let absent = self
            .absent
            .iter()
            .find(|a| a.path.symlink_metadata().is_ok())?;
        Some(Outcome::Created {
            call,
            path: absent.path.clone(),
            removed: false,
        })
    }

    /// The first link on the way to a protected path that is gone or replaced, as by
    /// `call`.
    pub fn unlinked(&self, call: &'static str) -> Option<Outcome> {
        let link = self.links.iter().find(|l| !l.intact())?;
        Some(Outcome::Unlinked {
            call,
            path: link.path.clone(),
            restored: false,
        })
    }

    /// Puts the link at `path` back (see [`super::undo::put_back`]); returns where what
    /// had taken its place went.
    pub fn put_back(&self, path: &Path) -> std::io::Result<Option<PathBuf>> {
        let Some(link) = self.links.iter().find(|l| l.path == path) else {
            return Ok(None);
        };
        super::undo::put_back(&link.path, &link.target)
    }

    /// Removes the protected path `path` that the tree created, and nothing else: the
    /// path is followed from the directory that existed above it (by descriptors, from
    /// `/`, no symbolic link followed), so a link the tree put on the way is what goes —
    /// not what it points to (another directory of gatekeep's, say). Returns what was
    /// removed, if anything was there.
    pub fn remove(&self, path: &Path) -> std::io::Result<Option<PathBuf>> {
        let below = self
            .absent
            .iter()
            .find(|a| a.path == path)
            .map_or(Path::new("/"), |a| a.below.as_path());
        super::undo::remove_below(path, below)
    }
}

/// The file a call's argument names, as process `pid` (stopped) sees it, made canonical as
/// far as it exists.
fn resolve(pid: i32, names: Names, args: &[u64; 6]) -> Option<PathBuf> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let (base, path) = match names {
        Names::Fd(fd) => {
            return std::fs::read_link(proc.join(format!("fd/{}", args[fd] as i32))).ok();
        }
        Names::Path(path) => (None, args[path]),
        Names::At(dir, path) => (Some(args[dir] as i32), args[path]),
    };
    let name = read_string(pid, path)?;
    // `/proc/self` and `/proc/thread-self` are the tracee's, not this process's.
    let name = if let Some(rest) = name.strip_prefix("/proc/self/") {
        format!("/proc/{pid}/{rest}")
    } else if let Some(rest) = name.strip_prefix("/proc/thread-self/") {
        format!("/proc/{pid}/task/{pid}/{rest}")
    } else {
        name
    };
    let full = if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        let base = match base {
            Some(libc::AT_FDCWD) | None => std::fs::read_link(proc.join("cwd")).ok()?,
            Some(fd) => std::fs::read_link(proc.join(format!("fd/{fd}"))).ok()?,
        };
        base.join(name)
    };
    Some(canonical(&full))
}

/// `path` with every part that exists made canonical.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => canonical(parent).join(name),
        _ => path.to_owned(),
    }
}

/// A NUL-terminated string in the memory of process `pid`.
fn read_string(pid: i32, address: u64) -> Option<String> {
    if address == 0 {
        return None;
    }
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut out = Vec::new();
    let mut at = address;
    while out.len() < libc::PATH_MAX as usize {
        // Up to the end of the page: the next one may not be mapped.
        let room = 4096 - (at % 4096) as usize;
        let mut chunk = vec![0u8; room];
        let read = mem.read_at(&mut chunk, at).ok()?;
        if read == 0 {
            return None;
        }
        if let Some(end) = chunk[..read].iter().position(|b| *b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&chunk[..read]);
        at += read as u64;
    }
    None
}
