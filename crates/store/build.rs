//! Rebuilds the store when a migration is added or changed: `embed_migrations!` reads
//! the migrations folder while compiling, which cargo does not otherwise watch.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
