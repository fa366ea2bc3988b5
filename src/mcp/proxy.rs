//! The stdio relay between an MCP client (the agent) and the server it starts: one thread
//! reads the client, one reads the server, and each held call waits on a thread of its
//! own, so other messages keep flowing while a person decides.
//!
//! Every message is read strictly ([`super::strict`]) and written again from what was
//! read, never as the bytes that came in. Only `tools/call`, `tools/list` (its answer) and
//! `notifications/cancelled` are looked into; everything else passes through.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::process::{ChildStdin, ChildStdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::gate::{self, Call, Held};
use super::pins::{self, PinFile};
use super::strict;
use crate::flow::Flow;

/// The longest message line read; a longer one is refused.
const MAX_LINE: usize = 64 << 20;

/// Reads one line of at most `max` bytes (`MAX_LINE`): `None` at the end, and a longer line is
/// read to its end without being kept (an empty line with `true`), so neither side can
/// make the relay hold more than that.
fn read_line(input: &mut impl BufRead, max: usize) -> Option<(Vec<u8>, bool)> {
    let mut line = Vec::new();
    let read = input
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', &mut line)
        .ok()?;
    if read == 0 {
        return None;
    }
    if line.len() <= max || line.ends_with(b"\n") {
        return Some((line, false));
    }
    // Too long: skip to the end of the line, a block at a time.
    loop {
        let (skipped, done) = match input.fill_buf() {
            Ok([]) | Err(_) => return Some((Vec::new(), true)),
            Ok(buffer) => match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buffer.len(), false),
            },
        };
        input.consume(skipped);
        if done {
            return Some((Vec::new(), true));
        }
    }
}

/// One proxied session.
pub struct Proxy<'a> {
    pub flow: &'a Flow<'a>,
    /// A new flow for each held call: a run, and a request key, of its own.
    pub held_flow: &'a (dyn Fn() -> Result<Flow<'a>, crate::exit::UserError> + Sync),
    /// The server's name in rules and pins.
    pub server: String,
    pub pins: PinFile,
    /// Tools denied outright by policy are left out of `tools/list` answers.
    pub hide_denied: bool,
}

/// What the relay remembers between messages.
#[derive(Default)]
struct State {
    /// Client requests for `tools/list` on their way, by id.
    lists: Vec<String>,
    /// Calls sent to the server, by id: the tool's name.
    calls: HashMap<String, String>,
    /// Calls held for approval, by id: the flag that cancels the wait.
    held: HashMap<String, Arc<AtomicBool>>,
    /// Each tool the server listed in this session, by name: the digest of the definition
    /// it showed last (trusted or held back). A call is made only for a tool listed here
    /// whose pin, read at the call, is that same definition.
    seen: HashMap<String, String>,
    /// Requests sent to the server and not answered yet, by id (its exact JSON): an
    /// answer with any other id (a number sent back as a string, say) is dropped, as a
    /// client matching ids loosely would take it for another.
    outstanding: std::collections::HashSet<String>,
}

/// The writing ends, each behind its own lock (taken after the state's, never before).
struct Ends {
    server: Mutex<Option<ChildStdin>>,
    client: Mutex<std::io::Stdout>,
}

impl Ends {
    fn to_client(&self, message: &Value) {
        let mut out = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{message}").and_then(|()| out.flush());
    }

    fn to_server(&self, message: &Value) {
        Ends::write(&mut self.server_writer(), message);
    }

    /// The server's end, held: taken while the state is still locked, it keeps the order
    /// of what the state recorded; the state is then let go before the write, which may
    /// block while the server is busy writing answers the relay must read (a write under
    /// the state's lock would deadlock with it).
    fn server_writer(&self) -> std::sync::MutexGuard<'_, Option<ChildStdin>> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(server: &mut Option<ChildStdin>, message: &Value) {
        if let Some(stdin) = server.as_mut() {
            let _ = writeln!(stdin, "{message}").and_then(|()| stdin.flush());
        }
    }
}

fn key(id: &Value) -> String {
    id.to_string()
}

impl Proxy<'_> {
    /// Relays until the client closes its end (held calls are then cancelled and the
    /// server's input closed) or the server's output ends.
    pub fn relay(&self, server_in: ChildStdin, server_out: ChildStdout) {
        let state = Mutex::new(State::default());
        let ends = Ends {
            server: Mutex::new(Some(server_in)),
            client: Mutex::new(std::io::stdout()),
        };
        let server_gone = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                self.relay_server(server_out, &state, &ends);
                server_gone.store(true, Ordering::SeqCst);
                // Nothing can be answered any more: stop waiting for people.
                let state = state.lock().unwrap_or_else(|e| e.into_inner());
                for flag in state.held.values() {
                    flag.store(true, Ordering::SeqCst);
                }
            });
            // Read on a thread of its own, so the end of the server ends the relay even
            // while the client says nothing.
            let (lines, incoming) = mpsc::sync_channel::<(Vec<u8>, bool)>(16);
            std::thread::spawn(move || {
                let mut input = BufReader::new(std::io::stdin().lock());
                while let Some(line) = read_line(&mut input, MAX_LINE) {
                    if lines.send(line).is_err() {
                        return;
                    }
                }
            });
            loop {
                let (line, too_long) = match incoming.recv_timeout(Duration::from_millis(100)) {
                    Ok(line) => line,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if server_gone.load(Ordering::SeqCst) {
                            break;
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                if too_long {
                    self.refused("client", "the message is longer than 64 MiB");
                    ends.to_client(&strict::error(
                        Value::Null,
                        strict::INVALID_REQUEST,
                        "the message is longer than 64 MiB",
                    ));
                    continue;
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                self.client_message(&line, &state, &ends, scope);
            }
            // The client is gone: no held call is made afterwards, and each request is
            // cancelled at the service.
            let held: Vec<Arc<AtomicBool>> = {
                let state = state.lock().unwrap_or_else(|e| e.into_inner());
                state.held.values().cloned().collect()
            };
            for flag in held {
                flag.store(true, Ordering::SeqCst);
            }
            // Closing the server's input ends it (the stdio transport's shutdown).
            ends.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        });
    }

    fn client_message<'s, 'e>(
        &'s self,
        line: &[u8],
        state: &'s Mutex<State>,
        ends: &'s Ends,
        scope: &'s std::thread::Scope<'s, 'e>,
    ) {
        let message = match strict::parse(line) {
            Ok(message) => message,
            Err(refusal) => {
                self.refused("client", &refusal.message);
                ends.to_client(&strict::error(refusal.id, refusal.code, &refusal.message));
                return;
            }
        };
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id").cloned();
        match (method, id) {
            (Some("tools/call"), Some(id)) => self.call(message, id, state, ends, scope),
            // A call sent as a notification would reach the server unjudged.
            (Some("tools/call"), None) => {
                self.refused("client", "tools/call without an id");
                ends.to_client(&strict::error(
                    Value::Null,
                    strict::INVALID_REQUEST,
                    "tools/call needs an id",
                ));
            }
            (Some("tools/list"), Some(id)) => {
                let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                state.lists.push(key(&id));
                state.outstanding.insert(key(&id));
                let mut server = ends.server_writer();
                drop(state);
                Ends::write(&mut server, &message);
            }
            (Some("notifications/cancelled"), None) => {
                let target = message
                    .pointer("/params/requestId")
                    .map(key)
                    .unwrap_or_default();
                let state = state.lock().unwrap_or_else(|e| e.into_inner());
                match state.held.get(&target) {
                    // The server never saw the call: nothing to tell it.
                    Some(flag) => flag.store(true, Ordering::SeqCst),
                    None => {
                        let mut server = ends.server_writer();
                        drop(state);
                        Ends::write(&mut server, &message);
                    }
                }
            }
            (Some(_), Some(id)) => {
                let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                state.outstanding.insert(key(&id));
                let mut server = ends.server_writer();
                drop(state);
                Ends::write(&mut server, &message);
            }
            _ => ends.to_server(&message),
        }
    }

    fn call<'s, 'e>(
        &'s self,
        message: Value,
        id: Value,
        state: &'s Mutex<State>,
        ends: &'s Ends,
        scope: &'s std::thread::Scope<'s, 'e>,
    ) {
        let flow = self.flow;
        let Some(tool) = message.pointer("/params/name").and_then(Value::as_str) else {
            ends.to_client(&strict::error(
                id,
                strict::INVALID_PARAMS,
                "tools/call needs params.name, a string",
            ));
            return;
        };
        let tool = tool.to_owned();
        let arguments = match message.pointer("/params/arguments") {
            None | Some(Value::Null) => json!({}),
            Some(arguments @ Value::Object(_)) => arguments.clone(),
            Some(_) => {
                ends.to_client(&strict::error(
                    id,
                    strict::INVALID_PARAMS,
                    "tools/call params.arguments must be an object",
                ));
                return;
            }
        };
        // Trusted only as listed in this session, and as pinned now: a tool never listed,
        // or whose listed definition is not the pin (changed, new, or waiting for trust),
        // is refused, whatever the client was shown.
        let seen = state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .get(&tool)
            .cloned();
        let trusted = seen.is_some_and(|digest| {
            self.pins.read().is_ok_and(|pins| {
                pins.is_some_and(|p| {
                    p.tools.get(&tool).is_some_and(|pin| pin.digest == digest)
                        && !p.waiting.contains_key(&tool)
                })
            })
        });
        if !trusted {
            let text = format!(
                "gatekeep: the definition of tool {tool} of MCP server {server} changed since it was trusted (or the tool is new, or the server has not listed it in this session), so it is hidden and its calls refused until a person trusts it: `gatekeep mcp trust --name {server} {tool}`",
                server = self.server,
            );
            self.answered(&id, &tool, "untrusted", Some(&text));
            ends.to_client(&strict::tool_error(id, &text));
            return;
        }
        match gate::decide(flow, &self.server, &tool, &arguments, &id) {
            Ok(Call::Forward) => {
                self.forward(message, id, &tool, state, ends);
            }
            Ok(Call::Refuse(text)) => {
                self.answered(&id, &tool, "deny", Some(&text));
                ends.to_client(&strict::tool_error(id, &text));
            }
            Err(error) => {
                let text = format!("gatekeep: {}; the tool call was not made", error.message);
                self.answered(&id, &tool, "error", Some(&text));
                ends.to_client(&strict::tool_error(id, &text));
            }
            Ok(Call::Hold(pending)) => {
                let cancelled = Arc::new(AtomicBool::new(false));
                {
                    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                    if state.held.contains_key(&key(&id)) {
                        drop(state);
                        ends.to_client(&strict::error(
                            id,
                            strict::INVALID_REQUEST,
                            "a call with this id is already waiting for approval",
                        ));
                        return;
                    }
                    state.held.insert(key(&id), Arc::clone(&cancelled));
                }
                scope.spawn(move || {
                    let outcome = gate::approve((self.held_flow)(), *pending, &cancelled);
                    let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
                    guard.held.remove(&key(&id));
                    // A cancel that came while the grant was being used still stops the call.
                    let outcome = if cancelled.load(Ordering::SeqCst) {
                        Held::Dropped
                    } else {
                        outcome
                    };
                    match outcome {
                        Held::Go => {
                            guard.calls.insert(key(&id), tool.clone());
                            guard.outstanding.insert(key(&id));
                            // The server's end taken under the state's lock: a cancel read
                            // after this point is passed to the server, after the call.
                            let mut server = ends.server_writer();
                            drop(guard);
                            Ends::write(&mut server, &message);
                            drop(server);
                            self.answered(&id, &tool, "forwarded", None);
                        }
                        Held::Refuse(text) => {
                            drop(guard);
                            self.answered(&id, &tool, "refused", Some(&text));
                            ends.to_client(&strict::tool_error(id, &text));
                        }
                        Held::Dropped => {
                            drop(guard);
                            self.answered(&id, &tool, "cancelled", None);
                        }
                    }
                });
            }
        }
    }

    fn forward(&self, message: Value, id: Value, tool: &str, state: &Mutex<State>, ends: &Ends) {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.calls.insert(key(&id), tool.to_owned());
        state.outstanding.insert(key(&id));
        let mut server = ends.server_writer();
        drop(state);
        Ends::write(&mut server, &message);
    }

    fn relay_server(&self, output: ChildStdout, state: &Mutex<State>, ends: &Ends) {
        let mut input = BufReader::new(output);
        while let Some((line, too_long)) = read_line(&mut input, MAX_LINE) {
            if too_long {
                // Its id cannot be told without keeping it: the client's request waits
                // for an answer that never comes, as for a server that never answers.
                self.refused("server", "a message longer than 64 MiB");
                continue;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut message = match strict::parse(&line) {
                Ok(message) => message,
                Err(refusal) => {
                    // What cannot be read one way only never reaches the client.
                    self.refused("server", &refusal.message);
                    if let Some(id) = lenient_id(&line) {
                        ends.to_client(&strict::error(
                            id,
                            -32603,
                            &format!(
                                "gatekeep: the MCP server's answer was refused: {}",
                                refusal.message
                            ),
                        ));
                    }
                    continue;
                }
            };
            let is_answer = message.get("method").is_none();
            if is_answer {
                let id = message.get("id").cloned().unwrap_or(Value::Null);
                let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                let id_key = key(&id);
                if !state.outstanding.remove(&id_key) {
                    drop(state);
                    self.refused(
                        "server",
                        &format!("an answer to no request sent (id {id_key})"),
                    );
                    continue;
                }
                if let Some(at) = state.lists.iter().position(|k| *k == id_key) {
                    state.lists.remove(at);
                    self.sort_tools(&mut message, &mut state);
                } else if let Some(tool) = state.calls.remove(&id_key) {
                    drop(state);
                    self.result(&id, &tool, &message);
                }
            }
            ends.to_client(&message);
        }
    }

    /// Pins the listed tools, and leaves out those held back (and, when configured, those
    /// the policy denies outright).
    fn sort_tools(&self, message: &mut Value, state: &mut State) {
        let Some(tools) = message
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        else {
            return;
        };
        let sorted = match self.pins.sort(tools) {
            Ok(sorted) => sorted,
            Err(error) => {
                // Pins that cannot be read or written: nothing is shown as trusted.
                self.flow.warn(&error.message);
                self.flow.record(
                    "mcp_tools",
                    json!({"mcp_server": self.server, "error": error.message}),
                );
                let names: Vec<String> = tools
                    .iter()
                    .filter_map(|t| t.get("name")?.as_str().map(str::to_owned))
                    .collect();
                tools.clear();
                for name in names {
                    state.seen.remove(&name);
                }
                return;
            }
        };
        for tool in tools.iter() {
            if let Some(name) = tool.get("name").and_then(Value::as_str) {
                let digest = pins::digest(&pins::definition(tool));
                state.seen.insert(name.to_owned(), digest);
            }
        }
        let mut hidden_denied = Vec::new();
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            if sorted.held.iter().any(|h| h == name) {
                return false;
            }
            if self.hide_denied && self.denied_outright(name) {
                hidden_denied.push(name.to_owned());
                return false;
            }
            true
        });
        if sorted.pinned_now || !sorted.held.is_empty() || !hidden_denied.is_empty() {
            self.flow.record(
                "mcp_tools",
                json!({
                    "mcp_server": self.server,
                    "pinned": if sorted.pinned_now { json!(sorted.trusted) } else { json!([]) },
                    "held": sorted.held,
                    "hidden_denied": hidden_denied,
                }),
            );
        }
    }

    /// Whether every call of the tool is denied whatever its arguments: a rule that names
    /// the tool without input conditions.
    fn denied_outright(&self, tool: &str) -> bool {
        let name = gate::qualified(&self.server, tool);
        self.flow
            .decider
            .policy
            .denies_tool_outright(&name, &self.flow.decider.context)
    }

    fn result(&self, id: &Value, tool: &str, message: &Value) {
        let bytes = message
            .get("result")
            .or_else(|| message.get("error"))
            .map_or(0, |r| r.to_string().len());
        let is_error = message.get("error").is_some()
            || message.pointer("/result/isError") == Some(&Value::Bool(true));
        // Not synced on its own: the call's decision record was, before the call went out,
        // and the next durable append syncs this one with it.
        let fields = json!({"run_id": self.flow.run_id, "mcp_server": self.server, "tool": tool, "mcp_id": id, "bytes": bytes, "is_error": is_error});
        if let Err(error) = self.flow.log.append_unsynced("mcp_result", fields) {
            self.flow
                .warn(&format!("cannot record mcp_result: {error}"));
        }
    }

    fn answered(&self, id: &Value, tool: &str, answer: &str, reason: Option<&str>) {
        self.flow.record(
            "mcp_call",
            json!({
                "mcp_server": self.server,
                "tool": tool,
                "mcp_id": id,
                "answer": answer,
                "reason": reason.map(|r| self.flow.redactor.text(r)),
            }),
        );
    }

    fn refused(&self, from: &str, error: &str) {
        self.flow.record(
            "mcp_refused",
            json!({"mcp_server": self.server, "from": from, "error": error}),
        );
    }
}

/// The id of a server message that could not be read strictly, when an ordinary reading
/// finds one: the client is told its request failed rather than left waiting.
fn lenient_id(line: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(line).ok()?;
    match value.get("id")? {
        id @ (Value::String(_) | Value::Number(_)) => Some(id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_longer_than_the_limit_is_skipped_to_its_end_and_never_kept() {
        let mut input = std::io::Cursor::new(b"short\n0123456789abcdef\nnext".to_vec());
        assert_eq!(read_line(&mut input, 8), Some((b"short\n".to_vec(), false)));
        assert_eq!(read_line(&mut input, 8), Some((Vec::new(), true)));
        assert_eq!(read_line(&mut input, 8), Some((b"next".to_vec(), false)));
        assert_eq!(read_line(&mut input, 8), None);
    }
}
