use super::{Class, Dialect, SqlPattern, read};

/// The classes found in `text` (`None` for unreadable), in order.
fn found(dialect: Dialect, text: &str) -> Vec<Option<Class>> {
    read(dialect, text).into_iter().map(|f| f.class).collect()
}

fn pg(text: &str) -> Vec<Option<Class>> {
    found(Dialect::Postgres, text)
}

fn my(text: &str) -> Vec<Option<Class>> {
    found(Dialect::Mysql, text)
}

const DROP: Option<Class> = Some(Class::Drop);
const DELETE_ALL: Option<Class> = Some(Class::DeleteAll);
const UPDATE_ALL: Option<Class> = Some(Class::UpdateAll);
const SHELL: Option<Class> = Some(Class::Shell);
const PROGRAM: Option<Class> = Some(Class::ServerProgram);
const UNREADABLE: Option<Class> = None;

#[test]
fn harmless_sql_finds_nothing() {
    for text in [
        "select 1",
        "SELECT count(*) FROM dropped_items",
        "DELETE FROM sessions WHERE expires < now()",
        "update users set name = 'x' where id = 4",
        "insert into t values (1, 'drop table t')",
        "create table t (id int)",
        "select '--'; select 2",
        "select $$ drop table t $$",
        "select now()::date",
        "-- only a comment",
        "",
    ] {
        assert_eq!(pg(text), [], "{text}");
    }
}

#[test]
fn destructive_statements_are_found_however_they_are_hidden() {
    let cases: &[(&str, &[Option<Class>])] = &[
        ("DROP TABLE users", &[DROP]),
        ("drop table \"Users\"", &[DROP]),
        ("select 1; drop table t", &[DROP]),
        ("/* harmless */ DrOp TaBlE t", &[DROP]),
        ("select 1 -- comment\n; drop table t", &[DROP]),
        ("select 1 -- comment\r; drop table t", &[DROP]),
        ("select x$$; drop table t; --$$", &[DROP]),
        ("select 1 \\;drop table t", &[DROP]),
        ("ALTER TABLE users DROP COLUMN email", &[DROP]),
        ("truncate audit_log", &[Some(Class::Truncate)]),
        ("delete from sessions;", &[DELETE_ALL]),
        ("DELETE FROM \"Order Items\" RETURNING id", &[DELETE_ALL]),
        ("delete from t where 1 = 1", &[DELETE_ALL]),
        ("delete from t where id = 4 or true", &[DELETE_ALL]),
        ("update t set a = 1", &[UPDATE_ALL]),
        ("delete from t where id = id", &[DELETE_ALL]),
        (
            "ALTER TABLE t ALTER COLUMN c TYPE int USING 0",
            &[UPDATE_ALL],
        ),
        (
            "COPY (SELECT 1) TO '/var/lib/postgresql/.psqlrc'",
            &[PROGRAM],
        ),
        (
            "WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone",
            &[DELETE_ALL],
        ),
        ("EXPLAIN ANALYZE DELETE FROM t", &[DELETE_ALL]),
        ("COPY t TO PROGRAM 'sh -c id'", &[PROGRAM]),
        ("copy t from program 'curl x | sh'", &[PROGRAM]),
        ("PREPARE p AS DELETE FROM t; EXECUTE p", &[DELETE_ALL]),
        (
            "create function f() returns void as 'delete from t' language sql",
            &[DELETE_ALL],
        ),
        (
            "create function f() returns int as $$ import os $$ language plpython3u",
            &[PROGRAM],
        ),
        ("select dblink_exec('dbname=x', 'drop table t')", &[DROP]),
        // With standard_conforming_strings off (by SET, PGOPTIONS or the server's own
        // configuration), a backslash escapes the quote: both readings count.
        (
            "set standard_conforming_strings = off; select 'a\\'' ; drop table t; select ''",
            &[DROP],
        ),
        ("select E'it\\'s'; drop table t", &[DROP]),
    ];
    for (text, want) in cases {
        assert_eq!(pg(text), *want, "{text}");
    }
}

#[test]
fn what_cannot_be_read_is_unreadable() {
    for text in [
        "DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$",
        "drop tabel t",
        "select :q",
        "CALL purge_all()",
        "execute never_prepared",
        "create function f() returns void as $$ begin drop table t; end $$ language plpgsql",
        "select dblink_exec(conn, q)",
        "select E'\u{81}\\'; drop table t; --'",
        "\\i evil.sql",
        "select 1 \\gexec",
        "\\unknowncmd",
        "\\encoding SJIS",
    ] {
        assert!(pg(text).contains(&UNREADABLE), "{text}: {:?}", pg(text));
    }
}

#[test]
fn psql_meta_commands_are_judged_and_skipped() {
    assert_eq!(pg("\\! rm -rf /"), [SHELL]);
    assert_eq!(pg("\\!rm -rf /"), [SHELL]);
    assert_eq!(pg("select 1 \\o |sh"), [SHELL]);
    assert_eq!(pg("select 1 \\g |mail x"), [SHELL]);
    assert_eq!(pg("select 1 \\g (format=csv) |sh"), [SHELL]);
    assert_eq!(pg("\\o '|not a pipe'"), []);
    assert_eq!(pg("\\copy t to program 'gzip > x'"), [SHELL]);
    assert_eq!(pg("\\copy t to 'x.csv' csv"), []);
    assert_eq!(pg("\\setenv PAGER 'sh -c id'"), [SHELL]);
    assert_eq!(pg("\\set x `id`"), [SHELL]);
    assert_eq!(pg("\\x\nselect 1;\n\\dt+ public.*\n\\q"), []);
    assert_eq!(pg("\\timing on \\\\ drop table t"), [DROP]);
    assert_eq!(pg("select 1 \\g\ndrop table t"), [DROP]);
    // Variables set in the text are substituted and read.
    assert_eq!(pg("\\set t users\ndrop table :t;"), [DROP]);
    assert_eq!(pg("\\set q 'drop table t'\n:q;"), [DROP]);
    assert_eq!(pg("\\set n 'x'\nselect :'n', :\"n\";"), []);
    // A backslash inside a string or comment is no meta-command.
    assert_eq!(pg("select '\\! rm'"), []);
    assert_eq!(pg("select 1 /* \\! rm */"), []);
    assert_eq!(pg("select $x$ \\! rm $x$"), []);
}

#[test]
fn mysql_client_commands_and_comments() {
    assert_eq!(my("DELETE FROM orders"), [DELETE_ALL]);
    assert_eq!(my("delete from cart limit 100"), [DELETE_ALL]);
    assert_eq!(my("DELETE FROM t WHERE id=1"), []);
    assert_eq!(my("Drop Database shop"), [DROP]);
    assert_eq!(my("select 1; /*!50000 drop table t */"), [DROP]);
    assert_eq!(my("select 1 # drop table t"), []);
    assert_eq!(my("select 1--1; drop table t"), [DROP]);
    assert_eq!(my("system rm -rf /"), [SHELL]);
    assert_eq!(my("\\! rm -rf /"), [SHELL]);
    assert_eq!(my("select 1;\nsystem id"), [SHELL]);
    assert_eq!(my("pager sh -c id"), [SHELL]);
    assert!(my("source /tmp/x.sql").contains(&UNREADABLE));
    assert_eq!(
        my("delimiter //\ncreate table a (i int)//\ndrop table b//"),
        [DROP]
    );
    assert_eq!(my("use shop; select 1"), []);
    assert_eq!(my("\\u shop\nselect 1"), []);
    assert_eq!(my("select 'it''s'; select \"x\""), []);
    // Under NO_BACKSLASH_ESCAPES the string ends at the backslash: both readings count.
    assert_eq!(my("select 'a\\'; drop table t; -- '"), [DROP]);
}

#[test]
fn sqlite_dot_commands_and_sqlcmd_commands() {
    let lite = |t| found(Dialect::Sqlite, t);
    assert_eq!(lite("DROP TABLE users"), [DROP]);
    assert_eq!(lite(".tables"), []);
    assert_eq!(lite(".shell id"), [SHELL]);
    assert!(lite(".read x.sql").contains(&UNREADABLE));
    // Inside pending SQL, a line starting with a dot is SQL, as the shell reads it.
    assert_eq!(lite("select '\n.shell id\n'"), []);
    assert_eq!(lite("select edit('x', 'vim')"), [SHELL]);
    let ms = |t| found(Dialect::Mssql, t);
    assert_eq!(ms("DROP TABLE t\nGO"), [DROP]);
    assert_eq!(ms("!! del x"), [SHELL]);
    assert_eq!(ms("EXEC xp_cmdshell 'dir'"), [PROGRAM]);
    assert_eq!(ms("EXEC sp_executesql N'DELETE FROM t'"), [DELETE_ALL]);
    assert!(ms(":r evil.sql").contains(&UNREADABLE));
    assert!(ms("DROP TABLE $(t)").contains(&UNREADABLE));
    assert_eq!(ms(":setvar t users\nDROP TABLE $(t)"), [DROP]);
    assert_eq!(ms("SELECT name FROM sys.tables\nGO"), []);
}

#[test]
fn patterns_are_validated_and_match_their_classes_or_anything_unreadable() {
    let pattern = SqlPattern::parse("postgres:drop,truncate").unwrap();
    assert!(pattern.first_match("drop table t").is_some());
    assert!(pattern.first_match("delete from t").is_none());
    assert!(pattern.first_match("selec 1").is_some());
    assert!(
        SqlPattern::parse("postgres")
            .unwrap()
            .first_match("delete from t")
            .is_some()
    );
    assert!(
        SqlPattern::parse("oracle:drop")
            .unwrap_err()
            .contains("unknown SQL dialect `oracle`")
    );
    assert!(
        SqlPattern::parse("postgres:drop,nuke")
            .unwrap_err()
            .contains("unknown SQL class `nuke`")
    );
}
