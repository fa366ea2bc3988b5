//! The MCP gateway: `gatekeep mcp proxy` sits between an agent and an MCP server it starts
//! over stdio, reads every message strictly, and gates `tools/call` with the same policy
//! and approval flow as commands; tool definitions are pinned per server.

pub mod gate;
pub mod pins;
pub mod proxy;
pub mod strict;

/// The server's name in rules and pins when `--name` is not given: the program's file
/// name, or for a runner (`node`, `npx`, `uvx`, `python3` …) the first argument that is
/// not an option; a package's scope and version, and a file's extension, left out.
pub fn server_name(command: &[String]) -> String {
    const RUNNERS: &[&str] = &[
        "node", "nodejs", "npx", "bunx", "bun", "deno", "uvx", "uv", "pipx", "python", "python3",
        "docker", "pnpm", "yarn",
    ];
    let base = |word: &str| {
        let word = word.rsplit('/').next().unwrap_or(word);
        let word = word.split('@').find(|p| !p.is_empty()).unwrap_or(word);
        let word = word
            .strip_suffix(".js")
            .or_else(|| word.strip_suffix(".mjs"))
            .or_else(|| word.strip_suffix(".py"))
            .unwrap_or(word);
        word.to_owned()
    };
    let program = command.first().map(|p| base(p)).unwrap_or_default();
    // A runner's options that take the next word as their value (`docker run -e X=1 -v
    // /a:/b image`): the value is not the server.
    const VALUED: &[&str] = &[
        "-e",
        "--env",
        "-v",
        "--volume",
        "--name",
        "-p",
        "--publish",
        "--network",
        "--mount",
        "-w",
        "--workdir",
        "-u",
        "--user",
        "--entrypoint",
        "--env-file",
        "--from",
        "--package",
        "--with",
        "--python",
        "-c",
        "--cwd",
        "--dir",
        "--prefix",
    ];
    let chosen = if RUNNERS.contains(&program.as_str()) {
        let mut words = command.iter().skip(1);
        let mut found = None;
        while let Some(word) = words.next() {
            if VALUED.contains(&word.as_str()) {
                words.next();
                continue;
            }
            if word.starts_with('-')
                || word.contains('=')
                || matches!(word.as_str(), "run" | "exec" | "dlx")
            {
                continue;
            }
            found = Some(base(word));
            break;
        }
        found.unwrap_or(program)
    } else {
        program
    };
    let cleaned: String = chosen
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "server".to_owned()
    } else {
        cleaned
    }
}

/// Checks a server name given with `--name`: it names a file and is part of tool names.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(words: &[&str]) -> String {
        server_name(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn names_from_the_command() {
        assert_eq!(name(&["mcp-server-git"]), "mcp-server-git");
        // A runner's option values are not the server.
        assert_eq!(
            name(&[
                "docker",
                "run",
                "-i",
                "--rm",
                "-e",
                "X=1",
                "-v",
                "/a:/b",
                "mcp/postgres",
                "postgresql://db"
            ]),
            "postgres"
        );
        assert_eq!(
            name(&["uvx", "--from", "pkg-x", "mcp-server-sqlite"]),
            "mcp-server-sqlite"
        );
        assert_eq!(
            name(&["/usr/bin/node", "/opt/fs/index.js", "/srv"]),
            "index"
        );
        assert_eq!(
            name(&[
                "npx",
                "-y",
                "@modelcontextprotocol/server-filesystem",
                "/srv"
            ]),
            "server-filesystem"
        );
        assert_eq!(name(&["uvx", "mcp-server-fetch@1.2"]), "mcp-server-fetch");
        assert!(valid_name("fs_2-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
    }
}
