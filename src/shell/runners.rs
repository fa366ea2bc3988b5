//! Programs whose job is to run another program, described as data: which options take a
//! value, where the command starts, and where it runs (a container, a pod, another host).
//! The command they run is judged like any other, with that place as its context. An
//! option a runner is not declared to have may take the next word as its value: then where
//! the command starts is uncertain, and the runner is opaque.

use super::Arg;
use super::wrappers::{Edit, Step};

/// Where a runner's command is.
#[derive(Clone, Copy)]
enum Command {
    /// The operands after the options, skipping this many (a profile, a directory, a
    /// container), are the program and its arguments.
    Operands(usize),
    /// As `Operands`, and every word after the skipped operands is the command's, options
    /// included (`docker run IMAGE -h …`: `-h` is the command's).
    OperandsThen(usize),
    /// The words after `--`.
    AfterDashes,
    /// Each operand is a shell command line.
    EachOperandIsShell,
}

/// One runner.
struct Runner {
    /// The program and its subcommand words (`["ip", "netns", "exec"]`).
    words: &'static [&'static str],
    /// Options that take a value.
    values: &'static [&'static str],
    /// Options that take no value.
    flags: &'static [&'static str],
    /// Options whose value is a shell command line.
    shell: &'static [&'static str],
    /// Options whose value is the program to run (its arguments are the command's words).
    program: &'static [&'static str],
    /// Options whose value starts the command, which takes every word after it.
    rest: &'static [&'static str],
    command: Command,
    /// The context the command runs in: the operand (after options) that names it, and
    /// its kind (`container`, `pod`, `host`).
    place: Option<(usize, &'static str)>,
}

const RUNNERS: &[Runner] = &[
    // setarch ARCH [options] [program [arguments]], and its personality names.
    Runner {
        words: &["setarch"],
        values: &[],
        flags: &[
            "-v",
            "--verbose",
            "-3",
            "--3gb",
            "-B",
            "-F",
            "-I",
            "-L",
            "-R",
            "-S",
            "-T",
            "-X",
            "-Z",
            "--addr-no-randomize",
            "--fdpic-funcptrs",
            "--mmap-page-zero",
            "--addr-compat-layout",
            "--read-implies-exec",
            "--32bit",
            "--short-inode",
            "--whole-seconds",
            "--sticky-timeouts",
            "--uname-2.6",
            "--4gb",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(1),
        place: None,
    },
    Runner {
        words: &["dbus-run-session"],
        values: &["--config-file", "--dbus-daemon"],
        flags: &["--version", "--help"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["runcon"],
        values: &[
            "-u", "--user", "-r", "--role", "-t", "--type", "-l", "--range",
        ],
        flags: &["-c", "--compute"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["ip", "netns", "exec"],
        values: &[],
        flags: &[],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::OperandsThen(1),
        place: None,
    },
    Runner {
        words: &["start-stop-daemon"],
        values: &[
            "-p",
            "--pidfile",
            "-u",
            "--user",
            "-g",
            "--group",
            "-n",
            "--name",
            "-r",
            "--chroot",
            "-d",
            "--chdir",
            "-c",
            "--chuid",
            "-N",
            "--nicelevel",
            "-P",
            "--procsched",
            "-I",
            "--iosched",
            "-k",
            "--umask",
            "-s",
            "--signal",
            "-R",
            "--retry",
            "--remove-pidfile",
            "--notify-timeout",
            "--output",
            "-O",
        ],
        flags: &[
            "-S",
            "--start",
            "-K",
            "--stop",
            "-b",
            "--background",
            "-m",
            "--make-pidfile",
            "-o",
            "--oknodo",
            "-q",
            "--quiet",
            "-v",
            "--verbose",
            "-t",
            "--test",
            "-C",
            "--no-close",
            "--notify-await",
        ],
        shell: &[],
        program: &["-x", "--exec", "-a", "--startas"],
        rest: &[],
        command: Command::AfterDashes,
        place: None,
    },
    Runner {
        words: &["sshpass"],
        values: &["-p", "-f", "-d", "-P"],
        flags: &["-e", "-v", "-h", "-V"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["aws-vault", "exec"],
        values: &[
            "-d",
            "--duration",
            "-t",
            "--mfa-token",
            "--region",
            "-j",
            "--json",
        ],
        flags: &[
            "-n",
            "--no-session",
            "-s",
            "--server",
            "--ec2-server",
            "--ecs-server",
            "--lazy",
            "--stdout",
            "--debug",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(1),
        place: None,
    },
    Runner {
        words: &["op", "run"],
        values: &[
            "--env-file",
            "--account",
            "--config",
            "--encoding",
            "--cache",
        ],
        flags: &["--no-masking", "--debug", "--iso-timestamps", "--no-color"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::AfterDashes,
        place: None,
    },
    Runner {
        words: &["doppler", "run"],
        values: &[
            "-p",
            "--project",
            "-c",
            "--config",
            "--name-transformer",
            "--mount",
            "--mount-format",
            "--mount-template",
            "--fallback",
            "--token",
            "--scope",
            "--api-host",
            "--configuration",
        ],
        flags: &[
            "--preserve-env",
            "--forward-signals",
            "--no-fallback",
            "--fallback-readonly",
            "--fallback-only",
            "--no-exit-on-write-failure",
            "--debug",
            "--silent",
        ],
        shell: &["--command"],
        program: &[],
        rest: &[],
        command: Command::AfterDashes,
        place: None,
    },
    Runner {
        words: &["direnv", "exec"],
        values: &[],
        flags: &[],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::OperandsThen(1),
        place: None,
    },
    Runner {
        words: &["npx"],
        values: &["-p", "--package", "--cache", "--userconfig", "--registry"],
        flags: &[
            "-y",
            "--yes",
            "--no",
            "-q",
            "--quiet",
            "--no-install",
            "--ignore-existing",
        ],
        shell: &["-c", "--call"],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["npm", "exec"],
        values: &[
            "-p",
            "--package",
            "-w",
            "--workspace",
            "--cache",
            "--userconfig",
            "--registry",
        ],
        flags: &[
            "-y",
            "--yes",
            "--no",
            "-ws",
            "--workspaces",
            "--include-workspace-root",
        ],
        shell: &["-c", "--call"],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["npm", "x"],
        values: &["-p", "--package"],
        flags: &["-y", "--yes", "--no"],
        shell: &["-c", "--call"],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["pnpm", "dlx"],
        values: &["--package", "--reporter"],
        flags: &["-s", "--silent", "--shell-mode", "-c"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["pnpm", "exec"],
        values: &["-r", "--filter", "--reporter"],
        flags: &[
            "--parallel",
            "--no-bail",
            "--shell-mode",
            "-c",
            "--report-summary",
            "--resume-from",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["yarn", "dlx"],
        values: &["-p", "--package"],
        flags: &["-q", "--quiet"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["yarn", "exec"],
        values: &[],
        flags: &[],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["bun", "x"],
        values: &["-p", "--package"],
        flags: &["--bun", "--silent", "--verbose"],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["uvx"],
        values: &[
            "--from",
            "--with",
            "--with-requirements",
            "--python",
            "-p",
            "--index",
            "--index-url",
            "--extra-index-url",
            "--directory",
            "--project",
            "--cache-dir",
        ],
        flags: &[
            "-q",
            "--quiet",
            "-v",
            "--verbose",
            "--isolated",
            "--no-cache",
            "--offline",
            "--refresh",
            "--native-tls",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["uv", "tool", "run"],
        values: &[
            "--from",
            "--with",
            "--with-requirements",
            "--python",
            "-p",
            "--index",
            "--index-url",
            "--extra-index-url",
            "--directory",
            "--project",
            "--cache-dir",
        ],
        flags: &[
            "-q",
            "--quiet",
            "-v",
            "--verbose",
            "--isolated",
            "--no-cache",
            "--offline",
            "--refresh",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["uv", "run"],
        values: &[
            "--with",
            "--with-requirements",
            "--with-editable",
            "--python",
            "-p",
            "--package",
            "--extra",
            "--group",
            "--env-file",
            "--index",
            "--index-url",
            "--extra-index-url",
            "--directory",
            "--project",
            "--cache-dir",
        ],
        flags: &[
            "-q",
            "--quiet",
            "-v",
            "--verbose",
            "--isolated",
            "--no-sync",
            "--frozen",
            "--locked",
            "--no-dev",
            "--all-extras",
            "--all-packages",
            "--no-project",
            "--offline",
            "--no-cache",
            "--script",
            "-s",
            "--module",
            "-m",
            "--active",
            "--no-env-file",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["poetry", "run"],
        values: &["-C", "--directory", "-P", "--project"],
        flags: &[
            "-q",
            "--quiet",
            "-v",
            "-vv",
            "-vvv",
            "--verbose",
            "-n",
            "--no-interaction",
            "--no-plugins",
            "--no-cache",
            "--ansi",
            "--no-ansi",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["pipx", "run"],
        values: &[
            "--spec",
            "--python",
            "--pip-args",
            "--index-url",
            "--editable",
        ],
        flags: &[
            "--no-cache",
            "--path",
            "--pypackages",
            "--system-site-packages",
            "-q",
            "--quiet",
            "-v",
            "--verbose",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["pdm", "run"],
        values: &["-p", "--project"],
        flags: &[
            "-l",
            "--list",
            "-s",
            "--site-packages",
            "-v",
            "--verbose",
            "-q",
            "--quiet",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["conda", "run"],
        values: &["-n", "--name", "-p", "--prefix", "--cwd"],
        flags: &[
            "-v",
            "--verbose",
            "--dev",
            "--debug-wrapper-scripts",
            "--no-capture-output",
            "--live-stream",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::Operands(0),
        place: None,
    },
    Runner {
        words: &["nix-shell"],
        values: &[
            "-p",
            "--packages",
            "-A",
            "--attr",
            "-I",
            "--arg",
            "--argstr",
            "--option",
            "--keep",
            "-k",
        ],
        flags: &[
            "--pure",
            "-v",
            "--verbose",
            "-Q",
            "--no-build-output",
            "--impure",
        ],
        shell: &["--run", "--command"],
        program: &[],
        rest: &[],
        command: Command::AfterDashes,
        place: None,
    },
    Runner {
        words: &["nix", "develop"],
        values: &[
            "--profile",
            "--override-input",
            "--arg",
            "--argstr",
            "-I",
            "--include",
            "--option",
            "--keep",
            "-k",
            "--unset",
            "-u",
        ],
        flags: &[
            "--impure",
            "-i",
            "--ignore-environment",
            "--redirect",
            "--refresh",
            "-v",
            "--verbose",
            "-L",
            "--print-build-logs",
            "--offline",
        ],
        shell: &[],
        program: &[],
        rest: &["-c", "--command"],
        command: Command::AfterDashes,
        place: None,
    },
    Runner {
        words: &["nix", "shell"],
        values: &[
            "--override-input",
            "--arg",
            "--argstr",
            "-I",
            "--include",
            "--option",
            "--keep",
            "-k",
            "--unset",
            "-u",
        ],
        flags: &[
            "--impure",
            "-i",
            "--ignore-environment",
            "--refresh",
            "-v",
            "--verbose",
            "-L",
            "--print-build-logs",
            "--offline",
        ],
        shell: &[],
        program: &[],
        rest: &["-c", "--command"],
        command: Command::AfterDashes,
        place: None,
    },
    Runner {
        words: &["hyperfine"],
        values: &[
            "-w",
            "--warmup",
            "-m",
            "--min-runs",
            "-M",
            "--max-runs",
            "-r",
            "--runs",
            "-S",
            "--shell",
            "--style",
            "--sort",
            "-u",
            "--time-unit",
            "--export-asciidoc",
            "--export-csv",
            "--export-json",
            "--export-markdown",
            "--export-orgmode",
            "--output",
            "--input",
            "-n",
            "--command-name",
        ],
        flags: &[
            "-i",
            "--ignore-failure",
            "-N",
            "--show-output",
            "-h",
            "--help",
            "-V",
            "--version",
        ],
        shell: &[
            "-p",
            "--prepare",
            "-s",
            "--setup",
            "-c",
            "--cleanup",
            "--conclude",
        ],
        program: &[],
        rest: &[],
        command: Command::EachOperandIsShell,
        place: None,
    },
    Runner {
        words: &["docker", "exec"],
        values: &[
            "-e",
            "--env",
            "--env-file",
            "-u",
            "--user",
            "-w",
            "--workdir",
            "--detach-keys",
        ],
        flags: &[
            "-d",
            "--detach",
            "-i",
            "--interactive",
            "-t",
            "-it",
            "-ti",
            "--privileged",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::OperandsThen(1),
        place: Some((0, "container")),
    },
    Runner {
        words: &["podman", "exec"],
        values: &[
            "-e",
            "--env",
            "--env-file",
            "-u",
            "--user",
            "-w",
            "--workdir",
            "--detach-keys",
            "--preserve-fds",
        ],
        flags: &[
            "-d",
            "--detach",
            "-i",
            "--interactive",
            "-t",
            "-it",
            "-ti",
            "--privileged",
            "-l",
            "--latest",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::OperandsThen(1),
        place: Some((0, "container")),
    },
    Runner {
        words: &["docker", "run"],
        values: &[
            "-e",
            "--env",
            "--env-file",
            "-u",
            "--user",
            "-w",
            "--workdir",
            "-v",
            "--volume",
            "--mount",
            "--name",
            "--network",
            "--net",
            "-p",
            "--publish",
            "--platform",
            "--pull",
            "-h",
            "--hostname",
            "--label",
            "-l",
            "--cpus",
            "-m",
            "--memory",
            "--restart",
            "--add-host",
            "--dns",
            "--device",
            "--cap-add",
            "--cap-drop",
            "--security-opt",
            "--ulimit",
            "--shm-size",
            "--tmpfs",
            "--log-driver",
            "--log-opt",
            "--gpus",
            "--pid",
            "--ipc",
            "--uts",
            "--userns",
            "--cgroupns",
            "--stop-signal",
            "--stop-timeout",
            "--health-cmd",
            "--label-file",
            "--group-add",
            "--mac-address",
            "--ip",
            "--ip6",
            "--link",
            "--volumes-from",
            "--runtime",
            "--cidfile",
            "--expose",
            "--detach-keys",
            "--entrypoint-args",
        ],
        flags: &[
            "-d",
            "--detach",
            "-i",
            "--interactive",
            "-t",
            "-it",
            "-ti",
            "--rm",
            "--privileged",
            "--init",
            "--read-only",
            "-P",
            "--publish-all",
            "-q",
            "--quiet",
            "--no-healthcheck",
            "--oom-kill-disable",
            "--sig-proxy",
        ],
        shell: &[],
        program: &["--entrypoint"],
        rest: &[],
        command: Command::OperandsThen(1),
        place: Some((0, "image")),
    },
    Runner {
        words: &["podman", "run"],
        values: &[
            "-e",
            "--env",
            "--env-file",
            "-u",
            "--user",
            "-w",
            "--workdir",
            "-v",
            "--volume",
            "--mount",
            "--name",
            "--network",
            "--net",
            "-p",
            "--publish",
            "--platform",
            "--pull",
            "-h",
            "--hostname",
            "--label",
            "-l",
            "--cpus",
            "-m",
            "--memory",
            "--restart",
            "--add-host",
            "--dns",
            "--device",
            "--cap-add",
            "--cap-drop",
            "--security-opt",
            "--ulimit",
            "--shm-size",
            "--tmpfs",
            "--pid",
            "--ipc",
            "--uts",
            "--userns",
            "--cgroupns",
            "--group-add",
            "--volumes-from",
            "--runtime",
            "--expose",
        ],
        flags: &[
            "-d",
            "--detach",
            "-i",
            "--interactive",
            "-t",
            "-it",
            "-ti",
            "--rm",
            "--privileged",
            "--init",
            "--read-only",
            "-P",
            "--publish-all",
            "-q",
            "--quiet",
        ],
        shell: &[],
        program: &["--entrypoint"],
        rest: &[],
        command: Command::OperandsThen(1),
        place: Some((0, "image")),
    },
    Runner {
        words: &["kubectl", "exec"],
        values: &[
            "-c",
            "--container",
            "-n",
            "--namespace",
            "--context",
            "--cluster",
            "--user",
            "--kubeconfig",
            "-f",
            "--filename",
            "--pod-running-timeout",
            "-s",
            "--server",
            "--token",
            "--as",
        ],
        flags: &[
            "-i", "--stdin", "-t", "--tty", "-it", "-ti", "-q", "--quiet",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::AfterDashes,
        place: Some((0, "pod")),
    },
    Runner {
        words: &["kubectl", "debug"],
        values: &[
            "-c",
            "--container",
            "-n",
            "--namespace",
            "--context",
            "--cluster",
            "--user",
            "--kubeconfig",
            "--image",
            "--image-pull-policy",
            "--profile",
            "--target",
            "--copy-to",
            "--set-image",
            "--env",
            "--custom",
            "-f",
            "--filename",
            "-s",
            "--server",
            "--token",
            "--as",
        ],
        flags: &[
            "-i",
            "--stdin",
            "-t",
            "--tty",
            "-it",
            "-ti",
            "-q",
            "--quiet",
            "--attach",
            "--replace",
            "--same-node",
            "--share-processes",
        ],
        shell: &[],
        program: &[],
        rest: &[],
        command: Command::AfterDashes,
        place: Some((0, "pod")),
    },
    Runner {
        words: &["gcloud", "compute", "ssh"],
        values: &[
            "--zone",
            "--project",
            "--ssh-key-file",
            "--strict-host-key-checking",
            "--ssh-flag",
            "--container",
            "--internal-ip",
            "--tunnel-through-iap",
            "--account",
            "--configuration",
            "--verbosity",
            "--troubleshoot",
        ],
        flags: &[
            "--dry-run",
            "--plain",
            "--quiet",
            "-q",
            "--force-key-file-overwrite",
            "--tunnel-through-iap",
        ],
        shell: &["--command"],
        program: &[],
        rest: &[],
        command: Command::AfterDashes,
        place: Some((0, "host")),
    },
];

/// The names `setarch` also answers to, each implying its architecture.
pub(crate) const PERSONALITIES: &[&str] = &[
    "linux32",
    "linux64",
    "i386",
    "i486",
    "i586",
    "i686",
    "x86_64",
    "ia64",
    "uname26",
    "ppc",
    "ppc32",
    "ppc64",
    "ppc64le",
    "s390",
    "s390x",
    "sparc",
    "sparc32",
    "sparc64",
    "sparc32bash",
    "mips",
    "mips32",
    "mips64",
    "parisc",
    "parisc32",
    "parisc64",
    "arm",
    "armv7l",
    "armv8l",
    "aarch64",
    "arm64",
    "alpha",
    "loongarch",
    "loongarch64",
    "riscv64",
    "m68k",
];

/// The first words of every runner (for recognising hard links to them).
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    RUNNERS
        .iter()
        .map(|r| r.words[0])
        .chain(PERSONALITIES.iter().copied())
        .chain(["bunx"])
}

/// The steps of a runner (`None` when `words` name none).
pub(crate) fn unwrap(name: &str, args: &[Arg]) -> Option<Vec<Step>> {
    // `bunx` is `bun x`.
    if name == "bunx" {
        let mut with_x = vec![Arg::literal("x".to_owned())];
        with_x.extend(args.iter().cloned());
        return unwrap("bun", &with_x);
    }
    // A personality name is `setarch` with its architecture given.
    if PERSONALITIES.contains(&name) {
        let mut with_arch = vec![Arg::literal(name.to_owned())];
        with_arch.extend(args.iter().cloned());
        return unwrap("setarch", &with_arch);
    }
    let runner = RUNNERS.iter().find(|r| {
        r.words[0] == name
            && r.words[1..].len() <= args.len()
            && r.words[1..]
                .iter()
                .zip(args)
                .all(|(w, a)| a.known && a.text == *w)
    })?;
    let args = &args[runner.words.len() - 1..];
    let label = runner.words.join(" ");
    let opaque = |why: String| Some(vec![Step::Opaque(format!("`{label}` {why}"))]);
    let mut operands: Vec<Arg> = Vec::new();
    let mut after_dashes: Option<Vec<Arg>> = None;
    let mut scripts: Vec<Arg> = Vec::new();
    let mut program: Option<Arg> = None;
    let mut i = 0;
    // Options may come anywhere until the command starts: the operand count that takes
    // the command, or `--`.
    let command_at = match runner.command {
        Command::Operands(skip) => Some(skip),
        Command::OperandsThen(skip) => Some(skip),
        _ => None,
    };
    // Whether, with `count` operands read, the command has started.
    let started = |count: usize| match runner.command {
        Command::Operands(skip) => count > skip,
        Command::OperandsThen(skip) => count >= skip.max(1) && (skip > 0 || count > 0),
        _ => false,
    };
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if started(operands.len()) {
            // The command has started: the rest is its own.
            operands.extend(args[i - 1..].iter().cloned());
            break;
        }
        if !arg.known {
            return opaque("is given words only known at run time".to_owned());
        }
        let text = arg.text.as_str();
        if text == "--" {
            after_dashes = Some(args[i..].to_vec());
            break;
        }
        if !text.starts_with('-') || text == "-" {
            operands.push(arg.clone());
            if command_at.is_some()
                && started(operands.len())
                && matches!(runner.command, Command::Operands(_))
            {
                // The program itself: the rest is its own.
                operands.extend(args[i..].iter().cloned());
                break;
            }
            continue;
        }
        let (name, attached) = match text.split_once('=') {
            Some((name, value)) if text.starts_with("--") => (name, Some(value)),
            _ => (text, None),
        };
        let value = |i: &mut usize| -> Option<Arg> {
            match attached {
                Some(value) => Some(Arg {
                    text: value.to_owned(),
                    ..arg.clone()
                }),
                None => {
                    *i += 1;
                    args.get(*i - 1).cloned()
                }
            }
        };
        if runner.shell.contains(&name) {
            match value(&mut i) {
                Some(script) => scripts.push(script),
                None => return opaque(format!("`{name}` has no command")),
            }
        } else if runner.program.contains(&name) {
            program = value(&mut i);
        } else if runner.rest.contains(&name) {
            let mut words: Vec<Arg> = value(&mut i).into_iter().collect();
            words.extend(args[i..].iter().cloned());
            after_dashes = Some(words);
            break;
        } else if runner.values.contains(&name) {
            value(&mut i);
        } else if !runner.flags.contains(&name) {
            return opaque(format!(
                "is given `{name}`, an option gatekeep does not know: where the command starts is uncertain"
            ));
        }
    }
    let mut edit = Edit::default();
    if let Some((at, kind)) = runner.place {
        match operands.get(at) {
            Some(place) if place.known => edit.host = Some(format!("{kind}:{}", place.text)),
            Some(_) => return opaque(format!("runs in a {kind} only known at run time")),
            None => {}
        }
    }
    let mut steps: Vec<Step> = scripts
        .into_iter()
        .map(|script| Step::Script(script, edit.clone()))
        .collect();
    let mut command: Vec<Arg> = match runner.command {
        // `--` before the command only ends the runner's options.
        Command::Operands(skip) | Command::OperandsThen(skip) => {
            operands.extend(after_dashes.unwrap_or_default());
            operands.get(skip..).unwrap_or_default().to_vec()
        }
        Command::AfterDashes => after_dashes.unwrap_or_default(),
        Command::EachOperandIsShell => {
            steps.extend(
                operands
                    .into_iter()
                    .map(|script| Step::Script(script, edit.clone())),
            );
            Vec::new()
        }
    };
    if let Some(program) = program {
        command.insert(0, program);
    }
    // A package runner's operand may name a package and version (`@scope/tool@1.2`): the
    // program is the package's name.
    if let Some(first) = command.first_mut()
        && first.known
        && matches!(
            name,
            "npx" | "bunx" | "uvx" | "pnpm" | "yarn" | "bun" | "npm" | "pipx" | "uv"
        )
    {
        let bare = first.text.trim_start_matches('@');
        let bare = bare.rsplit('/').next().unwrap_or(bare);
        let bare = bare.split(['@', '=']).next().unwrap_or(bare);
        if !bare.is_empty() && bare != first.text {
            first.text = bare.to_owned();
        }
    }
    if !command.is_empty() {
        steps.push(Step::Exec(command, edit));
    }
    Some(steps)
}
