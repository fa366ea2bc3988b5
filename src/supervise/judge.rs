//! The judge of a supervised run: each exec is evaluated by the same policy as the
//! command line, from what really runs (the new image's argv, environment, directory and
//! executable, a copy of a gated program counting as that program). Allowed execs are
//! counted; denied ones are killed and recorded; those that need approval are held,
//! stopped, while the one approval flow files and waits for a request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use serde_json::json;

use super::image::{Image, Programs, basename, loader_runs_program};
use super::{Judge, Outcome, Verdict};
use crate::exit::{Exit, UserError};
use crate::flow::{self, Flow, OnStop, Redeemed, Requested, Step, Subject, WaitPolicy};
use crate::policy::{Context, Decision, Evaluation, Policy};
use crate::shell::{Analysis, Arg, Command};

/// At most this many distinct programs are named in the summary record.
const SUMMARY_PROGRAMS: usize = 200;

/// At most this many refused changes to protected paths get a record each; the summary
/// counts them all.
const GUARD_RECORDS: u64 = 100;

/// What a reviewer approved, for the supervisor: the commands of the line (each covers
/// one exec with exactly its arguments) and the programs the grant bound (path → SHA-256).
#[derive(Default)]
pub struct Approved {
    pub commands: Vec<Vec<String>>,
    pub programs: std::collections::BTreeMap<String, String>,
}

/// Judges every exec of one supervised run. An exec that needs approval is held: its
/// request is filed and waited for on a thread of its own, in `scope`, while the tracer
/// goes on serving the rest of the tree.
pub struct PolicyJudge<'scope, 'a: 'scope> {
    flow: &'a Flow<'a>,
    scope: &'scope std::thread::Scope<'scope, 'a>,
    /// Answers from the threads that hold execs: (command key, result).
    sender: Sender<(String, Result<Held, UserError>)>,
    receiver: Receiver<(String, Result<Held, UserError>)>,
    /// Held execs by command key: the first one's request stands for all of them.
    in_flight: HashMap<String, Group>,
    programs: Programs,
    /// Commands the reviewer of the whole command line approved: each covers one exec with
    /// exactly its arguments, so an approved command is not asked for twice.
    covered: Vec<Vec<String>>,
    /// The programs the approval bound, by canonical path → SHA-256: each exec of one
    /// must still be what the reviewer approved.
    approved_programs: BTreeMap<std::path::PathBuf, String>,
    reason: Option<String>,
    /// How long a held exec may wait (agents: the hook wait); `None`: the rule's timeout.
    bound: Option<std::time::Duration>,
    interrupted: Arc<AtomicBool>,
    allowed: u64,
    distinct: BTreeSet<String>,
    /// Changes to protected paths the guard refused.
    guard_refused: u64,
    /// The outcome of the first exec that was refused, which the run exits with.
    pub refused: Option<Exit>,
    /// Refusals by command key: the same command again meets the same answer.
    decided: BTreeMap<String, (Exit, String)>,
}

/// The execs held for one command: the one a request was filed for, and those waiting to
/// ask next.
struct Group {
    /// The exec the request was filed for, until its process is gone: an approval resumes
    /// that process and no other (whatever later gets its number, above all).
    filed: Option<(i32, Image)>,
    /// The same command, held again meanwhile.
    others: Vec<(i32, Image)>,
}

/// How a held exec's request ended.
enum Held {
    Approved,
    Refused(Exit, String),
}

impl<'scope, 'a: 'scope> PolicyJudge<'scope, 'a> {
    pub fn new(
        flow: &'a Flow<'a>,
        scope: &'scope std::thread::Scope<'scope, 'a>,
        approved: Approved,
        reason: Option<String>,
        bound: Option<std::time::Duration>,
        interrupted: Arc<AtomicBool>,
    ) -> PolicyJudge<'scope, 'a> {
        let programs = Programs::new(&flow.decider.policy.program_names(), flow.env.get("PATH"));
        let approved_programs = approved
            .programs
            .iter()
            .filter_map(|(path, digest)| {
                let real = std::fs::canonicalize(path).ok()?;
                Some((real, digest.clone()))
            })
            .collect();
        let (sender, receiver) = std::sync::mpsc::channel();
        PolicyJudge {
            flow,
            scope,
            sender,
            receiver,
            in_flight: HashMap::new(),
            programs,
            covered: approved.commands,
            approved_programs,
            reason,
            bound,
            interrupted,
            allowed: 0,
            distinct: BTreeSet::new(),
            guard_refused: 0,
            refused: None,
            decided: BTreeMap::new(),
        }
    }

    /// The one summary record of the execs that were allowed.
    pub fn summary(&self) -> serde_json::Value {
        json!({"allowed": self.allowed, "programs": self.distinct, "guard_refused": self.guard_refused})
    }

    fn refuse(&mut self, image: Option<&Image>, pid: i32, exit: Exit, reason: &str) -> Verdict {
        let flow = self.flow;
        let argv = image
            .map(|i| flow.redactor.argv(&i.argv))
            .unwrap_or_default();
        flow.record(
            "exec_refused",
            json!({
                "pid": pid,
                "ppid": image.map(|i| i.ppid),
                "argv": argv,
                "exe": image.map(|i| i.exe.display().to_string()),
                "digest": image.and_then(|i| i.digest.clone()),
                "reason": reason,
                "status": exit.code(),
            }),
        );
        flow.sink.step(&Step::ExecRefused {
            pid,
            argv: &argv,
            reason,
        });
        self.refused.get_or_insert(exit);
        Verdict::Kill
    }

    /// Holds the exec while approval is sought for it, exactly as for a command line, on
    /// a thread of its own. The same command again while it waits shares its request.
    fn hold(&mut self, image: Image, evaluation: Evaluation) -> Verdict {
        let key = command_key(&image);
        if let Some((exit, reason)) = self.decided.get(&key).cloned() {
            return self.refuse(Some(&image), image.pid, exit, &reason);
        }
        if let Some(group) = self.in_flight.get_mut(&key) {
            group.others.push((image.pid, image));
            return Verdict::Hold;
        }
        self.file(key, image, evaluation);
        Verdict::Hold
    }

    /// Starts the thread that files and waits for the request of a held exec.
    fn file(&mut self, key: String, image: Image, evaluation: Evaluation) {
        let flow = self.flow;
        let reason = self.reason.clone();
        let bound = self.bound;
        let interrupted = Arc::clone(&self.interrupted);
        let sender = self.sender.clone();
        self.in_flight.insert(
            key.clone(),
            Group {
                filed: Some((image.pid, image.clone())),
                others: Vec::new(),
            },
        );
        self.scope.spawn(move || {
            let held = seek_approval(flow, image, evaluation, reason, bound, interrupted);
            let _ = sender.send((key, held));
        });
    }
}

/// Files the request for a held exec and waits for it; on approval, uses the grant.
fn seek_approval(
    flow: &Flow<'_>,
    image: Image,
    evaluation: Evaluation,
    reason: Option<String>,
    bound: Option<std::time::Duration>,
    interrupted: Arc<AtomicBool>,
) -> Result<Held, UserError> {
    let mut extra = flow::Extra::new();
    extra.insert("via".to_owned(), json!("supervise"));
    extra.insert("pid".to_owned(), json!(image.pid));
    extra.insert("ppid".to_owned(), json!(image.ppid));
    let decided = flow.decide_evaluated(
        Subject::Exec(Box::new(image)),
        evaluation,
        reason.as_deref(),
        extra,
    )?;
    let deadline = bound.map(|b| Instant::now() + b);
    let connected = flow.connect(&decided, deadline)?;
    let wait = WaitPolicy {
        reuse: false,
        no_wait: false,
        bound: deadline,
        interrupted,
        on_stop: if bound.is_some() {
            OnStop::KeepPending
        } else {
            OnStop::End
        },
        break_glass: false,
    };
    let approval = match flow.request(&decided, &connected, reason, &wait)? {
        Requested::Approved(approval) => approval,
        other => {
            let exit = flow::exit_of(&other);
            let reason = match &other {
                Requested::Pending { id, .. } => format!(
                    "request {id} is still waiting for a reviewer; retry the same command once it is approved"
                ),
                Requested::Ended(view) => {
                    format!("request {} was {}", view.id, view.status.as_str())
                }
                _ => "not approved".to_owned(),
            };
            return Ok(Held::Refused(exit, reason));
        }
    };
    Ok(match flow.redeem(&decided, &approval, true)? {
        // Secrets are released to commands gatekeep starts itself, never into the
        // environment of a program already loaded.
        Redeemed::Granted { .. } => Held::Approved,
        Redeemed::Unusable => Held::Refused(
            Exit::Expired,
            "the approval could no longer be used".to_owned(),
        ),
    })
}

/// What makes two held execs the same command: everything the request binds is in it.
fn command_key(image: &Image) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    for arg in &image.argv {
        field(arg.as_bytes());
    }
    field(b"");
    field(image.cwd.as_bytes());
    field(image.exe.as_os_str().as_encoded_bytes());
    field(image.digest.as_deref().unwrap_or("").as_bytes());
    for (name, value) in &image.env {
        field(name.as_bytes());
        field(value.as_bytes());
    }
    hex::encode(hasher.finalize())
}

impl Judge for PolicyJudge<'_, '_> {
    fn judge(&mut self, pid: i32) -> Verdict {
        let image = match Image::read(pid, &mut self.programs) {
            Ok(image) => image,
            Err(error) => return self.refuse(None, pid, Exit::Error, &error.to_string()),
        };
        if let Some(expected) = self.approved_programs.get(&image.exe).cloned() {
            let digest = image
                .digest
                .clone()
                .or_else(|| super::digest_of(&image).ok());
            if digest.as_deref() != Some(expected.as_str()) {
                let reason = format!(
                    "{} changed since it was approved",
                    crate::render::word(&image.exe)
                );
                return self.refuse(Some(&image), pid, Exit::Expired, &reason);
            }
        }
        let evaluation = evaluate(
            &self.flow.decider.policy,
            &self.flow.decider.context,
            &image,
        );
        if !image.doubled.is_empty() {
            return self.refuse(
                Some(&image),
                pid,
                Exit::Denied,
                &format!(
                    "its environment sets {} more than once, with different values, which programs read differently; set each once",
                    image.doubled.join(", ")
                ),
            );
        }
        if image.loader && loader_runs_program(&image) {
            return self.refuse(
                Some(&image),
                pid,
                Exit::Denied,
                "the dynamic loader would run a program without an exec that supervision sees; run the program itself",
            );
        }
        if let Some(owner) = image.set_id.clone()
            && evaluation.decision != Decision::Deny
        {
            let name = basename(image.argv.first().map_or("", String::as_str)).to_owned();
            return self.refuse(
                Some(&image),
                pid,
                Exit::Denied,
                &format!(
                    "{name} is set-user-ID ({owner}) and cannot gain privileges under supervision; run it at the top level instead (`gatekeep run -- {name} …`), where the policy judges it first"
                ),
            );
        }
        match evaluation.decision {
            // Already supervised: what it starts in turn is judged at its own exec.
            Decision::Allow | Decision::Supervise => {
                self.allowed += 1;
                if self.distinct.len() < SUMMARY_PROGRAMS {
                    self.distinct.insert(image.exe.display().to_string());
                }
                Verdict::Allow
            }
            Decision::Deny => {
                let rules: Vec<String> = evaluation
                    .hits
                    .iter()
                    .filter(|h| h.decision == Decision::Deny)
                    .map(|h| format!("rule {}", h.rule))
                    .collect();
                let reason = format!("denied by {}", rules.join(", "));
                self.refuse(Some(&image), pid, Exit::Denied, &reason)
            }
            Decision::Approve => {
                if let Some(i) = self
                    .covered
                    .iter()
                    .position(|c| same_command(c, &image.argv))
                {
                    self.covered.remove(i);
                    self.allowed += 1;
                    return Verdict::Allow;
                }
                self.hold(image, evaluation)
            }
        }
    }

    fn holding(&self) -> bool {
        !self.in_flight.is_empty()
    }

    fn answers(&mut self) -> Vec<(i32, Verdict)> {
        let mut out = Vec::new();
        while let Ok((key, held)) = self.receiver.try_recv() {
            let Some(Group { filed, mut others }) = self.in_flight.remove(&key) else {
                continue;
            };
            let (exit, reason) = match held {
                Ok(Held::Approved) => {
                    // The grant covers one exec; the others ask again, together.
                    if let Some((pid, _)) = filed {
                        self.allowed += 1;
                        out.push((pid, Verdict::Allow));
                    }
                    if !others.is_empty() {
                        let (_, next) = others.remove(0);
                        let evaluation =
                            evaluate(&self.flow.decider.policy, &self.flow.decider.context, &next);
                        self.file(key.clone(), next, evaluation);
                        if let Some(group) = self.in_flight.get_mut(&key) {
                            group.others = others;
                        }
                    }
                    continue;
                }
                Ok(Held::Refused(exit, reason)) => (exit, reason),
                Err(error) => (error.exit, error.message),
            };
            self.decided.insert(key, (exit, reason.clone()));
            for (pid, image) in filed.into_iter().chain(others) {
                out.push((pid, self.refuse(Some(&image), pid, exit, &reason)));
            }
        }
        out
    }

    fn guarded(&mut self, pid: i32, outcome: &Outcome) {
        let flow = self.flow;
        match outcome {
            Outcome::Fine => {}
            Outcome::Refused { call, path } => {
                self.guard_refused += 1;
                if self.guard_refused <= GUARD_RECORDS {
                    flow.record(
                        "guard_refused",
                        json!({"pid": pid, "call": call, "path": path.display().to_string()}),
                    );
                }
            }
            Outcome::Created {
                call,
                path,
                removed,
            } => {
                let path = path.display().to_string();
                flow.record(
                    "guard_refused",
                    json!({"pid": pid, "call": call, "path": path, "created": true, "killed": "tree", "removed": removed}),
                );
                let then = if *removed {
                    "and the path removed"
                } else {
                    "but the path could not be removed: check it and remove it yourself"
                };
                flow.warn(&format!(
                    "the command created {}, which gatekeep protects; the whole command was stopped {then}",
                    crate::render::word(&path)
                ));
                self.refused.get_or_insert(Exit::Denied);
            }
            Outcome::Unlinked {
                call,
                path,
                restored,
            } => {
                let path = path.display().to_string();
                flow.record(
                    "guard_refused",
                    json!({"pid": pid, "call": call, "path": path, "unlinked": true, "killed": "tree", "restored": restored}),
                );
                let then = if *restored {
                    "and the link put back"
                } else {
                    "but the link could not be put back: check it"
                };
                flow.warn(&format!(
                    "the command removed or replaced the link {}, on the way to a path gatekeep protects; the whole command was stopped {then}",
                    crate::render::word(&path)
                ));
                self.refused.get_or_insert(Exit::Denied);
            }
        }
    }

    fn gone(&mut self, pid: i32) {
        for group in self.in_flight.values_mut() {
            if group.filed.as_ref().is_some_and(|(held, _)| *held == pid) {
                group.filed = None;
            }
            group.others.retain(|(held, _)| *held != pid);
        }
    }

    fn leftovers(&mut self, pids: &[i32]) {
        self.flow.record(
            "exec_leftovers",
            json!({"killed": pids, "reason": "still running after the command ended"}),
        );
    }
}

/// The exec as one analysed command: its own arguments, judged by itself (whatever it
/// runs in turn is judged at its own exec).
pub fn analysis(image: &Image) -> Analysis {
    let mut names: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    if let Some(first) = image.argv.first() {
        push(basename(first));
    }
    push(basename(&image.exe.display().to_string()));
    if let Some(interpreter) = &image.interpreter {
        push(basename(&interpreter.display().to_string()));
    }
    for name in &image.known_as {
        push(name);
    }
    let mut paths = vec![image.exe.display().to_string()];
    paths.extend(image.interpreter.iter().map(|i| i.display().to_string()));
    if let Some(first) = image.argv.first().filter(|a| a.starts_with('/')) {
        paths.push(first.clone());
    }
    Analysis {
        commands: vec![Command {
            argv: image.argv.iter().map(Arg::literal).collect(),
            names,
            paths,
            env: Default::default(),
            user: None,
            host: None,
            cwd: None,
            cwd_unknown: false,
            stdin_args: false,
            nested: false,
            own_assignments: Vec::new(),
            writes: Vec::new(),
            reads: Vec::new(),
            scripts: Vec::new(),
            stdin: None,
        }],
        opaque: Vec::new(),
    }
}

/// Evaluates an exec in its own directory and environment.
pub fn evaluate(policy: &Policy, context: &Context, image: &Image) -> Evaluation {
    let context = Context {
        cwd: image.cwd.clone(),
        env: image.env.clone(),
        ..context.clone()
    };
    policy.evaluate(&analysis(image), &context)
}

/// An approved command line's command and an exec are the same when the arguments are
/// equal and the program names agree.
fn same_command(approved: &[String], argv: &[String]) -> bool {
    approved.len() == argv.len()
        && !approved.is_empty()
        && basename(&approved[0]) == basename(&argv[0])
        && approved[1..] == argv[1..]
}
