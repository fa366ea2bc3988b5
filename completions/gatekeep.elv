
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
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Evaluate a command against the policies without running it'
            cand policy 'Inspect, validate and test policies'
            cand run 'Run a command if the policy allows it, recording every step in the audit log'
            cand serve 'Run the approval service'
            cand wait 'Wait for a request to be decided'
            cand requests 'List the pending requests you may review'
            cand approve 'Approve a request'
            cand reject 'Reject a request'
            cand report 'The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`'
            cand revoke 'Revoke the window an approval opened'
            cand acknowledge 'Close the review of a break-glass run: it was a fair use'
            cand flag 'Close the review of a break-glass run: it needs a follow-up'
            cand review 'Review pending requests interactively'
            cand login 'Store a token for the approval service and pin its key'
            cand logout 'Forget a stored login (token and pinned key), or every one with --all'
            cand whoami 'Show the service, the identity it knows you as, the token''s source and the pinned key'
            cand status 'Check the service, its key, the policies, the audit log and supervision'
            cand dev 'The development server (`serve --dev`)'
            cand secret 'Store, list and remove the secrets this host releases to commands'
            cand token 'Manage service tokens'
            cand keygen 'Write a new signing key for the approval service (shared by its replicas)'
            cand log 'Read, verify and rotate the audit log'
            cand hook 'Answer an AI agent''s tool-call hook (JSON on stdin and stdout; always exits 0)'
            cand shell-prefix 'Run an agent''s command as its shell prefix would: judged, then run supervised'
            cand mcp 'Put the gateway between an agent and an MCP server; trust changed tool definitions'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;check'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --shell 'Evaluate a shell command line (bash syntax) instead of an argument vector'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print one JSON object instead of a report'
            cand --agent 'Evaluate as if the caller were an AI agent'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand lint 'Validate policy files; problems are printed as FILE:LINE:COL: message'
            cand test 'Run every rule''s example commands through the full engine'
            cand list 'Show the policy layers in force, their files and rule counts (--rules: every rule)'
            cand show 'Print one rule in force as written, with its file, line and layer'
            cand init 'Write a commented starter policy file that adds to the built-in library'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;policy;lint'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;test'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;list'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --rules 'List every rule in force with its decision, layer and place'
            cand --json 'Print one JSON object instead of a report'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;show'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print one JSON object instead of the rule'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;init'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --project 'Write the repository''s file (.gatekeep/policies/project.yaml at the root of the repository holding the working directory) instead of the user''s'
            cand --force 'Overwrite the file when it exists'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;policy;help'= {
            cand lint 'Validate policy files; problems are printed as FILE:LINE:COL: message'
            cand test 'Run every rule''s example commands through the full engine'
            cand list 'Show the policy layers in force, their files and rule counts (--rules: every rule)'
            cand show 'Print one rule in force as written, with its file, line and layer'
            cand init 'Write a commented starter policy file that adds to the built-in library'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;policy;help;lint'= {
        }
        &'gatekeep;policy;help;test'= {
        }
        &'gatekeep;policy;help;list'= {
        }
        &'gatekeep;policy;help;show'= {
        }
        &'gatekeep;policy;help;init'= {
        }
        &'gatekeep;policy;help;help'= {
        }
        &'gatekeep;run'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --reason 'Why the command is needed (shown to reviewers, recorded in the log)'
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --agent-session 'The agent''s session id, shown to reviewers and recorded in the log'
            cand --json-fd 'Write JSON events to this open file descriptor instead, which the command does not inherit (the channel a command cannot imitate)'
            cand --request 'Run under an already approved request (the command must be the one approved)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --agent 'Treat the caller as an AI agent'
            cand --json 'Write gatekeep''s own messages to stderr as JSON Lines events (docs/agents.md)'
            cand --no-wait 'File the approval request, print its id and exit 120 instead of waiting'
            cand --supervise 'Watch every program the command starts, and judge each by the policy before it runs (default for agents: `supervise` in the configuration)'
            cand --break-glass 'Run now, without waiting for approval, where every rule holding the command allows it (`break_glass: true`): every approver is notified at once and must review the run afterwards. Needs --reason and a person at a terminal; never for agents'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;serve'= {
            cand --config 'Service configuration file (YAML)'
            cand --listen 'Address to listen on (default 127.0.0.1:8787; port 0 picks a free one)'
            cand --data 'Data directory (database, signing key, audit log)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --dev 'Development mode: throw-away data, two generated users, loopback only'
            cand --rotate-key 'Make the configured signing key the database''s key from now on (after a deliberate key change; grants signed with the old key stop verifying)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;wait'= {
            cand --timeout 'Give up after this long (e.g. 10m; default: until the request expires)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;requests'= {
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print the requests as one JSON array'
            cand --break-glass 'List the break-glass runs whose review is still open instead (overdue ones marked)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;approve'= {
            cand -m 'A comment for the requester (and the record)'
            cand --message 'A comment for the requester (and the record)'
            cand --for 'Approve for a window: more commands like this one, by the same requester on the same host, are granted without another review until it closes (at most the rules'' `max_window`). Each still gets its own single-use grant'
            cand --scope 'What the window covers: `exact` (this command only, the default), `program` (the same program file, any arguments) or `rule` (any command held only by these rules)'
            cand --start 'When the window opens (RFC 3339, or a duration from now such as `2h`); at once when not given'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;reject'= {
            cand -m 'A comment for the requester (and the record)'
            cand --message 'A comment for the requester (and the record)'
            cand --for 'Approve for a window: more commands like this one, by the same requester on the same host, are granted without another review until it closes (at most the rules'' `max_window`). Each still gets its own single-use grant'
            cand --scope 'What the window covers: `exact` (this command only, the default), `program` (the same program file, any arguments) or `rule` (any command held only by these rules)'
            cand --start 'When the window opens (RFC 3339, or a duration from now such as `2h`); at once when not given'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;report'= {
            cand --since 'The start of the period: a date (`2026-11-01`, midnight UTC) or an RFC 3339 time (default: 30 days before `--until`)'
            cand --until 'The end of the period, not included (default: now)'
            cand --format 'format'
            cand -o 'Write the report here instead of standard output'
            cand --output 'Write the report here instead of standard output'
            cand --log 'An audit log to cover (repeat for several; default: this host''s log in force)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --no-service 'Leave the service''s records out even when a service is configured'
            cand --sign 'Have the approval service sign the report (HTML and JSON)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Check a signed report: its signature by the service, and that nothing in it changed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;report;verify'= {
            cand --key 'The service''s public key (hex); default: asked of the configured service'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;report;help'= {
            cand verify 'Check a signed report: its signature by the service, and that nothing in it changed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;report;help;verify'= {
        }
        &'gatekeep;report;help;help'= {
        }
        &'gatekeep;revoke'= {
            cand --reason 'Why, for the record and the requester'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;acknowledge'= {
            cand -m 'A comment for the record (what was checked, what follows up)'
            cand --message 'A comment for the record (what was checked, what follows up)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;flag'= {
            cand -m 'A comment for the record (what was checked, what follows up)'
            cand --message 'A comment for the record (what was checked, what follows up)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;review'= {
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;login'= {
            cand --server 'The service''s base URL (https://…, or http:// on loopback)'
            cand --as 'The identity to use for this service: switches to a stored login of that name without asking for a token; otherwise the token given must be that identity''s'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;logout'= {
            cand --server 'The service to log out of (default: GATEKEEP_SERVER, then the configuration''s `server`, then the only service logged in to)'
            cand --as 'The identity to log out (default: GATEKEEP_IDENTITY, then the one in use)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --all 'Remove every stored login, of every service and identity'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;whoami'= {
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print one JSON object (`"gatekeep": 1` is its schema version)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;status'= {
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print one JSON object (`"gatekeep": 1` is its schema version)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;dev'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand credentials 'Print the running development server''s `export` lines again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;dev;credentials'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;dev;help'= {
            cand credentials 'Print the running development server''s `export` lines again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;dev;help;credentials'= {
        }
        &'gatekeep;dev;help;help'= {
        }
        &'gatekeep;secret'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)'
            cand list 'List stored secrets: names and where they are, never values'
            cand rm 'Forget a secret'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;secret;set'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;secret;list'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;secret;rm'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;secret;help'= {
            cand set 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)'
            cand list 'List stored secrets: names and where they are, never values'
            cand rm 'Forget a secret'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;secret;help;set'= {
        }
        &'gatekeep;secret;help;list'= {
        }
        &'gatekeep;secret;help;rm'= {
        }
        &'gatekeep;secret;help;help'= {
        }
        &'gatekeep;token'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand new 'Print a new token and its `token_sha256` for the service''s users list'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;token;new'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;token;help'= {
            cand new 'Print a new token and its `token_sha256` for the service''s users list'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;token;help;new'= {
        }
        &'gatekeep;token;help;help'= {
        }
        &'gatekeep;keygen'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
            cand tail 'Show recent records, one line each; -f follows new ones'
            cand show 'Show every record of one run'
            cand rotate 'Close the current segment and start a new file (then apply `retention:`)'
            cand prune 'Compress and remove old closed segments as `retention:` says; removals are recorded'
            cand witness 'Send the log''s head to the approval service as a witness'
            cand export 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;log;verify'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --token-file 'Read the approval service token from this file (with --witness)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print one JSON object'
            cand --witness 'Also check the log against every head the approval service witnessed for it'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
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
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -f 'Keep printing records as they are appended (across rotations)'
            cand --follow 'Keep printing records as they are appended (across rotations)'
            cand --json 'Print the raw JSON records (for log shippers)'
            cand --local 'Show times in this host''s time zone instead of UTC'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;show'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;rotate'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;prune'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --json 'Print one JSON object'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;witness'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -q 'Print nothing when it worked (errors still go to stderr and the state file beside the log), and do nothing while another witness of this log runs'
            cand --quiet 'Print nothing when it worked (errors still go to stderr and the state file beside the log), and do nothing while another witness of this log runs'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;export'= {
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --format 'What to write: gatekeep''s own records (jsonl), OCSF events or ECS documents'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -f 'Keep writing records as they are appended (across rotations) until interrupted'
            cand --follow 'Keep writing records as they are appended (across rotations) until interrupted'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;log;help'= {
            cand verify 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
            cand tail 'Show recent records, one line each; -f follows new ones'
            cand show 'Show every record of one run'
            cand rotate 'Close the current segment and start a new file (then apply `retention:`)'
            cand prune 'Compress and remove old closed segments as `retention:` says; removals are recorded'
            cand witness 'Send the log''s head to the approval service as a witness'
            cand export 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones'
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
        &'gatekeep;log;help;prune'= {
        }
        &'gatekeep;log;help;witness'= {
        }
        &'gatekeep;log;help;export'= {
        }
        &'gatekeep;log;help;help'= {
        }
        &'gatekeep;hook'= {
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --wait 'How long to wait for a reviewer before answering "deny, retry later" (default: `hook_wait` in the configuration, else 50s; keep it under the agent''s hook timeout)'
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --defer 'Claude Code in `-p` only: answer `defer` for a call whose request is still pending at the wait bound, when it is the only tool call of its turn (else deny, retry)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;shell-prefix'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;mcp'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand proxy 'Run an MCP server over stdio, gating its tool calls by policy and approval'
            cand trust 'Ask the approval service to trust a tool definition the proxy holds back'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;mcp;proxy'= {
            cand --name 'The server''s name in rules (`mcp__NAME__TOOL`) and pins (default: from the command)'
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --show-denied 'Keep tools a rule denies outright in `tools/list` answers (default: left out)'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;mcp;trust'= {
            cand --name 'The server''s name, as the proxy was given it (`--name`) or derived it'
            cand --policy 'Policy file or directory of *.yaml; repeatable. Takes the place of the user''s policy directory (the built-in library, the administrator''s and the project''s still apply)'
            cand --log 'Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir)'
            cand --token-file 'Read the approval service token from this file'
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;mcp;help'= {
            cand proxy 'Run an MCP server over stdio, gating its tool calls by policy and approval'
            cand trust 'Ask the approval service to trust a tool definition the proxy holds back'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;mcp;help;proxy'= {
        }
        &'gatekeep;mcp;help;trust'= {
        }
        &'gatekeep;mcp;help;help'= {
        }
        &'gatekeep;completions'= {
            cand --color 'When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand -v 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand --verbose 'More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gatekeep;help'= {
            cand check 'Evaluate a command against the policies without running it'
            cand policy 'Inspect, validate and test policies'
            cand run 'Run a command if the policy allows it, recording every step in the audit log'
            cand serve 'Run the approval service'
            cand wait 'Wait for a request to be decided'
            cand requests 'List the pending requests you may review'
            cand approve 'Approve a request'
            cand reject 'Reject a request'
            cand report 'The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`'
            cand revoke 'Revoke the window an approval opened'
            cand acknowledge 'Close the review of a break-glass run: it was a fair use'
            cand flag 'Close the review of a break-glass run: it needs a follow-up'
            cand review 'Review pending requests interactively'
            cand login 'Store a token for the approval service and pin its key'
            cand logout 'Forget a stored login (token and pinned key), or every one with --all'
            cand whoami 'Show the service, the identity it knows you as, the token''s source and the pinned key'
            cand status 'Check the service, its key, the policies, the audit log and supervision'
            cand dev 'The development server (`serve --dev`)'
            cand secret 'Store, list and remove the secrets this host releases to commands'
            cand token 'Manage service tokens'
            cand keygen 'Write a new signing key for the approval service (shared by its replicas)'
            cand log 'Read, verify and rotate the audit log'
            cand hook 'Answer an AI agent''s tool-call hook (JSON on stdin and stdout; always exits 0)'
            cand shell-prefix 'Run an agent''s command as its shell prefix would: judged, then run supervised'
            cand mcp 'Put the gateway between an agent and an MCP server; trust changed tool definitions'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gatekeep;help;check'= {
        }
        &'gatekeep;help;policy'= {
            cand lint 'Validate policy files; problems are printed as FILE:LINE:COL: message'
            cand test 'Run every rule''s example commands through the full engine'
            cand list 'Show the policy layers in force, their files and rule counts (--rules: every rule)'
            cand show 'Print one rule in force as written, with its file, line and layer'
            cand init 'Write a commented starter policy file that adds to the built-in library'
        }
        &'gatekeep;help;policy;lint'= {
        }
        &'gatekeep;help;policy;test'= {
        }
        &'gatekeep;help;policy;list'= {
        }
        &'gatekeep;help;policy;show'= {
        }
        &'gatekeep;help;policy;init'= {
        }
        &'gatekeep;help;run'= {
        }
        &'gatekeep;help;serve'= {
        }
        &'gatekeep;help;wait'= {
        }
        &'gatekeep;help;requests'= {
        }
        &'gatekeep;help;approve'= {
        }
        &'gatekeep;help;reject'= {
        }
        &'gatekeep;help;report'= {
            cand verify 'Check a signed report: its signature by the service, and that nothing in it changed'
        }
        &'gatekeep;help;report;verify'= {
        }
        &'gatekeep;help;revoke'= {
        }
        &'gatekeep;help;acknowledge'= {
        }
        &'gatekeep;help;flag'= {
        }
        &'gatekeep;help;review'= {
        }
        &'gatekeep;help;login'= {
        }
        &'gatekeep;help;logout'= {
        }
        &'gatekeep;help;whoami'= {
        }
        &'gatekeep;help;status'= {
        }
        &'gatekeep;help;dev'= {
            cand credentials 'Print the running development server''s `export` lines again'
        }
        &'gatekeep;help;dev;credentials'= {
        }
        &'gatekeep;help;secret'= {
            cand set 'Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped)'
            cand list 'List stored secrets: names and where they are, never values'
            cand rm 'Forget a secret'
        }
        &'gatekeep;help;secret;set'= {
        }
        &'gatekeep;help;secret;list'= {
        }
        &'gatekeep;help;secret;rm'= {
        }
        &'gatekeep;help;token'= {
            cand new 'Print a new token and its `token_sha256` for the service''s users list'
        }
        &'gatekeep;help;token;new'= {
        }
        &'gatekeep;help;keygen'= {
        }
        &'gatekeep;help;log'= {
            cand verify 'Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable'
            cand tail 'Show recent records, one line each; -f follows new ones'
            cand show 'Show every record of one run'
            cand rotate 'Close the current segment and start a new file (then apply `retention:`)'
            cand prune 'Compress and remove old closed segments as `retention:` says; removals are recorded'
            cand witness 'Send the log''s head to the approval service as a witness'
            cand export 'Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones'
        }
        &'gatekeep;help;log;verify'= {
        }
        &'gatekeep;help;log;tail'= {
        }
        &'gatekeep;help;log;show'= {
        }
        &'gatekeep;help;log;rotate'= {
        }
        &'gatekeep;help;log;prune'= {
        }
        &'gatekeep;help;log;witness'= {
        }
        &'gatekeep;help;log;export'= {
        }
        &'gatekeep;help;hook'= {
        }
        &'gatekeep;help;shell-prefix'= {
        }
        &'gatekeep;help;mcp'= {
            cand proxy 'Run an MCP server over stdio, gating its tool calls by policy and approval'
            cand trust 'Ask the approval service to trust a tool definition the proxy holds back'
        }
        &'gatekeep;help;mcp;proxy'= {
        }
        &'gatekeep;help;mcp;trust'= {
        }
        &'gatekeep;help;completions'= {
        }
        &'gatekeep;help;help'= {
        }
    ]
    $completions[$command]
}
