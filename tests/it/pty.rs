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
    /// A terminal end kept open by the test ([`Pty::spawn_held`]).
    _held: Option<OwnedFd>,
    output: Receiver<Vec<u8>>,
    pub seen: String,
    /// Every byte the terminal received, as it came.
    pub raw: Vec<u8>,
}

impl Pty {
    /// Starts `cmd` as the session leader of a new terminal (stdin, stdout and stderr).
    pub fn spawn(cmd: std::process::Command) -> Pty {
        Pty::spawn_sized(cmd, 0, 0)
    }

    /// The same, with the test holding the terminal's other end open too: when the
    /// program exits the terminal is not hung up, so nothing it wrote just before exiting
    /// can be thrown away with the hang-up. For programs that answer at once and exit.
    pub fn spawn_held(cmd: std::process::Command) -> Pty {
        Pty::spawn_with(cmd, 0, 0, true)
    }

    /// The same on a terminal of `rows` × `cols` (0 × 0: a terminal that does not say).
    pub fn spawn_sized(cmd: std::process::Command, rows: u16, cols: u16) -> Pty {
        Pty::spawn_with(cmd, rows, cols, false)
    }

    fn spawn_with(mut cmd: std::process::Command, rows: u16, cols: u16, hold: bool) -> Pty {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).unwrap();
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
        let held = hold.then(|| slave.try_clone().unwrap());
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
            _held: held,
            output,
            seen: String::new(),
            raw: Vec::new(),
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
                self.raw.extend_from_slice(&chunk);
            }
        }
        panic!(
            "the terminal never showed {needle:?}; it showed:\n{}",
            self.seen
        );
    }

    /// Waits until the program turned the terminal's echo off (a secret prompt is ready to
    /// read). Typing earlier would be echoed, or thrown away when the program flushes the
    /// input as it switches modes. The bound only guards against a hang.
    /// The whole request id in the review link the terminal has shown.
    pub fn request_id(&self) -> String {
        self.seen
            .split("/requests/")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    pub fn wait_for_no_echo(&mut self) {
        use nix::sys::termios::{LocalFlags, tcgetattr};
        for _ in 0..600 {
            if let Ok(attrs) = tcgetattr(&self.master)
                && !attrs.local_flags.contains(LocalFlags::ECHO)
            {
                return;
            }
            if let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(20)) {
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
                self.raw.extend_from_slice(&chunk);
            }
        }
        panic!(
            "the terminal's echo never went off; it showed:\n{}",
            self.seen
        );
    }

    /// Everything the program writes until it exits and the terminal closes. The bound only
    /// guards against a hang.
    pub fn until_exit(&mut self) -> Vec<u8> {
        use std::sync::mpsc::RecvTimeoutError;
        for _ in 0..600 {
            match self.output.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => {
                    self.seen.push_str(&String::from_utf8_lossy(&chunk));
                    self.raw.extend_from_slice(&chunk);
                }
                Err(RecvTimeoutError::Disconnected) => return self.raw.clone(),
                Err(RecvTimeoutError::Timeout) => {
                    if let Ok(Some(_)) = self.child.try_wait() {
                        // The program is gone; what it wrote is already in the channel.
                        while let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(200)) {
                            self.raw.extend_from_slice(&chunk);
                        }
                        return self.raw.clone();
                    }
                }
            }
        }
        panic!(
            "the program on the terminal never ended; it showed:\n{}",
            self.seen
        );
    }

    /// The text a terminal of `rows` × `cols` shows after all the bytes received so far
    /// (read through a terminal emulator: carriage returns, erasures and cursor moves done).
    pub fn screen(&self, rows: u16, cols: u16) -> String {
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("a terminal has a size");
        let mut parser = vt100::Parser::new(size(rows), size(cols), 0);
        parser.process(&self.raw);
        parser.screen().contents()
    }

    /// Types on the terminal.
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }
}
