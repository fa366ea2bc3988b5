//! `sql:` value patterns: SQL read with a real parser, after the client's own commands.
//!
//! `sql:DIALECT:CLASS,…` (or `sql:DIALECT` for every class) matches a text when one of its
//! statements falls in a listed class. The text is first read as the dialect's usual
//! command-line client reads it ([`client`]): its commands (psql's `\!`, mysql's `system`,
//! sqlite3's `.shell`, sqlcmd's `!!`) are judged and taken out, and what is left is parsed
//! with sqlparser and walked ([`classify`]). Reading fails closed: text the parser cannot
//! read, code hidden in strings or bodies the analysis does not parse (`DO` blocks, dynamic
//! SQL, stored procedures), and client variables only known at run time are *unreadable*,
//! and unreadable SQL matches whatever classes the pattern lists.

mod classify;
mod client;

use sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, Dialect as ParserDialect, DuckDbDialect, GenericDialect,
    MsSqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect, SnowflakeDialect,
};

/// Texts longer than this are not parsed: they are unreadable.
const MAX_BYTES: usize = 256 * 1024;

/// How deeply SQL found inside SQL (function bodies, dynamic SQL) is read.
const MAX_NESTING: usize = 4;

/// A SQL dialect, with the client whose commands its texts may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
    Duckdb,
    Mssql,
    Clickhouse,
    Snowflake,
    Bigquery,
    Generic,
}

impl Dialect {
    const ALL: [(&'static str, Dialect); 9] = [
        ("postgres", Dialect::Postgres),
        ("mysql", Dialect::Mysql),
        ("sqlite", Dialect::Sqlite),
        ("duckdb", Dialect::Duckdb),
        ("mssql", Dialect::Mssql),
        ("clickhouse", Dialect::Clickhouse),
        ("snowflake", Dialect::Snowflake),
        ("bigquery", Dialect::Bigquery),
        ("generic", Dialect::Generic),
    ];

    fn parser(self) -> Box<dyn ParserDialect> {
        match self {
            Dialect::Postgres => Box::new(PostgreSqlDialect {}),
            Dialect::Mysql => Box::new(MySqlDialect {}),
            Dialect::Sqlite => Box::new(SQLiteDialect {}),
            Dialect::Duckdb => Box::new(DuckDbDialect {}),
            Dialect::Mssql => Box::new(MsSqlDialect {}),
            Dialect::Clickhouse => Box::new(ClickHouseDialect {}),
            Dialect::Snowflake => Box::new(SnowflakeDialect {}),
            Dialect::Bigquery => Box::new(BigQueryDialect {}),
            Dialect::Generic => Box::new(GenericDialect {}),
        }
    }
}

/// What a statement does that a rule may care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Drops an object: `DROP …`, `ALTER TABLE … DROP COLUMN/CONSTRAINT/PARTITION…`,
    /// `CREATE OR REPLACE TABLE`, psql's `\lo_unlink`.
    Drop,
    /// `TRUNCATE`.
    Truncate,
    /// `DELETE` (or a `MERGE … DELETE`) without a filter: no `WHERE`, or one that names no
    /// column (`WHERE 1=1`, `WHERE true`), or an `OR` with such a branch.
    DeleteAll,
    /// `UPDATE` without a filter, as for `DeleteAll`.
    UpdateAll,
    /// Makes the server run a program or native code: `COPY … TO/FROM PROGRAM`,
    /// `xp_cmdshell`, functions in untrusted languages, extensions loaded as code.
    ServerProgram,
    /// Makes the client run a program: psql's `\!`, `\o |cmd`, `\copy … program`, `\setenv`,
    /// the editor; mysql's `system` and `pager`; sqlite3's `.shell`, `.system`; sqlcmd's `!!`.
    Shell,
}

impl Class {
    const ALL: [(&'static str, Class); 6] = [
        ("drop", Class::Drop),
        ("truncate", Class::Truncate),
        ("delete-all", Class::DeleteAll),
        ("update-all", Class::UpdateAll),
        ("server-program", Class::ServerProgram),
        ("shell", Class::Shell),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("", |(n, _)| n)
    }
}

/// One thing found in a text: a statement of a class, or something unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `None`: the text cannot be read here (it matches every pattern).
    pub class: Option<Class>,
    /// What was found, for a person.
    pub what: String,
}

impl Finding {
    fn class(class: Class, what: impl Into<String>) -> Self {
        Finding {
            class: Some(class),
            what: what.into(),
        }
    }

    fn unreadable(what: impl Into<String>) -> Self {
        Finding {
            class: None,
            what: what.into(),
        }
    }
}

/// A compiled `sql:` pattern.
#[derive(Clone, Debug)]
pub struct SqlPattern {
    dialect: Dialect,
    classes: Vec<Class>,
}

impl SqlPattern {
    /// Reads `DIALECT` or `DIALECT:CLASS,CLASS…` (the text after `sql:`).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, classes) = match spec.split_once(':') {
            Some((name, classes)) => (name, Some(classes)),
            None => (spec, None),
        };
        let known = |names: &[&str]| names.join(", ");
        let dialect = Dialect::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                format!(
                    "unknown SQL dialect `{name}` in `sql:{spec}` (use one of {})",
                    known(&Dialect::ALL.map(|(n, _)| n))
                )
            })?;
        let classes = match classes {
            None => Class::ALL.iter().map(|(_, c)| *c).collect(),
            Some(list) => {
                let mut classes = Vec::new();
                for word in list.split(',').map(str::trim) {
                    let class = Class::ALL
                        .iter()
                        .find(|(n, _)| *n == word)
                        .map(|(_, c)| *c)
                        .ok_or_else(|| {
                            format!(
                                "unknown SQL class `{word}` in `sql:{spec}` (use {})",
                                known(&Class::ALL.map(|(n, _)| n))
                            )
                        })?;
                    classes.push(class);
                }
                classes
            }
        };
        Ok(SqlPattern { dialect, classes })
    }

    /// The first finding in `text` this pattern matches: one of its classes, or anything
    /// unreadable.
    pub fn first_match(&self, text: &str) -> Option<Finding> {
        read(self.dialect, text)
            .into_iter()
            .find(|f| f.class.is_none_or(|c| self.classes.contains(&c)))
    }
}

/// Everything found in `text`, read as `dialect`'s client would read it.
pub fn read(dialect: Dialect, text: &str) -> Vec<Finding> {
    if text.len() > MAX_BYTES {
        return vec![Finding::unreadable("the SQL is too long to read")];
    }
    let mut findings: Vec<Finding> = Vec::new();
    for script in client::read(dialect, text) {
        let found = script
            .findings
            .into_iter()
            .chain(parse(dialect, &script.sql, 0));
        for finding in found {
            if !findings.contains(&finding) {
                findings.push(finding);
            }
        }
    }
    findings
}

/// Parses SQL (no client commands left in it) and classifies every statement.
fn parse(dialect: Dialect, sql: &str, depth: usize) -> Vec<Finding> {
    if depth > MAX_NESTING {
        return vec![Finding::unreadable("SQL is nested too deeply in SQL")];
    }
    if sql
        .trim_matches(|c: char| c.is_whitespace() || c == ';')
        .is_empty()
    {
        return Vec::new();
    }
    let parser = dialect.parser();
    match sqlparser::parser::Parser::parse_sql(parser.as_ref(), sql) {
        Ok(statements) => classify::statements(dialect, &statements, depth),
        Err(error) => vec![Finding::unreadable(format!(
            "the SQL does not parse as {} ({})",
            Dialect::ALL
                .iter()
                .find(|(_, d)| *d == dialect)
                .map_or("SQL", |(n, _)| n),
            one_line(&error.to_string())
        ))],
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(100).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests;
