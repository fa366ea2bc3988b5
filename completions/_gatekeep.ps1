
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'gatekeep' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'gatekeep'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'gatekeep' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate a command against the policies without running it')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Inspect, validate and test policies')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command if the policy allows it, recording every step in the audit log')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Read, verify and rotate the audit log')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;check' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Replaces the user-level policies (the administrator''s /etc/gatekeep/policies always applies)')
            [CompletionResult]::new('--shell', '--shell', [CompletionResultType]::ParameterName, 'Evaluate a shell command line (bash syntax) instead of an argument vector')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a report')
            [CompletionResult]::new('--agent', '--agent', [CompletionResultType]::ParameterName, 'Evaluate as if the caller were an AI agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Validate policy files; problems are printed as FILE:LINE:COL: message')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run every rule''s example commands through the full engine')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the policy sources in force and their rule counts')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;policy;lint' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;test' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;list' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Replaces the user-level policies (the administrator''s /etc/gatekeep/policies always applies)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;help' {
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Validate policy files; problems are printed as FILE:LINE:COL: message')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run every rule''s example commands through the full engine')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the policy sources in force and their rule counts')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;policy;help;lint' {
            break
        }
        'gatekeep;policy;help;test' {
            break
        }
        'gatekeep;policy;help;list' {
            break
        }
        'gatekeep;policy;help;help' {
            break
        }
        'gatekeep;run' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Replaces the user-level policies (the administrator''s /etc/gatekeep/policies always applies)')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why the command is needed (shown to reviewers, recorded in the log)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--agent', '--agent', [CompletionResultType]::ParameterName, 'Treat the caller as an AI agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show recent records, one line each; -f follows new ones')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show every record of one run')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Close the current segment and start a new file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;log;verify' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;tail' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many records to show first')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'How many records to show first')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Only records of this event (decision, exec, exit…)')
            [CompletionResult]::new('--decision', '--decision', [CompletionResultType]::ParameterName, 'Only runs with this decision')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only runs of this user')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing records as they are appended (across rotations)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing records as they are appended (across rotations)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the raw JSON records (for log shippers)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;show' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;rotate' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show recent records, one line each; -f follows new ones')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show every record of one run')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Close the current segment and start a new file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;log;help;verify' {
            break
        }
        'gatekeep;log;help;tail' {
            break
        }
        'gatekeep;log;help;show' {
            break
        }
        'gatekeep;log;help;rotate' {
            break
        }
        'gatekeep;log;help;help' {
            break
        }
        'gatekeep;completions' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate a command against the policies without running it')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Inspect, validate and test policies')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command if the policy allows it, recording every step in the audit log')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Read, verify and rotate the audit log')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;help;check' {
            break
        }
        'gatekeep;help;policy' {
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Validate policy files; problems are printed as FILE:LINE:COL: message')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run every rule''s example commands through the full engine')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the policy sources in force and their rule counts')
            break
        }
        'gatekeep;help;policy;lint' {
            break
        }
        'gatekeep;help;policy;test' {
            break
        }
        'gatekeep;help;policy;list' {
            break
        }
        'gatekeep;help;run' {
            break
        }
        'gatekeep;help;log' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show recent records, one line each; -f follows new ones')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show every record of one run')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Close the current segment and start a new file')
            break
        }
        'gatekeep;help;log;verify' {
            break
        }
        'gatekeep;help;log;tail' {
            break
        }
        'gatekeep;help;log;show' {
            break
        }
        'gatekeep;help;log;rotate' {
            break
        }
        'gatekeep;help;completions' {
            break
        }
        'gatekeep;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
