//! A sealed environment per test: temporary HOME and XDG directories, a cleared
//! environment, and no administrator policies unless the test writes some.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// An environment value.
pub type PathBufOrStr = std::ffi::OsString;

pub struct TestEnv {
    dir: TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        for sub in ["home", "config", "state", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `relative` under the test root and returns the full path.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.root().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// The administrator's policy directory as this environment's gatekeep sees it.
    pub fn admin_dir(&self) -> PathBuf {
        self.root().join("admin-policies")
    }

    /// The sealed environment's variables.
    pub fn vars(&self) -> Vec<(String, PathBufOrStr)> {
        let root = self.root();
        vec![
            ("HOME".into(), root.join("home").into()),
            ("XDG_CONFIG_HOME".into(), root.join("config").into()),
            ("XDG_STATE_HOME".into(), root.join("state").into()),
            ("XDG_DATA_HOME".into(), root.join("data").into()),
            (
                "PATH".into(),
                PathBuf::from("/usr/local/bin:/usr/bin:/bin").into(),
            ),
            (
                "GATEKEEP_TEST_ADMIN_POLICY_DIR".into(),
                self.admin_dir().into(),
            ),
        ]
    }

    /// A std command for `program` in the sealed environment (for processes a test
    /// signals or reads while they run).
    #[must_use]
    pub fn std_command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.env_clear().current_dir(self.root()).envs(self.vars());
        cmd
    }

    /// A gatekeep command in the sealed environment.
    #[must_use]
    pub fn gatekeep_std(&self) -> std::process::Command {
        self.std_command(assert_cmd::cargo::cargo_bin("gatekeep"))
    }

    /// A gatekeep command in the sealed environment, with assertions.
    #[must_use]
    pub fn gatekeep(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.gatekeep_std())
    }

    /// Every record of this environment's audit log (`gatekeep log tail --json`).
    #[must_use]
    pub fn log_records(&self) -> Vec<serde_json::Value> {
        let output = self
            .gatekeep()
            .args(["log", "tail", "--json", "-n", "1000000"])
            .output()
            .unwrap();
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Runs `gatekeep check --json` with `args` and returns the parsed object.
    #[must_use]
    pub fn check_json(&self, args: &[&str]) -> serde_json::Value {
        let output = self
            .gatekeep()
            .arg("check")
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "check failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("one JSON object")
    }
}

/// A test that needs something this machine lacks. Under CI that is a failure: CI installs
/// what the tests need. Elsewhere the test says why it did not run, and returns.
/// The Python packages the schema checks use (`jsonschema`, `ocsf-json-schema`):
/// `GATEKEEP_OCSF_PYTHONPATH`, else target/ocsf-python, where `.ci/run` installs them.
/// `None` (said loudly) when they are missing outside CI; under CI their absence fails.
pub fn schema_packages() -> Option<PathBuf> {
    let packages = std::env::var_os("GATEKEEP_OCSF_PYTHONPATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ocsf-python"));
    let here = std::process::Command::new("python3")
        .env("PYTHONPATH", &packages)
        .args(["-c", "import jsonschema, ocsf_json_schema"])
        .output();
    if here.is_ok_and(|o| o.status.success()) {
        return Some(packages);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the schema packages are not in {} (.ci/run installs them)",
        packages.display()
    );
    eprintln!(
        "NOT RUN: a schema check (no jsonschema and ocsf-json-schema in {})",
        packages.display()
    );
    None
}

/// Runs `tests/data/SCRIPT` with the schema packages, `args` and `input` on stdin; its
/// output, or `None` when the packages are missing (see [`schema_packages`]).
pub fn schema_check(script: &str, args: &[&Path], input: &str) -> Option<std::process::Output> {
    use std::io::Write as _;
    let packages = schema_packages()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("python3")
        .env("PYTHONPATH", &packages)
        .arg(root.join("tests/data").join(script))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Some(child.wait_with_output().unwrap())
}

pub fn cannot_run_here(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("this test must run under CI, but {why}");
    }
    eprintln!("not run on this machine: {why}");
}
