//! Prints the plain-language explanation of a policy file (what `vantage policy explain FILE`
//! will show): `cargo run -p vantage-policy --example explain -- FILE`.

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: explain POLICY-FILE");
        std::process::exit(2);
    };
    match vantage_policy::Policy::load(std::path::Path::new(&path)) {
        Ok(p) => print!("{}", p.explain()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
