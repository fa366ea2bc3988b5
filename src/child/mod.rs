//! Running the wrapped command: resolve it like `execvp`, spawn it without a shell (an
//! approved one through the descriptor it was hashed from, see [`Launch`]), forward
//! signals sent to gatekeep alone, and report how it ended.
//!
//! Signals a terminal generates (Ctrl-C, Ctrl-\, window size changes) reach the child
//! directly through the foreground process group, so they are not forwarded again: the
//! signal's origin (`si_code`) tells them apart from a `kill` aimed at gatekeep.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

mod launch;

pub use launch::Launch;

/// Why a command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("command not found: {}", crate::render::word(.0))]
    NotFound(String),
    #[error("{} is not executable", crate::render::word(.0))]
    NotExecutable(PathBuf),
    #[error(
        "supervision cannot start here (ptrace, seccomp or Landlock refused: a container's seccomp profile, Yama, or a tracer already attached)"
    )]
    Unsupervisable,
    #[error("cannot run {}: {source}", crate::render::word(path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Pin(#[from] crate::pin::PinError),
}

/// What to execute.
#[derive(Debug)]
pub enum Program {
    /// A resolved path, executed by path (commands no approval is bound to).
    Path(PathBuf),
    /// An approved command, executed through the descriptors it was hashed from.
    Pinned(Box<Launch>),
}

/// How the command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal number, when a signal killed it.
    pub signal: Option<i32>,
    pub duration_ms: u64,
}

impl Ended {
    /// The status a shell would report: the code, or 128 + signal.
    pub fn status(&self) -> u8 {
        match (self.code, self.signal) {
            (Some(code), _) => (code & 0xff) as u8,
            (None, Some(signal)) => (128 + signal).clamp(0, 255) as u8,
            (None, None) => 255,
        }
    }
}

/// Finds the file `program` refers to, with `path_var` as `PATH`.
pub fn resolve(program: &str, path_var: Option<&str>, cwd: &Path) -> Result<PathBuf, SpawnError> {
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.is_empty() {
        return Err(SpawnError::NotFound(String::new()));
    }
    if program.contains('/') {
        let path = cwd.join(program);
        return if executable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(SpawnError::NotExecutable(path))
        } else {
            Err(SpawnError::NotFound(program.to_owned()))
        };
    }
    let mut not_executable = None;
    for dir in path_var
        .unwrap_or("/usr/local/bin:/usr/bin:/bin")
        .split(':')
    {
        let candidate = if dir.is_empty() {
            cwd.join(program)
        } else {
            cwd.join(dir).join(program)
        };
        if executable(&candidate) {
            return Ok(candidate);
        }
        if candidate.is_file() && not_executable.is_none() {
            not_executable = Some(candidate);
        }
    }
    Err(not_executable.map_or_else(
        || SpawnError::NotFound(program.to_owned()),
        SpawnError::NotExecutable,
    ))
}

/// Signals gatekeep passes on to the child when they were sent to gatekeep by a process.
const FORWARDED: [i32; 7] = [SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT, SIGWINCH];

/// Runs `program` with `argv` (a pinned program brings its own), inherited stdio and cwd,
/// and the inherited environment changed by `env`.
/// `started` is called with the child's pid as soon as it runs.
pub fn run(
    program: &Program,
    argv: &[String],
    env: &crate::secrets::ChildEnv,
    started: impl FnOnce(u32),
) -> Result<Ended, SpawnError> {
    let path = path_of(program);
    let io_error = |source| SpawnError::Io {
        path: path.clone(),
        source,
    };
    // Catch the signals before the child exists, so none is lost in between.
    let signals = catch_signals().map_err(io_error)?;
    let (mut command, plan) = prepare(program, argv, env).map_err(io_error)?;
    if let Some(plan) = plan {
        // SAFETY: the closure only calls async-signal-safe functions (fcntl, execveat)
        // on memory allocated before the fork.
        unsafe {
            command.pre_exec(move || Err(plan.exec()));
        }
    }
    let begin = Instant::now();
    let mut child = command.spawn().map_err(io_error)?;
    let pid = child.id();
    started(pid);
    let forwarding = forward_signals(signals, pid);
    let status = child.wait().map_err(io_error)?;
    forwarding.stop();
    Ok(Ended {
        code: status.code(),
        signal: status.signal(),
        duration_ms: u64::try_from(begin.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// How a program is started: by path, or (pinned) through the descriptors it was hashed
/// from, by an exec the child makes itself.
pub struct Exec(launch::ExecPlan);

impl Exec {
    /// Executes the pinned program; returns only on failure. Called in the child after
    /// `fork`: async-signal-safe calls only.
    pub fn exec(&self) -> std::io::Error {
        self.0.exec()
    }
}

/// The command that starts `program` with `argv` and the environment `env` makes, and
/// for a pinned program the exec its child must make instead of the command's own.
pub fn prepare(
    program: &Program,
    argv: &[String],
    env: &crate::secrets::ChildEnv,
) -> std::io::Result<(std::process::Command, Option<Exec>)> {
    match program {
        Program::Path(path) => {
            let mut command = std::process::Command::new(path);
            command.arg0(OsString::from(&argv[0])).args(&argv[1..]);
            env.apply(&mut command);
            Ok((command, None))
        }
        Program::Pinned(launch) => {
            let command = std::process::Command::new(&launch.program.0);
            let plan = launch.exec_plan(env.resolve(std::env::vars_os()))?;
            launch.pause();
            Ok((command, Some(Exec(plan))))
        }
    }
}

/// The path a program is known by, for messages.
pub fn path_of(program: &Program) -> PathBuf {
    match program {
        Program::Path(path) => path.clone(),
        Program::Pinned(launch) => launch.program.0.clone(),
    }
}

/// Catches the signals gatekeep passes on, before the child exists so none is lost.
pub fn catch_signals() -> std::io::Result<SignalsInfo<WithOrigin>> {
    SignalsInfo::<WithOrigin>::new(FORWARDED)
}

/// Signals being passed on to a child.
pub struct Forwarding {
    handle: signal_hook::iterator::Handle,
    thread: std::thread::JoinHandle<()>,
}

impl Forwarding {
    pub fn stop(self) {
        self.handle.close();
        let _ = self.thread.join();
    }
}

/// Passes the signals `signals` catches on to process `pid`, unless they came from the
/// terminal (which delivered them to the whole foreground process group already) or
/// from the child itself.
pub fn forward_signals(mut signals: SignalsInfo<WithOrigin>, pid: u32) -> Forwarding {
    let handle = signals.handle();
    let thread = std::thread::spawn(move || {
        for origin in signals.forever() {
            let from_terminal = matches!(origin.cause, Cause::Kernel);
            let from_child = origin.process.as_ref().is_some_and(|p| p.pid == pid as i32);
            let Ok(signal) = Signal::try_from(origin.signal) else {
                continue;
            };
            if from_terminal || from_child {
                tracing::debug!(%signal, from_terminal, from_child, "not forwarding");
                continue;
            }
            tracing::debug!(%signal, child = pid, "forwarding");
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    });
    Forwarding { handle, thread }
}
