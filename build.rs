//! Bake an rpath to the libtorch this binary was built against, so that `cargo run`, `cargo test`
//! and the built binary start without LD_LIBRARY_PATH. LD_LIBRARY_PATH still wins at start-up,
//! which is how a GPU machine's own CUDA libtorch is used (see docs/gpu.md).
//! Also records the tch version from Cargo.lock for `workbench --version`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    println!("cargo:rustc-env=WORKBENCH_TCH_VERSION={}", locked_version(&lock, "tch").unwrap_or("unknown"));
    let Some(libtorch) = std::env::var_os("LIBTORCH") else {
        return;
    };
    // Resolve the `.libtorch` link so the rpath names the cache folder itself.
    let root = std::fs::canonicalize(PathBuf::from(&libtorch)).unwrap_or_else(|_| PathBuf::from(&libtorch));
    let lib = root.join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    let version = std::fs::read_to_string(root.join("build-version")).unwrap_or_default();
    println!("cargo:rustc-env=WORKBENCH_LIBTORCH_BUILD_VERSION={}", version.trim());
    println!("cargo:rustc-env=WORKBENCH_LIBTORCH_BUILD_DIR={}", root.display());
    // Watched through the link, not the resolved folder: when `./dev setup` points `.libtorch` at
    // another build (CPU <-> CUDA) it touches that build's build-version, so this script runs again
    // and the rpath follows.
    println!("cargo:rerun-if-changed={}", PathBuf::from(&libtorch).join("build-version").display());
}

/// The version Cargo.lock pins for `package` (its `version = "..."` line after `name = "..."`).
fn locked_version<'a>(lock: &'a str, package: &str) -> Option<&'a str> {
    let name = format!("name = \"{package}\"");
    let mut lines = lock.lines().skip_while(|line| line.trim() != name);
    lines.next()?;
    lines.next()?.trim().strip_prefix("version = \"")?.strip_suffix('"')
}
