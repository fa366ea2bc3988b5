//! What keeps a supervised tree under supervision, applied in the child between `fork` and
//! the first `execve`:
//!
//! - a seccomp filter refusing what would escape or blind the tracer: `clone` with
//!   `CLONE_UNTRACED`, `ptrace`, `process_vm_writev` and `pidfd_getfd` fail with `EPERM`;
//!   `clone3` fails with `ENOSYS` (its flags live in memory a filter cannot read, and libc
//!   then falls back to `clone`), and so does io_uring (whose file operations are no system
//!   calls the watch could stop at); `open_by_handle_at` fails with `EPERM` (it reaches a
//!   file through any mount, past the guard's read-only ones); on x86_64 every x32 system
//!   call (the same calls under other numbers) fails with `EPERM`;
//! - a filter that stops every call changing a file at the tracer, which sees what the
//!   guard refused (see [`super::watch`]);
//! - a Landlock domain: a process inside it may not ptrace, or open the memory of, any
//!   process outside it (the supervisor above all), whatever its user, root included; and
//!   no file under `/proc` may be opened for writing, so no process of the tree writes
//!   another's memory through `/proc/PID/mem`.
//!
//! Both need `no_new_privs`, so setuid programs gain nothing inside the tree (see
//! docs/agents.md for how gatekeep treats them). Everything is built before `fork`: the
//! child only makes system calls, never allocates.

use std::os::fd::{AsRawFd as _, OwnedFd};

use super::guard::Guard;
use landlock::{
    AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr as _, RulesetCreatedAttr as _, Scope,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The confinement prepared for one supervised tree.
pub struct Confinement {
    /// Gatekeep's own files and the agents' settings, read-only for the tree.
    pub guard: Guard,
    /// Refused with `EPERM`.
    eperm: BpfProgram,
    /// Refused with `ENOSYS`.
    enosys: BpfProgram,
    /// Every x32 system call refused with `EPERM` (x86_64 only).
    x32: BpfProgram,
    /// The calls that change files, stopped at the tracer (see [`super::watch`]).
    watch: BpfProgram,
    /// The Landlock ruleset, when the kernel has Landlock.
    landlock: Option<OwnedFd>,
}

/// Why the confinement could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("cannot build the seccomp filter: {0}")]
    Seccomp(String),
}

const CLONE_UNTRACED: u64 = 0x0080_0000;

impl Confinement {
    pub fn prepare(guard: Guard) -> Result<Confinement, ConfineError> {
        let arch = TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|e| ConfineError::Seccomp(e.to_string()))?;
        let untraced = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(CLONE_UNTRACED),
            CLONE_UNTRACED,
        )
        .and_then(|c| SeccompRule::new(vec![c]))
        .map_err(|e| ConfineError::Seccomp(e.to_string()))?;
        let eperm = filter(
            vec![
                (libc::SYS_clone, vec![untraced]),
                (libc::SYS_ptrace, vec![]),
                (libc::SYS_process_vm_writev, vec![]),
                (libc::SYS_pidfd_getfd, vec![]),
                // A file handle opens a file by its identity, through any mount of its file
                // system: a writable one, past the guard's read-only mounts (root only).
                (libc::SYS_open_by_handle_at, vec![]),
                // Nothing may mount or unmount: the guard's read-only mounts stay.
                (libc::SYS_mount, vec![]),
                (libc::SYS_umount2, vec![]),
                (libc::SYS_pivot_root, vec![]),
                (libc::SYS_open_tree, vec![]),
                (libc::SYS_move_mount, vec![]),
                (libc::SYS_fsopen, vec![]),
                (libc::SYS_fsconfig, vec![]),
                (libc::SYS_fsmount, vec![]),
                (libc::SYS_fspick, vec![]),
                (libc::SYS_mount_setattr, vec![]),
            ],
            libc::EPERM,
            arch,
        )?;
        // io_uring runs file operations (opening, creating, renaming, linking) in the kernel
        // without a system call of their own, which the watch would not see: as on hosts
        // that disable it, programs fall back to plain calls.
        let enosys = filter(
            vec![
                (libc::SYS_clone3, vec![]),
                (libc::SYS_io_uring_setup, vec![]),
                (libc::SYS_io_uring_enter, vec![]),
                (libc::SYS_io_uring_register, vec![]),
            ],
            libc::ENOSYS,
            arch,
        )?;
        let watch = super::watch::filter(arch).map_err(ConfineError::Seccomp)?;
        Ok(Confinement {
            guard,
            eperm,
            enosys,
            watch,
            x32: x32_filter(),
            landlock: landlock_domain(),
        })
    }

    /// Whether the tree gets a Landlock domain (the kernel supports Landlock).
    pub fn has_landlock(&self) -> bool {
        self.landlock.is_some()
    }

    /// What the child needs to confine itself (the ruleset descriptor stays open in this
    /// process until the child has applied it).
    pub fn for_child(&self) -> ChildConfinement {
        ChildConfinement {
            guard: self.guard.clone(),
            eperm: self.eperm.clone(),
            enosys: self.enosys.clone(),
            x32: self.x32.clone(),
            watch: self.watch.clone(),
            landlock: self.landlock.as_ref().map(|fd| fd.as_raw_fd()),
        }
    }
}

/// The confinement as the child applies it.
pub struct ChildConfinement {
    guard: Guard,
    eperm: BpfProgram,
    enosys: BpfProgram,
    x32: BpfProgram,
    watch: BpfProgram,
    landlock: Option<std::os::fd::RawFd>,
}

impl ChildConfinement {
    /// Applies the confinement to the calling process. Called in the child after `fork`:
    /// system calls only.
    pub fn apply(&self) -> std::io::Result<()> {
        // First, while mounting is still allowed; the parent notices when it was not.
        self.guard.apply();
        // SAFETY: prctl with constant arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some(ruleset) = self.landlock {
            // SAFETY: the descriptor is a Landlock ruleset the parent created and keeps open.
            let done = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0) };
            if done != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        for program in [&self.x32, &self.enosys, &self.eperm, &self.watch] {
            if program.is_empty() {
                continue;
            }
            seccompiler::apply_filter(program)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        }
        Ok(())
    }
}

/// On x86_64 a system call number with bit 30 set is the x32 ABI's: the same calls
/// (`clone`, `ptrace`, …) under numbers the other filters, which match the 64-bit numbers,
/// do not see. Nothing in a supervised tree needs them: they are all refused. Empty (no
/// filter) elsewhere.
fn x32_filter() -> BpfProgram {
    if !cfg!(target_arch = "x86_64") {
        return Vec::new();
    }
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
    const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    // struct seccomp_data: nr at offset 0, arch at offset 4.
    let load = |k| seccompiler::sock_filter {
        code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let ret = |k| seccompiler::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    vec![
        load(4),
        // Another architecture (i386 through int 0x80): the other filters kill it.
        seccompiler::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 1,
            jf: 0,
            k: AUDIT_ARCH_X86_64,
        },
        ret(libc::SECCOMP_RET_ALLOW),
        load(0),
        seccompiler::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        ret(eperm),
        ret(libc::SECCOMP_RET_ALLOW),
    ]
}

fn filter(
    rules: Vec<(i64, Vec<SeccompRule>)>,
    errno: i32,
    arch: TargetArch,
) -> Result<BpfProgram, ConfineError> {
    let filter = SeccompFilter::new(
        rules.into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch,
    )
    .map_err(|e| ConfineError::Seccomp(e.to_string()))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| ConfineError::Seccomp(e.to_string()))
}

/// A Landlock ruleset that puts the tree in a domain of its own, which the kernel does not
/// let reach processes outside it, and that refuses one thing on the file system: opening
/// files under `/proc` for writing. Through `/proc/PID/mem` a process may otherwise write
/// the memory of another process of the tree — the arguments of a program held for
/// approval while the reviewer reads them, or the code of a program already judged.
/// Writing is granted beneath every other entry of `/` (making block devices, the other
/// right handled, everywhere).
fn landlock_domain() -> Option<OwnedFd> {
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::MakeBlock | AccessFs::WriteFile)
        .ok()?
        // No signal from the tree reaches a process outside it: the supervisor cannot be
        // stopped or killed from inside (where the kernel has signal scoping).
        .scope(Scope::Signal)
        .ok()?
        .create()
        .ok()?
        .add_rule(PathBeneath::new(
            PathFd::new("/").ok()?,
            AccessFs::MakeBlock,
        ))
        .ok()?;
    for entry in std::fs::read_dir("/").ok()?.flatten() {
        if entry.file_name() == "proc" {
            continue;
        }
        // Symbolic links (`/bin` → `usr/bin`) are followed: their target is granted.
        let kind = std::fs::metadata(entry.path()).map(|m| m.file_type());
        if !kind.is_ok_and(|k| k.is_dir() || k.is_file()) {
            continue;
        }
        let Ok(fd) = PathFd::new(entry.path()) else {
            continue;
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, AccessFs::WriteFile))
            .ok()?;
    }
    ruleset.into()
}
