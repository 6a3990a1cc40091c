// hydrate's entry point: a trampoline into cli::run, which owns parsing, dispatch and exit codes.
#include "cli/app.hpp"

int main(int argc, char** argv) {
  return hydrate::cli::run(argc, argv);
}
