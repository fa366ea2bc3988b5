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

#[test]
fn openapi_describes_every_route_of_the_server() {
    let source = read("src/server/mod.rs");
    let mut routes: Vec<String> = Vec::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let open = rest.find('"').unwrap();
        let close = rest[open + 1..].find('"').unwrap();
        routes.push(rest[open + 1..open + 1 + close].to_owned());
    }
    routes.sort();
    let spec: serde_json::Value =
        serde_saphyr::from_str(&read("docs/openapi.yaml")).expect("docs/openapi.yaml parses");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented: Vec<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    documented.sort();
    assert_eq!(
        routes, documented,
        "routes in the server and paths in docs/openapi.yaml differ"
    );
    let api = read("docs/api.md");
    for route in &routes {
        assert!(
            api.contains(route.as_str()),
            "docs/api.md does not mention {route}"
        );
    }
}

#[test]
fn agents_md_shows_every_event_and_error_code() {
    let doc = read("docs/agents.md");
    let mut shown = std::collections::BTreeSet::new();
    for block in doc.split("```json\n").skip(1) {
        let body = block.split("```").next().unwrap();
        let value: serde_json::Value = serde_json::from_str(body.trim())
            .unwrap_or_else(|e| panic!("docs/agents.md example is not JSON ({e}): {body}"));
        if value.get("gatekeep").is_some() {
            assert_eq!(value["gatekeep"], 1);
            assert!(value["run_id"].is_string() && value["time"].is_string());
            shown.insert(value["event"].as_str().unwrap().to_owned());
        }
    }
    let expected = [
        "approved",
        "cancelled",
        "decision",
        "error",
        "exec",
        "exec_refused",
        "exit",
        "expired",
        "pending",
        "rejected",
        "warning",
    ];
    assert_eq!(shown.into_iter().collect::<Vec<_>>(), expected);
    // Every error code the code can produce is in the table.
    let mut sources = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                sources.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut codes = std::collections::BTreeSet::from(["error".to_owned()]);
    for text in &sources {
        for piece in text.split(".kind(\"").skip(1) {
            codes.insert(piece.split('"').next().unwrap().to_owned());
        }
    }
    for code in codes {
        assert!(
            doc.contains(&format!("| `{code}` |")),
            "docs/agents.md does not list the error code {code}"
        );
    }
}

#[test]
fn ci_runs_the_test_command_the_readme_names() {
    let readme = read("README.md");
    let ci = read(".ci/run");
    let testing = readme
        .split("## Testing")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("README.md has a Testing section with a sh block");
    for line in testing.lines() {
        let command = line.split('#').next().unwrap().trim().trim_end_matches(')');
        assert!(
            ci.lines().any(|l| l.trim().starts_with(command)),
            ".ci/run does not run `{command}` from README.md"
        );
    }
}
