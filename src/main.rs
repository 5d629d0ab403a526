//! Thin entry point: everything lives in the library (see src/lib.rs).
fn main() {
    std::process::exit(workbench::cli::main());
}
