//! Where gatekeep keeps its files, computed by one pure function over an environment snapshot.

use std::path::{Path, PathBuf};

use crate::env_vars;
use crate::environment::Environment;

/// The administrator's policy directory; always applied when it exists.
pub const ADMIN_POLICY_DIR: &str = "/etc/gatekeep/policies";

/// Every location gatekeep uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub admin_policies: PathBuf,
    pub config_file: PathBuf,
    pub user_policies: PathBuf,
    /// The default audit log; see [`Paths::audit_log`] for the overrides.
    pub log_file: PathBuf,
    pub data_dir: PathBuf,
    /// Compiled policies, keyed by the digest of their sources.
    pub cache_dir: PathBuf,
}

fn xdg(env: &Environment, var: &str, home: &Path, fallback: &str) -> PathBuf {
    env.get(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home.join(fallback))
}

impl Paths {
    /// Computes the paths: `GATEKEEP_*` overrides, then the XDG base directories.
    pub fn from_env(env: &Environment) -> Paths {
        let home = env
            .get(env_vars::HOME)
            .map(PathBuf::from)
            .or_else(|| etcetera::home_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let config = xdg(env, env_vars::XDG_CONFIG_HOME, &home, ".config").join("gatekeep");
        let state = xdg(env, env_vars::XDG_STATE_HOME, &home, ".local/state").join("gatekeep");
        let data = xdg(env, env_vars::XDG_DATA_HOME, &home, ".local/share").join("gatekeep");
        let cache = xdg(env, env_vars::XDG_CACHE_HOME, &home, ".cache").join("gatekeep");
        let admin = if cfg!(debug_assertions) {
            env.get(env_vars::GATEKEEP_TEST_ADMIN_POLICY_DIR)
                .map(PathBuf::from)
        } else {
            None
        };
        Paths {
            admin_policies: admin.unwrap_or_else(|| PathBuf::from(ADMIN_POLICY_DIR)),
            config_file: env
                .get(env_vars::GATEKEEP_CONFIG)
                .map_or_else(|| config.join("config.yaml"), PathBuf::from),
            user_policies: config.join("policies"),
            log_file: state.join("audit.jsonl"),
            data_dir: data,
            cache_dir: cache,
        }
    }
}

impl Paths {
    /// Every location with what it holds, for the man pages' FILES.
    pub fn described(&self) -> [(&Path, &'static str); 6] {
        [
            (
                &self.config_file,
                "the client configuration (GATEKEEP_CONFIG overrides); logins are kept beside it",
            ),
            (
                &self.user_policies,
                "the user's policy files (*.yaml); GATEKEEP_POLICY or --policy replace them",
            ),
            (
                &self.admin_policies,
                "the administrator's policy files; always applied",
            ),
            (
                &self.log_file,
                "the audit log and its rotated segments (GATEKEEP_LOG, the configuration's log: or --log override)",
            ),
            (
                &self.data_dir,
                "this host's data: the index of its secrets (secrets.json)",
            ),
            (
                &self.cache_dir,
                "compiled policies, keyed by the digest of their sources",
            ),
        ]
    }

    /// The audit log: `--log`, else `GATEKEEP_LOG`, else the configuration's `log`, else
    /// the default under the XDG state directory.
    pub fn audit_log(
        &self,
        explicit: Option<&Path>,
        env: &Environment,
        configured: Option<&Path>,
    ) -> PathBuf {
        explicit
            .map(Path::to_owned)
            .or_else(|| env.get(env_vars::GATEKEEP_LOG).map(PathBuf::from))
            .or_else(|| configured.map(Path::to_owned))
            .unwrap_or_else(|| self.log_file.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_then_home() {
        let env = Environment::from_pairs([("HOME", "/home/a"), ("XDG_STATE_HOME", "/state")]);
        let paths = Paths::from_env(&env);
        assert_eq!(
            paths.config_file,
            Path::new("/home/a/.config/gatekeep/config.yaml")
        );
        assert_eq!(paths.log_file, Path::new("/state/gatekeep/audit.jsonl"));
        let env = Environment::from_pairs([
            ("HOME", "/h"),
            ("XDG_CONFIG_HOME", "relative"),
            ("GATEKEEP_LOG", "/l.jsonl"),
        ]);
        let paths = Paths::from_env(&env);
        assert_eq!(
            paths.user_policies,
            Path::new("/h/.config/gatekeep/policies")
        );
        assert_eq!(
            paths.audit_log(None, &env, Some(Path::new("/c.jsonl"))),
            Path::new("/l.jsonl")
        );
        assert_eq!(
            paths.audit_log(Some(Path::new("/x")), &env, None),
            Path::new("/x")
        );
    }
}
