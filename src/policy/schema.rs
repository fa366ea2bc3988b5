//! The YAML policy format (schema version 1) as written by people, with source locations.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::Decision;

/// One policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    pub version: Spanned<u32>,
    /// `false`: the built-in library is not loaded (administrator and user files only).
    #[serde(default)]
    pub builtin: Option<Spanned<bool>>,
    /// Built-in rules left out, by id (administrator and user files only).
    #[serde(default)]
    pub drop: Vec<Spanned<String>>,
    /// `true`: no user file may switch the built-in library off or drop its rules
    /// (administrator files only).
    #[serde(default)]
    pub require_builtin: Option<Spanned<bool>>,
    /// A person may break glass while the approval service cannot be reached (the run is
    /// reported once it can be); administrator files only.
    #[serde(default)]
    pub break_glass_offline: Option<Spanned<bool>>,
    #[serde(default)]
    pub default: Option<Spanned<Decision>>,
    #[serde(default)]
    pub opaque: Option<Spanned<Decision>>,
    #[serde(default)]
    pub approval: Option<ApprovalSpec>,
    #[serde(default)]
    pub programs: Option<SpannedMap<ProgramSpec>>,
    /// More files and directories a supervised command may not change (`~/` is the home
    /// directory).
    #[serde(default)]
    pub protect: Vec<Spanned<String>>,
    /// Refuse a command that should run supervised where supervision cannot start.
    #[serde(default)]
    pub require_supervision: bool,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// Who must approve, how many, how long to wait.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    #[serde(default)]
    pub approvers: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub quorum: Option<Spanned<u32>>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub reason_required: Option<bool>,
    /// An agent that can ask the person in front of it may ask them instead of filing a
    /// request, when the service confirms that person may approve under this rule.
    #[serde(default)]
    pub local_ask: Option<Spanned<bool>>,
    /// The longest window a reviewer may open for this rule.
    #[serde(default)]
    pub max_window: Option<Spanned<String>>,
    /// Who may run under a window: `never`, `humans` (the default) or `all`.
    #[serde(default)]
    pub windows: Option<super::Windows>,
    /// Steps taken while nobody answers.
    #[serde(default)]
    pub escalate: Option<Vec<EscalateSpec>>,
    /// A person may run the command at once and have it reviewed afterwards.
    #[serde(default)]
    pub break_glass: Option<bool>,
    /// How long approvers have to review a break-glass run.
    #[serde(default)]
    pub review_within: Option<Spanned<String>>,
}

/// One escalation step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateSpec {
    pub after: Spanned<String>,
    #[serde(default)]
    pub notify: Option<OneOrMany>,
    #[serde(default)]
    pub add_approvers: Option<OneOrMany>,
}

/// One approver or a list of them.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// Argument knowledge about one program.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    #[serde(default)]
    pub value_options: Vec<Spanned<String>>,
    /// Options that never take a value.
    #[serde(default)]
    pub flags: Vec<Spanned<String>>,
}

/// One rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub decision: Spanned<Decision>,
    #[serde(rename = "match")]
    pub matcher: Spanned<MatchList>,
    #[serde(default)]
    pub approval: Option<ApprovalSpec>,
    /// Environment variables released to the command once it may run.
    #[serde(default)]
    pub secrets: Option<SpannedMap<SecretSpec>>,
    #[serde(default)]
    pub tests: Option<TestsSpec>,
}

/// Where one released variable's value comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub from: Spanned<String>,
    pub name: Spanned<String>,
}

/// Example commands a rule must and must not match.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsSpec {
    #[serde(default, rename = "match")]
    pub matches: Vec<Spanned<String>>,
    #[serde(default)]
    pub no_match: Vec<Spanned<String>>,
    /// The examples run as an AI agent's commands (for rules that hold only agents).
    #[serde(default)]
    pub agent: bool,
}

/// The conditions of a rule: all keys must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    #[serde(default)]
    pub program: Option<Patterns>,
    #[serde(default)]
    pub options: Option<SpannedMap<Patterns>>,
    #[serde(default)]
    pub env: Option<SpannedMap<Patterns>>,
    #[serde(default)]
    pub args: Option<Vec<Patterns>>,
    #[serde(default)]
    pub flags: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub any_arg: Option<Patterns>,
    /// Files the command writes (redirections, and files written by arguments).
    #[serde(default)]
    pub writes: Option<Patterns>,
    /// Files whose contents may reach the command (input redirections, pipes, command
    /// substitutions).
    #[serde(default)]
    pub reads: Option<Patterns>,
    /// The text the command reads on standard input, when the line shows it.
    #[serde(default)]
    pub stdin: Option<Patterns>,
    /// Where standard input comes from: text, file, runtime, caller, terminal.
    #[serde(default)]
    pub stdin_from: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub unless: Option<Box<MatchList>>,
    /// An agent's tool call (hook mode) by tool name, instead of a command.
    #[serde(default)]
    pub tool: Option<Patterns>,
    /// Conditions on the tool call's input fields (needs `tool`).
    #[serde(default)]
    pub input: Option<SpannedMap<Patterns>>,
    /// `input.FIELD`: the tool runs the shell command in that input field, which is judged
    /// like a Bash command line as well (needs `tool`).
    #[serde(default)]
    pub command_from: Option<Spanned<String>>,
    #[serde(default)]
    pub when: Option<WhenSpec>,
}

/// Conditions on the context a command runs in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenSpec {
    #[serde(default)]
    pub user: Option<Patterns>,
    #[serde(default)]
    pub host: Option<Patterns>,
    #[serde(default)]
    pub cwd: Option<Patterns>,
    #[serde(default)]
    pub agent: Option<bool>,
    #[serde(default)]
    pub tty: Option<bool>,
}

/// `match:` is one map or a list of maps (any of them).
#[derive(Debug)]
pub struct MatchList(pub Vec<MatchSpec>);

impl<'de> Deserialize<'de> for MatchList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = MatchList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a match map or a list of match maps")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MatchList, A::Error> {
                let spec = MatchSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MatchList(vec![spec]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MatchList, A::Error> {
                let mut all = Vec::new();
                while let Some(spec) = seq.next_element()? {
                    all.push(spec);
                }
                Ok(MatchList(all))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// One pattern or a list of patterns, each with its location.
#[derive(Debug)]
pub struct Patterns(pub Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for Patterns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Wrap the whole value so a single pattern keeps its location.
        let spanned = Spanned::<RawOneOrMany>::deserialize(deserializer)?;
        Ok(match spanned.value {
            RawOneOrMany::One(text) => Patterns(vec![Spanned::new(
                text,
                spanned.referenced,
                spanned.defined,
            )]),
            RawOneOrMany::Many(list) => Patterns(list),
        })
    }
}

/// A scalar or a sequence, decided by the YAML node itself (no buffering, so inner
/// locations survive).
#[derive(Debug)]
enum RawOneOrMany {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawOneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = RawOneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawOneOrMany, E> {
                Ok(RawOneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawOneOrMany, A::Error> {
                let mut all = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    all.push(item);
                }
                Ok(RawOneOrMany::Many(all))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// A mapping whose keys keep their locations, in file order.
#[derive(Debug)]
pub struct SpannedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpannedMap<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(SpannedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}
