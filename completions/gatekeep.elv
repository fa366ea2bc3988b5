
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
            cand run 'Run a command if the policy allows it, recording every step in the audit log'
            cand log 'Read, verify and rotate the audit log'
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
        &'gatekeep;run'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Replaces the user-level policies (the administrator''s /etc/gatekeep/policies always applies)'
            cand --reason 'Why the command is needed (shown to reviewers, recorded in the log)'
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --agent 'Treat the caller as an AI agent'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log'= {
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
            cand tail 'Show recent records, one line each; -f follows new ones'
            cand show 'Show every record of one run'
            cand rotate 'Close the current segment and start a new file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;log;verify'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --json 'Print one JSON object'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;tail'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand -n 'How many records to show first'
            cand --lines 'How many records to show first'
            cand --event 'Only records of this event (decision, exec, exit…)'
            cand --decision 'Only runs with this decision'
            cand --user 'Only runs of this user'
            cand -f 'Keep printing records as they are appended (across rotations)'
            cand --follow 'Keep printing records as they are appended (across rotations)'
            cand --json 'Print the raw JSON records (for log shippers)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;show'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;rotate'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;help'= {
            cand verify 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
            cand tail 'Show recent records, one line each; -f follows new ones'
            cand show 'Show every record of one run'
            cand rotate 'Close the current segment and start a new file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;log;help;verify'= {
        }
        &'gatekeep;log;help;tail'= {
        }
        &'gatekeep;log;help;show'= {
        }
        &'gatekeep;log;help;rotate'= {
        }
        &'gatekeep;log;help;help'= {
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
            cand run 'Run a command if the policy allows it, recording every step in the audit log'
            cand log 'Read, verify and rotate the audit log'
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
        &'gatekeep;help;run'= {
        }
        &'gatekeep;help;log'= {
            cand verify 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
            cand tail 'Show recent records, one line each; -f follows new ones'
            cand show 'Show every record of one run'
            cand rotate 'Close the current segment and start a new file'
        }
        &'gatekeep;help;log;verify'= {
        }
        &'gatekeep;help;log;tail'= {
        }
        &'gatekeep;help;log;show'= {
        }
        &'gatekeep;help;log;rotate'= {
        }
        &'gatekeep;help;completions'= {
        }
        &'gatekeep;help;help'= {
        }
    ]
    $completions[$command]
}
