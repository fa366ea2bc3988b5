
use builtin;
use str;

set edit:completion:arg-completer[gatekeep] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'gatekeep'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'gatekeep'= {
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Evaluate a command against the policies without running it'
            cand policy 'Inspect, validate and test policies'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;check'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Replaces the user-level policies (the administrator''s /etc/gatekeep/policies always applies)'
            cand --shell 'Evaluate a shell command line (bash syntax) instead of an argument vector'
            cand --json 'Print one JSON object instead of a report'
            cand --agent 'Evaluate as if the caller were an AI agent'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy'= {
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand lint 'Validate policy files; problems are printed as FILE:LINE:COL: message'
            cand test 'Run every rule''s example commands through the full engine'
            cand list 'Show the policy sources in force and their rule counts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;policy;lint'= {
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;test'= {
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;list'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Replaces the user-level policies (the administrator''s /etc/gatekeep/policies always applies)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;help'= {
            cand lint 'Validate policy files; problems are printed as FILE:LINE:COL: message'
            cand test 'Run every rule''s example commands through the full engine'
            cand list 'Show the policy sources in force and their rule counts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;policy;help;lint'= {
        }
        &'gatekeep;policy;help;test'= {
        }
        &'gatekeep;policy;help;list'= {
        }
        &'gatekeep;policy;help;help'= {
        }
        &'gatekeep;completions'= {
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;help'= {
            cand check 'Evaluate a command against the policies without running it'
            cand policy 'Inspect, validate and test policies'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;help;check'= {
        }
        &'gatekeep;help;policy'= {
            cand lint 'Validate policy files; problems are printed as FILE:LINE:COL: message'
            cand test 'Run every rule''s example commands through the full engine'
            cand list 'Show the policy sources in force and their rule counts'
        }
        &'gatekeep;help;policy;lint'= {
        }
        &'gatekeep;help;policy;test'= {
        }
        &'gatekeep;help;policy;list'= {
        }
        &'gatekeep;help;completions'= {
        }
        &'gatekeep;help;help'= {
        }
    ]
    $completions[$command]
}
