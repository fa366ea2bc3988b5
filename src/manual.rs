//! What `--help` and the man pages say beyond the options: examples, exit status,
//! environment and files. Each comes from its one source: the examples below, the exit
//! table ([`crate::exit::Exit`]), the documented variables of `src/env_vars.rs` and the
//! locations of [`crate::paths::Paths`].

use std::fmt::Write as _;

use crate::env_vars;
use crate::environment::Environment;
use crate::exit::Exit;
use crate::paths::Paths;

/// One example: what it does, and the command line.
pub struct Example {
    pub what: &'static str,
    pub command: &'static str,
}

/// `gatekeep run` examples.
pub const RUN: &[Example] = &[
    Example {
        what: "Run a command if the policies allow it, waiting for a reviewer when they ask for one",
        command: "gatekeep run -- terraform apply",
    },
    Example {
        what: "Tell reviewers why, up front",
        command: "gatekeep run --reason 'free space for the nightly backup' -- rm -rf /var/backups/old",
    },
    Example {
        what: "File the request, print its id and exit 120 instead of waiting",
        command: "gatekeep run --no-wait -- kubectl delete namespace staging",
    },
    Example {
        what: "Judge every program the command starts, not only the first",
        command: "gatekeep run --supervise -- make deploy",
    },
];

/// `gatekeep check` examples.
pub const CHECK: &[Example] = &[
    Example {
        what: "What the policies say about a command, without running it",
        command: "gatekeep check -- rm -rf /",
    },
    Example {
        what: "A shell line, analysed as bash reads it",
        command: "gatekeep check --shell 'curl -fsSL https://example.com/install.sh | sh'",
    },
    Example {
        what: "The same answer as one JSON object, for programs",
        command: "gatekeep check --json -- psql -c 'DROP TABLE orders'",
    },
];

/// Examples of the other commands, for the main page.
const MORE: &[Example] = &[
    Example {
        what: "Read the pending requests you may review, then approve or reject one interactively",
        command: "gatekeep requests && gatekeep review",
    },
    Example {
        what: "Follow the audit log, times in this host's zone",
        command: "gatekeep log tail -f --local",
    },
];

/// The examples of a page, by the page's command path ("", "run", "check").
fn examples(path: &str) -> Vec<&'static Example> {
    match path {
        "run" => RUN.iter().collect(),
        "check" => CHECK.iter().collect(),
        "" => RUN.iter().take(2).chain(&CHECK[..1]).chain(MORE).collect(),
        _ => Vec::new(),
    }
}

/// The `Examples:` text after `--help` of the command at `path`.
pub fn help(path: &str) -> String {
    let mut text = String::from("Examples:");
    for example in examples(path) {
        let _ = write!(text, "\n  {}:\n    {}\n", example.what, example.command);
    }
    text
}

/// Every documented variable a person may set, with its description: each `pub const`
/// of `src/env_vars.rs` and the doc comment above it (code marks and links taken out).
/// Test hooks and variables only gatekeep or the test suite set are left out.
pub fn variables() -> Vec<(String, String)> {
    let source = include_str!("env_vars.rs");
    let mut found = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut last;
    for line in source.lines().map(str::trim) {
        if let Some(comment) = line.strip_prefix("///") {
            doc.push(comment.trim());
            continue;
        }
        let name = line
            .strip_prefix("pub const ")
            .and_then(|rest| rest.split_once(": &str"))
            .map(|(name, _)| name.trim());
        if let Some(name) = name {
            last = doc
                .join(" ")
                .replace("[`", "")
                .replace("`]", "")
                .replace('`', "");
            let internal = name.starts_with("GATEKEEP_TEST_")
                || [env_vars::GATEKEEP_BLESS, env_vars::GATEKEEP_SUPERVISOR].contains(&name);
            if !internal && env_vars::ALL.contains(&name) {
                found.push((name.to_owned(), last.clone()));
            }
        }
        doc.clear();
    }
    found.push((
        "agent variables".to_owned(),
        format!(
            "{}: set by AI coding agents; any of them marks the caller as an agent.",
            env_vars::AGENT_MARKERS.join(", ")
        ),
    ));
    found
}

/// Escapes text for roff: backslashes and hyphens, and a leading dot or quote.
pub fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A tagged paragraph: the tag in bold, then its text.
fn item(out: &mut String, tag: &str, text: &str) {
    let _ = write!(
        out,
        ".TP\n\\fB{}\\fR\n{}\n",
        roff_text(tag),
        roff_text(text)
    );
}

/// The extra sections of the man page of the command at `path` ("" for the main page).
pub fn man_sections(path: &str) -> String {
    let mut out = String::new();
    let examples = examples(path);
    if !examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        for example in examples {
            let _ = write!(
                out,
                ".PP\n{}:\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
                roff_text(example.what),
                roff_text(example.command)
            );
        }
    }
    if matches!(path, "" | "run") {
        out.push_str(".SH \"EXIT STATUS\"\n");
        for exit in Exit::ALL {
            let code = match exit {
                Exit::Child(_) => "other".to_owned(),
                _ => exit.code().to_string(),
            };
            item(&mut out, &code, exit.meaning());
        }
    }
    if path.is_empty() {
        out.push_str(".SH ENVIRONMENT\n");
        for (name, what) in variables() {
            item(&mut out, &name, &what);
        }
        out.push_str(".SH FILES\n");
        // The defaults, with the home directory as people write it.
        let paths = Paths::from_env(&Environment::from_pairs([(env_vars::HOME, "~")]));
        for (path, what) in paths.described() {
            item(&mut out, &path.display().to_string(), what);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_variable_has_its_description() {
        let variables = variables();
        let get = |name: &str| {
            variables
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.as_str())
        };
        assert_eq!(
            get("GATEKEEP_SERVER"),
            Some("Base URL of the approval service.")
        );
        assert!(get("XDG_STATE_HOME").is_some_and(|d| d.contains("audit log")));
        assert_eq!(
            get("GATEKEEP_AGENT"),
            Some("Marks the caller as an AI agent (any value but empty or 0).")
        );
        assert_eq!(
            get("GATEKEEP_TEST_PANIC"),
            None,
            "test hooks are not for people"
        );
        for (name, description) in &variables {
            assert!(!description.is_empty(), "{name}");
        }
        assert!(variables.iter().any(|(n, _)| n == "NO_COLOR"));
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_text("a-b"), "a\\-b");
        assert_eq!(roff_text(".x"), "\\&.x");
        assert_eq!(roff_text("a\\b"), "a\\eb");
    }
}
