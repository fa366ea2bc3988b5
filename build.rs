//! Embeds the shipped policy library (`policies/*.yaml`) into the binary.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=policies");
    let mut names: Vec<String> = std::fs::read_dir("policies")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".yaml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("[\n");
    // The manifest directory of this build, read when the script runs: a value fixed
    // when the script was compiled would name wherever the crate was first built.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    for name in &names {
        let path = Path::new(&manifest_dir).join("policies").join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_policies.rs");
    std::fs::write(out, code).unwrap();
}
