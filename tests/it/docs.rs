//! Documentation that must stay in step with the code.

use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

#[test]
fn every_environment_variable_is_documented() {
    let config = read("docs/config.md");
    for var in gatekeep::env_vars::ALL
        .iter()
        .chain(gatekeep::env_vars::AGENT_MARKERS)
    {
        assert!(
            config.contains(&format!("`{var}`")),
            "docs/config.md does not document {var}"
        );
    }
}

#[test]
fn every_exit_code_is_documented() {
    use gatekeep::exit::Exit;
    let table = read("docs/exit-codes.md");
    let readme = read("README.md");
    for exit in [
        Exit::Success,
        Exit::Failure,
        Exit::Pending,
        Exit::Rejected,
        Exit::Expired,
        Exit::Cancelled,
        Exit::Error,
        Exit::Denied,
        Exit::NotFound,
    ] {
        let code = format!("| {} ", exit.code());
        assert!(
            table.contains(&code),
            "docs/exit-codes.md lacks {}",
            exit.code()
        );
        assert!(readme.contains(&code), "README.md lacks {}", exit.code());
    }
}
