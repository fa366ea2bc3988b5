
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
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate a command against the policies without running it')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Inspect, validate and test policies')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command if the policy allows it, recording every step in the audit log')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the approval service')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait for a request to be decided')
            [CompletionResult]::new('requests', 'requests', [CompletionResultType]::ParameterValue, 'List the pending requests you may review')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve a request')
            [CompletionResult]::new('reject', 'reject', [CompletionResultType]::ParameterValue, 'Reject a request')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke the window an approval opened')
            [CompletionResult]::new('acknowledge', 'acknowledge', [CompletionResultType]::ParameterValue, 'Close the review of a break-glass run: it was a fair use')
            [CompletionResult]::new('flag', 'flag', [CompletionResultType]::ParameterValue, 'Close the review of a break-glass run: it needs a follow-up')
            [CompletionResult]::new('review', 'review', [CompletionResultType]::ParameterValue, 'Review pending requests interactively')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store a token for the approval service and pin its key')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget a stored login (token and pinned key), or every one with --all')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show the service, the identity it knows you as, the token''s source and the pinned key')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Check the service, its key, the policies, the audit log and supervision')
            [CompletionResult]::new('dev', 'dev', [CompletionResultType]::ParameterValue, 'The development server (`serve --dev`)')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Store, list and remove the secrets this host releases to commands')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Manage service tokens')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Write a new signing key for the approval service (shared by its replicas)')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Read, verify and rotate the audit log')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Answer an AI agent''s tool-call hook (JSON on stdin and stdout; always exits 0)')
            [CompletionResult]::new('shell-prefix', 'shell-prefix', [CompletionResultType]::ParameterValue, 'Run an agent''s command as its shell prefix would: judged, then run supervised')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Put the gateway between an agent and an MCP server; trust changed tool definitions')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;check' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--shell', '--shell', [CompletionResultType]::ParameterName, 'Evaluate a shell command line (bash syntax) instead of an argument vector')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a report')
            [CompletionResult]::new('--agent', '--agent', [CompletionResultType]::ParameterName, 'Evaluate as if the caller were an AI agent')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Validate policy files; problems are printed as FILE:LINE:COL: message')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run every rule''s example commands through the full engine')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the policy layers in force, their files and rule counts (--rules: every rule)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one rule in force as written, with its file, line and layer')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter policy file that adds to the built-in library')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;policy;lint' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;test' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;list' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'List every rule in force with its decision, layer and place')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of a report')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;show' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object instead of the rule')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;init' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Write the repository''s file (.gatekeep/policies/project.yaml at the root of the repository holding the working directory) instead of the user''s')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite the file when it exists')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;policy;help' {
            [CompletionResult]::new('lint', 'lint', [CompletionResultType]::ParameterValue, 'Validate policy files; problems are printed as FILE:LINE:COL: message')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run every rule''s example commands through the full engine')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the policy layers in force, their files and rule counts (--rules: every rule)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one rule in force as written, with its file, line and layer')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter policy file that adds to the built-in library')
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
        'gatekeep;policy;help;show' {
            break
        }
        'gatekeep;policy;help;init' {
            break
        }
        'gatekeep;policy;help;help' {
            break
        }
        'gatekeep;run' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why the command is needed (shown to reviewers, recorded in the log)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--agent-session', '--agent-session', [CompletionResultType]::ParameterName, 'The agent''s session id, shown to reviewers and recorded in the log')
            [CompletionResult]::new('--json-fd', '--json-fd', [CompletionResultType]::ParameterName, 'Write JSON events to this open file descriptor instead, which the command does not inherit (the channel a command cannot imitate)')
            [CompletionResult]::new('--request', '--request', [CompletionResultType]::ParameterName, 'Run under an already approved request (the command must be the one approved)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--agent', '--agent', [CompletionResultType]::ParameterName, 'Treat the caller as an AI agent')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write gatekeep''s own messages to stderr as JSON Lines events (docs/agents.md)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'File the approval request, print its id and exit 120 instead of waiting')
            [CompletionResult]::new('--supervise', '--supervise', [CompletionResultType]::ParameterName, 'Watch every program the command starts, and judge each by the policy before it runs (default for agents: `supervise` in the configuration)')
            [CompletionResult]::new('--break-glass', '--break-glass', [CompletionResultType]::ParameterName, 'Run now, without waiting for approval, where every rule holding the command allows it (`break_glass: true`): every approver is notified at once and must review the run afterwards. Needs --reason and a person at a terminal; never for agents')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;serve' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Service configuration file (YAML)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (default 127.0.0.1:8787; port 0 picks a free one)')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Data directory (database, signing key, audit log)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--dev', '--dev', [CompletionResultType]::ParameterName, 'Development mode: throw-away data, two generated users, loopback only')
            [CompletionResult]::new('--rotate-key', '--rotate-key', [CompletionResultType]::ParameterName, 'Make the configured signing key the database''s key from now on (after a deliberate key change; grants signed with the old key stop verifying)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;wait' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long (e.g. 10m; default: until the request expires)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;requests' {
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the requests as one JSON array')
            [CompletionResult]::new('--break-glass', '--break-glass', [CompletionResultType]::ParameterName, 'List the break-glass runs whose review is still open instead (overdue ones marked)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;approve' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A comment for the requester (and the record)')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'A comment for the requester (and the record)')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Approve for a window: more commands like this one, by the same requester on the same host, are granted without another review until it closes (at most the rules'' `max_window`). Each still gets its own single-use grant')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'What the window covers: `exact` (this command only, the default), `program` (the same program file, any arguments) or `rule` (any command held only by these rules)')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'When the window opens (RFC 3339, or a duration from now such as `2h`); at once when not given')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;reject' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A comment for the requester (and the record)')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'A comment for the requester (and the record)')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Approve for a window: more commands like this one, by the same requester on the same host, are granted without another review until it closes (at most the rules'' `max_window`). Each still gets its own single-use grant')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'What the window covers: `exact` (this command only, the default), `program` (the same program file, any arguments) or `rule` (any command held only by these rules)')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'When the window opens (RFC 3339, or a duration from now such as `2h`); at once when not given')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;report' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'The start of the period: a date (`2026-11-01`, midnight UTC) or an RFC 3339 time (default: 30 days before `--until`)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'The end of the period, not included (default: now)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the report here instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the report here instead of standard output')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'An audit log to cover (repeat for several; default: this host''s log in force)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--no-service', '--no-service', [CompletionResultType]::ParameterName, 'Leave the service''s records out even when a service is configured')
            [CompletionResult]::new('--sign', '--sign', [CompletionResultType]::ParameterName, 'Have the approval service sign the report (HTML and JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a signed report: its signature by the service, and that nothing in it changed')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;report;verify' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The service''s public key (hex); default: asked of the configured service')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;report;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a signed report: its signature by the service, and that nothing in it changed')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;report;help;verify' {
            break
        }
        'gatekeep;report;help;help' {
            break
        }
        'gatekeep;revoke' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for the record and the requester')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;acknowledge' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A comment for the record (what was checked, what follows up)')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'A comment for the record (what was checked, what follows up)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;flag' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'A comment for the record (what was checked, what follows up)')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'A comment for the record (what was checked, what follows up)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;review' {
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;login' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The service''s base URL (https://…, or http:// on loopback)')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'The identity to use for this service: switches to a stored login of that name without asking for a token; otherwise the token given must be that identity''s')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;logout' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The service to log out of (default: GATEKEEP_SERVER, then the configuration''s `server`, then the only service logged in to)')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'The identity to log out (default: GATEKEEP_IDENTITY, then the one in use)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Remove every stored login, of every service and identity')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;whoami' {
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (`"gatekeep": 1` is its schema version)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;status' {
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (`"gatekeep": 1` is its schema version)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;dev' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('credentials', 'credentials', [CompletionResultType]::ParameterValue, 'Print the running development server''s `export` lines again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;dev;credentials' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;dev;help' {
            [CompletionResult]::new('credentials', 'credentials', [CompletionResultType]::ParameterValue, 'Print the running development server''s `export` lines again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;dev;help;credentials' {
            break
        }
        'gatekeep;dev;help;help' {
            break
        }
        'gatekeep;secret' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored secrets: names and where they are, never values')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Forget a secret')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;secret;set' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;secret;list' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;secret;rm' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;secret;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored secrets: names and where they are, never values')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Forget a secret')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;secret;help;set' {
            break
        }
        'gatekeep;secret;help;list' {
            break
        }
        'gatekeep;secret;help;rm' {
            break
        }
        'gatekeep;secret;help;help' {
            break
        }
        'gatekeep;token' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Print a new token and its `token_sha256` for the service''s users list')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;token;new' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;token;help' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Print a new token and its `token_sha256` for the service''s users list')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;token;help;new' {
            break
        }
        'gatekeep;token;help;help' {
            break
        }
        'gatekeep;keygen' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show recent records, one line each; -f follows new ones')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show every record of one run')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Close the current segment and start a new file (then apply `retention:`)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Compress and remove old closed segments as `retention:` says; removals are recorded')
            [CompletionResult]::new('witness', 'witness', [CompletionResultType]::ParameterValue, 'Send the log''s head to the approval service as a witness')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;log;verify' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file (with --witness)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object')
            [CompletionResult]::new('--witness', '--witness', [CompletionResultType]::ParameterName, 'Also check the log against every head the approval service witnessed for it')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
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
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep printing records as they are appended (across rotations)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep printing records as they are appended (across rotations)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the raw JSON records (for log shippers)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Show times in this host''s time zone instead of UTC')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;show' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;rotate' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;prune' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;witness' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing when it worked (errors still go to stderr and the state file beside the log), and do nothing while another witness of this log runs')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing when it worked (errors still go to stderr and the state file beside the log), and do nothing while another witness of this log runs')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;export' {
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What to write: gatekeep''s own records (jsonl), OCSF events or ECS documents')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Keep writing records as they are appended (across rotations) until interrupted')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep writing records as they are appended (across rotations) until interrupted')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;log;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show recent records, one line each; -f follows new ones')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show every record of one run')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Close the current segment and start a new file (then apply `retention:`)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Compress and remove old closed segments as `retention:` says; removals are recorded')
            [CompletionResult]::new('witness', 'witness', [CompletionResultType]::ParameterValue, 'Send the log''s head to the approval service as a witness')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones')
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
        'gatekeep;log;help;prune' {
            break
        }
        'gatekeep;log;help;witness' {
            break
        }
        'gatekeep;log;help;export' {
            break
        }
        'gatekeep;log;help;help' {
            break
        }
        'gatekeep;hook' {
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for a reviewer before answering "deny, retry later" (default: `hook_wait` in the configuration, else 50s; keep it under the agent''s hook timeout)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--defer', '--defer', [CompletionResultType]::ParameterName, 'Claude Code in `-p` only: answer `defer` for a call whose request is still pending at the wait bound, when it is the only tool call of its turn (else deny, retry)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;shell-prefix' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;mcp' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run an MCP server over stdio, gating its tool calls by policy and approval')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Ask the approval service to trust a tool definition the proxy holds back')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;mcp;proxy' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The server''s name in rules (`mcp__NAME__TOOL`) and pins (default: from the command)')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--show-denied', '--show-denied', [CompletionResultType]::ParameterName, 'Keep tools a rule denies outright in `tools/list` answers (default: left out)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;mcp;trust' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The server''s name, as the proxy was given it (`--name`) or derived it')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'Read the approval service token from this file')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;mcp;help' {
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run an MCP server over stdio, gating its tool calls by policy and approval')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Ask the approval service to trust a tool definition the proxy holds back')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gatekeep;mcp;help;proxy' {
            break
        }
        'gatekeep;mcp;help;trust' {
            break
        }
        'gatekeep;mcp;help;help' {
            break
        }
        'gatekeep;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gatekeep;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate a command against the policies without running it')
            [CompletionResult]::new('policy', 'policy', [CompletionResultType]::ParameterValue, 'Inspect, validate and test policies')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command if the policy allows it, recording every step in the audit log')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the approval service')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait for a request to be decided')
            [CompletionResult]::new('requests', 'requests', [CompletionResultType]::ParameterValue, 'List the pending requests you may review')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'Approve a request')
            [CompletionResult]::new('reject', 'reject', [CompletionResultType]::ParameterValue, 'Reject a request')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke the window an approval opened')
            [CompletionResult]::new('acknowledge', 'acknowledge', [CompletionResultType]::ParameterValue, 'Close the review of a break-glass run: it was a fair use')
            [CompletionResult]::new('flag', 'flag', [CompletionResultType]::ParameterValue, 'Close the review of a break-glass run: it needs a follow-up')
            [CompletionResult]::new('review', 'review', [CompletionResultType]::ParameterValue, 'Review pending requests interactively')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store a token for the approval service and pin its key')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Forget a stored login (token and pinned key), or every one with --all')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show the service, the identity it knows you as, the token''s source and the pinned key')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Check the service, its key, the policies, the audit log and supervision')
            [CompletionResult]::new('dev', 'dev', [CompletionResultType]::ParameterValue, 'The development server (`serve --dev`)')
            [CompletionResult]::new('secret', 'secret', [CompletionResultType]::ParameterValue, 'Store, list and remove the secrets this host releases to commands')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Manage service tokens')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Write a new signing key for the approval service (shared by its replicas)')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Read, verify and rotate the audit log')
            [CompletionResult]::new('hook', 'hook', [CompletionResultType]::ParameterValue, 'Answer an AI agent''s tool-call hook (JSON on stdin and stdout; always exits 0)')
            [CompletionResult]::new('shell-prefix', 'shell-prefix', [CompletionResultType]::ParameterValue, 'Run an agent''s command as its shell prefix would: judged, then run supervised')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Put the gateway between an agent and an MCP server; trust changed tool definitions')
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
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Show the policy layers in force, their files and rule counts (--rules: every rule)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print one rule in force as written, with its file, line and layer')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented starter policy file that adds to the built-in library')
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
        'gatekeep;help;policy;show' {
            break
        }
        'gatekeep;help;policy;init' {
            break
        }
        'gatekeep;help;run' {
            break
        }
        'gatekeep;help;serve' {
            break
        }
        'gatekeep;help;wait' {
            break
        }
        'gatekeep;help;requests' {
            break
        }
        'gatekeep;help;approve' {
            break
        }
        'gatekeep;help;reject' {
            break
        }
        'gatekeep;help;report' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a signed report: its signature by the service, and that nothing in it changed')
            break
        }
        'gatekeep;help;report;verify' {
            break
        }
        'gatekeep;help;revoke' {
            break
        }
        'gatekeep;help;acknowledge' {
            break
        }
        'gatekeep;help;flag' {
            break
        }
        'gatekeep;help;review' {
            break
        }
        'gatekeep;help;login' {
            break
        }
        'gatekeep;help;logout' {
            break
        }
        'gatekeep;help;whoami' {
            break
        }
        'gatekeep;help;status' {
            break
        }
        'gatekeep;help;dev' {
            [CompletionResult]::new('credentials', 'credentials', [CompletionResultType]::ParameterValue, 'Print the running development server''s `export` lines again')
            break
        }
        'gatekeep;help;dev;credentials' {
            break
        }
        'gatekeep;help;secret' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored secrets: names and where they are, never values')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Forget a secret')
            break
        }
        'gatekeep;help;secret;set' {
            break
        }
        'gatekeep;help;secret;list' {
            break
        }
        'gatekeep;help;secret;rm' {
            break
        }
        'gatekeep;help;token' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Print a new token and its `token_sha256` for the service''s users list')
            break
        }
        'gatekeep;help;token;new' {
            break
        }
        'gatekeep;help;keygen' {
            break
        }
        'gatekeep;help;log' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Show recent records, one line each; -f follows new ones')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show every record of one run')
            [CompletionResult]::new('rotate', 'rotate', [CompletionResultType]::ParameterValue, 'Close the current segment and start a new file (then apply `retention:`)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Compress and remove old closed segments as `retention:` says; removals are recorded')
            [CompletionResult]::new('witness', 'witness', [CompletionResultType]::ParameterValue, 'Send the log''s head to the approval service as a witness')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones')
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
        'gatekeep;help;log;prune' {
            break
        }
        'gatekeep;help;log;witness' {
            break
        }
        'gatekeep;help;log;export' {
            break
        }
        'gatekeep;help;hook' {
            break
        }
        'gatekeep;help;shell-prefix' {
            break
        }
        'gatekeep;help;mcp' {
            [CompletionResult]::new('proxy', 'proxy', [CompletionResultType]::ParameterValue, 'Run an MCP server over stdio, gating its tool calls by policy and approval')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Ask the approval service to trust a tool definition the proxy holds back')
            break
        }
        'gatekeep;help;mcp;proxy' {
            break
        }
        'gatekeep;help;mcp;trust' {
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
