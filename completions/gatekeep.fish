# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_gatekeep_global_optspecs
    string join \n v/verbose color= h/help V/version
end

function __fish_gatekeep_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_gatekeep_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_gatekeep_using_subcommand
    set -l cmd (__fish_gatekeep_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c gatekeep -n "__fish_gatekeep_needs_command" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_needs_command" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "check" -d 'Evaluate a command against the policies without running it'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "policy" -d 'Inspect, validate and test policies'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "run" -d 'Run a command if the policy allows it, recording every step in the audit log'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "serve" -d 'Run the approval service'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "wait" -d 'Wait for a request to be decided'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "requests" -d 'List the pending requests you may review'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "approve" -d 'Approve a request'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "reject" -d 'Reject a request'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "report" -d 'The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "revoke" -d 'Revoke the window an approval opened'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "acknowledge" -d 'Close the review of a break-glass run: it was a fair use'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "flag" -d 'Close the review of a break-glass run: it needs a follow-up'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "review" -d 'Review pending requests interactively'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "login" -d 'Store a token for the approval service and pin its key'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "logout" -d 'Forget a stored login (token and pinned key), or every one with --all'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "whoami" -d 'Show the service, the identity it knows you as, the token\'s source and the pinned key'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "status" -d 'Check the service, its key, the policies, the audit log and supervision'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "dev" -d 'The development server (`serve --dev`)'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "secret" -d 'Store, list and remove the secrets this host releases to commands'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "token" -d 'Manage service tokens'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "keygen" -d 'Write a new signing key for the approval service (shared by its replicas)'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "log" -d 'Read, verify and rotate the audit log'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "hook" -d 'Answer an AI agent\'s tool-call hook (JSON on stdin and stdout; always exits 0)'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "shell-prefix" -d 'Run an agent\'s command as its shell prefix would: judged, then run supervised'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "mcp" -d 'Put the gateway between an agent and an MCP server; trust changed tool definitions'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c gatekeep -n "__fish_gatekeep_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -l shell -d 'Evaluate a shell command line (bash syntax) instead of an argument vector' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -l json -d 'Print one JSON object instead of a report'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -l agent -d 'Evaluate as if the caller were an AI agent'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand check" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -f -a "lint" -d 'Validate policy files; problems are printed as FILE:LINE:COL: message'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -f -a "test" -d 'Run every rule\'s example commands through the full engine'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -f -a "list" -d 'Show the policy layers in force, their files and rule counts (--rules: every rule)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -f -a "show" -d 'Print one rule in force as written, with its file, line and layer'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -f -a "init" -d 'Write a commented starter policy file that adds to the built-in library'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and not __fish_seen_subcommand_from lint test list show init help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from lint" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from lint" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from lint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from lint" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from test" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -l rules -d 'List every rule in force with its decision, layer and place'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON object instead of a report'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from show" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from show" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON object instead of the rule'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from init" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from init" -l project -d 'Write the repository\'s file (.gatekeep/policies/project.yaml at the root of the repository holding the working directory) instead of the user\'s'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from init" -l force -d 'Overwrite the file when it exists'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from init" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from init" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "lint" -d 'Validate policy files; problems are printed as FILE:LINE:COL: message'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "test" -d 'Run every rule\'s example commands through the full engine'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show the policy layers in force, their files and rule counts (--rules: every rule)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print one rule in force as written, with its file, line and layer'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "init" -d 'Write a commented starter policy file that adds to the built-in library'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l reason -d 'Why the command is needed (shown to reviewers, recorded in the log)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l agent-session -d 'The agent\'s session id, shown to reviewers and recorded in the log' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l json-fd -d 'Write JSON events to this open file descriptor instead, which the command does not inherit (the channel a command cannot imitate)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l request -d 'Run under an already approved request (the command must be the one approved)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l agent -d 'Treat the caller as an AI agent'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l json -d 'Write gatekeep\'s own messages to stderr as JSON Lines events (docs/agents.md)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l no-wait -d 'File the approval request, print its id and exit 120 instead of waiting'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l supervise -d 'Watch every program the command starts, and judge each by the policy before it runs (default for agents: `supervise` in the configuration)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -l break-glass -d 'Run now, without waiting for approval, where every rule holding the command allows it (`break_glass: true`): every approver is notified at once and must review the run afterwards. Needs --reason and a person at a terminal; never for agents'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand run" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -l config -d 'Service configuration file (YAML)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -l listen -d 'Address to listen on (default 127.0.0.1:8787; port 0 picks a free one)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -l data -d 'Data directory (database, signing key, audit log)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -l dev -d 'Development mode: throw-away data, two generated users, loopback only'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -l rotate-key -d 'Make the configured signing key the database\'s key from now on (after a deliberate key change; grants signed with the old key stop verifying)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand serve" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand wait" -l timeout -d 'Give up after this long (e.g. 10m; default: until the request expires)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand wait" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand wait" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand wait" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand wait" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -l json -d 'Print the requests as one JSON array'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -l break-glass -d 'List the break-glass runs whose review is still open instead (overdue ones marked)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand requests" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -s m -l message -d 'A comment for the requester (and the record)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -l for -d 'Approve for a window: more commands like this one, by the same requester on the same host, are granted without another review until it closes (at most the rules\' `max_window`). Each still gets its own single-use grant' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -l scope -d 'What the window covers: `exact` (this command only, the default), `program` (the same program file, any arguments) or `rule` (any command held only by these rules)' -r -f -a "exact\t''
program\t''
rule\t''"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -l start -d 'When the window opens (RFC 3339, or a duration from now such as `2h`); at once when not given' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand approve" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -s m -l message -d 'A comment for the requester (and the record)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -l for -d 'Approve for a window: more commands like this one, by the same requester on the same host, are granted without another review until it closes (at most the rules\' `max_window`). Each still gets its own single-use grant' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -l scope -d 'What the window covers: `exact` (this command only, the default), `program` (the same program file, any arguments) or `rule` (any command held only by these rules)' -r -f -a "exact\t''
program\t''
rule\t''"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -l start -d 'When the window opens (RFC 3339, or a duration from now such as `2h`); at once when not given' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand reject" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l since -d 'The start of the period: a date (`2026-11-01`, midnight UTC) or an RFC 3339 time (default: 30 days before `--until`)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l until -d 'The end of the period, not included (default: now)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l format -r -f -a "html\t''
json\t''
csv\t''"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -s o -l output -d 'Write the report here instead of standard output' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l log -d 'An audit log to cover (repeat for several; default: this host\'s log in force)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l no-service -d 'Leave the service\'s records out even when a service is configured'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -l sign -d 'Have the approval service sign the report (HTML and JSON)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -f -a "verify" -d 'Check a signed report: its signature by the service, and that nothing in it changed'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and not __fish_seen_subcommand_from verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from verify" -l key -d 'The service\'s public key (hex); default: asked of the configured service' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from verify" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from verify" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check a signed report: its signature by the service, and that nothing in it changed'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand revoke" -l reason -d 'Why, for the record and the requester' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand revoke" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand revoke" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand revoke" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand acknowledge" -s m -l message -d 'A comment for the record (what was checked, what follows up)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand acknowledge" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand acknowledge" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand acknowledge" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand acknowledge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand acknowledge" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand flag" -s m -l message -d 'A comment for the record (what was checked, what follows up)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand flag" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand flag" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand flag" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand flag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand flag" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand review" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand review" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand review" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand review" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand review" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand login" -l server -d 'The service\'s base URL (https://…, or http:// on loopback)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand login" -l as -d 'The identity to use for this service: switches to a stored login of that name without asking for a token; otherwise the token given must be that identity\'s' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand login" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand login" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand login" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -l server -d 'The service to log out of (default: GATEKEEP_SERVER, then the configuration\'s `server`, then the only service logged in to)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -l as -d 'The identity to log out (default: GATEKEEP_IDENTITY, then the one in use)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -l all -d 'Remove every stored login, of every service and identity'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand logout" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand whoami" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand whoami" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand whoami" -l json -d 'Print one JSON object (`"gatekeep": 1` is its schema version)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand whoami" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand whoami" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand whoami" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand status" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand status" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand status" -l json -d 'Print one JSON object (`"gatekeep": 1` is its schema version)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand status" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand status" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and not __fish_seen_subcommand_from credentials help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and not __fish_seen_subcommand_from credentials help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and not __fish_seen_subcommand_from credentials help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and not __fish_seen_subcommand_from credentials help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and not __fish_seen_subcommand_from credentials help" -f -a "credentials" -d 'Print the running development server\'s `export` lines again'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and not __fish_seen_subcommand_from credentials help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and __fish_seen_subcommand_from credentials" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and __fish_seen_subcommand_from credentials" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and __fish_seen_subcommand_from credentials" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and __fish_seen_subcommand_from credentials" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and __fish_seen_subcommand_from help" -f -a "credentials" -d 'Print the running development server\'s `export` lines again'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand dev; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -f -a "set" -d 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -f -a "list" -d 'List stored secrets: names and where they are, never values'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -f -a "rm" -d 'Forget a secret'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and not __fish_seen_subcommand_from set list rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from set" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from rm" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "set" -d 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "list" -d 'List stored secrets: names and where they are, never values'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Forget a secret'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and not __fish_seen_subcommand_from new help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and not __fish_seen_subcommand_from new help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and not __fish_seen_subcommand_from new help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and not __fish_seen_subcommand_from new help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and not __fish_seen_subcommand_from new help" -f -a "new" -d 'Print a new token and its `token_sha256` for the service\'s users list'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and not __fish_seen_subcommand_from new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and __fish_seen_subcommand_from new" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and __fish_seen_subcommand_from new" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "new" -d 'Print a new token and its `token_sha256` for the service\'s users list'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand keygen" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand keygen" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand keygen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand keygen" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "verify" -d 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "tail" -d 'Show recent records, one line each; -f follows new ones'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "show" -d 'Show every record of one run'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "rotate" -d 'Close the current segment and start a new file (then apply `retention:`)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "prune" -d 'Compress and remove old closed segments as `retention:` says; removals are recorded'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "witness" -d 'Send the log\'s head to the approval service as a witness'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "export" -d 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and not __fish_seen_subcommand_from verify tail show rotate prune witness export help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -l token-file -d 'Read the approval service token from this file (with --witness)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -l json -d 'Print one JSON object'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -l witness -d 'Also check the log against every head the approval service witnessed for it'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -s n -l lines -d 'How many records to show first' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l event -d 'Only records of this event (decision, exec, exit…)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l decision -d 'Only runs with this decision' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l user -d 'Only runs of this user' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -s f -l follow -d 'Keep printing records as they are appended (across rotations)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l json -d 'Print the raw JSON records (for log shippers)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -l local -d 'Show times in this host\'s time zone instead of UTC'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from tail" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from show" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from show" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from rotate" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from rotate" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from rotate" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from prune" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from prune" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from prune" -l json -d 'Print one JSON object'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -s q -l quiet -d 'Print nothing when it worked (errors still go to stderr and the state file beside the log), and do nothing while another witness of this log runs'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from witness" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -l format -d 'What to write: gatekeep\'s own records (jsonl), OCSF events or ECS documents' -r -f -a "jsonl\t'gatekeep\'s own records, byte for byte'
ocsf\t'Open Cybersecurity Schema Framework 1.x events'
ecs\t'Elastic Common Schema documents'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -s f -l follow -d 'Keep writing records as they are appended (across rotations) until interrupted'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "tail" -d 'Show recent records, one line each; -f follows new ones'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show every record of one run'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Close the current segment and start a new file (then apply `retention:`)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Compress and remove old closed segments as `retention:` says; removals are recorded'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "witness" -d 'Send the log\'s head to the approval service as a witness'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand log; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -l wait -d 'How long to wait for a reviewer before answering "deny, retry later" (default: `hook_wait` in the configuration, else 50s; keep it under the agent\'s hook timeout)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -l defer -d 'Claude Code in `-p` only: answer `defer` for a call whose request is still pending at the wait bound, when it is the only tool call of its turn (else deny, retry)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand hook" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand shell-prefix" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand shell-prefix" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand shell-prefix" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand shell-prefix" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -f -a "proxy" -d 'Run an MCP server over stdio, gating its tool calls by policy and approval'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -f -a "trust" -d 'Ask the approval service to trust a tool definition the proxy holds back'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and not __fish_seen_subcommand_from proxy trust help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -l name -d 'The server\'s name in rules (`mcp__NAME__TOOL`) and pins (default: from the command)' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -l show-denied -d 'Keep tools a rule denies outright in `tools/list` answers (default: left out)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from proxy" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -l name -d 'The server\'s name, as the proxy was given it (`--name`) or derived it' -r
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -l policy -d 'Policy file or directory of *.yaml; repeatable. Takes the place of the user\'s policy directory (the built-in library, the administrator\'s and the project\'s still apply)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -l log -d 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -l token-file -d 'Read the approval service token from this file' -r -F
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from trust" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "proxy" -d 'Run an MCP server over stdio, gating its tool calls by policy and approval'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "trust" -d 'Ask the approval service to trust a tool definition the proxy holds back'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand mcp; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand completions" -l color -d 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into a pipe'
never\t'Never'"
complete -c gatekeep -n "__fish_gatekeep_using_subcommand completions" -s v -l verbose -d 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand completions" -s V -l version -d 'Print version'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "check" -d 'Evaluate a command against the policies without running it'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "policy" -d 'Inspect, validate and test policies'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "run" -d 'Run a command if the policy allows it, recording every step in the audit log'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "serve" -d 'Run the approval service'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "wait" -d 'Wait for a request to be decided'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "requests" -d 'List the pending requests you may review'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "approve" -d 'Approve a request'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "reject" -d 'Reject a request'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "report" -d 'The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "revoke" -d 'Revoke the window an approval opened'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "acknowledge" -d 'Close the review of a break-glass run: it was a fair use'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "flag" -d 'Close the review of a break-glass run: it needs a follow-up'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "review" -d 'Review pending requests interactively'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "login" -d 'Store a token for the approval service and pin its key'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "logout" -d 'Forget a stored login (token and pinned key), or every one with --all'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "whoami" -d 'Show the service, the identity it knows you as, the token\'s source and the pinned key'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "status" -d 'Check the service, its key, the policies, the audit log and supervision'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "dev" -d 'The development server (`serve --dev`)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "secret" -d 'Store, list and remove the secrets this host releases to commands'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "token" -d 'Manage service tokens'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "keygen" -d 'Write a new signing key for the approval service (shared by its replicas)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "log" -d 'Read, verify and rotate the audit log'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "hook" -d 'Answer an AI agent\'s tool-call hook (JSON on stdin and stdout; always exits 0)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "shell-prefix" -d 'Run an agent\'s command as its shell prefix would: judged, then run supervised'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "mcp" -d 'Put the gateway between an agent and an MCP server; trust changed tool definitions'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and not __fish_seen_subcommand_from check policy run serve wait requests approve reject report revoke acknowledge flag review login logout whoami status dev secret token keygen log hook shell-prefix mcp completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "lint" -d 'Validate policy files; problems are printed as FILE:LINE:COL: message'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "test" -d 'Run every rule\'s example commands through the full engine'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "list" -d 'Show the policy layers in force, their files and rule counts (--rules: every rule)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "show" -d 'Print one rule in force as written, with its file, line and layer'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "init" -d 'Write a commented starter policy file that adds to the built-in library'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "verify" -d 'Check a signed report: its signature by the service, and that nothing in it changed'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from dev" -f -a "credentials" -d 'Print the running development server\'s `export` lines again'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "set" -d 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "list" -d 'List stored secrets: names and where they are, never values'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "rm" -d 'Forget a secret'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "new" -d 'Print a new token and its `token_sha256` for the service\'s users list'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "verify" -d 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "tail" -d 'Show recent records, one line each; -f follows new ones'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "show" -d 'Show every record of one run'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "rotate" -d 'Close the current segment and start a new file (then apply `retention:`)'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "prune" -d 'Compress and remove old closed segments as `retention:` says; removals are recorded'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "witness" -d 'Send the log\'s head to the approval service as a witness'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from log" -f -a "export" -d 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "proxy" -d 'Run an MCP server over stdio, gating its tool calls by policy and approval'
complete -c gatekeep -n "__fish_gatekeep_using_subcommand help; and __fish_seen_subcommand_from mcp" -f -a "trust" -d 'Ask the approval service to trust a tool definition the proxy holds back'
