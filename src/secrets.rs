//! Secrets released to commands: the environment a command receives, and the part of the
//! caller's environment an approval is bound to (docs/secrets.md).

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::policy::SecretUse;
use crate::redact::{Redactor, is_secret_name};
use crate::shell::CODE_LOADING_VARIABLES;

/// Variables removed from the environment of a command that receives secrets, so the
/// caller cannot hijack it to read them: besides [`CODE_LOADING_VARIABLES`], those of the
/// C library, more language runtimes, TLS and download tools, and client start-up files.
pub const SCRUBBED: &[&str] = &[
    "GCONV_PATH",
    "LOCPATH",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
    "MALLOC_CHECK_",
    "PERLLIB",
    "PERL5DB",
    "PYTHONHOME",
    "PYTHONINSPECT",
    "PYTHONBREAKPOINT",
    "NODE_PATH",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "GIT_CONFIG_GLOBAL",
    "PSQL_PAGER",
    "PSQLRC",
    "MYSQL_HISTFILE",
    "GLIBC_TUNABLES",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "CURL_HOME",
    "WGETRC",
    "ZDOTDIR",
    "IFS",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
];

/// Name prefixes removed likewise: every dynamic-loader variable, and bash's exported
/// functions (which would replace any command a script runs).
pub const SCRUBBED_PREFIXES: &[&str] = &["LD_", "BASH_FUNC_", "GIT_CONFIG_"];

/// Variables that steer what a program does and where its credentials go (servers,
/// proxies, trust roots, profiles, the programs a script finds). The caller's values of
/// these, together with every variable of [`CODE_LOADING_VARIABLES`], [`SCRUBBED`] and
/// [`SCRUBBED_PREFIXES`], are shown to reviewers and bound into the digest of every
/// approved command: approving `pg_dump -h prod` with `PGHOSTADDR` pointing elsewhere is
/// approving something else. `*` ends a prefix. Names shaped like steering variables
/// ([`STEERING_SUFFIXES`], credentials) are bound as well, whatever tool reads them.
pub const BOUND: &[&str] = &[
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "LD_*",
    "GIT_*",
    "PG*",
    "MYSQL_*",
    "AWS_*",
    "AZURE_*",
    "ARM_*",
    "GOOGLE_*",
    "CLOUDSDK_*",
    "VAULT_*",
    "DOCKER_*",
    "KUBECONFIG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "SSH_AUTH_SOCK",
    // Shells and the C library: what `sudo -s` or `flock -c` run, where `cd` goes.
    "SHELL",
    "CDPATH",
    "GLOBIGNORE",
    "POSIXLY_CORRECT",
    "INPUTRC",
    "NLSPATH",
    "RES_OPTIONS",
    "LOCALDOMAIN",
    "XDG_*",
    "NETRC",
    "GNUPGHOME",
    "PASSWORD_STORE_*",
    // Tools that read their options, or a program to run, from the environment.
    "TAR_OPTIONS",
    "GZIP",
    "BZIP",
    "BZIP2",
    "XZ_DEFAULTS",
    "XZ_OPT",
    "ZIPOPT",
    "UNZIP",
    "UNZIPOPT",
    "RSYNC_*",
    "CVS_RSH",
    "MAKEFLAGS",
    "MAKEFILES",
    "MFLAGS",
    "GNUMAKEFLAGS",
    "SUDO_ASKPASS",
    "SUDO_EDITOR",
    "SSH_ASKPASS_REQUIRE",
    "BROWSER",
    "LESS",
    "LESSKEY",
    // Infrastructure and deployment tools: which account, cluster, workspace, environment.
    "TF_*",
    "ANSIBLE_*",
    "HELM_*",
    "KUBE*",
    "OS_*",
    "GH_*",
    "GITHUB_*",
    "GITLAB_*",
    "GLAB_*",
    "NOMAD_*",
    "CONSUL_*",
    "BOTO_CONFIG",
    "CONTAINER_*",
    "CONTAINERS_*",
    "PODMAN_*",
    "BUILDAH_*",
    "RAILS_ENV",
    "RACK_ENV",
    "NODE_ENV",
    "MIX_ENV",
    "FLASK_*",
    "DJANGO_*",
    // Language runtimes and package managers: the code they load and run.
    "PYTHON*",
    "PERL*",
    "RUBY*",
    "NODE_*",
    "NPM_CONFIG_*",
    "npm_config_*",
    "YARN_*",
    "PIP_*",
    "UV_*",
    "VIRTUAL_ENV",
    "CONDA_*",
    "GEM_*",
    "BUNDLE_*",
    "CLASSPATH",
    "JAVA_HOME",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "LUA_*",
    "TCLLIBPATH",
    "R_PROFILE*",
    "R_ENVIRON*",
    "R_LIBS*",
    "DOTNET_*",
    "CORECLR_*",
    "COMPlus_*",
    "CARGO_*",
    "RUSTC*",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTUP_*",
    "GOFLAGS",
    "GOPATH",
    "GOROOT",
    "GOENV",
    "GOPROXY",
    "GOTOOLCHAIN",
    "GOPRIVATE",
    "GOINSECURE",
    "GONOSUMDB",
    "CGO_*",
];

/// Name endings of variables that, in the convention most tools follow, steer a program:
/// its options, the host or account it talks to, the program it starts, where it reads
/// its configuration or code. Bound for every name, so tools nobody listed are covered.
const STEERING_SUFFIXES: &[&str] = &[
    "_OPTIONS",
    "_OPTS",
    "_OPT",
    "_FLAGS",
    "_ARGS",
    "_RSH",
    "_EDITOR",
    "_PAGER",
    "_ASKPASS",
    "_SHELL",
    "_COMMAND",
    "_CMD",
    "_PROG",
    "_PROGRAM",
    "_EXEC",
    "_HOOK",
    "_HOOKS",
    "_INIT",
    "_PRELOAD",
    "_CONFIG",
    "_CONF",
    "_CONFIG_FILE",
    "_CONFIG_PATH",
    "RC",
    "_HOME",
    "_PATH",
    "_DIR",
    "_LIB",
    "_LIBS",
    "_HOST",
    "_HOSTS",
    "_SERVER",
    "_SERVERS",
    "_ENDPOINT",
    "_URL",
    "_URI",
    "_DSN",
    "_ADDR",
    "_ADDRESS",
    "_PORT",
    "_SOCKET",
    "_PROXY",
    "_PROFILE",
    "_CONTEXT",
    "_CLUSTER",
    "_NAMESPACE",
    "_REGION",
    "_ZONE",
    "_PROJECT",
    "_ACCOUNT",
    "_TENANT",
    "_ORG",
    "_WORKSPACE",
    "_ENV",
    "_ENVIRONMENT",
    "_STAGE",
    "_TARGET",
    "_DATABASE",
    "_DB",
    "_USER",
    "_USERNAME",
];

/// Prefix of gatekeep's own variables: they steer gatekeep, not the command it runs.
const OWN_PREFIX: &str = "GATEKEEP_";

/// Whether `name` steers a program by its shape: an upper-case name ending like an
/// option, a target or a program to start (see [`STEERING_SUFFIXES`]), or one that
/// carries a credential (which decides whom the command acts as; bound by hash only).
fn steers_by_shape(name: &str) -> bool {
    if name.starts_with(OWN_PREFIX) {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    is_secret_name(name)
        || STEERING_SUFFIXES
            .iter()
            .any(|suffix| upper.len() > suffix.len() && upper.ends_with(suffix))
}

/// Whether the caller's `name` is bound into an approval of a command receiving
/// `released`, whose matched rules name the variables `named`.
fn bound(name: &str, released: &[SecretUse], named: &[String]) -> bool {
    let pattern_match = |pattern: &str| match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    };
    // The family of each released variable: `AWS_` for `AWS_SECRET_ACCESS_KEY`.
    let family = |secret: &SecretUse| {
        secret
            .env
            .find('_')
            .filter(|&i| i >= 2)
            .is_some_and(|i| name.starts_with(&secret.env[..=i]))
    };
    BOUND.iter().any(|p| pattern_match(p))
        || steers_by_shape(name)
        || CODE_LOADING_VARIABLES.contains(&name)
        || SCRUBBED.contains(&name)
        || SCRUBBED_PREFIXES.iter().any(|p| name.starts_with(p))
        || named.iter().any(|n| n == name)
        || released.iter().any(family)
}

/// Whether every approval binds the caller's `name` when it is set (whatever the command
/// and its rules): a request that does not carry it was filed without it.
pub fn always_bound(name: &str) -> bool {
    bound(name, &[], &[])
}

/// The caller's variables an approval is bound to, for a command receiving `released`
/// whose matched rules name the variables `named`. The released variables themselves are
/// left out (gatekeep sets them); secret-looking values (by name or by shape), and those of
/// variables bound only because a project's rules name them (`digested`), are given as
/// `sha256:HEX`, never in clear.
pub fn bound_env(
    caller: &BTreeMap<String, String>,
    released: &[SecretUse],
    named: &[String],
    digested: &[String],
    redactor: &Redactor,
) -> BTreeMap<String, String> {
    caller
        .iter()
        .filter(|(name, _)| released.iter().all(|s| &s.env != *name))
        .filter(|(name, _)| bound(name, released, named))
        .map(|(name, value)| {
            let only_a_projects = digested.contains(name) && !bound(name, released, &[]);
            let shown = if only_a_projects
                || is_secret_name(name)
                || redactor.env_value(name, value) != *value
            {
                format!("sha256:{}", hex::encode(Sha256::digest(value.as_bytes())))
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// The environment of a command: the inherited one with changes, or, for a command that
/// receives secrets, one rebuilt from scratch.
#[derive(Default)]
pub struct ChildEnv {
    /// Variables removed.
    pub remove: Vec<String>,
    /// Variables set (secret values: never printed, logged or sent).
    pub set: Vec<(String, String)>,
    /// When set, the command gets exactly these variables plus `set`, nothing inherited:
    /// variables gatekeep could not read as text (not UTF-8) can then not slip through.
    pub only: Option<Vec<(String, String)>>,
}

impl std::fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.set.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ChildEnv")
            .field("remove", &self.remove)
            .field("set", &names)
            .finish()
    }
}

impl ChildEnv {
    /// The environment for a command: every variable a rule releases is removed from what
    /// it inherits (when `strip` is on), and a command that receives secrets also loses
    /// the hijacking variables ([`SCRUBBED`]) before its secrets are set.
    /// `caller` is the environment as text; `inherited` the names of every variable the
    /// process has, whatever their values.
    pub fn new(
        caller: &BTreeMap<String, String>,
        inherited: &[String],
        gated: &[String],
        strip: bool,
        released: Vec<(String, String)>,
    ) -> ChildEnv {
        let mut remove: Vec<String> = Vec::new();
        if strip {
            remove.extend(gated.iter().filter(|n| inherited.contains(*n)).cloned());
        }
        let secret_run = !released.is_empty();
        if secret_run {
            remove.extend(
                inherited
                    .iter()
                    .filter(|n| {
                        CODE_LOADING_VARIABLES.contains(&n.as_str())
                            || SCRUBBED.contains(&n.as_str())
                            || SCRUBBED_PREFIXES.iter().any(|p| n.starts_with(p))
                    })
                    .cloned(),
            );
        }
        remove.sort();
        remove.dedup();
        let only = secret_run.then(|| {
            caller
                .iter()
                .filter(|(name, _)| !remove.contains(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        });
        ChildEnv {
            remove,
            set: released,
            only,
        }
    }

    /// The environment a command gets, from the `inherited` one (this process's).
    pub fn resolve(
        &self,
        inherited: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        let mut vars: BTreeMap<std::ffi::OsString, std::ffi::OsString> = match &self.only {
            Some(only) => only.iter().map(|(k, v)| (k.into(), v.into())).collect(),
            None => inherited.collect(),
        };
        for name in &self.remove {
            vars.remove(std::ffi::OsStr::new(name));
        }
        for (name, value) in &self.set {
            vars.insert(name.into(), value.into());
        }
        vars.into_iter().collect()
    }

    /// Gives a command about to be spawned its environment, in full: never this process's
    /// as it is, where a variable may be set twice. Programs differ in which of two values
    /// they read (the C library takes the first); the command gets the one the decision
    /// read (the last, as the environment snapshot and [`ChildEnv::resolve`] keep it).
    pub fn apply(&self, command: &mut std::process::Command) {
        command.env_clear();
        command.envs(self.resolve(std::env::vars_os()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SecretSource;

    fn secret(env: &str) -> SecretUse {
        SecretUse {
            env: env.to_owned(),
            from: SecretSource::Server,
            name: "n".to_owned(),
            rule: "r".to_owned(),
        }
    }

    #[test]
    fn bound_env_covers_the_steering_variables_and_hides_secret_values() {
        let caller: BTreeMap<String, String> = [
            ("PGHOSTADDR", "10.0.0.9"),
            ("PGPASSWORD", "from-the-caller"),
            ("AWS_PROFILE", "prod"),
            ("AWS_SESSION_TOKEN", "tok"),
            ("HOME", "/root"),
            ("HTTPS_PROXY", "http://user:pw@proxy:3128"),
            ("MYAPP_SECRET_URL", "x"),
            ("MYAPP_REGION", "eu"),
            ("MYSQL_PWD", "hunter2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let redactor = Redactor::new(&[]).unwrap();
        let env = bound_env(
            &caller,
            &[secret("PGPASSWORD"), secret("MYAPP_TOKEN")],
            &[],
            &[],
            &redactor,
        );
        let hashed = |v: &str| format!("sha256:{}", hex::encode(Sha256::digest(v.as_bytes())));
        let expected: BTreeMap<String, String> = [
            ("AWS_PROFILE", "prod".to_owned()),
            ("AWS_SESSION_TOKEN", hashed("tok")),
            ("HOME", "/root".to_owned()),
            ("HTTPS_PROXY", hashed("http://user:pw@proxy:3128")),
            ("MYAPP_REGION", "eu".to_owned()),
            ("MYAPP_SECRET_URL", hashed("x")),
            ("MYSQL_PWD", hashed("hunter2")),
            ("PGHOSTADDR", "10.0.0.9".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(env, expected);
        // Without secrets: the steering variables still, and what the rules name.
        let plain = bound_env(&caller, &[], &[], &[], &redactor);
        let names: Vec<&str> = plain.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "AWS_PROFILE",
                "AWS_SESSION_TOKEN",
                "HOME",
                "HTTPS_PROXY",
                "MYAPP_REGION",
                "MYAPP_SECRET_URL",
                "MYSQL_PWD",
                "PGHOSTADDR",
                "PGPASSWORD"
            ]
        );
        assert_eq!(plain["PGPASSWORD"], hashed("from-the-caller"));
        // Code-loading variables, the loader's, bash functions and tokens by their shape.
        let caller: BTreeMap<String, String> = [
            ("BASH_ENV", "/tmp/x.sh"),
            ("LD_PRELOAD", "/tmp/x.so"),
            ("BASH_FUNC_ls%%", "() { rm -rf ~; }"),
            ("GIT_DIR", "/srv/repo.git"),
            (
                "GOOGLE_CLOUD_PROJECT",
                "ya29.a0AfH6SMBx3k9Lq2ZtY8pW1vR7nC4eD5fG6hI",
            ),
            ("TERM", "xterm"),
            ("SHLVL", "2"),
            ("GATEKEEP_TOKEN", "gk-token"),
            ("TF_CLI_ARGS_apply", "-destroy"),
            ("ACME_DEPLOY_OPTS", "--force"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let steering = bound_env(&caller, &[], &[], &[], &redactor);
        assert_eq!(steering.len(), 7, "{steering:?}");
        assert_eq!(steering["TF_CLI_ARGS_apply"], "-destroy");
        assert_eq!(steering["ACME_DEPLOY_OPTS"], "--force");
        assert_eq!(steering["BASH_ENV"], "/tmp/x.sh");
        assert_eq!(
            steering["GOOGLE_CLOUD_PROJECT"],
            hashed("ya29.a0AfH6SMBx3k9Lq2ZtY8pW1vR7nC4eD5fG6hI")
        );
        // A variable only a project's rule names is bound, as a digest; one bound for
        // everyone stays in clear.
        let caller: BTreeMap<String, String> =
            [("LEGACY_VAL", "dbpass=Tr0ub4dor"), ("PGHOST", "db1")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let names = ["LEGACY_VAL".to_owned(), "PGHOST".to_owned()];
        let project = bound_env(&caller, &[], &names, &names, &redactor);
        assert_eq!(project["LEGACY_VAL"], hashed("dbpass=Tr0ub4dor"));
        assert_eq!(project["PGHOST"], "db1");
        let users = bound_env(&caller, &[], &names, &[], &redactor);
        assert_eq!(users["LEGACY_VAL"], "dbpass=Tr0ub4dor");
    }

    #[test]
    fn child_env_strips_gated_names_and_scrubs_only_for_secret_runs() {
        let caller: BTreeMap<String, String> = [
            "PGPASSWORD",
            "LD_PRELOAD",
            "LD_AUDIT",
            "BASH_ENV",
            "BASH_FUNC_ls%%",
            "PATH",
        ]
        .into_iter()
        .map(|k| (k.to_owned(), "x".to_owned()))
        .collect();
        let gated = vec!["PGPASSWORD".to_owned(), "AWS_SECRET_ACCESS_KEY".to_owned()];
        let names: Vec<String> = caller.keys().cloned().collect();
        let plain = ChildEnv::new(&caller, &names, &gated, true, Vec::new());
        assert_eq!(plain.remove, ["PGPASSWORD"]);
        assert!(plain.only.is_none());
        let kept = ChildEnv::new(&caller, &names, &gated, false, Vec::new());
        assert!(kept.remove.is_empty());
        let released = ChildEnv::new(
            &caller,
            &names,
            &gated,
            true,
            vec![("PGPASSWORD".to_owned(), "s3cret".to_owned())],
        );
        assert_eq!(
            released.only.as_ref().unwrap(),
            &[("PATH".to_owned(), "x".to_owned())]
        );
        assert_eq!(
            released.remove,
            [
                "BASH_ENV",
                "BASH_FUNC_ls%%",
                "LD_AUDIT",
                "LD_PRELOAD",
                "PGPASSWORD"
            ]
        );
        assert!(!format!("{released:?}").contains("s3cret"));
    }
}
