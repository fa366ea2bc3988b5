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
    for name in &names {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(name);
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
