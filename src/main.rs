#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    ssogate::cli::main()
}
