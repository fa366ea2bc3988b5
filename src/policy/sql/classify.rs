//! Classifies parsed SQL statements, nested ones included (a `DELETE` in a `WITH`, a
//! statement under `EXPLAIN ANALYZE` or `PREPARE`, a body of `BEGIN … END`).

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, BinaryOperator, CopyTarget, CreateFunctionBody,
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, MergeAction, ObjectName, ObjectNamePart,
    Statement, Visit, Visitor,
};

use super::{Class, Dialect, Finding};

/// Procedural languages that run code outside the database's control.
const UNTRUSTED_LANGUAGES: &[&str] = &[
    "c",
    "internal",
    "plpythonu",
    "plpython2u",
    "plpython3u",
    "plperlu",
    "pltclu",
    "plsh",
    "plr",
    "pljavau",
    "pllua",
    "plluau",
    "plv8u",
];

/// SQL Server system procedures that only describe.
const MSSQL_READ_ONLY_PROCEDURES: &[&str] = &[
    "sp_who",
    "sp_who2",
    "sp_help",
    "sp_helpdb",
    "sp_helptext",
    "sp_helpindex",
    "sp_helpuser",
    "sp_columns",
    "sp_tables",
    "sp_databases",
    "sp_spaceused",
    "sp_lock",
];

pub(super) fn statements(dialect: Dialect, statements: &[Statement], depth: usize) -> Vec<Finding> {
    let mut walker = Walker {
        dialect,
        depth,
        findings: Vec::new(),
        prepared: Vec::new(),
    };
    for statement in statements {
        let _ = statement.visit(&mut walker);
    }
    walker.findings
}

struct Walker {
    dialect: Dialect,
    depth: usize,
    findings: Vec<Finding>,
    /// Statements prepared so far (`PREPARE name AS …`): executing one runs what was read.
    prepared: Vec<String>,
}

impl Visitor for Walker {
    type Break = ();

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        self.statement(statement);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(function) = expr {
            self.function(&function.name, &function.args);
        }
        ControlFlow::Continue(())
    }
}

/// The last part of a name, lower-cased (`dbo.xp_cmdshell` is `xp_cmdshell`).
fn last_name(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) => ident.value.to_lowercase(),
        _ => String::new(),
    }
}

/// The text of a string literal.
fn literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(value) => value.clone().into_string(),
        Expr::Nested(inner) => literal(inner),
        _ => None,
    }
}

/// Whether a filter keeps some rows out: it names a column, and none of its `OR` branches
/// is a constant (`WHERE id = 4 OR 1 = 1` filters nothing) or compares an expression with
/// itself (`WHERE id = id`).
fn filters(selection: Option<&Expr>) -> bool {
    fn branches<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
        match expr {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => {
                branches(left, out);
                branches(right, out);
            }
            Expr::Nested(inner) => branches(inner, out),
            other => out.push(other),
        }
    }
    let Some(selection) = selection else {
        return false;
    };
    let mut all = Vec::new();
    branches(selection, &mut all);
    all.iter()
        .all(|branch| names_column(branch) && !to_itself(branch))
}

/// `x = x`, `x >= x`, `x <= x`: true wherever `x` is not null.
fn to_itself(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::BinaryOp { left, op: BinaryOperator::Eq | BinaryOperator::GtEq | BinaryOperator::LtEq, right }
            if left == right
    )
}

fn names_column(expr: &Expr) -> bool {
    struct Columns(bool);
    impl Visitor for Columns {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut columns = Columns(false);
    let _ = expr.visit(&mut columns);
    columns.0
}

impl Walker {
    fn found(&mut self, class: Class, what: String) {
        self.findings.push(Finding::class(class, what));
    }

    fn unreadable(&mut self, what: String) {
        self.findings.push(Finding::unreadable(what));
    }

    /// Reads SQL found inside SQL (a function body, dynamic SQL).
    fn nested(&mut self, sql: &str) {
        let inner = super::parse(self.dialect, sql, self.depth + 1);
        self.findings.extend(inner);
    }

    fn statement(&mut self, statement: &Statement) {
        let shown = || {
            let text = statement.to_string();
            let mut short: String = text.chars().take(80).collect();
            if short.len() < text.len() {
                short.push('…');
            }
            short
        };
        match statement {
            Statement::Drop { .. }
            | Statement::DropFunction(_)
            | Statement::DropDomain(_)
            | Statement::DropProcedure { .. }
            | Statement::DropSecret { .. }
            | Statement::DropPolicy(_)
            | Statement::DropRule(_)
            | Statement::DropConnector { .. }
            | Statement::DropExtension(_)
            | Statement::DropOperator(_)
            | Statement::DropOperatorFamily(_)
            | Statement::DropOperatorClass(_)
            | Statement::DropTrigger(_)
            | Statement::Remove(_) => self.found(Class::Drop, format!("`{}` drops", shown())),
            Statement::Truncate(_) => self.found(Class::Truncate, format!("`{}`", shown())),
            Statement::Delete(delete) if !filters(delete.selection.as_ref()) => {
                self.found(Class::DeleteAll, format!("`{}` deletes every row", shown()))
            }
            Statement::Update(update) if !filters(update.selection.as_ref()) => {
                self.found(Class::UpdateAll, format!("`{}` changes every row", shown()))
            }
            Statement::Merge(merge) => {
                for clause in &merge.clauses {
                    match clause.action {
                        MergeAction::Delete { .. } => self.found(
                            Class::DeleteAll,
                            format!("`{}` deletes the rows it matches", shown()),
                        ),
                        MergeAction::Update(_) if !filters(Some(&merge.on)) => {
                            self.found(Class::UpdateAll, format!("`{}` changes every row", shown()))
                        }
                        _ => {}
                    }
                }
            }
            Statement::AlterTable(alter) => {
                let drops = alter.operations.iter().any(|op| {
                    matches!(
                        op,
                        AlterTableOperation::DropConstraint { .. }
                            | AlterTableOperation::DropColumn { .. }
                            | AlterTableOperation::DropPrimaryKey { .. }
                            | AlterTableOperation::DropForeignKey { .. }
                            | AlterTableOperation::DropIndex { .. }
                            | AlterTableOperation::DropPartitions { .. }
                            | AlterTableOperation::DropProjection { .. }
                            | AlterTableOperation::ClearProjection { .. }
                    )
                });
                if drops {
                    self.found(Class::Drop, format!("`{}` drops", shown()));
                }
                // A new type computed from no column replaces every value of the column.
                let rewrites = alter.operations.iter().any(|op| {
                    matches!(
                        op,
                        AlterTableOperation::AlterColumn {
                            op: AlterColumnOperation::SetDataType { using: Some(using), .. },
                            ..
                        } if !names_column(using)
                    )
                });
                if rewrites {
                    self.found(
                        Class::UpdateAll,
                        format!("`{}` replaces every value of a column", shown()),
                    );
                }
            }
            Statement::CreateTable(create) if create.or_replace => self.found(
                Class::Drop,
                format!("`{}` replaces a table and its rows", shown()),
            ),
            Statement::Copy {
                target: CopyTarget::Program { command },
                ..
            } => self.found(
                Class::ServerProgram,
                format!("`COPY … PROGRAM '{command}'` runs a program on the server"),
            ),
            Statement::Copy {
                to: true,
                target: CopyTarget::File { filename },
                ..
            } => self.found(
                Class::ServerProgram,
                format!("`COPY … TO '{filename}'` writes a file on the server"),
            ),
            Statement::CreateFunction(function) => {
                let language = function.language.as_ref().map(|l| l.value.to_lowercase());
                let body = match &function.function_body {
                    Some(CreateFunctionBody::AsBeforeOptions { body, .. })
                    | Some(CreateFunctionBody::AsAfterOptions(body)) => Some(body),
                    _ => None,
                };
                self.routine(&function.name, language.as_deref(), body);
            }
            Statement::CreateProcedure { name, language, .. } => {
                let language = language.as_ref().map(|l| l.value.to_lowercase());
                if language.is_some() {
                    self.routine(name, language.as_deref(), None);
                }
            }
            Statement::Prepare { name, .. } => self.prepared.push(name.value.to_lowercase()),
            Statement::Execute {
                name, parameters, ..
            } => self.execute(name.as_ref(), parameters),
            Statement::Call(function) if self.dialect != Dialect::Duckdb => self.unreadable(
                format!("`{}` calls a procedure whose code is not read", shown()),
            ),
            Statement::Install { extension_name } | Statement::Load { extension_name } => self
                .found(
                    Class::ServerProgram,
                    format!(
                        "`{}` loads the extension `{extension_name}` as code",
                        shown()
                    ),
                ),
            Statement::Set(sqlparser::ast::Set::SetNames { .. })
                if self.dialect == Dialect::Postgres =>
            {
                self.unreadable(format!(
                    "`{}` changes the client encoding, which changes how psql splits the SQL",
                    shown()
                ))
            }
            _ => {}
        }
    }

    /// A function or procedure being created: code in an untrusted language runs anything
    /// on the server; a body in SQL is read; a body in another language is not.
    fn routine(&mut self, name: &ObjectName, language: Option<&str>, body: Option<&Expr>) {
        match language {
            Some(language) if UNTRUSTED_LANGUAGES.contains(&language) => self.found(
                Class::ServerProgram,
                format!("the function `{name}` is written in the untrusted language `{language}`"),
            ),
            Some("sql") | None => match body.map(|b| (b, literal(b))) {
                Some((_, Some(sql))) => self.nested(&sql),
                Some((_, None)) => {
                    self.unreadable(format!("the body of `{name}` is only known at run time"))
                }
                None => {}
            },
            Some(language) => self.unreadable(format!(
                "the body of `{name}` is code in `{language}`, which is not read"
            )),
        }
    }

    fn execute(&mut self, name: Option<&ObjectName>, parameters: &[Expr]) {
        let Some(name) = name else {
            // `EXECUTE IMMEDIATE 'sql'` (and `EXEC ('sql')`).
            match parameters.first().and_then(literal) {
                Some(sql) => self.nested(&sql),
                None => self.unreadable("`EXECUTE` runs SQL only known at run time".to_owned()),
            }
            return;
        };
        let procedure = last_name(name);
        if self.prepared.contains(&procedure) {
            return;
        }
        match procedure.as_str() {
            "xp_cmdshell" => self.found(
                Class::ServerProgram,
                format!("`{name}` runs a shell command on the server"),
            ),
            "sp_executesql" => match parameters.first().and_then(literal) {
                Some(sql) => self.nested(&sql),
                None => self.unreadable(format!("`{name}` runs SQL only known at run time")),
            },
            p if self.dialect == Dialect::Mssql && MSSQL_READ_ONLY_PROCEDURES.contains(&p) => {}
            _ => self.unreadable(format!(
                "`EXECUTE {name}` runs a procedure or prepared statement whose SQL is not read"
            )),
        }
    }

    /// Functions that run SQL given as a string, or run programs.
    fn function(&mut self, name: &ObjectName, args: &FunctionArguments) {
        let function = last_name(name);
        let args: Vec<&Expr> = match args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    }
                    | FunctionArg::ExprNamed {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => Some(e),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        // Which argument holds SQL the function runs.
        let sql_argument = match (self.dialect, function.as_str()) {
            (Dialect::Postgres, "dblink" | "dblink_exec" | "dblink_send_query") => {
                Some(if args.len() >= 2 { 1 } else { 0 })
            }
            (
                Dialect::Postgres,
                "query_to_xml" | "query_to_xmlschema" | "query_to_xml_and_xmlschema",
            ) => Some(0),
            _ => None,
        };
        if let Some(index) = sql_argument {
            match args.get(index).copied().and_then(literal) {
                Some(sql) => self.nested(&sql),
                None => self.unreadable(format!("`{name}` runs SQL only known at run time")),
            }
            return;
        }
        match (self.dialect, function.as_str()) {
            (Dialect::Postgres, "set_config") => {
                let setting = args.first().copied().and_then(literal);
                let splits = setting.as_deref().is_none_or(|s| {
                    let s = s.to_lowercase();
                    s.contains("standard_conforming_strings") || s.contains("client_encoding")
                });
                if splits {
                    self.unreadable(format!(
                        "`{name}` may change how psql splits the SQL that follows"
                    ));
                }
            }
            (Dialect::Postgres, "lo_unlink" | "pg_drop_replication_slot") => {
                self.found(Class::Drop, format!("`{name}` drops"))
            }
            (Dialect::Postgres, "lo_export" | "pg_file_write") => self.found(
                Class::ServerProgram,
                format!("`{name}` writes a file on the server"),
            ),
            (Dialect::Sqlite | Dialect::Duckdb, "edit") => {
                self.found(Class::Shell, format!("`{name}()` runs an editor"))
            }
            (Dialect::Sqlite | Dialect::Duckdb, "writefile") => self.found(
                Class::Shell,
                format!("`{name}()` writes a file on this machine"),
            ),
            (Dialect::Sqlite, "load_extension") => self.found(
                Class::ServerProgram,
                format!("`{name}()` loads native code"),
            ),
            (Dialect::Mysql, "sys_exec" | "sys_eval") => self.found(
                Class::ServerProgram,
                format!("`{name}()` runs a program on the server"),
            ),
            _ => {}
        }
    }
}
