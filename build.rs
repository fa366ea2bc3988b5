//! Embeds the shipped policy library (`policies/*.yaml`) into the binary, and compiles the
//! program table (`src/shell/programs.yaml`) into Rust data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // The manifest directory of this build, read when the script runs: a value fixed
    // when the script was compiled would name wherever the crate was first built.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let out_dir = std::env::var("OUT_DIR").unwrap();
    embed_policies(Path::new(&manifest_dir), Path::new(&out_dir));
    compile_programs(Path::new(&manifest_dir), Path::new(&out_dir));
}

fn embed_policies(manifest_dir: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-changed=policies");
    let mut names: Vec<String> = std::fs::read_dir(manifest_dir.join("policies"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".yaml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("[\n");
    for name in &names {
        let path = manifest_dir.join("policies").join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push(']');
    std::fs::write(out_dir.join("embedded_policies.rs"), code).unwrap();
}

/// One entry of the program table; see the comment at the top of the table for each key.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Entry {
    #[serde(default)]
    about: String,
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    optional: Vec<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    pairs: Vec<String>,
    #[serde(default)]
    shell_flags: Vec<String>,
    #[serde(default = "yes")]
    abbreviate: bool,
    #[serde(default)]
    any_long_attached: bool,
    #[serde(default)]
    negatable: bool,
    command: Option<CommandSpec>,
    #[serde(default)]
    shell: Vec<String>,
    #[serde(default)]
    program: Vec<String>,
    #[serde(default)]
    rest: Vec<String>,
    place: Option<Place>,
    user: Option<User>,
    #[serde(default)]
    cwd: Vec<String>,
    #[serde(default)]
    inert: Vec<String>,
    #[serde(default)]
    interactive: bool,
    #[serde(default)]
    same_as: Vec<String>,
    #[serde(default)]
    called_as: Vec<String>,
    #[serde(default)]
    prepend: Vec<String>,
    #[serde(default)]
    package_operand: bool,
    opaque: Option<String>,
    #[serde(default)]
    harmless: Vec<String>,
    #[serde(default)]
    code: Vec<String>,
    #[serde(default)]
    code_operands: bool,
    #[serde(default)]
    old_style: bool,
    reason: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
enum CommandSpec {
    Operands(usize),
    OperandsThen(usize),
    AfterDashes,
    #[serde(rename = "each-operand-shell")]
    EachOperandIsShell,
    None,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Place {
    operand: usize,
    kind: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct User {
    #[serde(default)]
    options: Vec<String>,
    default: Option<String>,
    operand: Option<usize>,
}

fn compile_programs(manifest_dir: &Path, out_dir: &Path) {
    let path = manifest_dir.join("src/shell/programs.yaml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).unwrap();
    let table: BTreeMap<String, Entry> =
        serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut code = String::from("&[\n");
    for (key, entry) in &table {
        if let Err(problem) = check(entry) {
            panic!("{}: entry `{key}`: {problem}", path.display());
        }
        let list = |items: &[String]| format!("&{items:?}");
        let words: Vec<String> = key.split_whitespace().map(str::to_owned).collect();
        let command = match &entry.command {
            None => "None".to_owned(),
            Some(CommandSpec::Operands(n)) => format!("Some(Command::Operands({n}))"),
            Some(CommandSpec::OperandsThen(n)) => format!("Some(Command::OperandsThen({n}))"),
            Some(CommandSpec::AfterDashes) => "Some(Command::AfterDashes)".to_owned(),
            Some(CommandSpec::EachOperandIsShell) => "Some(Command::EachOperandIsShell)".to_owned(),
            Some(CommandSpec::None) => "Some(Command::None)".to_owned(),
        };
        let place = match &entry.place {
            Some(place) => format!("Some(({}, {:?}))", place.operand, place.kind),
            None => "None".to_owned(),
        };
        let user = match &entry.user {
            None => "None".to_owned(),
            Some(User {
                operand: Some(n), ..
            }) => format!("Some(User::Operand({n}))"),
            Some(user) => format!(
                "Some(User::Options({}, {:?}))",
                list(&user.options),
                user.default
            ),
        };
        writeln!(
            code,
            "    Program {{ words: {}, about: {:?}, values: {}, optional: {}, flags: {}, \
             pairs: {}, shell_flags: {}, \
             abbreviate: {}, any_long_attached: {}, negatable: {}, command: {command}, shell: {}, \
             program: {}, rest: {}, place: {place}, user: {user}, cwd: {}, inert: {}, \
             interactive: {}, same_as: {}, called_as: {}, prepend: {}, package_operand: {}, \
             opaque: {:?}, \
             harmless: {}, code: {}, code_operands: {}, old_style: {}, reason: {:?}, \
             examples: {} }},",
            list(&words),
            entry.about,
            list(&entry.values),
            list(&entry.optional),
            list(&entry.flags),
            list(&entry.pairs),
            list(&entry.shell_flags),
            entry.abbreviate,
            entry.any_long_attached,
            entry.negatable,
            list(&entry.shell),
            list(&entry.program),
            list(&entry.rest),
            list(&entry.cwd),
            list(&entry.inert),
            entry.interactive,
            list(&entry.same_as),
            list(&entry.called_as),
            list(&entry.prepend),
            entry.package_operand,
            entry.opaque,
            list(&entry.harmless),
            list(&entry.code),
            entry.code_operands,
            entry.old_style,
            entry.reason,
            list(&entry.examples),
        )
        .unwrap();
    }
    code.push(']');
    std::fs::write(out_dir.join("programs.rs"), code).unwrap();
}

/// What makes an entry unusable: an option that is not one, an option given two arities,
/// keys that contradict each other.
fn check(entry: &Entry) -> Result<(), String> {
    let options = [
        ("values", &entry.values),
        ("optional", &entry.optional),
        ("flags", &entry.flags),
        ("pairs", &entry.pairs),
        ("shell-flags", &entry.shell_flags),
        ("shell", &entry.shell),
        ("program", &entry.program),
        ("rest", &entry.rest),
        ("inert", &entry.inert),
        ("code", &entry.code),
    ];
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, names) in options {
        for name in names.iter() {
            if !name.starts_with('-') || name == "-" || name == "--" {
                return Err(format!("`{name}` in `{key}` is not an option"));
            }
            // An inert option may also be one of the others (it takes a value or not).
            if key == "inert" || key == "code" {
                continue;
            }
            if let Some(other) = seen.insert(name, key) {
                return Err(format!("`{name}` is in both `{other}` and `{key}`"));
            }
        }
    }
    let runs = entry.command.is_some();
    if !runs && (!entry.shell.is_empty() || !entry.program.is_empty() || !entry.rest.is_empty()) {
        return Err("options that run a command need `command`".to_owned());
    }
    if entry.opaque.is_some() && (runs || !entry.code.is_empty()) {
        return Err("`opaque` stands alone: no `command` or `code` with it".to_owned());
    }
    if (!entry.code.is_empty() || entry.code_operands) && entry.reason.is_none() {
        return Err("`code` needs a `reason`".to_owned());
    }
    if let Some(user) = &entry.user
        && user.operand.is_some()
        && (!user.options.is_empty() || user.default.is_some())
    {
        return Err("`user` names an operand or options, not both".to_owned());
    }
    for option in entry
        .cwd
        .iter()
        .chain(entry.user.iter().flat_map(|u| &u.options))
    {
        if !entry.values.contains(option) && !entry.optional.contains(option) {
            return Err(format!(
                "`{option}` sets the context, so it must take a value"
            ));
        }
    }
    Ok(())
}
