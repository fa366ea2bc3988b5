//! Completions and man pages are generated from the clap definition; the committed copies
//! must be fresh. Run with GATEKEEP_BLESS=1 to rewrite them.

use std::path::Path;

#[test]
fn generated_files_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var("GATEKEEP_BLESS").is_ok_and(|v| v == "1");
    let files = gatekeep::cli::generated_files();
    let mut stale = Vec::new();
    for (relative, contents) in &files {
        let path = root.join(relative);
        if std::fs::read(&path).ok().as_deref() != Some(contents.as_slice()) {
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, contents).unwrap();
            } else {
                stale.push(relative.display().to_string());
            }
        }
    }
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root.join(dir)).into_iter().flatten() {
            let relative = Path::new(dir).join(entry.unwrap().file_name());
            if !files.iter().any(|(r, _)| *r == relative) {
                if bless {
                    std::fs::remove_file(root.join(&relative)).unwrap();
                } else {
                    stale.push(format!("{} (no longer generated)", relative.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (rerun with GATEKEEP_BLESS=1): {stale:?}"
    );
}
