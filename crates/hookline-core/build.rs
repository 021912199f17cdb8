//! `sqlx::migrate!` embeds migrations/ in the binary, but cargo cannot see that the macro reads
//! the folder: without this, adding a migration would not rebuild the crate that carries them.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
