//! A snapshot of the process environment, and the facts gatekeep derives from it: who is
//! calling, on which host, and whether the caller is an AI agent.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;

use crate::env_vars;
use crate::policy::Context;

/// Environment variables, captured once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The current process's environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// A snapshot from explicit pairs (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// A variable's value; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// All variables.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Which agent marker is set, if any: `GATEKEEP_AGENT` or one of [`env_vars::AGENT_MARKERS`].
    pub fn agent_marker(&self) -> Option<&'static str> {
        if self.get(env_vars::GATEKEEP_AGENT).is_some_and(|v| v != "0") {
            return Some(env_vars::GATEKEEP_AGENT);
        }
        env_vars::AGENT_MARKERS
            .iter()
            .copied()
            .find(|m| self.get(m).is_some_and(|v| v != "0"))
    }

    /// The session id an agent exposes to the commands it runs, if any.
    pub fn agent_session(&self) -> Option<&str> {
        env_vars::AGENT_SESSION_VARS
            .iter()
            .find_map(|name| self.get(name))
    }

    /// The evaluation context of this process, in its working directory.
    pub fn context(&self, agent_flag: bool) -> Context {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        self.context_in(agent_flag, cwd)
    }

    /// The evaluation context of this process for a command that runs in `cwd`.
    pub fn context_in(&self, agent_flag: bool, cwd: String) -> Context {
        Context {
            user: current_user(),
            host: hostname(),
            cwd,
            agent: agent_flag || self.agent_marker().is_some(),
            tty: std::io::stdin().is_terminal(),
            env: self.vars.clone(),
            unknown_env: Vec::new(),
        }
    }
}

/// The user name of the process's effective uid, from the password database (not from
/// `$USER`, which the caller controls).
pub fn current_user() -> String {
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let from_passwd = uid.and_then(|uid| {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
    });
    from_passwd
        .or_else(|| uid.map(|u| format!("uid:{u}")))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}
