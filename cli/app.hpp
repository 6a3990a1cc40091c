#pragma once
namespace hydrate::cli {
// Parses argv, runs one subcommand, and returns the process exit code.
int run(int argc, char** argv);
}  // namespace hydrate::cli
