//! The `promready` command.

fn main() -> std::process::ExitCode {
    promready::main()
}
