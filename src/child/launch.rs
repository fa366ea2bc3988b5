//! How an approved command is started so that what runs is what was hashed: the program is
//! opened once and executed through that descriptor (`execveat` with an empty path) or,
//! when the requester could still write it, through a sealed in-memory copy.
//!
//! A `#!` script is not handed to the kernel: its descriptor stays close-on-exec (the
//! kernel would pass the interpreter `/dev/fd/N`, which is closed by then). gatekeep reads
//! the `#!` line itself, pins the interpreter the same way and executes it with the
//! arguments the kernel would give it, the script's path among them. The script, and the
//! script operand of an interpreter run directly (`bash x.sh`, `python3 x.py`), are opened
//! again by path by the interpreter: they are passed as they are when neither the file nor
//! its path can be changed by the requester, and as `/dev/fd/N`, a sealed copy inherited
//! by the command, when they can.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd as _, RawFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use crate::pin::{Handle, Opened, PinError, Pinned, Requester};

/// Interpreters a `#!` line may chain through, as the kernel allows.
const MAX_INTERPRETERS: usize = 4;

/// The program, pinned, and the exact exec gatekeep will perform.
#[derive(Debug)]
pub struct Launch {
    /// What `execveat` runs: the program or its (last) `#!` interpreter.
    exe: Pinned,
    /// The argument vector it receives.
    argv: Vec<OsString>,
    /// Pinned files the command opens by `/dev/fd/N`: inherited across the exec.
    passed: Vec<Pinned>,
    /// The program's path and hash.
    pub program: (PathBuf, String),
    /// `#!` interpreters the program runs through, in order: path and hash.
    pub interpreters: Vec<(PathBuf, String)>,
    /// Interpreter arguments of the `#!` lines (the word after the interpreter's path).
    pub interpreter_args: Vec<Option<String>>,
    /// Script operands of the program (`python3 x.py`): path and hash.
    pub scripts: Vec<(PathBuf, String)>,
    /// Debug builds: a FIFO to pause at between hashing and exec (tests).
    pause: Option<PathBuf>,
}

impl Launch {
    /// Pins `program` (argv[0] resolved) and the files it reads by path: its `#!`
    /// interpreters and the script operands at `operands` (indexes into `argv`), relative
    /// to `cwd`.
    pub fn prepare(
        program: &Path,
        argv: &[String],
        operands: &[usize],
        cwd: &Path,
        requester: &Requester,
    ) -> Result<Launch, PinError> {
        let mut argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let mut passed = Vec::new();
        let mut scripts = Vec::new();
        for &index in operands {
            let Some(word) = argv.get(index) else {
                continue;
            };
            let path = absolute(cwd, Path::new(word));
            let opened = match Opened::open(&path, requester) {
                Ok(opened) => opened,
                // Not a file the interpreter will read: nothing to bind (the facts agree).
                Err(PinError::NotFile(_)) => continue,
                Err(PinError::Read { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                Err(error) => return Err(error),
            };
            let pinned = opened.for_path()?;
            scripts.push((pinned.path.clone(), pinned.sha256.clone()));
            if let Some(name) = passed_name(&pinned) {
                argv[index] = name;
                passed.push(pinned);
            }
        }
        let mut interpreters = Vec::new();
        let mut interpreter_args = Vec::new();
        let mut current = Opened::open(program, requester)?;
        let program_fact = (program.to_owned(), current.sha256.clone());
        let exe = loop {
            let Some((interpreter, argument)) = current.shebang() else {
                break current.for_descriptor()?;
            };
            if interpreters.len() == MAX_INTERPRETERS {
                return Err(PinError::Read {
                    path: program.to_owned(),
                    source: std::io::Error::other("too many levels of #! interpreters"),
                });
            }
            // What the kernel would do: argv becomes the interpreter as written in the
            // `#!` line, its argument, the script's path, then the arguments after argv[0].
            let script = current.for_path()?;
            let script_word = passed_name(&script).unwrap_or_else(|| script.path.clone().into());
            if matches!(script.handle, Handle::Sealed(_)) {
                passed.push(script);
            }
            let mut next: Vec<OsString> = vec![OsString::from(&interpreter)];
            next.extend(argument.iter().map(OsString::from));
            next.push(script_word);
            next.extend(argv.drain(1..));
            argv = next;
            let path = absolute(cwd, Path::new(&interpreter));
            current = Opened::open(&path, requester)?;
            interpreters.push((path, current.sha256.clone()));
            interpreter_args.push(argument);
        };
        Ok(Launch {
            exe,
            argv,
            passed,
            program: program_fact,
            interpreters,
            interpreter_args,
            scripts,
            pause: None,
        })
    }

    /// Makes the launch stop before its exec until a test lets it go (debug builds only;
    /// see [`crate::env_vars::GATEKEEP_TEST_EXEC_PAUSE`]).
    pub fn pause_at(&mut self, fifo: Option<PathBuf>) {
        self.pause = fifo.filter(|_| cfg!(debug_assertions));
    }

    /// The argument vector the executed file receives.
    pub fn argv(&self) -> &[OsString] {
        &self.argv
    }

    /// Whether the executed file is a sealed copy.
    pub fn sealed(&self) -> bool {
        self.exe.sealed()
    }

    /// Everything the forked child needs, allocated before the fork.
    pub(super) fn exec_plan(&self, envp: Vec<(OsString, OsString)>) -> std::io::Result<ExecPlan> {
        let cstring = |bytes: Vec<u8>| {
            CString::new(bytes).map_err(|_| std::io::Error::other("a NUL byte in an argument"))
        };
        let argv: Vec<CString> = self
            .argv
            .iter()
            .map(|a| cstring(a.as_bytes().to_vec()))
            .collect::<Result<_, _>>()?;
        let envp: Vec<CString> = envp
            .into_iter()
            .map(|(name, value)| {
                let mut pair = name.into_vec();
                pair.push(b'=');
                pair.extend(value.into_vec());
                cstring(pair)
            })
            .collect::<Result<_, _>>()?;
        let pointers = |strings: &[CString]| {
            let mut p: Vec<*const nix::libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
            p.push(std::ptr::null());
            p
        };
        Ok(ExecPlan {
            exe: self.exe.fd().as_raw_fd(),
            passed: self.passed.iter().map(|p| p.fd().as_raw_fd()).collect(),
            argv_ptrs: pointers(&argv),
            envp_ptrs: pointers(&envp),
            _argv: argv,
            _envp: envp,
        })
    }

    /// Waits at the test pause point, when one is set: tells the FIFO's reader that the
    /// files are pinned, then waits until it writes back.
    pub(super) fn pause(&self) {
        let Some(fifo) = &self.pause else { return };
        use std::io::{Read as _, Write as _};
        if let Ok(mut writer) = std::fs::OpenOptions::new().write(true).open(fifo) {
            let _ = writer.write_all(b"pinned\n");
        }
        if let Ok(mut reader) = std::fs::File::open(fifo) {
            let _ = reader.read_to_end(&mut Vec::new());
        }
    }
}

/// `/dev/fd/N` for a sealed copy the command must open by path; `None` when the file
/// itself can be named.
fn passed_name(pinned: &Pinned) -> Option<OsString> {
    match &pinned.handle {
        Handle::Sealed(fd) => Some(format!("/dev/fd/{}", fd.as_raw_fd()).into()),
        Handle::File(_) | Handle::Fixed(_) => None,
    }
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = cwd.join(path);
    PathBuf::from(crate::shell::normalize_path(&joined.to_string_lossy()))
}

/// The exec of a [`Launch`], ready to be performed in the forked child, where nothing may
/// be allocated.
pub(super) struct ExecPlan {
    exe: RawFd,
    passed: Vec<RawFd>,
    argv_ptrs: Vec<*const nix::libc::c_char>,
    envp_ptrs: Vec<*const nix::libc::c_char>,
    // The strings the pointers point into.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
}

// SAFETY: the pointers point into the strings the plan owns, which are never changed; the
// plan is only read, in the child after the fork.
unsafe impl Send for ExecPlan {}
unsafe impl Sync for ExecPlan {}

impl ExecPlan {
    /// Performs the exec. Only async-signal-safe calls: it runs between fork and exec.
    /// Returns only on failure.
    pub(super) fn exec(&self) -> std::io::Error {
        for &fd in &self.passed {
            // SAFETY: fcntl on a descriptor this process holds.
            if unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) } == -1 {
                return std::io::Error::last_os_error();
            }
        }
        // SAFETY: the argument and environment arrays are NUL-terminated arrays of
        // NUL-terminated strings that live as long as `self`.
        unsafe {
            nix::libc::syscall(
                nix::libc::SYS_execveat,
                self.exe,
                c"".as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
                nix::libc::AT_EMPTY_PATH,
            );
        }
        std::io::Error::last_os_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    #[test]
    fn a_shebang_script_runs_through_its_pinned_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("tool");
        std::fs::write(&script, "#!/bin/sh -e\necho \"$1\"\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let argv = ["tool".to_owned(), "a b".to_owned()];
        // Root may change anything: the script is handed over as a sealed copy.
        let root = Requester {
            uid: 0,
            gids: vec![0],
        };
        let launch = Launch::prepare(&script, &argv, &[], dir.path(), &root).unwrap();
        assert_eq!(launch.interpreters[0].0, Path::new("/bin/sh"));
        assert_eq!(launch.interpreter_args, [Some("-e".to_owned())]);
        let fd = launch.passed[0].fd().as_raw_fd();
        assert_eq!(
            launch.argv(),
            ["/bin/sh", "-e", &format!("/dev/fd/{fd}"), "a b"]
        );
        assert!(launch.sealed(), "root's interpreter runs from a copy too");
        // Someone who can neither write the script nor rename it gets it by its path,
        // and the interpreter through its own descriptor.
        let nobody = Requester {
            uid: 65534,
            gids: vec![65534],
        };
        if std::fs::metadata(dir.path()).unwrap().uid() != 65534 {
            let launch = Launch::prepare(&script, &argv, &[], dir.path(), &nobody).unwrap();
            assert_eq!(
                launch.argv(),
                ["/bin/sh", "-e", script.to_str().unwrap(), "a b"]
            );
            assert!(launch.passed.is_empty() && !launch.sealed());
        }
    }

    #[test]
    fn a_script_operand_is_pinned_and_a_missing_one_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.sh"), "echo hi\n").unwrap();
        let root = Requester {
            uid: 0,
            gids: vec![0],
        };
        let argv = ["/bin/sh".to_owned(), "x.sh".to_owned(), "y.sh".to_owned()];
        let launch =
            Launch::prepare(Path::new("/bin/sh"), &argv, &[1, 2], dir.path(), &root).unwrap();
        assert_eq!(launch.scripts.len(), 1);
        assert_eq!(launch.scripts[0].0, dir.path().join("x.sh"));
        assert!(launch.argv()[1].to_string_lossy().starts_with("/dev/fd/"));
        assert_eq!(launch.argv()[2], "y.sh");
    }
}
