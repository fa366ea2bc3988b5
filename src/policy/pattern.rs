//! Value patterns: globs by default, regular expressions after `re:`.

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

/// One compiled pattern.
#[derive(Clone, Debug)]
pub enum Pattern {
    Glob {
        source: String,
        matcher: GlobMatcher,
    },
    Regex {
        source: String,
        regex: Regex,
    },
}

impl Pattern {
    /// Compiles `source`; the error is a message for the policy author.
    pub fn new(source: &str) -> Result<Self, String> {
        if let Some(expr) = source.strip_prefix("re:") {
            let regex = Regex::new(expr)
                .map_err(|e| format!("invalid regex `{expr}`: {}", one_line(&e.to_string())))?;
            return Ok(Pattern::Regex {
                source: source.to_owned(),
                regex,
            });
        }
        let glob = GlobBuilder::new(source)
            .literal_separator(false)
            .backslash_escape(true)
            .empty_alternates(true)
            .build()
            .map_err(|e| format!("invalid glob `{source}`: {}", e.kind()))?;
        Ok(Pattern::Glob {
            source: source.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Glob { matcher, .. } => matcher.is_match(text),
            Pattern::Regex { regex, .. } => regex.is_match(text),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        match self {
            Pattern::Glob { source, .. } | Pattern::Regex { source, .. } => source,
        }
    }

    /// A plain name with no glob syntax, usable as an index key.
    pub fn literal(&self) -> Option<&str> {
        match self {
            Pattern::Glob { source, .. } if !source.contains(['*', '?', '[', '{', '\\']) => {
                Some(source)
            }
            _ => None,
        }
    }
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
