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
