//! The judge of a supervised run: each exec is evaluated by the same policy as the
//! command line, from what really runs (the new image's argv, environment, directory and
//! executable, a copy of a gated program counting as that program). Allowed execs are
//! counted; denied ones are killed and recorded; those that need approval are held,
//! stopped, while the one approval flow files and waits for a request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
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

/// Judges every exec of one supervised run.
pub struct PolicyJudge<'a> {
    flow: &'a Flow<'a>,
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
    /// Refusals by command digest: the same command again meets the same answer.
    decided: BTreeMap<String, (Exit, String)>,
}

impl<'a> PolicyJudge<'a> {
    pub fn new(
        flow: &'a Flow<'a>,
        approved: Approved,
        reason: Option<String>,
        bound: Option<std::time::Duration>,
        interrupted: Arc<AtomicBool>,
    ) -> PolicyJudge<'a> {
        let programs = Programs::new(&flow.decider.policy.program_names(), flow.env.get("PATH"));
        let approved_programs = approved
            .programs
            .iter()
            .filter_map(|(path, digest)| {
                let real = std::fs::canonicalize(path).ok()?;
                Some((real, digest.clone()))
            })
            .collect();
        PolicyJudge {
            flow,
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

    /// Holds the exec while approval is sought for it, exactly as for a command line.
    fn hold(&mut self, image: Image, evaluation: Evaluation) -> Result<Verdict, UserError> {
        let flow = self.flow;
        let pid = image.pid;
        let mut extra = flow::Extra::new();
        extra.insert("via".to_owned(), json!("supervise"));
        extra.insert("pid".to_owned(), json!(pid));
        extra.insert("ppid".to_owned(), json!(image.ppid));
        let decided = flow.decide_evaluated(
            Subject::Exec(Box::new(image)),
            evaluation,
            self.reason.as_deref(),
            extra,
        )?;
        let bound = self.bound.map(|b| Instant::now() + b);
        let connected = flow.connect(&decided, bound)?;
        // The same command again shares the first one's answer (and request): no second
        // request for it in this run.
        if let Some((exit, reason)) = self.decided.get(&connected.digest).cloned() {
            return Ok(self.refuse(decided.exec(), pid, exit, &reason));
        }
        let wait = WaitPolicy {
            reuse: false,
            no_wait: false,
            bound,
            interrupted: Arc::clone(&self.interrupted),
            on_stop: if self.bound.is_some() {
                OnStop::KeepPending
            } else {
                OnStop::End
            },
        };
        let requested = flow.request(&decided, &connected, self.reason.clone(), &wait)?;
        let approval = match requested {
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
                self.decided
                    .insert(connected.digest.clone(), (exit, reason.clone()));
                return Ok(self.refuse(decided.exec(), pid, exit, &reason));
            }
        };
        match flow.redeem(&decided, &approval, true)? {
            // Secrets are released to commands gatekeep starts itself, never into the
            // environment of a program already loaded.
            Redeemed::Granted { .. } => Ok(Verdict::Allow),
            Redeemed::Unusable => Ok(self.refuse(
                decided.exec(),
                pid,
                Exit::Expired,
                "the approval could no longer be used",
            )),
        }
    }
}

impl Judge for PolicyJudge<'_> {
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
                let copy = image.clone();
                match self.hold(image, evaluation) {
                    Ok(verdict) => verdict,
                    Err(error) => {
                        let exit = error.exit;
                        self.refuse(Some(&copy), pid, exit, &error.message)
                    }
                }
            }
        }
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
            Outcome::Created { call, path } => {
                let path = path.display().to_string();
                flow.record(
                    "guard_refused",
                    json!({"pid": pid, "call": call, "path": path, "created": true, "killed": "tree"}),
                );
                flow.warn(&format!(
                    "the command created {}, which gatekeep protects; the whole command was stopped and the path removed",
                    crate::render::word(&path)
                ));
                self.refused.get_or_insert(Exit::Denied);
            }
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
            scripts: Vec::new(),
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
