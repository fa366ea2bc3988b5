//! A sealed environment per test: temporary HOME and XDG directories, a cleared
//! environment, and no administrator policies unless the test writes some.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

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

    /// A gatekeep command in the sealed environment.
    #[must_use]
    pub fn gatekeep(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("gatekeep").expect("binary built");
        cmd.env_clear()
            .current_dir(self.root())
            .env("HOME", self.root().join("home"))
            .env("XDG_CONFIG_HOME", self.root().join("config"))
            .env("XDG_STATE_HOME", self.root().join("state"))
            .env("XDG_DATA_HOME", self.root().join("data"))
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("GATEKEEP_TEST_ADMIN_POLICY_DIR", self.admin_dir());
        cmd
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
