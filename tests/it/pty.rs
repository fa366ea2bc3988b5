//! Running gatekeep on a real pseudo-terminal, for prompts, spinners and terminal signals.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use crate::service::KillOnDrop;

pub struct Pty {
    pub child: KillOnDrop,
    master: std::fs::File,
    output: Receiver<Vec<u8>>,
    pub seen: String,
}

impl Pty {
    /// Starts `cmd` as the session leader of a new terminal (stdin, stdout and stderr).
    pub fn spawn(mut cmd: std::process::Command) -> Pty {
        let pty = nix::pty::openpty(None, None).unwrap();
        let slave: OwnedFd = pty.slave;
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = KillOnDrop(cmd.spawn().unwrap());
        drop(cmd);
        drop(slave);
        let master = std::fs::File::from(pty.master);
        let (tx, output) = channel();
        let mut reader = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            child,
            master,
            output,
            seen: String::new(),
        }
    }

    /// Waits until the terminal showed `needle`. The bound only guards against a hang.
    pub fn wait_for(&mut self, needle: &str) {
        for _ in 0..600 {
            if self.seen.contains(needle) {
                return;
            }
            if let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(100)) {
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        panic!(
            "the terminal never showed {needle:?}; it showed:\n{}",
            self.seen
        );
    }

    /// Types on the terminal.
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }
}
