//! The JSON Lines event stream `gatekeep run --json` writes for programs (schema version 1,
//! documented in docs/agents.md). Part of the command layer.

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::exit::UserError;

/// The schema version every event carries as `"gatekeep"`.
pub const SCHEMA_VERSION: u32 = 1;

/// Where events go, if anywhere.
pub struct Events {
    sink: Option<Mutex<Box<dyn Write + Send>>>,
    run_id: String,
}

impl Events {
    /// No events: people read the plain messages instead.
    pub fn off(run_id: &str) -> Events {
        Events {
            sink: None,
            run_id: run_id.to_owned(),
        }
    }

    /// Events on standard error, shared with the child's own standard error.
    pub fn on_stderr(run_id: &str) -> Events {
        Events {
            sink: Some(Mutex::new(Box::new(std::io::stderr()))),
            run_id: run_id.to_owned(),
        }
    }

    /// Events on descriptor `fd`, which the caller opened; it is marked close-on-exec so
    /// the child cannot write to it. Call this before gatekeep opens any file of its own.
    pub fn on_fd(fd: i32, run_id: &str) -> Result<Events, UserError> {
        if fd < 3 {
            return Err(UserError::new(format!(
                "--json-fd {fd}: standard descriptors are shared with the command"
            ))
            .hint("open a separate descriptor (e.g. `3>events.jsonl --json-fd 3`), or use --json for stderr")
            .kind("usage"));
        }
        if std::fs::read_link(format!("/proc/self/fd/{fd}")).is_err() {
            return Err(
                UserError::new(format!("--json-fd {fd}: the descriptor is not open"))
                    .hint("open it in the calling process, e.g. `3>events.jsonl`")
                    .kind("usage"),
            );
        }
        // SAFETY: the descriptor is open (checked above) and was inherited from the caller
        // for this purpose; gatekeep has not opened or adopted it anywhere else, so this
        // is its only owner.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        nix::fcntl::fcntl(
            &owned,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| UserError::new(format!("--json-fd {fd}: {e}")).kind("usage"))?;
        Ok(Events {
            sink: Some(Mutex::new(Box::new(File::from(owned)))),
            run_id: run_id.to_owned(),
        })
    }

    /// Whether events are being written (and plain messages are not).
    pub fn enabled(&self) -> bool {
        self.sink.is_some()
    }

    /// Writes one event: `fields` plus the schema version, event name, run id and time.
    /// A reader that went away does not stop the run: the audit log is authoritative.
    pub fn emit(&self, event: &str, fields: Value) {
        let Some(sink) = &self.sink else { return };
        let mut object = json!({
            "gatekeep": SCHEMA_VERSION,
            "event": event,
            "run_id": self.run_id,
            "time": jiff::Timestamp::now().to_string(),
        });
        if let (Some(all), Value::Object(extra)) = (object.as_object_mut(), fields) {
            for (key, value) in extra {
                all.entry(key).or_insert(value);
            }
        }
        // The same value, with hidden characters as `\u` escapes: inert where a person reads
        // the stream on a terminal.
        let mut line = crate::render::json_line(&object);
        line.push('\n');
        let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
        let _ = sink.write_all(line.as_bytes()).and_then(|()| sink.flush());
    }

    /// The `error` event for a failure that ends the run.
    pub fn error(&self, error: &UserError) {
        self.emit(
            "error",
            json!({
                "code": error.kind,
                "exit": error.exit.code(),
                "message": error.message,
                "hint": error.hint,
            }),
        );
    }
}
