//! What a process runs right after `execve`: its argument vector, environment, working
//! directory and executable, read from `/proc` while the process is stopped at the exec
//! event, and the programs a file is known to be (a copy of a gated program under another
//! name is still that program).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// The new image of a process stopped at its exec event.
#[derive(Clone, Debug)]
pub struct Image {
    pub pid: i32,
    pub ppid: i32,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: String,
    /// The executable the kernel loaded (for a `#!` script: its interpreter).
    pub exe: PathBuf,
    /// SHA-256 of the executable's content, when it was computed (see [`Programs`]).
    pub digest: Option<String>,
    /// Program names the executable is known as besides its own basenames.
    pub known_as: Vec<String>,
    /// The ELF interpreter the kernel loaded with the executable, when it is not a dynamic
    /// loader: it runs first, and may be a program of its own (a gated one included).
    pub interpreter: Option<PathBuf>,
    /// The executable is a dynamic loader (`ld.so`), which can load and run a program
    /// named in its arguments without an exec of that program.
    pub loader: bool,
    /// The owner a set-user-ID (or set-group-ID) executable would switch to, when that is
    /// not already who runs it.
    pub set_id: Option<String>,
    /// Variables the environment sets more than once, with different values: programs
    /// differ in which one they read (the C library takes the first, Python the last), so
    /// no one value can be judged or shown for them.
    pub doubled: Vec<String>,
}

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read process {pid}'s {what}: {source}")]
pub struct ImageError {
    pid: i32,
    what: &'static str,
    #[source]
    source: std::io::Error,
}

impl Image {
    /// Reads process `pid`'s new image. The process must be stopped at its exec event:
    /// the kernel has replaced the image and the process has not run an instruction, and
    /// no other thread is left to change its memory.
    ///
    /// Every exec of a supervised tree waits for this, so it makes few system calls: the
    /// argument and environment strings come in one `process_vm_readv` from the bounds
    /// `/proc/PID/stat` gives, and the executable is opened once.
    pub fn read(pid: i32, programs: &mut Programs) -> Result<Image, ImageError> {
        let fail = |what| move |source| ImageError { pid, what, source };
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let stat = Stat::read(pid, &mut programs.scratch).map_err(fail("stat"))?;
        let (argv, env) = strings(pid, &stat).map_err(fail("arguments"))?;
        let mut doubled = Vec::new();
        let mut vars = BTreeMap::new();
        for pair in &env {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if let Some(before) = vars.insert(name.to_owned(), value.to_owned())
                && before != value
                && !doubled.iter().any(|d| d == name)
            {
                doubled.push(name.to_owned());
            }
        }
        let env = vars;
        let cwd = std::fs::read_link(proc.join("cwd"))
            .map_err(fail("cwd"))?
            .display()
            .to_string();
        let exe_link = proc.join("exe");
        let exe = std::fs::read_link(&exe_link).map_err(fail("exe"))?;
        // The file the kernel mapped, even if it was renamed or deleted since.
        let file = File::open(&exe_link).map_err(fail("executable"))?;
        let meta = file.metadata().map_err(fail("executable"))?;
        let (digest, mut known_as) = programs
            .identify(&file, &meta)
            .map_err(fail("executable"))?;
        let loader = programs
            .is_loader(&file, &meta, &exe)
            .map_err(fail("executable"))?;
        // An executable may name any program as its interpreter (`PT_INTERP`), which the
        // kernel loads and starts instead of a dynamic loader: it is identified by content
        // whatever its name, and judged as a program when it is not a loader.
        let mut interpreter = None;
        if let Some((path, file)) =
            mapped_interpreter(pid, &meta, &mut programs.scratch).map_err(fail("interpreter"))?
        {
            let meta = file.metadata().map_err(fail("interpreter"))?;
            let (_, names) = programs
                .identify(&file, &meta)
                .map_err(fail("interpreter"))?;
            known_as.extend(names);
            if !programs
                .is_loader(&file, &meta, &path)
                .map_err(fail("interpreter"))?
            {
                interpreter = Some(path);
            }
        }
        let set_id = programs.set_id(&meta);
        Ok(Image {
            pid,
            ppid: stat.ppid,
            argv,
            env,
            cwd,
            exe,
            digest,
            known_as,
            interpreter,
            loader,
            set_id,
            doubled,
        })
    }
}

/// What `/proc/PID/stat` tells of a process stopped at its exec event: its parent and
/// where the kernel put its argument and environment strings.
struct Stat {
    ppid: i32,
    args: (usize, usize),
    env: (usize, usize),
}

impl Stat {
    fn read(pid: i32, scratch: &mut Scratch) -> std::io::Result<Stat> {
        let text = scratch.read(Path::new(&format!("/proc/{pid}/stat")))?;
        let malformed = || std::io::Error::other("unexpected format");
        // The command name may hold anything, parentheses too: fields start after the last.
        let at = text
            .iter()
            .rposition(|b| *b == b')')
            .ok_or_else(malformed)?;
        let fields: Vec<&[u8]> = text[at + 1..]
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty())
            .collect();
        // Fields are numbered from 1 (pid) in proc(5); this slice starts at field 3.
        let field = |number: usize| -> std::io::Result<usize> {
            let bytes = fields.get(number - 3).ok_or_else(malformed)?;
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|f| f.parse().ok())
                .ok_or_else(malformed)
        };
        Ok(Stat {
            ppid: i32::try_from(field(4)?).map_err(|_| malformed())?,
            args: (field(48)?, field(49)?),
            env: (field(50)?, field(51)?),
        })
    }
}

/// The argument and environment strings of a stopped process, read from its memory in one
/// call.
fn strings(pid: i32, stat: &Stat) -> std::io::Result<(Vec<String>, Vec<String>)> {
    use nix::sys::uio::{RemoteIoVec, process_vm_readv};
    let (args, env) = (stat.args, stat.env);
    if args.0 == 0 || args.1 < args.0 || env.1 < env.0 {
        return Err(std::io::Error::other("no argument bounds"));
    }
    let mut arg_bytes = vec![0u8; args.1 - args.0];
    let mut env_bytes = vec![0u8; env.1 - env.0];
    let wanted = arg_bytes.len() + env_bytes.len();
    let read = process_vm_readv(
        nix::unistd::Pid::from_raw(pid),
        &mut [
            std::io::IoSliceMut::new(&mut arg_bytes),
            std::io::IoSliceMut::new(&mut env_bytes),
        ],
        &[
            RemoteIoVec {
                base: args.0,
                len: args.1 - args.0,
            },
            RemoteIoVec {
                base: env.0,
                len: env.1 - env.0,
            },
        ],
    )?;
    if read != wanted {
        return Err(std::io::Error::other(format!(
            "read {read} of {wanted} bytes"
        )));
    }
    Ok((split_nul(&arg_bytes), split_nul(&env_bytes)))
}

/// One reusable buffer for `/proc` files, which report no size: read whole in one call
/// instead of a growing series of small ones.
pub(super) struct Scratch(Vec<u8>);

impl Scratch {
    fn new() -> Scratch {
        Scratch(vec![0; 1 << 16])
    }

    fn read(&mut self, path: &Path) -> std::io::Result<&[u8]> {
        use std::io::Read as _;
        let mut file = File::open(path)?;
        let mut filled = 0;
        loop {
            if filled == self.0.len() {
                self.0.resize(self.0.len() * 2, 0);
            }
            match file.read(&mut self.0[filled..])? {
                0 => return Ok(&self.0[..filled]),
                read => filled += read,
            }
        }
    }
}

/// The SHA-256 of the executable an image runs (for an approval request, which binds it).
pub fn digest_of(image: &Image) -> Result<String, ImageError> {
    let fail = |source| ImageError {
        pid: image.pid,
        what: "executable",
        source,
    };
    let file = File::open(format!("/proc/{}/exe", image.pid)).map_err(fail)?;
    crate::pin::sha256_file(&file).map_err(fail)
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

/// The identity of a file's content at one moment: a cached digest is reused only while
/// none of these changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileKey {
    fn of(meta: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The gated programs installed on this host, by content, so that a copy or a hard link
/// under another name is recognised. Only files whose size equals a gated program's are
/// hashed; digests are cached only for files the supervised user cannot write.
pub struct Programs {
    /// size → (file, program name). Hashed only when an exec of that size comes along.
    by_size: HashMap<u64, Vec<(PathBuf, String)>>,
    /// size → the host's dynamic loaders, hashed the same way.
    loaders: HashMap<u64, Vec<PathBuf>>,
    cache: HashMap<FileKey, String>,
    uid: u32,
    gid: u32,
    gids: Vec<u32>,
    scratch: Scratch,
}

impl Programs {
    /// Finds each of `names` on `path_var` and records its size; nothing is read yet, so a
    /// supervised run starts at once however large the gated programs are.
    pub fn new(names: &[String], path_var: Option<&str>) -> Programs {
        let mut programs = Programs {
            by_size: HashMap::new(),
            loaders: HashMap::new(),
            cache: HashMap::new(),
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            gids: nix::unistd::getgroups()
                .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
            scratch: Scratch::new(),
        };
        programs.gids.push(programs.gid);
        let dirs: Vec<&str> = path_var
            .unwrap_or("/usr/local/bin:/usr/bin:/bin")
            .split(':')
            .filter(|d| d.starts_with('/'))
            .collect();
        for name in names {
            for dir in &dirs {
                let path = Path::new(dir).join(name);
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                let entry = programs.by_size.entry(meta.size()).or_default();
                if !entry.iter().any(|(p, n)| *p == path && n == name) {
                    entry.push((path, name.clone()));
                }
            }
        }
        // The loaders the host's programs name as their interpreter (gatekeep's own, the
        // shell's): a copy of one under another name is still a loader.
        let mut loaders: Vec<PathBuf> = ["/proc/self/exe", "/bin/sh", "/usr/bin/env"]
            .iter()
            .filter_map(|p| interpreter(Path::new(p)))
            .collect();
        loaders.dedup();
        for path in loaders {
            if let Ok(meta) = std::fs::metadata(&path) {
                programs.loaders.entry(meta.size()).or_default().push(path);
            }
        }
        programs
    }

    /// The digest of the file at `path` (cached as [`Programs::digest`] caches).
    fn digest_of_path(&mut self, path: &Path) -> std::io::Result<String> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        self.digest(&file, &meta)
    }

    /// Whether an executable is a dynamic loader: by its name (`ld-linux…`, `ld-musl…`,
    /// `ld.so`) or by its content (a copy of this host's loader).
    fn is_loader(
        &mut self,
        file: &File,
        meta: &std::fs::Metadata,
        path: &Path,
    ) -> std::io::Result<bool> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with("ld-linux") || name.starts_with("ld-musl") || name == "ld.so" {
            return Ok(true);
        }
        let Some(loaders) = self.loaders.get(&meta.size()).cloned() else {
            return Ok(false);
        };
        let digest = self.digest(file, meta)?;
        for loader in loaders {
            if self.digest_of_path(&loader).is_ok_and(|d| d == digest) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The digest of an executable, when its size could make it a gated program, and the
    /// gated program names it is a copy of.
    fn identify(
        &mut self,
        file: &File,
        meta: &std::fs::Metadata,
    ) -> std::io::Result<(Option<String>, Vec<String>)> {
        let Some(candidates) = self.by_size.get(&meta.size()) else {
            return Ok((None, Vec::new()));
        };
        let candidates = candidates.clone();
        let digest = self.digest(file, meta)?;
        let mut names = Vec::new();
        for (path, name) in candidates {
            if self.digest_of_path(&path).is_ok_and(|d| d == digest) && !names.contains(&name) {
                names.push(name);
            }
        }
        Ok((Some(digest), names))
    }

    /// The owner a set-ID executable would switch to, when that is not who runs it.
    fn set_id(&self, meta: &std::fs::Metadata) -> Option<String> {
        if meta.mode() & 0o4000 != 0 && meta.uid() != self.uid {
            return Some(format!("uid {}", meta.uid()));
        }
        if meta.mode() & 0o2000 != 0 && meta.gid() != self.gid && self.uid != 0 {
            return Some(format!("gid {}", meta.gid()));
        }
        None
    }

    fn digest(&mut self, file: &File, meta: &std::fs::Metadata) -> std::io::Result<String> {
        let key = FileKey::of(meta);
        if let Some(digest) = self.cache.get(&key) {
            return Ok(digest.clone());
        }
        let digest = crate::pin::sha256_file(file)?;
        // A file its user can change may differ at the next exec with the same key (an
        // in-place write within one timestamp tick): never cached.
        if !self.writable(meta) {
            self.cache.insert(key, digest.clone());
        }
        Ok(digest)
    }

    fn writable(&self, meta: &std::fs::Metadata) -> bool {
        let mode = meta.mode();
        self.uid == 0
            || (meta.uid() == self.uid && mode & 0o200 != 0)
            || (self.gids.contains(&meta.gid()) && mode & 0o020 != 0)
            || mode & 0o002 != 0
    }
}

/// The file process `pid` (stopped at its exec event) has mapped besides its executable
/// (whose metadata is `exe`): at the exec event that can only be the ELF interpreter the
/// kernel loaded. It is opened and checked to be the very file mapped (same device and
/// inode). `/proc/PID/maps` is what the kernel did, whatever the executable says now.
fn mapped_interpreter(
    pid: i32,
    exe: &std::fs::Metadata,
    scratch: &mut Scratch,
) -> std::io::Result<Option<(PathBuf, File)>> {
    let same = |dev: u64, ino: u64, meta: &std::fs::Metadata| {
        meta.ino() == ino
            && u64::from(libc::major(meta.dev())) == dev >> 32
            && u64::from(libc::minor(meta.dev())) == dev & 0xffff_ffff
    };
    let maps = scratch.read(Path::new(&format!("/proc/{pid}/maps")))?;
    for line in maps.split(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let fields: Vec<&str> = line.splitn(6, ' ').collect();
        let [_, _, _, dev, ino, path] = fields[..] else {
            continue;
        };
        let path = path.trim_start();
        let (Some((major, minor)), Ok(ino)) = (dev.split_once(':'), ino.parse::<u64>()) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (
            u64::from_str_radix(major, 16),
            u64::from_str_radix(minor, 16),
        ) else {
            continue;
        };
        let dev = (major << 32) | minor;
        if ino == 0 || same(dev, ino, exe) {
            continue;
        }
        let changed = || {
            std::io::Error::other(format!(
                "{path} is not the file the kernel loaded as the interpreter"
            ))
        };
        if !path.starts_with('/') {
            return Err(changed());
        }
        let file = File::open(path).map_err(|_| changed())?;
        if !same(dev, ino, &file.metadata()?) {
            return Err(changed());
        }
        return Ok(Some((PathBuf::from(path), file)));
    }
    Ok(None)
}

/// The program interpreter an ELF file names (`PT_INTERP`), for little-endian ELF files.
fn interpreter(path: &Path) -> Option<PathBuf> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = File::open(path).ok()?;
    let mut header = [0u8; 64];
    file.read_exact(&mut header).ok()?;
    if header[..4] != *b"\x7fELF" || header[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], at: usize| u64::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let u32_at =
        |b: &[u8], at: usize| u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()));
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let wide = match header[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let (phoff, phentsize, phnum) = if wide {
        (
            u64_at(&header, 0x20),
            u16_at(&header, 0x36),
            u16_at(&header, 0x38),
        )
    } else {
        (
            u32_at(&header, 0x1c),
            u16_at(&header, 0x2a),
            u16_at(&header, 0x2c),
        )
    };
    if phentsize < if wide { 56 } else { 32 } {
        return None;
    }
    for index in 0..phnum {
        let mut entry = vec![0u8; phentsize as usize];
        file.seek(SeekFrom::Start(phoff + index * phentsize)).ok()?;
        file.read_exact(&mut entry).ok()?;
        if u32_at(&entry, 0) != 3 {
            continue;
        }
        let (offset, size) = if wide {
            (u64_at(&entry, 8), u64_at(&entry, 0x20))
        } else {
            (u32_at(&entry, 4), u32_at(&entry, 16))
        };
        let mut name = vec![0u8; usize::try_from(size.min(4096)).ok()?];
        file.seek(SeekFrom::Start(offset)).ok()?;
        file.read_exact(&mut name).ok()?;
        let name = name.split(|b| *b == 0).next()?;
        return Some(PathBuf::from(std::ffi::OsStr::from_bytes(name)));
    }
    None
}

/// Whether the dynamic loader process `pid` was started as goes on to run a program: it
/// does unless it only lists (`--list`, or glibc's `LD_TRACE_LOADED_OBJECTS`, which `ldd`
/// sets), verifies or describes itself (glibc's `--verify`, `--help`, `--version`,
/// `--list-tunables`, `--list-diagnostics`). Only glibc's loader honours the variable and
/// the other options; another loader (musl's) is taken at its `--list` alone.
pub fn loader_runs_program(image: &Image) -> bool {
    let glibc = File::open(format!("/proc/{}/exe", image.pid))
        .and_then(|mut file| {
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut content)?;
            Ok(content
                .windows(b"TRACE_LOADED_OBJECTS".len())
                .any(|w| w == b"TRACE_LOADED_OBJECTS"))
        })
        .unwrap_or(false);
    if glibc && image.env.contains_key("LD_TRACE_LOADED_OBJECTS") {
        return false;
    }
    let mut words = image.argv.iter().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--list" => return false,
            "--verify" | "--help" | "--version" | "--list-tunables" | "--list-diagnostics"
                if glibc =>
            {
                return false;
            }
            "--library-path"
            | "--inhibit-rpath"
            | "--audit"
            | "--preload"
            | "--argv0"
            | "--glibc-hwcaps-prepend"
            | "--glibc-hwcaps-mask" => {
                words.next();
            }
            "--inhibit-cache" => {}
            _ => return true,
        }
    }
    true
}

/// Basename of a path-like word.
pub fn basename(word: &str) -> &str {
    Path::new(word)
        .file_name()
        .map_or(word, |n| std::str::from_utf8(n.as_bytes()).unwrap_or(word))
}
