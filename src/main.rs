#![forbid(unsafe_code)]

/// mimalloc instead of glibc's malloc: a sign-in allocates and frees thousands of small
/// buffers across worker and blocking threads, where glibc's arenas showed as about a fifth
/// of the CPU time under load (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ssogate::cli::main()
}
