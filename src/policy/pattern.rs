//! Value patterns: globs by default, regular expressions after `re:`, SQL judged by a
//! parser after `sql:` (see [`super::sql`]).
//!
//! Loading a policy validates globs (their automata are built the first time a pattern is
//! used) and compiles regular expressions in full, so that whatever loads also matches.
//! Literal, `prefix*`, `*suffix` and `*infix*` globs never need an automaton.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

use super::sql::SqlPattern;

/// One pattern, validated.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Infix(String),
    Glob(OnceLock<GlobMatcher>),
    Regex(OnceLock<Regex>),
    Sql(Box<SqlPattern>),
}

fn glob_builder(source: &str) -> GlobBuilder<'_> {
    let mut builder = GlobBuilder::new(source);
    builder
        .literal_separator(false)
        .backslash_escape(true)
        .empty_alternates(true);
    builder
}

impl Pattern {
    /// Validates `source`; the error is a message for the policy author.
    pub fn new(source: &str) -> Result<Self, String> {
        if let Some(spec) = source.strip_prefix("sql:") {
            return Ok(Pattern {
                source: source.to_owned(),
                kind: Kind::Sql(Box::new(SqlPattern::parse(spec)?)),
            });
        }
        if let Some(expr) = source.strip_prefix("re:") {
            // Compiled in full now: what parses (`\p{Bogus}` does) may still not compile,
            // and a policy that loads must never fail when a command is matched.
            let regex = compile_regex(expr)
                .map_err(|e| format!("invalid regex `{expr}`: {}", one_line(&e.to_string())))?;
            return Ok(Pattern {
                source: source.to_owned(),
                kind: Kind::Regex(OnceLock::from(regex)),
            });
        }
        let special = |s: &str| s.contains(['*', '?', '[', ']', '{', '}', '\\']);
        let kind = if !special(source) {
            Kind::Exact(source.to_owned())
        } else if let Some(body) = source
            .strip_prefix('*')
            .and_then(|s| s.strip_suffix('*'))
            .filter(|b| !special(b) && !b.is_empty())
        {
            Kind::Infix(body.to_owned())
        } else if let Some(body) = source.strip_suffix('*').filter(|b| !special(b)) {
            Kind::Prefix(body.to_owned())
        } else if let Some(body) = source.strip_prefix('*').filter(|b| !special(b)) {
            Kind::Suffix(body.to_owned())
        } else {
            // Only real globs need their syntax checked (parsing, not compiling).
            glob_builder(source)
                .build()
                .map_err(|e| format!("invalid glob `{source}`: {}", e.kind()))?;
            Kind::Glob(OnceLock::new())
        };
        Ok(Pattern {
            source: source.to_owned(),
            kind,
        })
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        match &self.kind {
            Kind::Exact(s) => text == s,
            Kind::Prefix(s) => text.starts_with(s.as_str()),
            Kind::Suffix(s) => text.ends_with(s.as_str()),
            Kind::Infix(s) => text.contains(s.as_str()),
            Kind::Glob(cell) => cell
                .get_or_init(|| {
                    glob_builder(&self.source)
                        .build()
                        .expect("validated when loaded")
                        .compile_matcher()
                })
                .is_match(text),
            Kind::Regex(cell) => cell
                .get_or_init(|| build_regex(&self.source[3..]).expect("compiled when loaded"))
                .is_match(text),
            Kind::Sql(sql) => sql.first_match(text).is_some(),
        }
    }

    /// Whether this is a `sql:` pattern, which judges a whole text (never a path form of
    /// it) and cannot prove an exemption.
    pub fn is_sql(&self) -> bool {
        matches!(self.kind, Kind::Sql(_))
    }

    /// What a `sql:` pattern found in `text`, for the explanation of a match.
    pub fn detail(&self, text: &str) -> Option<String> {
        match &self.kind {
            Kind::Sql(sql) => sql.first_match(text).map(|finding| match finding.class {
                Some(class) => format!("{} ({})", finding.what, class.name()),
                None => format!("{} (unreadable SQL matches)", finding.what),
            }),
            _ => None,
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A plain name with no glob syntax, usable as an index key.
    pub fn literal(&self) -> Option<&str> {
        match &self.kind {
            Kind::Exact(s) => Some(s),
            _ => None,
        }
    }
}

// A pattern is stored as its source and validated again when read back, so a damaged
// cache can never hand the matcher an invalid expression.
impl serde::Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Pattern::new(&source).map_err(serde::de::Error::custom)
    }
}

/// The largest compiled program of one `re:` pattern. Matching is linear in the text,
/// but its cost grows with the program: a few counted Unicode classes
/// (`\w{1,100}x\w{1,100}`) in a policy file would slow every decision down to seconds,
/// and a hook that answers late is one an agent may go ahead without.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A regular expression compiled within `REGEX_SIZE_LIMIT`: every pattern a policy or
/// configuration gives gatekeep is compiled this way.
pub fn build_regex(expr: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(expr)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Compiles `expr` once per process: a policy may use one long expression in many
/// alternatives (a URL whose host is not this machine, say), and every copy then shares
/// the one compiled program.
fn compile_regex(expr: &str) -> Result<Regex, regex::Error> {
    static COMPILED: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(Mutex::default);
    let known = |map: &HashMap<String, Regex>| map.get(expr).cloned();
    if let Some(regex) = known(&compiled.lock().unwrap_or_else(PoisonError::into_inner)) {
        return Ok(regex);
    }
    let regex = build_regex(expr)?;
    compiled
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(expr.to_owned(), regex.clone());
    Ok(regex)
}

/// The first pattern of `patterns` that matches `text`.
pub fn first_match<'p>(patterns: &'p [Pattern], text: &str) -> Option<&'p Pattern> {
    patterns.iter().find(|p| p.is_match(text))
}

fn one_line(text: &str) -> String {
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(text);
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn fast_paths_agree_with_globs() {
        let texts = [
            "prod",
            "prod-db",
            "db-prod",
            "my-prod-db",
            "",
            "PROD",
            "a/b/prod/c",
            "pro",
        ];
        for source in [
            "prod",
            "prod*",
            "*prod",
            "*prod*",
            "p?od*",
            "[pq]rod*",
            "{prod,dev}*",
            "*",
            "**",
            "pr\\od",
        ] {
            let pattern = Pattern::new(source).unwrap();
            let glob = globset::GlobBuilder::new(source)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .unwrap()
                .compile_matcher();
            for text in texts {
                assert_eq!(
                    pattern.is_match(text),
                    glob.is_match(text),
                    "{source} on {text}"
                );
            }
        }
    }

    #[test]
    fn invalid_patterns_are_reported() {
        assert!(Pattern::new("prod[").unwrap_err().contains("invalid glob"));
        assert!(
            Pattern::new("re:drop(")
                .unwrap_err()
                .contains("invalid regex")
        );
        // Too costly to match on every decision.
        assert!(
            Pattern::new("re:\\w{1,100}x\\w{1,100}N")
                .unwrap_err()
                .contains("exceeds size limit")
        );
        assert!(
            Pattern::new("re:(?i)drop\\s+table")
                .unwrap()
                .is_match("DROP  TABLE x")
        );
    }
}
