//! Redaction of secrets before anything is written or sent: one pattern list, applied to
//! whole argument vectors (where the program's syntax is known) and to free text such as
//! `sh -c` scripts.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Words that make an option or variable name secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "key",
    "credential",
    "auth",
];

/// Programs whose `-pVALUE` is a password (and `-p` alone prompts for one).
const P_IS_PASSWORD: &[&str] = &[
    "mysql",
    "mysqldump",
    "mariadb",
    "mariadb-dump",
    "mysqladmin",
    "mysqlimport",
    "mysqlshow",
    "mysqlcheck",
    "sshpass",
];

/// One built-in text rule: a cheap test on the lowercased text, and the regular expression
/// (compiled on first use, so the allow path pays for none it does not need).
struct TextRule {
    wanted: fn(&str) -> bool,
    pattern: &'static str,
    replacement: &'static str,
}

fn has_secret_word(lower: &str) -> bool {
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

const TEXT_RULES: [TextRule; 7] = [
    // mysql -pSECRET, sshpass -p SECRET, curl -u user:SECRET inside scripts (before the
    // generic option rule, which would otherwise take `-pSECRET` for a name).
    TextRule {
        wanted: |l| l.contains("mysql") || l.contains("mariadb"),
        pattern: r"(\b(?:mysql|mysqldump|mariadb|mysqladmin|mysqlimport)\b[^|;&\n]*?\s-p)([^\s'\x22]+)",
        replacement: "${1}***",
    },
    TextRule {
        wanted: |l| l.contains("sshpass"),
        pattern: r"(\bsshpass\s+-p\s*)([^\s'\x22]+)",
        replacement: "${1}***",
    },
    TextRule {
        wanted: |l| l.contains("curl"),
        pattern: r"(\bcurl\b[^|;&\n]*?\s(?:-u|--user)\s*[^:\s'\x22]+:)([^\s'\x22]+)",
        replacement: "${1}***",
    },
    // URL user-info: scheme://user:password@host
    TextRule {
        wanted: |l| l.contains("://") && l.contains('@'),
        pattern: r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@'\x22]*:)[^@\s/'\x22]+@",
        replacement: "${1}***@",
    },
    // Authorization-like headers.
    TextRule {
        wanted: |l| {
            l.contains(':')
                && (l.contains("authorization") || l.contains("cookie") || l.contains("x-"))
        },
        pattern: r"(?i)\b((?:proxy-)?authorization|cookie|x-[a-z-]*(?:key|token|secret|auth)[a-z-]*)(\s*:\s*)[^'\x22\n]+",
        replacement: "${1}${2}***",
    },
    // --password=value, --api-key value, -token=x
    TextRule {
        wanted: has_secret_word,
        pattern: r"(?i)(--?[a-z0-9_-]*(?:password|passwd|secret|token|key|credential|auth)[a-z0-9_-]*)(=|\s+)([^\s'\x22-][^\s'\x22]*)",
        replacement: "${1}${2}***",
    },
    // NAME=value for secret-looking names
    TextRule {
        wanted: |l| has_secret_word(l) && l.contains('='),
        pattern: r"(?i)\b([a-z0-9_]*(?:password|passwd|secret|token|key|credential|auth)[a-z0-9_]*)=([^\s'\x22]+)",
        replacement: "${1}=***",
    },
];

static COMPILED: [OnceLock<Regex>; 7] = [const { OnceLock::new() }; 7];

/// Redaction rules: the built-in ones plus the configuration's extra patterns.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    extra: Vec<Regex>,
}

/// Whether an option or variable name looks like it holds a secret.
///
/// ```
/// use gatekeep::redact::is_secret_name;
/// assert!(is_secret_name("MYSQL_PWD") && is_secret_name("db-pwd") && is_secret_name("GITHUB_TOKEN"));
/// assert!(!is_secret_name("PWD") && !is_secret_name("OLDPWD") && !is_secret_name("PATH"));
/// ```
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // `PWD` alone is a password only as a part of a longer name (`MYSQL_PWD`), never the
    // shell's working directory (`PWD`, `OLDPWD`).
    let pwd_part = lower != "pwd"
        && lower != "oldpwd"
        && lower.split(['_', '-', '.']).any(|part| part == "pwd");
    has_secret_word(&lower) || pwd_part
}

/// Prefixes of well-known credential formats (API tokens, cloud keys, package registries).
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "sk-",
    "sk_live_",
    "rk_live_",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "npm_",
    "pypi-",
    "hvs.",
    "dop_v1_",
];

/// Whether a value looks like a credential by its shape alone: a private key, a JSON web
/// token, a well-known token format, or one long random-looking word.
///
/// ```
/// use gatekeep::redact::looks_like_secret;
/// assert!(looks_like_secret("ghp_16C7e42F292c6912E7710c838347Ae178B4a"));
/// assert!(looks_like_secret("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg=="));
/// assert!(!looks_like_secret("/usr/local/bin:/usr/bin:/bin") && !looks_like_secret("prod-eu-west-1"));
/// ```
pub fn looks_like_secret(value: &str) -> bool {
    let value = value.trim();
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return true;
    }
    if value.len() >= 16 && TOKEN_PREFIXES.iter().any(|p| value.starts_with(p)) {
        return true;
    }
    let jwt = value.starts_with("eyJ") && value.split('.').count() == 3;
    let word = value.len() >= 24
        && !value.starts_with(['/', '.', '~'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-.".contains(c))
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().any(|c| c.is_ascii_alphabetic());
    jwt || (word && entropy(value) >= 3.5)
}

/// Shannon entropy of the characters of `text`, in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in text.chars() {
        *counts.entry(c).or_insert(0u32) += 1;
    }
    let total = text.chars().count() as f64;
    counts
        .values()
        .map(|&n| {
            let p = f64::from(n) / total;
            -p * p.log2()
        })
        .sum()
}

impl Redactor {
    /// Built-in rules plus `extra` regular expressions (whole matches are masked).
    pub fn new(extra: &[String]) -> Result<Self, regex::Error> {
        Ok(Self {
            extra: extra
                .iter()
                .map(|p| crate::policy::build_regex(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Redacts free text (a script, a header, an environment value).
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (rule, cell) in TEXT_RULES.iter().zip(&COMPILED) {
            if !(rule.wanted)(&out.to_ascii_lowercase()) {
                continue;
            }
            let regex =
                cell.get_or_init(|| Regex::new(rule.pattern).expect("redaction pattern compiles"));
            if regex.is_match(&out) {
                out = regex.replace_all(&out, rule.replacement).into_owned();
            }
        }
        for regex in &self.extra {
            out = regex.replace_all(&out, MASK).into_owned();
        }
        out
    }

    /// Redacts an argument vector, using each program's option syntax where it matters.
    pub fn argv(&self, argv: &[String]) -> Vec<String> {
        let program = argv
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .unwrap_or_default();
        let p_is_password = P_IS_PASSWORD.contains(&program);
        let mut out: Vec<String> = Vec::with_capacity(argv.len());
        let mut i = 0;
        while i < argv.len() {
            let word = &argv[i];
            i += 1;
            if out.is_empty() {
                out.push(self.text(word));
                continue;
            }
            let next = argv.get(i);
            let secret_option = word.starts_with('-')
                && !word.contains('=')
                && is_secret_name(word.trim_start_matches('-'));
            if p_is_password && word.starts_with("-p") && !word.starts_with("--") {
                if word.len() > 2 {
                    out.push(format!("-p{MASK}"));
                } else {
                    out.push(word.clone());
                    if program == "sshpass" && next.is_some() {
                        out.push(MASK.to_owned());
                        i += 1;
                    }
                }
            } else if secret_option {
                out.push(word.clone());
                if next.is_some_and(|n| !n.starts_with('-')) {
                    out.push(MASK.to_owned());
                    i += 1;
                }
            } else if program == "curl"
                && matches!(word.as_str(), "-u" | "--user" | "-U" | "--proxy-user")
                && next.is_some()
            {
                out.push(word.clone());
                let value = next.map(String::as_str).unwrap_or_default();
                out.push(match value.split_once(':') {
                    Some((user, _)) => format!("{user}:{MASK}"),
                    None => value.to_owned(),
                });
                i += 1;
            } else {
                out.push(self.text(word));
            }
        }
        out
    }

    /// Redacts a JSON value, such as the input of an agent's tool call, by its structure:
    /// the strings and numbers under a secret-looking key (at any depth below it) and the
    /// strings shaped like a credential are masked whole, the other strings go through the
    /// text rules (a string that is itself JSON is redacted as JSON). Keys, booleans and
    /// the shape of the value are kept, so the result is still the call's JSON.
    pub fn json(&self, value: &Value) -> Value {
        self.json_under(value, false)
    }

    fn json_under(&self, value: &Value, secret: bool) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, v)| {
                        (
                            key.clone(),
                            self.json_under(v, secret || is_secret_name(key)),
                        )
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.json_under(item, secret))
                    .collect(),
            ),
            Value::String(_) | Value::Number(_) if secret => Value::String(MASK.to_owned()),
            Value::String(text) if looks_like_secret(text) => Value::String(MASK.to_owned()),
            Value::String(text) => Value::String(self.embedded_json(text)),
            Value::Bool(_) | Value::Null | Value::Number(_) => value.clone(),
        }
    }

    /// A string holding a JSON object or array is redacted as JSON (re-encoded only when
    /// something was masked); any other string by the text rules.
    fn embedded_json(&self, text: &str) -> String {
        if text.trim_start().starts_with(['{', '['])
            && let Ok(inner) = serde_json::from_str::<Value>(text)
        {
            let redacted = self.json(&inner);
            if redacted != inner {
                return redacted.to_string();
            }
        }
        self.text(text)
    }

    /// Redacts an environment variable's value: whole when its name or its shape says it
    /// is a secret, else the secrets inside it.
    pub fn env_value(&self, name: &str, value: &str) -> String {
        if is_secret_name(name) || looks_like_secret(value) {
            MASK.to_owned()
        } else {
            self.text(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        Redactor::default().argv(&words)
    }

    #[test]
    fn options_and_values() {
        assert_eq!(
            argv(&["tool", "--password=hunter2", "x"]),
            ["tool", "--password=***", "x"]
        );
        assert_eq!(
            argv(&["tool", "--api-token", "abc", "x"]),
            ["tool", "--api-token", "***", "x"]
        );
        assert_eq!(
            argv(&["mysql", "-phunter2", "db"]),
            ["mysql", "-p***", "db"]
        );
        assert_eq!(argv(&["ssh", "-p22", "host"]), ["ssh", "-p22", "host"]);
        assert_eq!(
            argv(&["sshpass", "-p", "hunter2", "ssh", "h"]),
            ["sshpass", "-p", "***", "ssh", "h"]
        );
        assert_eq!(
            argv(&["curl", "-u", "bob:hunter2", "https://x"]),
            ["curl", "-u", "bob:***", "https://x"]
        );
        assert_eq!(
            argv(&["curl", "-H", "Authorization: Bearer abc.def", "u"]),
            ["curl", "-H", "Authorization: ***", "u"]
        );
        assert_eq!(
            argv(&["psql", "postgres://app:hunter2@db/x"]),
            ["psql", "postgres://app:***@db/x"]
        );
        assert_eq!(
            argv(&["env", "GITHUB_TOKEN=ghp_x", "gh"]),
            ["env", "GITHUB_TOKEN=***", "gh"]
        );
    }

    #[test]
    fn scripts() {
        let r = Redactor::default();
        let out = r.text("mysql -uroot -phunter2 db -e 'select 1' && curl -u a:b https://x && PGPASSWORD=pw psql");
        assert!(
            !out.contains("hunter2") && !out.contains("a:b ") && !out.contains("=pw"),
            "{out}"
        );
        let out = r.text("curl -H 'Authorization: Bearer sekrit' https://x --token=abc");
        assert!(!out.contains("sekrit") && !out.contains("abc"), "{out}");
    }

    #[test]
    fn json_by_structure() {
        let token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
        let input = serde_json::json!({
            "password": "hunter2",
            "db": {"host": "db.internal", "port": 5432, "api_key": 1234, "tls": true},
            "credentials": {"user": "app", "list": ["a", "b"]},
            "items": [{"token": "x"}, token, "plain words", null],
            "headers": ["Authorization: Bearer sekrit", "Accept: */*"],
            "command": "curl -H 'Authorization: Bearer sekrit' https://x",
            "body": "{\"secret\": \"s3cr3t\", \"n\": 1}",
            "note": "{not json",
        });
        let out = Redactor::default().json(&input);
        assert_eq!(
            out,
            serde_json::json!({
                "password": "***",
                "db": {"host": "db.internal", "port": 5432, "api_key": "***", "tls": true},
                "credentials": {"user": "***", "list": ["***", "***"]},
                "items": [{"token": "***"}, "***", "plain words", null],
                "headers": ["Authorization: ***", "Accept: */*"],
                "command": "curl -H 'Authorization: ***' https://x",
                "body": r#"{"n":1,"secret":"***"}"#,
                "note": "{not json",
            })
        );
        let text = out.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains(token) && !text.contains("sekrit"),
            "{text}"
        );
    }

    #[test]
    fn extra_patterns() {
        let r = Redactor::new(&["sk_live_[a-z0-9]+".to_owned()]).unwrap();
        assert_eq!(r.text("pay sk_live_abc123 now"), "pay *** now");
    }
}
