//! The `split` feature's link step (src/lazy_routes.rs, scripts/split-wasm): wasm-split finds what each
//! lazy route uses from the linker's relocations, so the console's wasm keeps them.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let split = std::env::var_os("CARGO_FEATURE_SPLIT").is_some();
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32");
    if split && wasm {
        println!("cargo::rustc-link-arg-bin=cmek-console=--emit-relocs");
    }
}
