//! Supervision while running: the wrapped command runs as a ptrace tracee, and every
//! successful `execve` anywhere in its process tree (children, grandchildren, daemons that
//! double-forked or called `setsid`, `vfork`/`posix_spawn`, threads) stops at the exec
//! event — after the kernel replaced the image, before its first instruction — where a
//! [`Judge`] decides from what will really run ([`Image`]): it continues, or it is killed.
//!
//! The tree cannot leave supervision: [`confine`] refuses untraced clones, `ptrace` and
//! cross-process memory writes, and puts the tree in a Landlock domain;
//! `PTRACE_O_EXITKILL` kills the tree if gatekeep dies. When the command itself ends, the
//! descendants it left behind are still supervised for a short while, then killed, and
//! both are reported.

mod confine;
mod guard;
mod image;
mod judge;
mod undo;
mod watch;

pub use confine::{ConfineError, Confinement};
pub use guard::{Guard, protected_paths};
pub use image::{Image, ImageError, Programs, digest_of};
pub use judge::{Approved, PolicyJudge, evaluate};
pub use watch::{Outcome, Watch};

use std::collections::HashSet;
use std::os::unix::process::CommandExt as _;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::child::{self, Ended, Program, SpawnError};
use crate::secrets::ChildEnv;

/// The errno the child reports when it could not put itself under supervision.
const UNSUPERVISABLE: i32 = libc::ENOTSUP;

/// What the judge says about one exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The program goes on.
    Allow,
    /// The process is killed before its first instruction.
    Kill,
    /// The process stays stopped until [`Judge::answers`] has a verdict for it.
    Hold,
}

/// Decides each exec of the tree; called while process `pid` is stopped at its exec event
/// (read what it runs with [`Image::read`]).
pub trait Judge {
    fn judge(&mut self, pid: i32) -> Verdict;
    /// Verdicts on held processes that came in since the last call.
    fn answers(&mut self) -> Vec<(i32, Verdict)> {
        Vec::new()
    }
    /// Whether some process is held, waiting for its verdict.
    fn holding(&self) -> bool {
        false
    }
    /// Descendants were still running when the command ended and had to be killed.
    fn leftovers(&mut self, _pids: &[i32]) {}
    /// Process `pid` is gone (its number may be reused from now on): a verdict still to
    /// come on it is not for whatever gets that number next.
    fn gone(&mut self, _pid: i32) {}
    /// Process `pid` tried to change a protected path ([`Outcome::Refused`], reported to it
    /// as `EACCES`) or created one ([`Outcome::Created`]: the tree was killed and the path
    /// removed).
    fn guarded(&mut self, _pid: i32, _outcome: &Outcome) {}
}

/// How a supervised command ended.
#[derive(Debug)]
pub struct Finished {
    pub ended: Ended,
    /// Descendants killed because they outlived the command and the grace period.
    pub killed_leftovers: usize,
}

/// Runs `program` with `argv` under supervision. `started` is called with the pid as soon
/// as the command runs; `linger` is how long descendants may outlive it.
pub fn run(
    program: &Program,
    argv: &[String],
    env: &ChildEnv,
    confinement: &Confinement,
    judge: &mut dyn Judge,
    linger: Duration,
    started: impl FnOnce(u32),
) -> Result<Finished, SpawnError> {
    let path = child::path_of(program);
    let io_error = |source| SpawnError::Io {
        path: path.clone(),
        source,
    };
    let signals = child::catch_signals().map_err(io_error)?;
    let begin = Instant::now();
    let (mut command, exec) = child::prepare(program, argv, env).map_err(io_error)?;
    let watch = confinement.guard.watch();
    let confinement = confinement.for_child();
    // SAFETY: between fork and exec the closure makes system calls only (ptrace, prctl,
    // landlock, seccomp) on data prepared before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            // Any failure here means supervision cannot start (the command has not run):
            // reported as one errno that execve itself never returns.
            ptrace::traceme()
                .map_err(std::io::Error::from)
                .and_then(|()| confinement.apply())
                .map_err(|_| std::io::Error::from_raw_os_error(UNSUPERVISABLE))?;
            // A pinned program is executed from its descriptors; only a failure returns.
            match &exec {
                Some(exec) => Err(exec.exec()),
                None => Ok(()),
            }
        });
    }
    let child = command.spawn().map_err(|error| {
        if error.raw_os_error() == Some(UNSUPERVISABLE) {
            SpawnError::Unsupervisable
        } else {
            io_error(error)
        }
    })?;
    let root = Pid::from_raw(child.id() as i32);
    // The first stop: the command's own exec (judged before it ran, by the caller).
    match waitpid(root, Some(WaitPidFlag::__WALL)) {
        Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => {}
        Ok(other) => {
            let _ = kill(root, Signal::SIGKILL);
            return Err(io_error(std::io::Error::other(format!(
                "the supervised command did not stop at its start ({other:?})"
            ))));
        }
        Err(errno) => return Err(io_error(errno.into())),
    }
    let options = Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_EXITKILL;
    if let Err(errno) = ptrace::setoptions(root, options) {
        let _ = kill(root, Signal::SIGKILL);
        return Err(io_error(errno.into()));
    }
    started(root.as_raw() as u32);
    let forwarding = child::forward_signals(signals, root.as_raw() as u32);
    let _ = ptrace::cont(root, None);
    let mut tracer = Tracer {
        root,
        seen: HashSet::from([root]),
        fresh: HashSet::new(),
        alive: HashSet::from([root]),
        status: None,
        watch,
        pending: std::collections::HashMap::new(),
        doomed: false,
    };
    let result = tracer.follow(judge, linger);
    forwarding.stop();
    tracer.sweep(judge);
    let killed_leftovers = result.map_err(|errno| io_error(errno.into()))?;
    let (code, signal) = tracer.status.unwrap_or((None, Some(libc::SIGKILL)));
    Ok(Finished {
        ended: Ended {
            code,
            signal,
            duration_ms: u64::try_from(begin.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
        killed_leftovers,
    })
}

/// Whether a supervised tree can start here: a child puts itself under supervision the
/// way a supervised command does, and says whether it could.
pub fn available() -> bool {
    let Ok(confinement) = Confinement::prepare(Guard::default()) else {
        return false;
    };
    let confinement = confinement.for_child();
    // SAFETY: the child makes system calls only (ptrace, prctl, landlock, seccomp, exit)
    // on data prepared before the fork.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let ok = ptrace::traceme().is_ok() && confinement.apply().is_ok();
            // SAFETY: ends the forked child without running anything of the parent's.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            matches!(waitpid(child, None), Ok(WaitStatus::Exited(_, 0)))
        }
        Err(_) => false,
    }
}

/// The tracer's view of the tree.
struct Tracer {
    root: Pid,
    /// Tracees whose first stop was handled.
    seen: HashSet<Pid>,
    /// Announced by a fork event; their first stop has not been reported yet.
    fresh: HashSet<Pid>,
    /// Tracees not yet reported gone.
    alive: HashSet<Pid>,
    /// How the command itself ended.
    status: Option<(Option<i32>, Option<i32>)>,
    watch: Watch,
    /// Watched calls on their way, by the tracee that made them (see [`watch`]).
    pending: std::collections::HashMap<Pid, watch::Made>,
    /// The tree created a protected path: whatever of it stops again is killed (a child
    /// whose fork was not reported yet when the tree was killed, above all).
    doomed: bool,
}

impl Tracer {
    /// Follows the tree until every tracee is gone; returns how many descendants were
    /// killed for outliving the command by more than `linger`.
    fn follow(&mut self, judge: &mut dyn Judge, linger: Duration) -> Result<usize, Errno> {
        let mut killed = 0;
        let mut leftover_deadline: Option<Instant> = None;
        loop {
            // Verdicts on held programs, reached while the rest of the tree went on.
            for (pid, verdict) in judge.answers() {
                let pid = Pid::from_raw(pid);
                match verdict {
                    Verdict::Allow if !self.doomed => {
                        let _ = ptrace::cont(pid, None);
                    }
                    Verdict::Allow | Verdict::Kill => {
                        let _ = kill(pid, Signal::SIGKILL);
                    }
                    Verdict::Hold => {}
                }
            }
            let flags = if leftover_deadline.is_some() || judge.holding() {
                WaitPidFlag::__WALL | WaitPidFlag::WNOHANG
            } else {
                WaitPidFlag::__WALL
            };
            let status = match waitpid(None, Some(flags)) {
                Ok(status) => status,
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => return Ok(killed),
                Err(errno) => return Err(errno),
            };
            match status {
                WaitStatus::Stopped(pid, _)
                | WaitStatus::PtraceEvent(pid, _, _)
                | WaitStatus::PtraceSyscall(pid)
                    if self.doomed =>
                {
                    self.alive.insert(pid);
                    let _ = kill(pid, Signal::SIGKILL);
                }
                WaitStatus::StillAlive => {
                    if let Some(deadline) = leftover_deadline
                        && Instant::now() >= deadline
                    {
                        let pids: Vec<i32> = self.alive.iter().map(|p| p.as_raw()).collect();
                        if !pids.is_empty() {
                            judge.leftovers(&pids);
                            killed += pids.len();
                            for pid in &self.alive {
                                let _ = kill(*pid, Signal::SIGKILL);
                            }
                        }
                        // Wait for them to be reaped, without a deadline now.
                        leftover_deadline = None;
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                WaitStatus::Exited(pid, code) => {
                    self.gone(pid, Some(code), None);
                    judge.gone(pid.as_raw());
                }
                WaitStatus::Signaled(pid, signal, _) => {
                    self.gone(pid, None, Some(signal as i32));
                    judge.gone(pid.as_raw());
                }
                WaitStatus::Stopped(pid, signal) => {
                    if signal == Signal::SIGSTOP
                        && (self.fresh.remove(&pid) || !self.seen.contains(&pid))
                    {
                        // A new tracee's first stop.
                        self.seen.insert(pid);
                        self.alive.insert(pid);
                        let _ = ptrace::cont(pid, None);
                    } else if self.pending.contains_key(&pid) {
                        // A signal during a watched call: deliver it, still watching.
                        let _ = ptrace::syscall(pid, Some(signal));
                    } else {
                        // A signal on its way to the tracee: deliver it.
                        let _ = ptrace::cont(pid, Some(signal));
                    }
                }
                WaitStatus::PtraceEvent(pid, _, event) => self.event(pid, event, judge),
                WaitStatus::PtraceSyscall(pid) => {
                    if let Some(made) = self.pending.remove(&pid) {
                        killed += self.returned(pid, &made, judge);
                    }
                    let _ = ptrace::cont(pid, None);
                }
                WaitStatus::Continued(_) => {}
            }
            if self.status.is_some() && leftover_deadline.is_none() && !self.alive.is_empty() {
                leftover_deadline = Some(Instant::now() + linger);
            }
            if self.status.is_some() && self.alive.is_empty() {
                // Reap what is left to report (nothing is running any more).
                while let Ok(status) =
                    waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG))
                {
                    if matches!(status, WaitStatus::StillAlive) {
                        break;
                    }
                }
                return Ok(killed);
            }
        }
    }

    /// A watched call of `pid` returned: a refusal on a protected path is reported as
    /// `EACCES`; a protected path created kills the tree and is removed. Returns how many
    /// processes were killed.
    fn returned(&mut self, pid: Pid, made: &watch::Made, judge: &mut dyn Judge) -> usize {
        let Ok(mut regs) = ptrace::getregs(pid) else {
            return 0;
        };
        let mut outcome = self.watch.after(pid.as_raw(), made, return_value(&regs));
        match &mut outcome {
            Outcome::Fine => return 0,
            Outcome::Refused { .. } => {
                set_return_value(&mut regs, -i64::from(libc::EACCES));
                let _ = ptrace::setregs(pid, regs);
            }
            Outcome::Created { .. } | Outcome::Unlinked { .. } => {
                // Nothing of the tree runs again, then the path is as it was.
                self.doomed = true;
                for tracee in &self.alive {
                    let _ = kill(*tracee, Signal::SIGKILL);
                }
                let _ = kill(pid, Signal::SIGKILL);
                self.undo(&mut outcome);
            }
        }
        judge.guarded(pid.as_raw(), &outcome);
        match outcome {
            Outcome::Created { .. } | Outcome::Unlinked { .. } => self.alive.len().max(1),
            _ => 0,
        }
    }

    /// Once the tree is gone: a protected path it created in a way the watch did not stop
    /// at (none is known) is found now, removed and recorded.
    fn sweep(&mut self, judge: &mut dyn Judge) {
        if self.doomed {
            return;
        }
        let found = self.watch.created("none seen");
        for mut outcome in found.into_iter().chain(self.watch.unlinked("none seen")) {
            self.undo(&mut outcome);
            judge.guarded(self.root.as_raw(), &outcome);
        }
    }

    /// Removes a protected path the tree created, or puts back a link it removed.
    fn undo(&self, outcome: &mut Outcome) {
        let (path, done, undone) = match outcome {
            Outcome::Created { path, removed, .. } => {
                let undone = self.watch.remove(path).map(|_| ());
                (path, removed, undone)
            }
            Outcome::Unlinked { path, restored, .. } => {
                let undone = self.watch.put_back(path).map(|_| ());
                (path, restored, undone)
            }
            _ => return,
        };
        match undone {
            Ok(()) => *done = true,
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "cannot undo what the tree did to a protected path");
            }
        }
    }

    fn gone(&mut self, pid: Pid, code: Option<i32>, signal: Option<i32>) {
        self.alive.remove(&pid);
        self.pending.remove(&pid);
        self.seen.remove(&pid);
        self.fresh.remove(&pid);
        if pid == self.root {
            self.status = Some((code, signal));
        }
    }

    fn event(&mut self, pid: Pid, event: i32, judge: &mut dyn Judge) {
        if event == Event::PTRACE_EVENT_FORK as i32
            || event == Event::PTRACE_EVENT_VFORK as i32
            || event == Event::PTRACE_EVENT_CLONE as i32
        {
            if let Ok(new) = ptrace::getevent(pid) {
                let new = Pid::from_raw(new as i32);
                if !self.seen.contains(&new) {
                    self.fresh.insert(new);
                }
                self.alive.insert(new);
            }
            let _ = ptrace::cont(pid, None);
        } else if event == Event::PTRACE_EVENT_SECCOMP as i32 {
            // A watched call: let it run, and stop again when it returns.
            if let Ok(regs) = ptrace::getregs(pid) {
                self.pending.insert(pid, call_of(&regs));
                let _ = ptrace::syscall(pid, None);
            } else {
                let _ = ptrace::cont(pid, None);
            }
        } else if event == Event::PTRACE_EVENT_EXEC as i32 {
            // After an exec by another thread, that thread now has the group leader's pid;
            // the thread that was the leader is gone.
            if let Ok(former) = ptrace::getevent(pid) {
                let former = Pid::from_raw(former as i32);
                if former != pid {
                    self.alive.remove(&former);
                    self.seen.remove(&former);
                    self.pending.remove(&former);
                }
            }
            // A call the former leader was in (the exec ended it) has no return to watch.
            self.pending.remove(&pid);
            match judge.judge(pid.as_raw()) {
                Verdict::Allow => {
                    let _ = ptrace::cont(pid, None);
                }
                Verdict::Kill => {
                    let _ = kill(pid, Signal::SIGKILL);
                }
                // Stays stopped until its verdict comes in.
                Verdict::Hold => {}
            }
        } else {
            let _ = ptrace::cont(pid, None);
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn call_of(regs: &libc::user_regs_struct) -> watch::Made {
    watch::Made {
        number: regs.orig_rax as i64,
        args: [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
    }
}

#[cfg(target_arch = "x86_64")]
fn return_value(regs: &libc::user_regs_struct) -> i64 {
    regs.rax as i64
}

#[cfg(target_arch = "x86_64")]
fn set_return_value(regs: &mut libc::user_regs_struct, value: i64) {
    regs.rax = value as u64;
}

#[cfg(target_arch = "aarch64")]
fn call_of(regs: &libc::user_regs_struct) -> watch::Made {
    watch::Made {
        number: regs.regs[8] as i64,
        args: [
            regs.regs[0],
            regs.regs[1],
            regs.regs[2],
            regs.regs[3],
            regs.regs[4],
            regs.regs[5],
        ],
    }
}

#[cfg(target_arch = "aarch64")]
fn return_value(regs: &libc::user_regs_struct) -> i64 {
    regs.regs[0] as i64
}

#[cfg(target_arch = "aarch64")]
fn set_return_value(regs: &mut libc::user_regs_struct, value: i64) {
    regs.regs[0] = value as u64;
}

/// The variable naming the supervisor's socket in a supervised tree.
pub const SUPERVISOR_VAR: &str = crate::env_vars::GATEKEEP_SUPERVISOR;

/// A supervisor's mark: a listening socket in the abstract namespace whose name the tree
/// gets in [`SUPERVISOR_VAR`]. A `gatekeep run` in the tree connects to it and trusts it
/// only when the socket belongs to its own tracer, which nothing in the tree can fake: the
/// tree cannot trace anything.
pub struct Mark {
    _listener: std::os::unix::net::UnixListener,
    pub name: String,
}

impl Mark {
    pub fn new() -> std::io::Result<Mark> {
        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("gatekeep-supervisor-{}", uuid::Uuid::new_v4());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        let listener = std::os::unix::net::UnixListener::bind_addr(&address)?;
        Ok(Mark {
            _listener: listener,
            name,
        })
    }
}

/// The process tracing this one (0: none), as the kernel says; `None` when it cannot be
/// read.
pub fn tracer_pid() -> Option<i32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
}

/// Whether this process is part of a tree a gatekeep supervises: its tracer holds the
/// socket the tree was told about. A `gatekeep run` started inside such a tree leaves the
/// judging to that supervisor, which sees every exec anyway, instead of asking twice.
pub fn inside_supervised_tree(env: &crate::environment::Environment) -> bool {
    use std::os::linux::net::SocketAddrExt as _;
    let Some(name) = env.get(SUPERVISOR_VAR) else {
        return false;
    };
    let tracer = tracer_pid().unwrap_or(0);
    if tracer <= 0 {
        return false;
    }
    let Ok(address) = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()) else {
        return false;
    };
    let Ok(stream) = std::os::unix::net::UnixStream::connect_addr(&address) else {
        return false;
    };
    nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .is_ok_and(|credentials| credentials.pid() == tracer)
}
