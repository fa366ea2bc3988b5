//! YAML error reporting shared by policy and configuration loading.

/// The line, column (1-based; 0 when unknown) and one-line message of a YAML error.
pub fn error_parts(error: &serde_saphyr::Error) -> (u64, u64, String) {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let rendered = error.render_with_options(options);
    let first = rendered.lines().next().unwrap_or_default().trim();
    // The plain rendering ends with " at line L column C"; callers show the location first.
    let message = first
        .split(" at line ")
        .next()
        .unwrap_or(first)
        .trim()
        .to_owned();
    (line, column, message)
}
